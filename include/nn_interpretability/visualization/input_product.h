#pragma once
// Multiplying attributions by the input ("gradient * input").

#include <ATen/core/Tensor.h>

namespace nn_interpretability::visualization {

/// attributions * input, elementwise; both [N, C, H, W] of the same shape, dtype and device.
///
/// Caveat: wherever the input is zero (black pixels of an image in [0, 1], or the mean colour of a
/// mean/std-normalized image) the product is zero, so those pixels never show, however important.
///
/// Example:
///   at::Tensor weighted = multiply_by_input(gradients, images);
at::Tensor multiply_by_input(const at::Tensor& attributions, const at::Tensor& input);

}  // namespace nn_interpretability::visualization
