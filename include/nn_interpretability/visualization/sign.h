#pragma once
// Sign handling: which part of a signed attribution to show.

#include <ATen/core/Tensor.h>

namespace nn_interpretability::visualization {

/// Which sign of the attribution to keep.
enum class Sign {
  All,       ///< x, unchanged (signed; show with a diverging colormap).
  Positive,  ///< max(x, 0).
  Negative,  ///< max(-x, 0): the magnitude of the negative part, so one-sided colormaps apply.
  Absolute,  ///< |x|. Useful on ImageNet/CIFAR, not on MNIST where the sign carries meaning
             ///< (Smilkov et al., "SmoothGrad", 2017).
};

/// Keeps the part of `attributions` selected by `sign`. Any shape [N, ...] of rank 4.
///
/// Sign::All returns `attributions` itself (shared, not copied); the others return a new tensor.
///
/// Example:
///   at::Tensor positive = apply_sign(attributions, Sign::Positive);
at::Tensor apply_sign(const at::Tensor& attributions, Sign sign);

/// |x|, elementwise: `apply_sign(attributions, Sign::Absolute)`.
///
/// Example:
///   at::Tensor magnitude = absolute(attributions);
at::Tensor absolute(const at::Tensor& attributions);

}  // namespace nn_interpretability::visualization
