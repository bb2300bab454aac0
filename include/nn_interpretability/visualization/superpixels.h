#pragma once
// SLIC superpixels (Achanta et al. 2012): feature masks that follow the image's edges.

#include <cstdint>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

namespace nn_interpretability::visualization {

/// Options for `slic_superpixels`.
struct SlicOptions {
  /// About how many superpixels per image (the seeds' grid); the result may have a few more or fewer.
  TORCH_ARG(int64_t, segments) = 50;
  /// Weight of spatial against colour distance (SLIC's m, on CIELAB values 0–100): higher gives more
  /// regular, square superpixels.
  TORCH_ARG(double, compactness) = 10.0;
  /// k-means iterations.
  TORCH_ARG(int64_t, iterations) = 10;
};

/// Superpixels of each image of `images` [N, C, H, W] (C = 1: grey levels, C = 3: RGB; values in
/// [0, 1]): int64 ids [N, 1, H, W], in each image 0 .. K − 1, every superpixel one 4-connected
/// region (fragments smaller than a quarter of the mean size join a neighbour). Colour distances in
/// CIELAB (OpenCV's conversion), grey levels scaled to 0–100. For perturbation methods:
/// `FeatureMask::custom(slic_superpixels(images))`, or `--features slic:50` on the command line.
at::Tensor slic_superpixels(const at::Tensor& images, const SlicOptions& options = {});

}  // namespace nn_interpretability::visualization
