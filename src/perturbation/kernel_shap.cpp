// KernelSHAP: coalitions from the Shapley kernel, a weighted least-squares fit.
#include "nn_interpretability/perturbation/kernel_shap.h"

#include <cmath>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "nn_interpretability/detail/perturbation_steps.h"
#include "nn_interpretability/detail/result_checks.h"

namespace nn_interpretability {

KernelShap::KernelShap(Model model, KernelShapOptions options)
    : ModelAttribution(std::move(model)), options_(std::move(options)) {
  PerturbationEngine::check_options("KernelShap", options_.engine_options());
  TORCH_CHECK_VALUE(options_.alpha() >= 0 && std::isfinite(options_.alpha()), "KernelShap: alpha must be >= 0, got ",
                    options_.alpha());
  TORCH_CHECK_VALUE(options_.samples() >= 2, "KernelShap: samples must be >= 2 (all features on and off come first), got ",
                    options_.samples());
}

torch::Tensor KernelShap::compute(const torch::Tensor& input, const Target& target) {
  const int64_t batch = input.size(0);
  const ResolvedFeatureMask mask = options_.feature_mask().resolve(input);
  const int64_t features = mask.features, samples = options_.samples();
  const PerturbationEngine engine(model_, options_.engine_options());
  const auto long_options = input.options().dtype(at::kLong);

  // The coalitions [M, F] on the CPU, from the method's own generator.
  at::Generator generator = detail::seeded_generator(static_cast<uint64_t>(options_.seed()));
  const auto cpu_double = at::TensorOptions().dtype(at::kDouble);
  torch::Tensor coalitions = at::zeros({samples, features}, cpu_double);
  coalitions[0].fill_(1);
  if (features >= 2 && samples > 2) {
    const torch::Tensor sizes = at::arange(1, features, cpu_double);
    const torch::Tensor size_probability = (features - 1.0) / (sizes * (features - sizes));
    const torch::Tensor drawn_sizes = at::multinomial(size_probability, samples - 2, /*replacement=*/true, generator) + 1;
    const torch::Tensor noise = at::rand({samples - 2, features}, generator, cpu_double);
    // The k features with the smallest noise: rank < k.
    const torch::Tensor ranks = noise.argsort(int64_t{1}).argsort(int64_t{1});
    coalitions.slice(0, 2) = (ranks < drawn_sizes.unsqueeze(1)).to(at::kDouble);
  }
  const torch::Tensor present = coalitions.to(at::kBool).to(input.device());
  const bool distribution = options_.baseline().is_distribution();
  const torch::Tensor background = distribution ? options_.baseline().samples(input) : options_.baseline().resolve(input);
  const torch::Tensor drawn =
      distribution ? at::randint(background.size(0), {samples}, generator, at::TensorOptions().dtype(at::kLong)).to(input.device())
                   : torch::Tensor();
  // Row r is (example r / M, coalition r % M).
  const PerturbationRun run = engine.run(input, target, batch * samples, [&](int64_t first, int64_t count) {
        const torch::Tensor rows = at::arange(first, first + count, long_options);
        const torch::Tensor examples = rows.div(samples, "floor");
        const torch::Tensor coalition = rows.remainder(samples);
        const torch::Tensor base = distribution ? background.index_select(0, drawn.index_select(0, coalition))
                                                : background.index_select(0, examples);
        return PerturbedRows{detail::coalition_rows(input, mask.ids, present.index_select(0, coalition), examples, base),
                             examples};
      });
  // Weighted least squares per example, b + z β ≈ v, weights 10⁶ on the two end rows.
  const torch::Tensor values = run.scores.view({batch, samples}).t();  // [M, N]
  torch::Tensor weights = at::ones({samples}, cpu_double);
  weights.slice(0, 0, 2).fill_(1e6);
  const torch::Tensor phi =
      fit_linear_surrogate(coalitions, values, weights, options_.fit(), options_.alpha()).coefficients.t().to(input.options());
  torch::Tensor result = detail::features_to_input(phi, mask.ids);
  detail::check_finite_result(result, "the attributions");
  return result;
}

}  // namespace nn_interpretability
