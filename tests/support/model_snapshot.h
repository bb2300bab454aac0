#pragma once
// A bit-exact record of everything a method must leave unchanged in a model.

#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace nni_test {

struct ModelSnapshot {
  std::vector<std::string> names;
  std::vector<torch::Tensor> values;
  std::vector<bool> requires_grad;
  std::vector<bool> has_grad;
  std::vector<bool> training;
  bool grad_mode = true;

  static ModelSnapshot of(const torch::nn::Module& module) {
    ModelSnapshot s;
    for (const auto& item : module.named_parameters()) {
      s.names.push_back(item.key());
      s.values.push_back(item.value().detach().clone());
      s.requires_grad.push_back(item.value().requires_grad());
      s.has_grad.push_back(item.value().grad().defined());
    }
    for (const auto& item : module.named_buffers()) {
      s.names.push_back(item.key());
      s.values.push_back(item.value().detach().clone());
      s.requires_grad.push_back(item.value().requires_grad());
      s.has_grad.push_back(item.value().grad().defined());
    }
    for (const auto& child : module.modules()) s.training.push_back(child->is_training());
    s.grad_mode = torch::GradMode::is_enabled();
    return s;
  }

  /// Empty when equal; otherwise what differs.
  std::string difference(const ModelSnapshot& other) const {
    std::ostringstream why;
    if (names != other.names) why << "parameter names differ; ";
    for (size_t i = 0; i < values.size() && i < other.values.size(); ++i) {
      if (!values[i].equal(other.values[i])) why << names[i] << " values changed; ";
      if (requires_grad[i] != other.requires_grad[i]) why << names[i] << " requires_grad changed; ";
      if (has_grad[i] != other.has_grad[i]) why << names[i] << " gained a .grad; ";
    }
    if (training != other.training) why << "train/eval mode changed; ";
    if (grad_mode != other.grad_mode) why << "global grad mode changed; ";
    return why.str();
  }
};

}  // namespace nni_test
