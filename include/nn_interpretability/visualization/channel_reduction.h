#pragma once
// Channel reduction: attributions [N, C, H, W] to one map per example, [N, 1, H, W].

#include <ATen/core/Tensor.h>

namespace nn_interpretability::visualization {

/// How the C channels of an attribution combine into one map (x_c: the value in channel c).
enum class ChannelReduction {
  Sum,     ///< sum_c x_c; keeps the sign (Captum's choice before sign handling).
  AbsSum,  ///< sum_c |x_c|.
  AbsMax,  ///< max_c |x_c| (the saliency map of Simonyan et al., 2014).
  L2Norm,  ///< sqrt(sum_c x_c^2).
};

/// Reduces the channel dimension (dim 1) of a batch [N, C, H, W] to size 1: [N, 1, H, W].
///
/// Works on any device and floating dtype; returns a new tensor.
/// Throws c10::ValueError (wrong rank, empty, NaN/Inf) or c10::TypeError (not floating point).
///
/// Example:
///   at::Tensor map = reduce_channels(attributions, ChannelReduction::AbsMax);  // [N, 1, H, W]
at::Tensor reduce_channels(const at::Tensor& attributions, ChannelReduction reduction);

}  // namespace nn_interpretability::visualization
