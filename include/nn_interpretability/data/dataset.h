#pragma once

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace nn_interpretability {
namespace data {

/// A batch of labelled images, as every reader in `nn_interpretability::data` returns it.
///
/// `images` is float32 `[N, C, H, W]` with values in [0, 1] (byte `k` becomes exactly
/// `k / 255.0f`); `labels` is int64 `[N]`.
///
/// \code
///   auto test = nn_interpretability::data::load_mnist_idx("data/fashion-mnist",
///                                                         Split::kTest, /*limit=*/16);
///   model->forward(test.images);  // [16, 1, 28, 28]
/// \endcode
struct LabeledImages {
  at::Tensor images;  ///< float32 [N, C, H, W] in [0, 1].
  at::Tensor labels;  ///< int64 [N].

  /// Number of examples N.
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

/// Which part of a dataset to read. `kAll` is the training part followed by the test part.
enum class Split { kTrain, kTest, kAll };

/// "train", "test" or "all".
inline const char* to_string(Split split) {
  switch (split) {
    case Split::kTrain: return "train";
    case Split::kTest: return "test";
    case Split::kAll: return "all";
  }
  return "unknown";
}

/// The first `limit` examples of `batch` (all of them when `limit` is empty or not smaller).
/// Throws c10::ValueError when `limit` is negative.
LabeledImages take_first(const LabeledImages& batch, std::optional<int64_t> limit);

}  // namespace data
}  // namespace nn_interpretability
