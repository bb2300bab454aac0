// Colormaps. OpenCV's tables are read once through cv::applyColorMap (BGR, converted to RGB right
// there) and cached as [256, 3] tensors; colouring is then a table lookup in tensor land, so it runs
// on the map's device.

#include "nn_interpretability/visualization/colormap.h"

#include <array>
#include <mutex>

#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/from_blob.h>
#include <c10/util/Exception.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "checks.h"

namespace nn_interpretability::visualization {
namespace detail {
namespace {

constexpr int kColormapCount = static_cast<int>(Colormap::BlueWhiteRed) + 1;

int opencv_code(Colormap colormap) {
  switch (colormap) {
    case Colormap::Jet: return cv::COLORMAP_JET;
    case Colormap::Hot: return cv::COLORMAP_HOT;
    case Colormap::Bone: return cv::COLORMAP_BONE;
    case Colormap::Viridis: return cv::COLORMAP_VIRIDIS;
    case Colormap::Inferno: return cv::COLORMAP_INFERNO;
    case Colormap::Magma: return cv::COLORMAP_MAGMA;
    case Colormap::Plasma: return cv::COLORMAP_PLASMA;
    case Colormap::Cividis: return cv::COLORMAP_CIVIDIS;
    case Colormap::Turbo: return cv::COLORMAP_TURBO;
    case Colormap::Gray:
    case Colormap::BlueWhiteRed:
      break;
  }
  return -1;
}

// The diverging map on values already clamped to [-1, 1]: [N, 1, H, W] -> [N, 3, H, W].
at::Tensor blue_white_red(const at::Tensor& v) {
  const at::Tensor positive = v.clamp_min(0);
  const at::Tensor negative = v.clamp_max(0);  // <= 0
  const at::Tensor red = negative.add(1);         // 1 + min(v, 0)
  const at::Tensor blue = positive.neg().add_(1);  // 1 - max(v, 0)
  const at::Tensor green = red.sub(positive);      // 1 - |v|
  return at::cat({red, green, blue}, 1);
}

// OpenCV's table for `code` as [256, 3] float32 RGB in [0, 1].
at::Tensor read_opencv_table(int code) {
  cv::Mat ramp(1, 256, CV_8UC1);
  for (int i = 0; i < 256; ++i) {
    ramp.at<std::uint8_t>(0, i) = static_cast<std::uint8_t>(i);
  }
  cv::Mat bgr;
  cv::applyColorMap(ramp, bgr, code);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);  // OpenCV boundary: BGR -> RGB, once
  return at::from_blob(rgb.data, {256, 3}, at::kByte).to(at::kFloat).div_(255);
}

at::Tensor table(Colormap colormap) {
  static std::mutex mutex;
  static std::array<at::Tensor, kColormapCount> cache;
  const int index = static_cast<int>(colormap);
  TORCH_CHECK_VALUE(index >= 0 && index < kColormapCount, "colormap: unknown Colormap ", index);
  std::lock_guard<std::mutex> lock(mutex);
  at::Tensor& entry = cache[index];
  if (!entry.defined()) {
    if (colormap == Colormap::Gray) {
      entry = at::arange(256, at::kFloat).div_(255).unsqueeze(1).repeat({1, 3});
    } else if (colormap == Colormap::BlueWhiteRed) {
      const at::Tensor v = at::arange(256, at::kFloat).mul_(2.0 / 255.0).sub_(1).view({1, 1, 256, 1});
      entry = blue_white_red(v).view({3, 256}).t().contiguous();
    } else {
      entry = read_opencv_table(opencv_code(colormap));
    }
  }
  return entry;
}

}  // namespace
}  // namespace detail

bool is_diverging(Colormap colormap) { return colormap == Colormap::BlueWhiteRed; }

at::Tensor colormap_table(Colormap colormap) { return detail::table(colormap).clone(); }

at::Tensor apply_colormap(const at::Tensor& map, Colormap colormap) {
  TORCH_CHECK_VALUE(map.defined(), "apply_colormap: map is an undefined tensor");
  const int64_t rank = map.dim();
  TORCH_CHECK_VALUE(rank >= 2 && rank <= 4, "apply_colormap: map must be [N, 1, H, W], [1, H, W] or ",
                    "[H, W], got shape ", detail::shape_string(map));
  TORCH_CHECK_VALUE(rank == 2 || map.size(rank - 3) == 1,
                    "apply_colormap: map must have one channel, got shape ",
                    detail::shape_string(map), "; reduce the channels first (reduce_channels)");
  detail::check_values(map, "apply_colormap", "map");

  // Work on [N, 1, H, W].
  const int64_t height = map.size(rank - 2);
  const int64_t width = map.size(rank - 1);
  const int64_t batch = rank == 4 ? map.size(0) : 1;
  const at::Tensor v = map.reshape({batch, 1, height, width});

  at::Tensor rgb;
  if (colormap == Colormap::BlueWhiteRed) {
    rgb = detail::blue_white_red(v.clamp(-1, 1));
  } else if (colormap == Colormap::Gray) {
    rgb = v.clamp(0, 1).expand({batch, 3, height, width}).contiguous();
  } else {
    const at::Tensor index = v.clamp(0, 1).mul_(255).add_(0.5).floor_().to(at::kLong).view({-1});
    // [3, 256] table, gathered to [3, N*H*W], then laid out as [N, 3, H, W].
    const at::Tensor lut = detail::table(colormap).t().to(map.options());
    rgb = lut.index_select(1, index).view({3, batch, height, width}).permute({1, 0, 2, 3}).contiguous();
  }
  return rank == 4 ? rgb : rgb.squeeze(0);
}

}  // namespace nn_interpretability::visualization
