#pragma once
// Normalization of each example's map to [0, 1] or [-1, 1].

#include <ATen/core/Tensor.h>

namespace nn_interpretability::visualization {

/// How to normalize each example.
enum class Normalization {
  None,       ///< raw values.
  MinMax,     ///< (x - min) / (max - min), into [0, 1]; a constant map gives zeros.
  Symmetric,  ///< x / max|x|, into [-1, 1], zero stays zero; an all-zero map gives zeros.
};

/// Per example: (x - min_n) / (max_n - min_n) in [0, 1]. A constant map gives zeros, never NaN.
///
/// Example:
///   at::Tensor unit = normalize_min_max(absolute(attributions));  // for one-sided colormaps
at::Tensor normalize_min_max(const at::Tensor& attributions);

/// Per example: x / max_n |x| in [-1, 1]; zero stays zero. An all-zero map gives zeros, never NaN.
///
/// Example:
///   at::Tensor signed_unit = normalize_symmetric(attributions);  // for Colormap::BlueWhiteRed
at::Tensor normalize_symmetric(const at::Tensor& attributions);

/// Dispatches to normalize_min_max or normalize_symmetric; Normalization::None returns the input.
///
/// Example:
///   at::Tensor unit = normalize(map, Normalization::MinMax);
at::Tensor normalize(const at::Tensor& attributions, Normalization normalization);

}  // namespace nn_interpretability::visualization
