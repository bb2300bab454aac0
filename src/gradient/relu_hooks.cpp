// Guided backprop and deconvnet without module hooks: LibTorch modules have none, and functional
// ReLUs have no module at all. Every ReLU, however it was called (nn::ReLU, torch::relu, F::relu,
// TorchScript aten::relu), leaves a ReluBackward0 node in the autograd graph of the output. A post
// hook on that node replaces the gradient it passes on. The hooks belong to this call's graph and are
// freed with it, so nothing outlives the call and the model is never modified.
#include <string>
#include <unordered_set>
#include <vector>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/generated/Functions.h>

#include "nn_interpretability/detail/input_gradient.h"

namespace nn_interpretability {
namespace detail {
namespace {

using torch::autograd::variable_list;

class ReluGradientHook final : public torch::autograd::FunctionPostHook {
 public:
  explicit ReluGradientHook(ReluGradientRule rule) : rule_(rule) {}

  // `grad_inputs` is what the ReLU backward computed (grad_out masked by x > 0), `grad_outputs` what
  // it received.
  variable_list operator()(const variable_list& grad_inputs, const variable_list& grad_outputs) override {
    variable_list result = grad_inputs;
    if (result.empty() || !result[0].defined()) return result;
    if (rule_ == ReluGradientRule::kGuided) {
      result[0].clamp_min_(0);  // a fresh tensor computed by the ReLU's backward: ours to change
    } else if (rule_ == ReluGradientRule::kDeconvolution && !grad_outputs.empty() && grad_outputs[0].defined()) {
      result[0] = grad_outputs[0].clamp_min(0);
    }
    return result;
  }

 private:
  ReluGradientRule rule_;
};

}  // namespace

bool is_relu_backward(const torch::autograd::Node& node) {
  // A type test, not node.name(): that builds a string for every node of the graph.
  return dynamic_cast<const torch::autograd::generated::ReluBackward0*>(&node) != nullptr;
}

int apply_relu_rule(const torch::Tensor& output, ReluGradientRule rule) {
  if (rule == ReluGradientRule::kStandard || !output.grad_fn()) return 0;
  int relu_count = 0;
  std::unordered_set<const torch::autograd::Node*> seen;
  std::vector<torch::autograd::Node*> pending{output.grad_fn().get()};
  seen.insert(pending.back());
  while (!pending.empty()) {
    torch::autograd::Node* node = pending.back();
    pending.pop_back();
    if (is_relu_backward(*node)) {
      node->add_post_hook(std::make_unique<ReluGradientHook>(rule));
      ++relu_count;
    }
    for (const auto& edge : node->next_edges()) {
      const torch::autograd::Node* next = edge.function.get();
      if (next != nullptr && seen.insert(next).second) pending.push_back(edge.function.get());
    }
  }
  return relu_count;
}

}  // namespace detail
}  // namespace nn_interpretability
