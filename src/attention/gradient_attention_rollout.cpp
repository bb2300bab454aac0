// Gradient-weighted attention rollout (Chefer et al. 2021): R ← R + mean_h((∂y/∂A ⊙ A)⁺) R.
#include "nn_interpretability/attention/gradient_attention_rollout.h"

#include <torch/autograd.h>

#include "nn_interpretability/detail/attention_steps.h"
#include "nn_interpretability/detail/result_checks.h"

namespace nn_interpretability {

GradientAttentionRollout::GradientAttentionRollout(Model model, AttentionOptions options)
    : ModelAttribution(std::move(model)), options_(std::move(options)) {
  TORCH_CHECK_VALUE(!options_.query_layer().empty(), "GradientAttentionRollout: query_layer is empty");
}

torch::Tensor GradientAttentionRollout::compute(const torch::Tensor& input, const Target& target) {
  detail::AttentionPass pass;
  std::vector<torch::Tensor> gradients;
  {
    torch::AutoGradMode grad_mode(true);
    // A requires-grad alias puts the probabilities into a graph even when the parameters are frozen.
    pass = detail::attention_forward(model_, input.detach().requires_grad_(true), options_, /*in_graph=*/true);
    const torch::Tensor scores = target.scores(pass.output);
    TORCH_CHECK_VALUE(scores.requires_grad(), "the target's scores do not depend on the input");
    gradients = torch::autograd::grad({scores}, pass.probabilities, {at::ones_like(scores)}, /*retain_graph=*/false,
                                      /*create_graph=*/false, /*allow_unused=*/true);
  }
  torch::NoGradGuard no_grad;
  torch::Tensor relevance;
  for (size_t l = 0; l < pass.probabilities.size(); ++l) {
    const torch::Tensor& probabilities = pass.probabilities[l];
    if (!relevance.defined())
      relevance = at::eye(probabilities.size(-1), probabilities.options()).expand({probabilities.size(0), -1, -1});
    // A layer the score does not depend on (after the class token is read out) adds nothing.
    if (!gradients[l].defined()) continue;
    const torch::Tensor weighted =
        detail::fuse_heads((gradients[l] * probabilities.detach()).clamp_min(0), options_.head_fusion());
    relevance = relevance + weighted.matmul(relevance);
  }
  torch::Tensor map = detail::token_map(relevance, input, options_, pass.layers.back());
  detail::check_finite_result(map, "the map");
  return map;
}

}  // namespace nn_interpretability
