#pragma once
// Resizing a layer-resolution map (CAM methods) to the input's resolution.

#include <torch/types.h>

namespace nn_interpretability {

/// How a layer-resolution map is brought to the input's size.
enum class Upsample {
  kNone,      ///< keep the layer's resolution (the raw map)
  kBilinear,  ///< bilinear interpolation, align_corners = false
  kNearest,   ///< nearest neighbour
  kBicubic,   ///< bicubic interpolation, align_corners = false (may overshoot the input's range)
};

/// Resizes `map` [N, C, h, w] (CAM maps are [N, 1, h, w]) to `size` = {H, W}, on the map's device and
/// in its dtype. Bilinear and bicubic use align_corners = false, as torch.nn.functional.interpolate,
/// OpenCV's resize and pytorch-grad-cam do: pixel centres are aligned, so a constant map stays
/// constant and the map is not shifted. Upsample::kNone returns `map` unchanged.
///
/// Example:
///   torch::Tensor cam = grad_cam.attribute(images);                                  // [N, 1, 7, 7]
///   torch::Tensor big = nn_interpretability::upsample_map(cam, {224, 224});          // [N, 1, 224, 224]
torch::Tensor upsample_map(const torch::Tensor& map, torch::IntArrayRef size, Upsample mode = Upsample::kBilinear);

}  // namespace nn_interpretability
