#include "checks.h"

#include <cmath>
#include <sstream>

#include <ATen/ops/isfinite.h>
#include <ATen/ops/isnan.h>
#include <c10/util/Exception.h>

namespace nn_interpretability::visualization::detail {

std::string shape_string(const at::Tensor& tensor) {
  std::ostringstream out;
  out << tensor.sizes();
  return out.str();
}

void check_values(const at::Tensor& tensor, const char* where, const char* what) {
  TORCH_CHECK_VALUE(tensor.defined(), where, ": ", what, " is an undefined tensor");
  TORCH_CHECK_VALUE(tensor.numel() > 0, where, ": ", what, " is an empty tensor (shape ",
                    shape_string(tensor), ")");
  TORCH_CHECK_TYPE(tensor.is_floating_point(), where, ": ", what,
                   " must be a floating-point tensor, got ", tensor.scalar_type());
  // One pass in the common case; a second one only to say which kind of value is wrong.
  if (!at::isfinite(tensor).all().item<bool>()) {
    const bool has_nan = at::isnan(tensor).any().item<bool>();
    TORCH_CHECK_VALUE(!has_nan, where, ": ", what,
                      " contains NaN; clean or mask it before visualizing");
    TORCH_CHECK_VALUE(false, where, ": ", what,
                      " contains Inf; clean or mask it before visualizing");
  }
}

void check_batch(const at::Tensor& tensor, const char* where, const char* what) {
  TORCH_CHECK_VALUE(tensor.defined(), where, ": ", what, " is an undefined tensor");
  TORCH_CHECK_VALUE(tensor.dim() == 4, where, ": ", what,
                    " must be a 4-D batch [N, C, H, W], got shape ", shape_string(tensor),
                    " (add a batch dimension with unsqueeze(0))");
  check_values(tensor, where, what);
}

void check_percentile(double percentile, const char* where) {
  TORCH_CHECK_VALUE(std::isfinite(percentile) && percentile >= 0.0 && percentile <= 100.0, where,
                    ": percentile must be in [0, 100], got ", percentile);
}

void check_outlier_perc(double outlier_perc, const char* where) {
  TORCH_CHECK_VALUE(std::isfinite(outlier_perc) && outlier_perc >= 0.0 && outlier_perc < 100.0,
                    where, ": outlier_perc must be in [0, 100), got ", outlier_perc);
}

}  // namespace nn_interpretability::visualization::detail
