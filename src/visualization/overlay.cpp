// Overlay of a heatmap on an image, with un-normalization of mean/std-normalized images.

#include "nn_interpretability/visualization/overlay.h"

#include <ATen/ops/tensor.h>
#include <c10/util/Exception.h>

#include "checks.h"

namespace nn_interpretability::visualization {
namespace {

// Channel dimension of a [C, H, W] or [N, C, H, W] image, after checking the rank.
int64_t channel_dim(const at::Tensor& image, const char* where, const char* what) {
  TORCH_CHECK_VALUE(image.defined(), where, ": ", what, " is an undefined tensor");
  TORCH_CHECK_VALUE(image.dim() == 3 || image.dim() == 4, where, ": ", what,
                    " must be [C, H, W] or [N, C, H, W], got shape ", detail::shape_string(image));
  return image.dim() - 3;
}

// A [C] vector of per-channel values viewed to broadcast against `image`.
at::Tensor per_channel(const std::vector<double>& values, const at::Tensor& image, int64_t dim) {
  std::vector<int64_t> shape(image.dim(), 1);
  shape[dim] = static_cast<int64_t>(values.size());
  return at::tensor(values, at::kDouble).to(image.options()).view(shape);
}

}  // namespace

at::Tensor unnormalize(const at::Tensor& image, const std::vector<double>& mean,
                       const std::vector<double>& stddev) {
  const int64_t dim = channel_dim(image, "unnormalize", "image");
  detail::check_values(image, "unnormalize", "image");
  const auto channels = static_cast<size_t>(image.size(dim));
  TORCH_CHECK_VALUE(!mean.empty() && (mean.size() == 1 || mean.size() == channels),
                    "unnormalize: mean must have 1 or ", channels, " values, got ", mean.size());
  TORCH_CHECK_VALUE(stddev.size() == mean.size(), "unnormalize: stddev must have as many values as ",
                    "mean (", mean.size(), "), got ", stddev.size());
  for (double s : stddev) {
    TORCH_CHECK_VALUE(s > 0.0, "unnormalize: stddev values must be positive, got ", s);
  }
  return image.mul(per_channel(stddev, image, dim)).add_(per_channel(mean, image, dim)).clamp_(0, 1);
}

at::Tensor to_rgb(const at::Tensor& image) {
  const int64_t dim = channel_dim(image, "to_rgb", "image");
  const int64_t channels = image.size(dim);
  TORCH_CHECK_VALUE(channels == 1 || channels == 3,
                    "to_rgb: image must have 1 (gray) or 3 (RGB) channels, got shape ",
                    detail::shape_string(image));
  if (channels == 3) {
    return image;
  }
  std::vector<int64_t> repeats(image.dim(), 1);
  repeats[dim] = 3;
  return image.repeat(repeats);
}

at::Tensor overlay(const at::Tensor& heatmap, const at::Tensor& image,
                   const OverlayOptions& options) {
  TORCH_CHECK_VALUE(options.alpha() >= 0.0 && options.alpha() <= 1.0,
                    "overlay: alpha must be in [0, 1], got ", options.alpha());
  const int64_t dim = channel_dim(image, "overlay", "image");
  detail::check_values(image, "overlay", "image");
  TORCH_CHECK_VALUE(image.size(dim) == 1 || image.size(dim) == 3,
                    "overlay: image must have 1 (gray) or 3 (RGB) channels, got shape ",
                    detail::shape_string(image));
  TORCH_CHECK_VALUE(heatmap.defined(), "overlay: heatmap is an undefined tensor");
  TORCH_CHECK_VALUE(heatmap.dim() == image.dim(), "overlay: heatmap must have the image's rank (",
                    image.dim(), "), got shape ", detail::shape_string(heatmap));
  detail::check_values(heatmap, "overlay", "heatmap");
  const int64_t heat_channels = heatmap.size(dim);
  TORCH_CHECK_VALUE(heat_channels == 1 || heat_channels == 3,
                    "overlay: heatmap must have 1 channel (a map to colour) or 3 (RGB), got shape ",
                    detail::shape_string(heatmap));
  const bool same_layout = heatmap.size(-1) == image.size(-1) && heatmap.size(-2) == image.size(-2) &&
                           (dim == 0 || heatmap.size(0) == image.size(0));
  TORCH_CHECK_VALUE(same_layout, "overlay: heatmap shape ", detail::shape_string(heatmap),
                    " does not match image shape ", detail::shape_string(image),
                    " (batch and H, W must agree; resize layer maps to the input size first)");
  TORCH_CHECK_VALUE(heatmap.device() == image.device(),
                    "overlay: heatmap and image must be on the same device, got ", heatmap.device(),
                    " and ", image.device());

  at::Tensor pixels;
  if (options.mean().empty()) {
    TORCH_CHECK_VALUE(options.stddev().empty(), "overlay: stddev given without mean");
    const double low = image.min().item<double>();
    const double high = image.max().item<double>();
    constexpr double kTolerance = 1e-4;
    TORCH_CHECK_VALUE(low >= -kTolerance && high <= 1.0 + kTolerance, "overlay: image values lie in [",
                      low, ", ", high, "], outside [0, 1]; if the image is normalized, pass its ",
                      "mean and stddev in OverlayOptions");
    pixels = image;
  } else {
    pixels = unnormalize(image, options.mean(), options.stddev());
  }
  if (pixels.size(dim) == 1) {
    std::vector<int64_t> rgb_shape(pixels.sizes().begin(), pixels.sizes().end());
    rgb_shape[dim] = 3;
    pixels = pixels.expand(rgb_shape);  // a view; the blend below writes a new tensor
  }
  const at::Tensor colour =
      heat_channels == 1 ? apply_colormap(heatmap, options.colormap()) : heatmap;

  // out = alpha * heatmap + (1 - alpha) * image, clamped for RGB heatmaps slightly off [0, 1].
  return colour.to(pixels.scalar_type())
      .mul(options.alpha())
      .add_(pixels, 1.0 - options.alpha())
      .clamp_(0, 1);
}

}  // namespace nn_interpretability::visualization
