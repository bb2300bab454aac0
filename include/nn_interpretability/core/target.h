#pragma once
// Which output to explain, per example.

#include <cstdint>
#include <functional>
#include <memory>

#include <torch/types.h>

namespace nn_interpretability {

/// Maps the model output [N, classes] to one score per example [N].
using ScoreFunction = std::function<torch::Tensor(const torch::Tensor& output)>;

/// The score to explain for every example of a batch: the predicted class (the default), one class
/// index for all examples, a tensor of N class indices, or any function of the output.
///
/// Example:
///   method.attribute(images);                          // each image's predicted class
///   method.attribute(images, 7);                       // class 7 for every image
///   method.attribute(images, labels);                  // labels[i] for image i
///   method.attribute(images, nni::Target([](const torch::Tensor& out) { return out.logsumexp(1); }));
class Target {
 public:
  /// The class each example is predicted as (argmax of the output).
  Target();
  /// The same class for every example.
  Target(int64_t class_index);  // NOLINT(google-explicit-constructor)
  Target(int class_index) : Target(static_cast<int64_t>(class_index)) {}  // NOLINT
  /// One class per example: an integer tensor of shape [N] (or a 0-d tensor for all).
  Target(torch::Tensor class_indices);  // NOLINT(google-explicit-constructor)
  /// Any score: `function(output)` must return a tensor of shape [N].
  Target(ScoreFunction function);  // NOLINT(google-explicit-constructor)

  static Target predicted() { return Target(); }

  /// The scores [N] to differentiate, taken from `output` [N, classes]; checks ranges and lengths.
  torch::Tensor scores(const torch::Tensor& output) const;

  /// The class indices [N] this target names for `output` (for a score function: undefined tensor).
  torch::Tensor class_indices(const torch::Tensor& output) const;

  /// For a predicted target, the classes predicted in `output`; any other target is returned as is.
  /// Wrappers resolve the target once on the clean input, then reuse it on perturbed copies.
  Target resolved(const torch::Tensor& output) const;

  /// This (already resolved) target for a batch made of `times` stacked copies of a batch of
  /// `batch` examples, copy-major: example i of copy k is row k * batch + i.
  Target repeated(int64_t batch, int64_t times) const;

  bool is_predicted() const { return kind_ == Kind::kPredicted; }

 private:
  enum class Kind { kPredicted, kIndex, kIndices, kFunction };
  Kind kind_;
  int64_t index_ = 0;
  torch::Tensor indices_;
  int64_t lowest_ = 0, highest_ = 0;  // range of indices_, found once so scoring needs no sync
  ScoreFunction function_;
};

}  // namespace nn_interpretability
