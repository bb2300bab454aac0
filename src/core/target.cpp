#include "nn_interpretability/core/target.h"

#include <sstream>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace nn_interpretability {
namespace {

std::string shape_text(c10::IntArrayRef sizes) {
  std::ostringstream text;
  text << sizes;
  return text.str();
}

// The examples of a bool [N] tensor that are false, for messages: "example 3", "examples 0, 3, 7"
// (at most 10 listed).
std::string false_rows(const torch::Tensor& ok) {
  const torch::Tensor bad = ok.logical_not().nonzero().flatten().cpu();
  std::string rows = bad.numel() == 1 ? "example " : "examples ";
  for (int64_t i = 0; i < std::min<int64_t>(bad.numel(), 10); ++i)
    rows += (i ? ", " : "") + std::to_string(bad[i].item<int64_t>());
  if (bad.numel() > 10) rows += ", ... (" + std::to_string(bad.numel()) + " examples)";
  return rows;
}

// A per-example tensor [N, ...] for the rows `rows` of the batch; 0-d tensors, and [1, ...] ones
// where `one_is_shared` (masks and boxes: the same for every example), are kept.
torch::Tensor rows_of(const torch::Tensor& tensor, const torch::Tensor& rows, bool one_is_shared) {
  if (!tensor.defined() || tensor.dim() == 0 || (one_is_shared && tensor.size(0) == 1)) return tensor;
  return tensor.index_select(0, rows.to(tensor.device(), at::kLong));
}

// IoU of boxes [..., 4] (x1, y1, x2, y2) with `reference` broadcast against them.
torch::Tensor box_iou(const torch::Tensor& boxes, const torch::Tensor& reference) {
  const torch::Tensor left = at::maximum(boxes.select(-1, 0), reference.select(-1, 0));
  const torch::Tensor top = at::maximum(boxes.select(-1, 1), reference.select(-1, 1));
  const torch::Tensor right = at::minimum(boxes.select(-1, 2), reference.select(-1, 2));
  const torch::Tensor bottom = at::minimum(boxes.select(-1, 3), reference.select(-1, 3));
  const torch::Tensor inter = (right - left).clamp_min(0) * (bottom - top).clamp_min(0);
  auto area = [](const torch::Tensor& b) {
    return (b.select(-1, 2) - b.select(-1, 0)).clamp_min(0) * (b.select(-1, 3) - b.select(-1, 1)).clamp_min(0);
  };
  const torch::Tensor unions = area(boxes) + area(reference) - inter;
  return at::where(unions > 0, inter / unions.clamp_min(1e-30), at::zeros_like(inter));
}

}  // namespace

Target::Target() : kind_(Kind::kPredicted) {}

Target::Target(int64_t class_index) : kind_(Kind::kIndex), index_(class_index) {}

Target::Target(torch::Tensor class_indices) : kind_(Kind::kIndices), indices_(std::move(class_indices)) {
  TORCH_CHECK_VALUE(indices_.defined(), "target: the class-index tensor is undefined");
  TORCH_CHECK_TYPE(!indices_.is_floating_point() && !indices_.is_complex() && indices_.scalar_type() != at::kBool,
                   "target: class indices must be an integer tensor, got ", indices_.scalar_type());
  TORCH_CHECK_VALUE(indices_.dim() <= 1, "target: class indices must have shape [N] (or be 0-d), got shape ",
                    indices_.sizes());
  if (indices_.numel() > 0) {
    lowest_ = indices_.min().item<int64_t>();
    highest_ = indices_.max().item<int64_t>();
  }
}

Target::Target(ScoreFunction function) : kind_(Kind::kFunction), function_(std::move(function)) {
  TORCH_CHECK_VALUE(static_cast<bool>(function_), "target: the score function is empty");
}

Target Target::regression() { return Target(Kind::kRegression); }

Target Target::segmentation(int64_t class_index, torch::Tensor mask) {
  TORCH_CHECK_INDEX(class_index >= 0, "target: a segmentation class must be >= 0, got ", class_index);
  TORCH_CHECK_VALUE(mask.defined(), "target: the segmentation mask is undefined");
  TORCH_CHECK_VALUE(mask.dim() >= 2, "target: the segmentation mask must be [N, *spatial] or [1, *spatial] (a batch "
                    "dimension first; e.g. [1, H, W] for the same pixels in every image), got shape ", mask.sizes());
  TORCH_CHECK_TYPE(!mask.is_complex(), "target: the segmentation mask must be bool or real, got ", mask.scalar_type());
  const torch::Tensor selects = mask.ne(0).flatten(1).any(1);
  TORCH_CHECK_VALUE(selects.all().item<bool>(), "target: the segmentation mask selects no pixel in ",
                    false_rows(selects), "; their score would be an empty sum");
  if (mask.is_floating_point())
    TORCH_CHECK_VALUE(mask.isfinite().all().item<bool>(), "target: the segmentation mask has NaN or Inf values");
  Target target(Kind::kSegmentation);
  target.index_ = class_index;
  target.mask_ = std::move(mask);
  return target;
}

Target Target::predicted_pixels(int64_t class_index) {
  TORCH_CHECK_INDEX(class_index >= 0, "target: a segmentation class must be >= 0, got ", class_index);
  Target target(Kind::kSegmentation);
  target.index_ = class_index;
  return target;
}

Target Target::box(torch::Tensor reference_boxes, Target classes, double iou_threshold) {
  TORCH_CHECK_VALUE(reference_boxes.defined() && reference_boxes.is_floating_point() &&
                        (reference_boxes.dim() == 1 || reference_boxes.dim() == 2) &&
                        reference_boxes.size(-1) == 4,
                    "target: the reference boxes must be a floating-point tensor [4] or [N, 4] of (x1, y1, x2, y2), "
                    "got ", reference_boxes.defined() ? shape_text(reference_boxes.sizes()) : "undefined");
  TORCH_CHECK_VALUE(reference_boxes.isfinite().all().item<bool>(), "target: the reference boxes have NaN or Inf");
  TORCH_CHECK_VALUE(classes.is_class(), "target: a box target's classes must be one class index or N of them, got ",
                    classes.describe());
  TORCH_CHECK_VALUE(iou_threshold >= 0 && iou_threshold <= 1, "target: the IoU threshold must be in [0, 1], got ",
                    iou_threshold);
  Target target(Kind::kBox);
  target.boxes_ = reference_boxes.dim() == 1 ? reference_boxes.unsqueeze(0) : std::move(reference_boxes);
  target.classes_ = std::make_shared<Target>(std::move(classes));
  target.iou_threshold_ = iou_threshold;
  return target;
}

torch::Tensor Target::checked_indices(int64_t batch, int64_t classes) const {
  if (kind_ == Kind::kIndex) {
    TORCH_CHECK_INDEX(index_ >= 0 && index_ < classes, "target class ", index_, " is out of range: the model has ",
                      classes, " classes (valid: 0..", classes - 1, ")");
    return torch::Tensor();  // the caller fills
  }
  TORCH_CHECK_VALUE(indices_.dim() == 0 || indices_.size(0) == batch, "target: got ", indices_.size(0),
                    " class indices for a batch of ", batch, " examples");
  TORCH_CHECK_INDEX(lowest_ >= 0 && highest_ < classes, "target class ", (lowest_ < 0 ? lowest_ : highest_),
                    " is out of range: the model has ", classes, " classes (valid: 0..", classes - 1, ")");
  return indices_;
}

namespace {

[[noreturn]] void refuse_class_target(const torch::Tensor& output, const std::string& what) {
  if (output.dim() == 1)
    TORCH_CHECK_VALUE(false, "target: the model output is [N] (one value per example), so there are no classes to "
                      "pick; explain the value with the default target or Target::regression(), not ", what);
  TORCH_CHECK_VALUE(false, "target: ", what, " needs a model output [N, classes], got shape ", output.sizes(),
                    "; for a segmentation output [N, classes, H, W] use Target::segmentation(class, mask) or "
                    "Target::predicted_pixels(class), for a detector Target::box, for anything else a score "
                    "function (or pick one entry of the output: TorchScriptOptions::output)");
}

}  // namespace

torch::Tensor Target::class_indices(const torch::Tensor& output) const {
  const int64_t batch = output.size(0);
  switch (kind_) {
    case Kind::kPredicted:
      if (output.dim() == 1) return torch::Tensor();
      if (output.dim() != 2) refuse_class_target(output, "the predicted class");
      return output.detach().argmax(1);
    case Kind::kIndex:
    case Kind::kIndices: {
      if (output.dim() != 2) refuse_class_target(output, describe());
      torch::Tensor indices = checked_indices(batch, output.size(1));
      if (kind_ == Kind::kIndex) return at::full({batch}, index_, output.options().dtype(at::kLong));
      indices = indices.to(output.device(), at::kLong);
      return indices.dim() == 0 ? indices.expand({batch}) : indices;
    }
    default:
      return torch::Tensor();
  }
}

torch::Tensor Target::segmentation_scores(const torch::Tensor& output) const {
  TORCH_CHECK_VALUE(output.dim() >= 3, "target: ", describe(), " needs a model output [N, classes, *spatial] (e.g. "
                    "[N, K, H, W]), got shape ", output.sizes());
  const int64_t classes = output.size(1);
  TORCH_CHECK_INDEX(index_ < classes, "target class ", index_, " is out of range: the model has ", classes,
                    " classes (valid: 0..", classes - 1, ")");
  torch::Tensor mask = mask_;
  if (!mask.defined()) {
    mask = output.detach().argmax(1).eq(index_);
    const torch::Tensor selects = mask.flatten(1).any(1);
    TORCH_CHECK_VALUE(selects.all().item<bool>(), "target: no pixel is predicted as class ", index_, " in ",
                      false_rows(selects),
                      " (of ", output.size(0), "); name the pixels with Target::segmentation(class, mask)");
  }
  const c10::IntArrayRef spatial = output.sizes().slice(2);
  TORCH_CHECK_VALUE(mask.dim() == output.dim() - 1 && mask.sizes().slice(1) == spatial &&
                        (mask.size(0) == 1 || mask.size(0) == output.size(0)),
                    "target: the segmentation mask has shape ", mask.sizes(), " but the model output is ",
                    output.sizes(), ": it must be [", output.size(0), ", ", shape_text(spatial).substr(1),
                    " or [1, ", shape_text(spatial).substr(1), " for the same pixels in every example");
  const torch::Tensor weights = mask.to(output.device(), output.scalar_type());
  return (output.select(1, index_) * weights).flatten(1).sum(1);
}

torch::Tensor Target::box_scores(const torch::Tensor& output) const {
  TORCH_CHECK_VALUE(output.dim() == 3 && output.size(2) > 4, "target: a box target needs a model output [N, boxes, "
                    "4 + classes] (x1, y1, x2, y2, then one score per class), got shape ", output.sizes());
  const int64_t batch = output.size(0);
  const int64_t classes = output.size(2) - 4;
  TORCH_CHECK_VALUE(boxes_.size(0) == 1 || boxes_.size(0) == batch, "target: got ", boxes_.size(0),
                    " reference boxes for a batch of ", batch, " examples");
  const torch::Tensor reference = boxes_.to(output.device(), output.scalar_type()).expand({batch, 4}).unsqueeze(1);
  const torch::Tensor ious = box_iou(output.narrow(2, 0, 4), reference);  // [N, boxes]
  torch::Tensor matched = matched_;
  if (!matched.defined()) {
    const auto best = ious.detach().max(1);
    const torch::Tensor enough = std::get<0>(best) >= iou_threshold_;
    TORCH_CHECK_VALUE(enough.all().item<bool>(), "target: no predicted box reaches IoU ", iou_threshold_,
                      " with the reference box in ", false_rows(enough),
                      " (best IoU ", std::get<0>(best).min().item<double>(), ")");
    matched = std::get<1>(best);
  }
  matched = matched.to(output.device(), at::kLong);
  TORCH_CHECK_VALUE(matched.size(0) == batch, "target: the matched boxes are for ", matched.size(0),
                    " examples, the batch has ", batch);
  const Target& class_target = *classes_;
  torch::Tensor class_index = class_target.checked_indices(batch, classes);
  class_index = class_index.defined() ? class_index.to(output.device(), at::kLong).expand({batch})
                                      : at::full({batch}, class_target.index_, matched.options());
  const torch::Tensor chosen = output.gather(1, matched.view({batch, 1, 1}).expand({batch, 1, output.size(2)})).squeeze(1);
  return chosen.gather(1, (class_index + 4).unsqueeze(1)).squeeze(1) + ious.gather(1, matched.unsqueeze(1)).squeeze(1);
}

torch::Tensor Target::scores(const torch::Tensor& output) const {
  TORCH_CHECK_VALUE(output.dim() >= 1, "target: the model output must be a batch [N, ...], got a 0-d tensor");
  switch (kind_) {
    case Kind::kFunction: {
      torch::Tensor scores = function_(output);
      TORCH_CHECK_VALUE(scores.defined() && scores.dim() == 1 && scores.size(0) == output.size(0),
                        "target: the score function must return a tensor of shape [", output.size(0), "], got ",
                        scores.defined() ? scores.sizes() : c10::IntArrayRef{});
      return scores;
    }
    case Kind::kRegression:
      TORCH_CHECK_VALUE(output.dim() == 1 || (output.dim() == 2 && output.size(1) == 1),
                        "target: a regression target needs one value per example ([N] or [N, 1]), got shape ",
                        output.sizes(), "; pick an entry with a class index or a score function");
      return output.dim() == 1 ? output : output.squeeze(1);
    case Kind::kSegmentation:
      return segmentation_scores(output);
    case Kind::kBox:
      return box_scores(output);
    default:
      if (kind_ == Kind::kPredicted && output.dim() == 1) return output;
      return output.gather(1, class_indices(output).unsqueeze(1)).squeeze(1);
  }
}

bool Target::needs_resolving() const {
  return kind_ == Kind::kPredicted || (kind_ == Kind::kSegmentation && !mask_.defined()) ||
         (kind_ == Kind::kBox && !matched_.defined());
}

Target Target::resolved(const torch::Tensor& output) const {
  switch (kind_) {
    case Kind::kPredicted:
      return output.dim() == 1 ? Target::regression() : Target(class_indices(output));
    case Kind::kSegmentation: {
      if (mask_.defined()) return *this;
      TORCH_CHECK_VALUE(output.dim() >= 3, "target: ", describe(), " needs a model output [N, classes, *spatial], "
                        "got shape ", output.sizes());
      TORCH_CHECK_INDEX(index_ < output.size(1), "target class ", index_, " is out of range: the model has ",
                        output.size(1), " classes (valid: 0..", output.size(1) - 1, ")");
      const torch::Tensor mask = output.detach().argmax(1).eq(index_);
      const torch::Tensor selects = mask.flatten(1).any(1);
      TORCH_CHECK_VALUE(selects.all().item<bool>(), "target: no pixel is predicted as class ", index_, " in ",
                        false_rows(selects), " (of ", output.size(0),
                        "); name the pixels with Target::segmentation(class, mask)");
      Target result = *this;
      result.mask_ = mask;
      return result;
    }
    case Kind::kBox: {
      if (matched_.defined()) return *this;
      box_scores(output.detach());  // checks shapes, classes and that every example has a match
      const int64_t batch = output.size(0);
      const torch::Tensor reference =
          boxes_.to(output.device(), output.scalar_type()).expand({batch, 4}).unsqueeze(1);
      Target result = *this;
      result.matched_ = std::get<1>(box_iou(output.detach().narrow(2, 0, 4), reference).max(1));
      return result;
    }
    default:
      return *this;
  }
}

Target Target::select_rows(const torch::Tensor& rows) const {
  TORCH_CHECK(!needs_resolving(), "Target::select_rows: resolve this target first (", describe(), ")");
  Target result = *this;
  switch (kind_) {
    case Kind::kIndices:
      result.indices_ = rows_of(indices_, rows, false);
      break;
    case Kind::kSegmentation:
      result.mask_ = rows_of(mask_, rows, true);
      break;
    case Kind::kBox:
      result.boxes_ = rows_of(boxes_, rows, true);
      result.matched_ = rows_of(matched_, rows, false);
      result.classes_ = std::make_shared<Target>(classes_->select_rows(rows));
      break;
    default:
      break;
  }
  return result;
}

Target Target::repeated(int64_t batch, int64_t times) const {
  TORCH_CHECK(!needs_resolving(), "Target::repeated: resolve this target first (", describe(), ")");
  auto check = [batch](const torch::Tensor& tensor, const char* what, bool one_is_shared) {
    if (!tensor.defined() || tensor.dim() == 0 || (one_is_shared && tensor.size(0) == 1)) return;
    TORCH_CHECK_VALUE(tensor.size(0) == batch, "target: got ", tensor.size(0), " ", what, " for a batch of ", batch,
                      " examples");
  };
  check(indices_, "class indices", false);
  check(mask_, "segmentation masks", true);
  check(boxes_, "reference boxes", true);
  check(matched_, "matched boxes", false);
  if (classes_) check(classes_->indices_, "class indices", false);
  if (times == 1) return *this;
  return select_rows(at::arange(batch, at::kLong).repeat({times}));
}

Target Target::stacked(const std::vector<Target>& targets, int64_t batch) {
  std::vector<torch::Tensor> blocks;
  for (const Target& target : targets) {
    TORCH_CHECK_VALUE(target.is_class(), "target: only class targets can be stacked, got ", target.describe());
    if (target.kind_ == Kind::kIndex) {
      blocks.push_back(at::full({batch}, target.index_, at::kLong));
      continue;
    }
    TORCH_CHECK_VALUE(target.indices_.dim() == 0 || target.indices_.size(0) == batch, "target: got ",
                      target.indices_.size(0), " class indices for a batch of ", batch, " examples");
    blocks.push_back(target.indices_.to(at::kCPU, at::kLong).expand({batch}));
  }
  return Target(at::cat(blocks));
}

std::string Target::describe() const {
  switch (kind_) {
    case Kind::kPredicted:
      return "the predicted class";
    case Kind::kIndex:
      return "class " + std::to_string(index_);
    case Kind::kIndices:
      return "a class per example";
    case Kind::kFunction:
      return "a score function";
    case Kind::kRegression:
      return "the regression value";
    case Kind::kSegmentation:
      return "segmentation of class " + std::to_string(index_) + (mask_.defined() ? " over a mask" : " (predicted pixels)");
    case Kind::kBox:
      return "a box of " + classes_->describe();
  }
  return "";
}

}  // namespace nn_interpretability
