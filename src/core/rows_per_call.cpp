#include "nn_interpretability/core/rows_per_call.h"

#include <algorithm>

#include <c10/util/Exception.h>

namespace nn_interpretability {

namespace {
constexpr int64_t kFastRows = 320;  // see rows_per_call.h
}  // namespace

int64_t automatic_copies_per_call(int64_t copies, int64_t batch, int64_t row_bytes, int64_t budget_bytes) {
  batch = std::max<int64_t>(batch, 1);
  row_bytes = std::max<int64_t>(row_bytes, 1);
  const int64_t rows = std::min(kFastRows, std::max<int64_t>(budget_bytes, 0) / row_bytes);
  return std::clamp<int64_t>(rows / batch, 1, std::max<int64_t>(copies, 1));
}

int64_t copies_per_call(int64_t rows_per_call, int64_t copies, int64_t batch, int64_t row_bytes,
                        int64_t budget_bytes) {
  copies = std::max<int64_t>(copies, 1);
  if (rows_per_call == kAutomaticRowsPerCall) return automatic_copies_per_call(copies, batch, row_bytes, budget_bytes);
  if (rows_per_call == 0) return copies;
  return std::clamp<int64_t>(rows_per_call / std::max<int64_t>(batch, 1), 1, copies);
}

void check_rows_per_call(const char* owner, int64_t rows_per_call, int64_t budget_bytes) {
  TORCH_CHECK_VALUE(rows_per_call >= 0 || rows_per_call == kAutomaticRowsPerCall, owner,
                    ": rows_per_call must be >= 0 or kAutomaticRowsPerCall (-1), got ", rows_per_call);
  TORCH_CHECK_VALUE(budget_bytes >= 0, owner, ": memory_budget must be >= 0, got ", budget_bytes);
}

}  // namespace nn_interpretability
