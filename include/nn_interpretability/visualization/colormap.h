#pragma once
// Colormaps: a one-channel map to an RGB image, as tensors.

#include <ATen/core/Tensor.h>

namespace nn_interpretability::visualization {

/// A colormap. All but BlueWhiteRed are one-sided and read values in [0, 1]; the OpenCV ones are
/// exactly OpenCV's `cv::COLORMAP_*` tables (256 entries).
enum class Colormap {
  Gray,          ///< v -> (v, v, v), continuous.
  Jet,           ///< cv::COLORMAP_JET.
  Hot,           ///< cv::COLORMAP_HOT.
  Bone,          ///< cv::COLORMAP_BONE.
  Viridis,       ///< cv::COLORMAP_VIRIDIS.
  Inferno,       ///< cv::COLORMAP_INFERNO.
  Magma,         ///< cv::COLORMAP_MAGMA.
  Plasma,        ///< cv::COLORMAP_PLASMA.
  Cividis,       ///< cv::COLORMAP_CIVIDIS.
  Turbo,         ///< cv::COLORMAP_TURBO.
  BlueWhiteRed,  ///< diverging, reads [-1, 1]: -1 blue (0,0,1), 0 white (1,1,1), +1 red (1,0,0).
};

/// True for colormaps that read signed values in [-1, 1] (BlueWhiteRed).
bool is_diverging(Colormap colormap);

/// Colours a one-channel map; the result is RGB in [0, 1], same dtype and device as `map`.
///
/// Shapes: [N, 1, H, W] -> [N, 3, H, W]; [1, H, W] or [H, W] -> [3, H, W].
/// One-sided maps clamp v to [0, 1] and look up entry floor(255 * v + 0.5) of the OpenCV table.
/// BlueWhiteRed clamps v to [-1, 1] and is continuous and exact:
///   v <= 0: (1 + v, 1 + v, 1);  v >= 0: (1, 1 - v, 1 - v).
///
/// Example:
///   at::Tensor rgb = apply_colormap(normalize_min_max(map), Colormap::Jet);       // [N, 3, H, W]
///   at::Tensor signed_rgb = apply_colormap(normalize_symmetric(map), Colormap::BlueWhiteRed);
at::Tensor apply_colormap(const at::Tensor& map, Colormap colormap);

/// The colormap's table: 256 RGB colours in [0, 1], [256, 3] float32 on the CPU. Entry i is the
/// colour of v = i / 255 (one-sided) or v = 2 * i / 255 - 1 (BlueWhiteRed).
///
/// Example:
///   at::Tensor table = colormap_table(Colormap::Viridis);  // table[255] is viridis' yellow
at::Tensor colormap_table(Colormap colormap);

}  // namespace nn_interpretability::visualization
