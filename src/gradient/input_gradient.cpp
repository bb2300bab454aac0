#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "nn_interpretability/detail/input_gradient.h"
#include "nn_interpretability/detail/result_checks.h"

namespace nn_interpretability {
namespace detail {

InputGradient input_gradient(const Model& model, const torch::Tensor& input, const Target& target,
                             ReluGradientRule rule) {
  // Methods may be called inside a user's NoGradGuard; the guard restores the mode on every exit.
  torch::AutoGradMode grad_enabled(true);
  torch::Tensor leaf = input.detach().requires_grad_(true);
  torch::Tensor output = model.forward(leaf);
  TORCH_CHECK_VALUE(output.requires_grad(), "the model output does not depend on the input through ",
                    "autograd (does the forward detach it or run under NoGradGuard?)");
  apply_relu_rule(output, rule);
  torch::Tensor scores = target.scores(output);
  TORCH_CHECK_VALUE(scores.requires_grad(), "the target's scores do not depend on the input");
  // Differentiating with respect to the input alone skips parameter gradients entirely: nothing is
  // computed for them and nothing accumulates in their .grad.
  auto gradients = torch::autograd::grad({scores}, {leaf}, {at::ones_like(scores)}, /*retain_graph=*/false,
                                         /*create_graph=*/false, /*allow_unused=*/true);
  // No gradient at all means no autograd path from the input to the scores: the scores may still
  // require grad through parameters after the input was cut off (a detached or NoGradGuard backbone
  // under a trainable head). A map of zeros would be a silent wrong answer.
  TORCH_CHECK_VALUE(gradients[0].defined(),
                    "the target's scores do not depend on the input through autograd (does the forward detach "
                    "it or run under NoGradGuard?); no gradient reaches the input");
  const torch::Tensor& gradient = gradients[0];
  check_finite_result(gradient, "the gradient");
  return {gradient, output.detach()};
}

}  // namespace detail
}  // namespace nn_interpretability
