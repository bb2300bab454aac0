#pragma once
// Conversion between tensors and cv::Mat, and image files.
//
// Channel order: tensors and every cv::Mat this library takes or returns are RGB (or RGBA, or
// one-channel gray). OpenCV's own order is BGR; the library converts exactly once, where it hands
// data to or takes data from OpenCV's codecs (save_png, load_image) and colour tables.

#include <string>

#include <ATen/core/Tensor.h>
#include <opencv2/core/mat.hpp>

namespace nn_interpretability::visualization {

/// Element type of the cv::Mat made by `tensor_to_mat`.
enum class MatDepth {
  U8,   ///< CV_8U: round(255 * clamp(v, 0, 1)), i.e. floor(255 * v + 0.5).
  F32,  ///< CV_32F: the values as they are (no clamping).
};

/// A CHW image tensor in [0, 1] to an HWC cv::Mat in RGB order (the data is copied).
///
/// Accepts [H, W], [C, H, W] or [1, C, H, W] with C in {1, 3, 4}, any floating dtype and device
/// (moved to the CPU here). Returns CV_8UC(C) or CV_32FC(C).
///
/// Example:
///   cv::Mat rgb = tensor_to_mat(image);  // CV_8UC3, RGB
cv::Mat tensor_to_mat(const at::Tensor& image, MatDepth depth = MatDepth::U8);

/// An HWC cv::Mat in RGB order (1, 3 or 4 channels) to a [C, H, W] float32 CPU tensor.
///
/// CV_8U is divided by 255, CV_16U by 65535; CV_32F and CV_64F are taken as they are.
///
/// Example:
///   at::Tensor image = mat_to_tensor(rgb_mat);  // [3, H, W], values in [0, 1]
at::Tensor mat_to_tensor(const cv::Mat& image);

/// Writes an image tensor (see tensor_to_mat) as an 8-bit PNG file, whatever the extension.
/// Both overloads write atomically (a temporary file in the same directory, renamed over `path`): a
/// failed write leaves no partial PNG and an existing file intact. Throws c10::ValueError
/// "cannot open '<path>' for writing: <reason>" or "writing '<path>' failed: <reason>".
///
/// Example:
///   save_png("saliency.png", apply_colormap(map[0], Colormap::Jet));
void save_png(const std::string& path, const at::Tensor& image);

/// Writes an RGB (or RGBA, or gray) cv::Mat as a PNG file, converting to OpenCV's BGR here.
/// CV_8U and CV_16U are written as they are; CV_32F / CV_64F in [0, 1] are written as 8 bits.
///
/// Example:
///   save_png("grid.png", render_grid(tiles, GridOptions()));
void save_png(const std::string& path, const cv::Mat& image);

/// Reads an image file (PNG, or anything OpenCV decodes) into a [C, H, W] float32 tensor in [0, 1],
/// C = 3 (RGB) or C = 1 (gray), as `channels` asks. Throws c10::ValueError "cannot open '<path>' for
/// reading: <reason>" for a missing file or anything but a regular file ("is a directory", "is not a
/// regular file (a FIFO)", "... (a character device)"; checked before reading, so a FIFO or
/// /dev/zero cannot hang it), "cannot read" for an empty file, "cannot decode" otherwise.
///
/// Example:
///   at::Tensor image = load_image("digit.png", 1);  // [1, 28, 28]
at::Tensor load_image(const std::string& path, int64_t channels = 3);

}  // namespace nn_interpretability::visualization
