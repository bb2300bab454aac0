#pragma once
// Overlay of a heatmap on the input image.

#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include "nn_interpretability/visualization/colormap.h"

namespace nn_interpretability::visualization {

/// Options for `overlay`.
///
/// Example:
///   auto options = OverlayOptions().alpha(0.4).mean({0.485, 0.456, 0.406}).stddev({0.229, 0.224, 0.225});
struct OverlayOptions {
  /// Weight of the heatmap, in [0, 1]: out = (1 - alpha) * image + alpha * heatmap. Default: 0.5.
  TORCH_ARG(double, alpha) = 0.5;
  /// Colormap for one-channel heatmaps (RGB heatmaps are used as given). Default: Colormap::Jet.
  TORCH_ARG(Colormap, colormap) = Colormap::Jet;
  /// Per-channel mean the image was normalized with (1 or C values); empty: the image is in
  /// [0, 1] already. Default: empty.
  TORCH_ARG(std::vector<double>, mean) = {};
  /// Per-channel standard deviation the image was normalized with (same count as mean).
  /// Default: empty.
  TORCH_ARG(std::vector<double>, stddev) = {};
};

/// Undoes `(x - mean) / stddev` per channel: x * stddev_c + mean_c, clamped to [0, 1].
/// `image` is [C, H, W] or [N, C, H, W]; mean and stddev have 1 or C values.
///
/// Example:
///   at::Tensor pixels = unnormalize(images, {0.1307}, {0.3081});  // MNIST
at::Tensor unnormalize(const at::Tensor& image, const std::vector<double>& mean,
                       const std::vector<double>& stddev);

/// A grayscale image [1, H, W] / [N, 1, H, W] repeated to 3 channels; RGB images are returned as is.
///
/// Example:
///   at::Tensor rgb = to_rgb(gray_digits);  // [N, 3, 28, 28]
at::Tensor to_rgb(const at::Tensor& image);

/// Blends a heatmap onto an image: out = (1 - alpha) * image_rgb + alpha * heatmap_rgb, in [0, 1].
///
/// `image`: [C, H, W] or [N, C, H, W], C = 1 (grayscale, repeated to RGB) or 3 (RGB), in [0, 1]
/// (checked) or normalized with options.mean / options.stddev (un-normalized first).
/// `heatmap`: the same rank, batch and H, W; one channel (coloured with options.colormap, so in
/// [0, 1] or, for BlueWhiteRed, in [-1, 1]) or three channels (an RGB image in [0, 1]).
///
/// Example:
///   at::Tensor blended = overlay(normalize_min_max(map), images, OverlayOptions().alpha(0.5));
at::Tensor overlay(const at::Tensor& heatmap, const at::Tensor& image,
                   const OverlayOptions& options = OverlayOptions());

}  // namespace nn_interpretability::visualization
