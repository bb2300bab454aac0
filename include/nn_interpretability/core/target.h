#pragma once
// Which output to explain, per example: a class of a classifier, the pixels of a segmentation, a box
// of a detector, a regression value, or any function of the output (docs/targets.md).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

namespace nn_interpretability {

/// Maps the model output [N, ...] to one score per example [N]. It must treat rows independently
/// (row i of its result depends on row i of the output only): methods call it on stacked copies.
using ScoreFunction = std::function<torch::Tensor(const torch::Tensor& output)>;

/// The score to explain for every example of a batch.
///
/// | output shape            | targets                                                             |
/// |-------------------------|---------------------------------------------------------------------|
/// | [N, classes]            | predicted class (default), one class, N classes, a score function    |
/// | [N] or [N, 1]           | the value itself (default, or Target::regression())                  |
/// | [N, classes, *spatial]  | Target::segmentation(class, mask), Target::predicted_pixels(class)   |
/// | [N, boxes, 4 + classes] | Target::box(reference boxes, classes)                                |
/// | anything [N, ...]       | a score function                                                     |
///
/// Example:
///   method.attribute(images);                          // each image's predicted class
///   method.attribute(images, 7);                       // class 7 for every image
///   method.attribute(images, labels);                  // labels[i] for image i
///   method.attribute(images, nni::Target([](const torch::Tensor& out) { return out.logsumexp(1); }));
///   method.attribute(images, {3, 5, 7});               // three maps per image: [N, 3, ...]
class Target {
 public:
  /// The class each example is predicted as (argmax of the output [N, classes]); for an output of
  /// one value per example ([N] or [N, 1]), that value.
  Target();
  /// The same class for every example.
  Target(int64_t class_index);  // NOLINT(google-explicit-constructor)
  Target(int class_index) : Target(static_cast<int64_t>(class_index)) {}  // NOLINT
  /// One class per example: an integer tensor of shape [N] (or a 0-d tensor for all).
  Target(torch::Tensor class_indices);  // NOLINT(google-explicit-constructor)
  /// Any score: `function(output)` must return a tensor of shape [N].
  Target(ScoreFunction function);  // NOLINT(google-explicit-constructor)

  static Target predicted() { return Target(); }

  /// A regression model's output itself: [N] or [N, 1].
  static Target regression();

  /// Semantic segmentation, output [N, classes, *spatial] (e.g. [N, K, H, W]): the sum of class
  /// `class_index`'s scores over the pixels of `mask` [N, *spatial], or [1, *spatial] for the same
  /// pixels in every example: bool or 0/1 (other values weight the pixels). Every example's mask
  /// must select a pixel.
  static Target segmentation(int64_t class_index, torch::Tensor mask);
  /// The same over the pixels predicted as `class_index` (argmax over classes) on the clean input;
  /// an example with no such pixel is refused (its score would be an empty sum).
  static Target predicted_pixels(int64_t class_index);

  /// Object detection, output [N, boxes, 4 + classes]: per box (x1, y1, x2, y2) then one score per
  /// class (e.g. a dict output joined with TorchScriptOptions().output("boxes+scores")). On the clean
  /// input, each example's predicted box with the highest IoU with its reference box is matched
  /// (the match must reach `iou_threshold`); the score is then, as in pytorch-grad-cam's
  /// FasterRCNNBoxScoreTarget, that box's score for the class plus its IoU with the reference.
  /// `reference_boxes`: [4] or [N, 4]; `classes`: one class for all or [N].
  static Target box(torch::Tensor reference_boxes, Target classes, double iou_threshold = 0.5);

  /// The scores [N] to differentiate, taken from `output` [N, ...]; checks shapes, ranges, lengths.
  torch::Tensor scores(const torch::Tensor& output) const;

  /// The class indices [N] this target names for a classifier's `output` [N, classes]; an undefined
  /// tensor for every other kind of target (methods then call scores()).
  torch::Tensor class_indices(const torch::Tensor& output) const;

  /// What is chosen from the clean input's `output` fixed: the predicted classes, the predicted
  /// pixels, the matched boxes. Wrappers resolve a target once, then reuse it on perturbed copies.
  Target resolved(const torch::Tensor& output) const;

  /// This (resolved) target for a batch whose row j is example `rows[j]` of the original batch.
  Target select_rows(const torch::Tensor& rows) const;

  /// This (resolved) target for a batch made of `times` stacked copies of a batch of `batch`
  /// examples, copy-major: example i of copy k is row k * batch + i.
  Target repeated(int64_t batch, int64_t times) const;

  /// Class targets (is_class()) for K copies of a batch of `batch` examples stacked copy-major, as
  /// one target: row k * batch + i is example i's class of targets[k].
  static Target stacked(const std::vector<Target>& targets, int64_t batch);

  /// Whether resolved() changes this target (it depends on the clean output).
  bool needs_resolving() const;
  bool is_predicted() const { return kind_ == Kind::kPredicted; }
  /// A class index or N class indices (not a function, segmentation, box or regression target).
  bool is_class() const { return kind_ == Kind::kIndex || kind_ == Kind::kIndices; }

  /// A short description for messages and file names: "class 7", "predicted", "segmentation of class 3".
  std::string describe() const;

 private:
  enum class Kind { kPredicted, kIndex, kIndices, kFunction, kRegression, kSegmentation, kBox };
  explicit Target(Kind kind) : kind_(kind) {}
  torch::Tensor checked_indices(int64_t batch, int64_t classes) const;
  torch::Tensor segmentation_scores(const torch::Tensor& output) const;
  torch::Tensor box_scores(const torch::Tensor& output) const;

  Kind kind_;
  int64_t index_ = 0;
  torch::Tensor indices_;             // kIndices: [N] or 0-d
  int64_t lowest_ = 0, highest_ = 0;  // range of indices_, found once so scoring needs no sync
  ScoreFunction function_;
  torch::Tensor mask_;                // kSegmentation: [N or 1, *spatial]; undefined: predicted pixels
  std::shared_ptr<Target> classes_;   // kBox: the classes (an index or indices)
  torch::Tensor boxes_;               // kBox: [4] or [N, 4]
  torch::Tensor matched_;             // kBox, resolved: the matched box per example [N]
  double iou_threshold_ = 0.5;
};

}  // namespace nn_interpretability
