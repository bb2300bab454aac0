#pragma once
// Argument checks shared by the visualization sources (private to the target).

#include <string>

#include <ATen/core/Tensor.h>

namespace nn_interpretability::visualization::detail {

/// "[2, 3, 4]".
std::string shape_string(const at::Tensor& tensor);

/// Defined, non-empty, floating point and free of NaN/Inf; `where` names the public function and
/// `what` the argument in messages ("apply_colormap: map contains NaN ...").
void check_values(const at::Tensor& tensor, const char* where, const char* what);

/// check_values plus rank 4: a batch [N, C, H, W].
void check_batch(const at::Tensor& tensor, const char* where, const char* what);

/// Percentile in [0, 100] and outlier_perc in [0, 100).
void check_percentile(double percentile, const char* where);
void check_outlier_perc(double outlier_perc, const char* where);

}  // namespace nn_interpretability::visualization::detail
