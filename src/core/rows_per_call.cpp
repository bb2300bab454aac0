#include "nn_interpretability/core/rows_per_call.h"

#include <algorithm>

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

}  // namespace nn_interpretability
