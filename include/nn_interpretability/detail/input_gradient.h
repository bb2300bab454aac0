#pragma once
// The shared core of every gradient method: one forward pass, one backward pass to the input only.

#include <torch/types.h>

#include "nn_interpretability/model/model.h"
#include "nn_interpretability/core/target.h"

namespace torch {
namespace autograd {
struct Node;
}  // namespace autograd
}  // namespace torch

namespace nn_interpretability {
namespace detail {

/// How the backward pass treats ReLUs.
enum class ReluGradientRule {
  kStandard,       ///< ordinary gradient: grad_out * (x > 0)
  kGuided,         ///< guided backprop: max(grad_out, 0) * (x > 0)
  kDeconvolution,  ///< deconvnet: max(grad_out, 0), whatever the forward input was
};

/// Whether an autograd node is a ReLU's backward (any ReLU: module, functional, in place, TorchScript).
bool is_relu_backward(const torch::autograd::Node& node);

/// Rewires the backward of every ReLU reachable from `output`'s autograd graph. The hooks live on
/// nodes of this call's graph only, so they vanish with it: the model itself is never touched.
/// Returns the number of ReLU nodes found.
int apply_relu_rule(const torch::Tensor& output, ReluGradientRule rule);

struct InputGradient {
  torch::Tensor gradient;  ///< d score / d input, shaped like the input
  torch::Tensor output;    ///< the model output [N, classes], detached
};

/// Forward `input` through `model`, then differentiate `target`'s scores with respect to the input
/// only: parameter gradients are neither computed nor accumulated. The input is not checked here
/// (Attribution::attribute did) and messages do not name the method (attribute() adds the name).
InputGradient input_gradient(const Model& model, const torch::Tensor& input, const Target& target,
                             ReluGradientRule rule);

}  // namespace detail
}  // namespace nn_interpretability
