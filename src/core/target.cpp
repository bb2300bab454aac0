#include "nn_interpretability/core/target.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace nn_interpretability {

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

torch::Tensor Target::class_indices(const torch::Tensor& output) const {
  const int64_t batch = output.size(0);
  const int64_t classes = output.size(1);
  switch (kind_) {
    case Kind::kPredicted:
      return output.detach().argmax(1);
    case Kind::kIndex:
      TORCH_CHECK_INDEX(index_ >= 0 && index_ < classes, "target class ", index_, " is out of range: the model has ",
                        classes, " classes (valid: 0..", classes - 1, ")");
      return at::full({batch}, index_, output.options().dtype(at::kLong));
    case Kind::kIndices: {
      torch::Tensor indices = indices_.to(output.device(), at::kLong);
      if (indices.dim() == 0) indices = indices.expand({batch});
      TORCH_CHECK_VALUE(indices.size(0) == batch, "target: got ", indices.size(0), " class indices for a batch of ",
                        batch, " examples");
      TORCH_CHECK_INDEX(lowest_ >= 0 && highest_ < classes, "target class ", (lowest_ < 0 ? lowest_ : highest_),
                        " is out of range: the model has ", classes, " classes (valid: 0..", classes - 1, ")");
      return indices;
    }
    case Kind::kFunction:
      return torch::Tensor();
  }
  return torch::Tensor();
}

torch::Tensor Target::scores(const torch::Tensor& output) const {
  TORCH_CHECK_VALUE(output.dim() == 2, "target: the model output must be [N, classes], got shape ", output.sizes());
  if (kind_ == Kind::kFunction) {
    torch::Tensor scores = function_(output);
    TORCH_CHECK_VALUE(scores.defined() && scores.dim() == 1 && scores.size(0) == output.size(0),
                      "target: the score function must return a tensor of shape [", output.size(0), "], got ",
                      scores.defined() ? scores.sizes() : c10::IntArrayRef{});
    return scores;
  }
  return output.gather(1, class_indices(output).unsqueeze(1)).squeeze(1);
}

Target Target::resolved(const torch::Tensor& output) const {
  return kind_ == Kind::kPredicted ? Target(class_indices(output)) : *this;
}

Target Target::repeated(int64_t batch, int64_t times) const {
  TORCH_CHECK(kind_ != Kind::kPredicted, "Target::repeated: resolve a predicted target first");
  if (kind_ != Kind::kIndices) return *this;
  torch::Tensor indices = indices_.dim() == 0 ? indices_.expand({batch}) : indices_;
  TORCH_CHECK_VALUE(indices.size(0) == batch, "target: got ", indices.size(0), " class indices for a batch of ",
                    batch, " examples");
  Target result = *this;
  result.indices_ = indices.repeat({times});
  return result;
}

}  // namespace nn_interpretability
