#pragma once
// The last check of a method: no NaN or Inf reaches the caller without an error.

#include <cmath>
#include <cstdint>
#include <string>

#include <c10/util/Exception.h>
#include <torch/types.h>

namespace nn_interpretability {
namespace detail {

/// The rows (dimension 0) of `tensor` that hold a NaN or Inf, as "0, 3 (of 4)"; at most 10 listed.
inline std::string non_finite_rows(const torch::Tensor& tensor) {
  const torch::Tensor bad = tensor.dim() == 0 ? tensor.detach().isfinite().logical_not().view({1})
                                              : tensor.detach().isfinite().logical_not().flatten(1).any(1);
  const torch::Tensor rows = bad.nonzero().flatten().to(torch::kCPU);
  const int64_t count = rows.numel();
  std::string text;
  for (int64_t i = 0; i < std::min<int64_t>(count, 10); ++i)
    text += (i ? ", " : "") + std::to_string(rows[i].item<int64_t>());
  if (count > 10) text += ", ... (" + std::to_string(count) + " rows)";
  return text + " (of " + std::to_string(bad.numel()) + ")";
}

/// Throws a c10::ValueError "<what> contains NaN or Inf (K NaN, L Inf values, in rows ...)"
/// unless every value of `result` is finite. One reduction and one host sync on the fast path: a
/// finite sum means no NaN or Inf (a sum that overflows falls through to the exact check).
inline void check_finite_result(const torch::Tensor& result, const char* what = "the result") {
  if (!result.defined() || result.numel() == 0 || !result.is_floating_point()) return;
  const torch::Tensor values = result.detach();
  if (std::isfinite(values.sum().item<double>())) return;
  if (values.isfinite().all().item<bool>()) return;
  TORCH_CHECK_VALUE(false, what, " contains NaN or Inf (", values.isnan().sum().item<int64_t>(),
                    " NaN, ", values.isinf().sum().item<int64_t>(), " Inf values, in rows ", non_finite_rows(values),
                    "); the computation overflowed or divided by zero, so the result would be meaningless");
}

}  // namespace detail
}  // namespace nn_interpretability
