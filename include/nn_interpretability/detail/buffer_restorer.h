#pragma once
// Puts a model's buffers back after a forward pass in train mode.

#include <vector>

#include <torch/types.h>
#include <torch/utils.h>

#include "nn_interpretability/model/model.h"

namespace nn_interpretability {
namespace detail {

/// A forward pass in train mode updates buffers such as BatchNorm's running statistics. Methods
/// explain in the mode the user chose but must not change the model, so the buffers are saved on
/// construction and put back on destruction (also when an exception unwinds). Nothing is saved for
/// a model in eval mode.
class BufferRestorer {
 public:
  explicit BufferRestorer(const ModelBackend& backend) {
    if (!backend.is_training()) return;
    buffers_ = backend.buffers();
    for (const auto& buffer : buffers_) saved_.push_back(buffer.detach().clone());
  }
  ~BufferRestorer() {
    torch::NoGradGuard no_grad;
    // variable_data(): the same storage under a new version counter, so autograd, which saved some
    // buffers for the backward pass still to come, does not see an in-place change.
    for (size_t i = 0; i < buffers_.size(); ++i) buffers_[i].variable_data().copy_(saved_[i]);
  }
  BufferRestorer(const BufferRestorer&) = delete;
  BufferRestorer& operator=(const BufferRestorer&) = delete;

 private:
  std::vector<torch::Tensor> buffers_, saved_;
};

}  // namespace detail
}  // namespace nn_interpretability
