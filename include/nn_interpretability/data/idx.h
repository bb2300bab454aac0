#pragma once

// Readers and writers for the IDX format of MNIST and Fashion-MNIST
// (http://yann.lecun.com/exdb/mnist/, "FILE FORMATS FOR THE MNIST DATABASE").
//
// An IDX file is a big-endian header -- two zero bytes, a type byte (0x08 = unsigned byte),
// the number of dimensions d -- then d big-endian uint32 sizes, then the data in row-major
// order. Every reader accepts the plain file and its gzip-compressed form (detected from the
// content, not the name).

#include <nn_interpretability/data/dataset.h>

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace nn_interpretability {
namespace data {

/// Reads an unsigned-byte IDX file (plain or gzip) as a uint8 tensor with the header's shape.
/// With `limit`, only the first `limit` entries along dimension 0 are read.
///
/// \code
///   at::Tensor raw = read_idx_ubyte("t10k-images-idx3-ubyte.gz");  // uint8 [10000, 28, 28]
/// \endcode
/// Throws c10::ValueError naming the file for: a missing or unreadable file, a bad magic
/// number, an unsupported element type, a truncated file, corrupt gzip data, or a header whose
/// sizes cannot fit in the file.
at::Tensor read_idx_ubyte(const std::string& path, std::optional<int64_t> limit = std::nullopt);

/// Reads IDX images `[N, rows, cols]` as float32 `[N, 1, rows, cols]` in [0, 1].
///
/// \code
///   at::Tensor x = read_idx_images("train-images-idx3-ubyte.gz", 100);  // [100, 1, 28, 28]
/// \endcode
at::Tensor read_idx_images(const std::string& path, std::optional<int64_t> limit = std::nullopt);

/// Reads IDX labels `[N]` as int64 `[N]`.
at::Tensor read_idx_labels(const std::string& path, std::optional<int64_t> limit = std::nullopt);

/// Reads a pair of IDX image and label files and checks that their counts agree.
///
/// \code
///   auto train = read_idx("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz");
/// \endcode
LabeledImages read_idx(const std::string& images_path, const std::string& labels_path,
                       std::optional<int64_t> limit = std::nullopt);

/// Reads MNIST or Fashion-MNIST from a folder with the standard file names
/// `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and
/// `t10k-labels-idx1-ubyte`, each either plain or with a `.gz` suffix.
///
/// \code
///   auto test = load_mnist_idx("data/fashion-mnist", Split::kTest);  // 10000 images
/// \endcode
LabeledImages load_mnist_idx(const std::string& dir, Split split,
                             std::optional<int64_t> limit = std::nullopt);

/// Writes images as an unsigned-byte IDX file `[N, H, W]`, gzip-compressed when `path` ends in
/// `.gz`. Accepts uint8 `[N, H, W]` or `[N, 1, H, W]`, or floating point in [0, 1] (stored as
/// `round(x * 255)`).
void write_idx_images(const std::string& path, const at::Tensor& images);

/// Writes labels (integer `[N]`, each in 0..255) as an unsigned-byte IDX file, gzip-compressed
/// when `path` ends in `.gz`.
void write_idx_labels(const std::string& path, const at::Tensor& labels);

}  // namespace data
}  // namespace nn_interpretability
