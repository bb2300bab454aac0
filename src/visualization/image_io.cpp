// Tensor <-> cv::Mat conversion and image files. This file and colormap.cpp are the only places that
// meet OpenCV's BGR order; everything else is RGB.

#include "nn_interpretability/visualization/image_io.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <ATen/ops/from_blob.h>
#include <c10/util/Exception.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "checks.h"
#include "nn_interpretability/detail/files.h"

namespace nn_interpretability::visualization {
namespace {

// [H, W], [C, H, W] or [1, C, H, W] with C in {1, 3, 4}, as [C, H, W].
at::Tensor as_chw(const at::Tensor& image, const char* where) {
  TORCH_CHECK_VALUE(image.defined(), where, ": image is an undefined tensor");
  const int64_t rank = image.dim();
  TORCH_CHECK_VALUE(rank >= 2 && rank <= 4, where,
                    ": image must be [H, W], [C, H, W] or [1, C, H, W], got shape ",
                    detail::shape_string(image));
  TORCH_CHECK_VALUE(rank != 4 || image.size(0) == 1, where,
                    ": expected one image, got a batch of ", image.size(0), " (shape ",
                    detail::shape_string(image), "); index it first");
  const at::Tensor chw = rank == 2 ? image.unsqueeze(0) : rank == 4 ? image.squeeze(0) : image;
  const int64_t channels = chw.size(0);
  TORCH_CHECK_VALUE(channels == 1 || channels == 3 || channels == 4, where,
                    ": image must have 1, 3 or 4 channels, got shape ", detail::shape_string(image));
  return chw;
}

// RGB(A)/gray cv::Mat of 8 or 16 bits as OpenCV's BGR(A) order for its codecs.
cv::Mat to_opencv_order(const cv::Mat& image) {
  cv::Mat converted;
  switch (image.channels()) {
    case 3:
      cv::cvtColor(image, converted, cv::COLOR_RGB2BGR);
      return converted;
    case 4:
      cv::cvtColor(image, converted, cv::COLOR_RGBA2BGRA);
      return converted;
    default:
      return image;
  }
}

}  // namespace

cv::Mat tensor_to_mat(const at::Tensor& image, MatDepth depth) {
  const at::Tensor chw = as_chw(image, "tensor_to_mat");
  detail::check_values(chw, "tensor_to_mat", "image");
  const int channels = static_cast<int>(chw.size(0));
  const int height = static_cast<int>(chw.size(1));
  const int width = static_cast<int>(chw.size(2));
  // Device boundary: the pixels go to the CPU here, as HWC.
  const at::Tensor hwc = chw.detach().to(at::kCPU).to(at::kFloat).permute({1, 2, 0});
  at::Tensor pixels;
  cv::Mat mat;
  if (depth == MatDepth::U8) {
    pixels = hwc.clamp(0, 1).mul_(255).add_(0.5).floor_().to(at::kByte).contiguous();
    mat.create(height, width, CV_8UC(channels));
  } else {
    pixels = hwc.contiguous();
    mat.create(height, width, CV_32FC(channels));
  }
  std::memcpy(mat.data, pixels.data_ptr(), pixels.numel() * pixels.element_size());
  return mat;
}

at::Tensor mat_to_tensor(const cv::Mat& image) {
  TORCH_CHECK_VALUE(!image.empty(), "mat_to_tensor: image is an empty cv::Mat");
  TORCH_CHECK_VALUE(image.dims == 2, "mat_to_tensor: image must be a 2-D cv::Mat, got ", image.dims,
                    " dimensions");
  const int channels = image.channels();
  TORCH_CHECK_VALUE(channels == 1 || channels == 3 || channels == 4,
                    "mat_to_tensor: image must have 1, 3 or 4 channels, got ", channels);
  const int depth = image.depth();
  cv::Mat continuous = image.isContinuous() ? image : image.clone();
  at::Tensor hwc;
  const std::vector<int64_t> shape{image.rows, image.cols, channels};
  switch (depth) {
    case CV_8U:
      hwc = at::from_blob(continuous.data, shape, at::kByte).to(at::kFloat).div_(255);
      break;
    case CV_16U: {
      cv::Mat wide;
      continuous.convertTo(wide, CV_32F, 1.0 / 65535.0);
      hwc = at::from_blob(wide.data, shape, at::kFloat).clone();
      break;
    }
    case CV_32F:
      hwc = at::from_blob(continuous.data, shape, at::kFloat).clone();
      break;
    case CV_64F:
      hwc = at::from_blob(continuous.data, shape, at::kDouble).to(at::kFloat);
      break;
    default:
      TORCH_CHECK_TYPE(false, "mat_to_tensor: unsupported cv::Mat depth ", depth,
                       " (expected CV_8U, CV_16U, CV_32F or CV_64F)");
  }
  if (depth == CV_32F || depth == CV_64F) {
    detail::check_values(hwc, "mat_to_tensor", "image");
  }
  return hwc.permute({2, 0, 1}).contiguous();
}

void save_png(const std::string& path, const at::Tensor& image) {
  save_png(path, tensor_to_mat(image, MatDepth::U8));
}

void save_png(const std::string& path, const cv::Mat& image) {
  TORCH_CHECK_VALUE(!path.empty(), "save_png: the path is empty");
  TORCH_CHECK_VALUE(!image.empty(), "save_png: image is an empty cv::Mat");
  const int channels = image.channels();
  TORCH_CHECK_VALUE(channels == 1 || channels == 3 || channels == 4,
                    "save_png: image must have 1, 3 or 4 channels, got ", channels);
  cv::Mat pixels = image;
  if (image.depth() == CV_32F || image.depth() == CV_64F) {
    pixels = tensor_to_mat(mat_to_tensor(image), MatDepth::U8);
  }
  TORCH_CHECK_TYPE(pixels.depth() == CV_8U || pixels.depth() == CV_16U,
                   "save_png: unsupported cv::Mat depth ", pixels.depth(),
                   " (expected CV_8U, CV_16U, CV_32F or CV_64F)");

  std::vector<std::uint8_t> encoded;
  TORCH_CHECK_VALUE(cv::imencode(".png", to_opencv_order(pixels), encoded),
                    "save_png: OpenCV could not encode the image as PNG");
  // Atomically (a temporary file renamed over `path`): a failed write leaves no truncated PNG and an
  // existing file intact.
  nn_interpretability::detail::write_file_atomically(path, encoded.data(), encoded.size(), "save_png");
}

at::Tensor load_image(const std::string& path, int64_t channels) {
  TORCH_CHECK_VALUE(channels == 1 || channels == 3,
                    "load_image: channels must be 1 (gray) or 3 (RGB), got ", channels);
  // Only regular files, refused before reading (a FIFO would block, /dev/zero never ends).
  const std::vector<std::uint8_t> bytes =
      nn_interpretability::detail::read_whole_file(path, "load_image", std::uint64_t{1} << 32);
  NNI_CHECK_FILE(!bytes.empty(), "load_image", path, "empty file (nothing to decode)");
  const cv::Mat decoded =
      cv::imdecode(bytes, channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  TORCH_CHECK_VALUE(!decoded.empty(), "load_image: cannot decode '", path,
                    "' (not an image format OpenCV reads)");
  if (channels == 1) {
    return mat_to_tensor(decoded);
  }
  cv::Mat rgb;
  cv::cvtColor(decoded, rgb, cv::COLOR_BGR2RGB);  // OpenCV boundary: BGR -> RGB, once
  return mat_to_tensor(rgb);
}

}  // namespace nn_interpretability::visualization
