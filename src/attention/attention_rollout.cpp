// Attention rollout: the product of the layers' attention, residuals counted as self-attention.
#include "nn_interpretability/attention/attention_rollout.h"

#include "nn_interpretability/detail/attention_steps.h"
#include "nn_interpretability/detail/result_checks.h"

namespace nn_interpretability {

AttentionRollout::AttentionRollout(Model model, AttentionOptions options)
    : ModelAttribution(std::move(model)), options_(std::move(options)) {
  TORCH_CHECK_VALUE(!options_.query_layer().empty(), "AttentionRollout: query_layer is empty");
}

torch::Tensor AttentionRollout::compute(const torch::Tensor& input, const Target& target) {
  torch::NoGradGuard no_grad;
  const detail::AttentionPass pass = detail::attention_forward(model_, input, options_, /*in_graph=*/false);
  target.scores(pass.output);  // class-agnostic, but a bad target is still an error
  torch::Tensor rollout;
  for (const torch::Tensor& probabilities : pass.probabilities) {
    const torch::Tensor fused = detail::fuse_heads(probabilities, options_.head_fusion());
    const torch::Tensor eye = at::eye(fused.size(-1), fused.options()).expand_as(fused);
    torch::Tensor step = 0.5 * fused + 0.5 * eye;
    step = step / step.sum(-1, /*keepdim=*/true);
    rollout = rollout.defined() ? step.matmul(rollout) : step;
  }
  torch::Tensor map = detail::token_map(rollout, input, options_, pass.layers.back());
  detail::check_finite_result(map, "the map");
  return map;
}

}  // namespace nn_interpretability
