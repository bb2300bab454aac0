// LIME: random coalitions, similarity weights, a linear surrogate.
#include "nn_interpretability/perturbation/lime.h"

#include <cmath>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "nn_interpretability/detail/perturbation_steps.h"
#include "nn_interpretability/detail/result_checks.h"

namespace nn_interpretability {

Lime::Lime(Model model, LimeOptions options) : ModelAttribution(std::move(model)), options_(std::move(options)) {
  PerturbationEngine::check_options("Lime", options_.engine_options());
  TORCH_CHECK_VALUE(options_.samples() >= 1, "Lime: samples must be >= 1, got ", options_.samples());
  TORCH_CHECK_VALUE(options_.probability() > 0 && options_.probability() < 1, "Lime: probability must be in (0, 1), got ",
                    options_.probability());
  TORCH_CHECK_VALUE(options_.kernel_width() >= 0 && std::isfinite(options_.kernel_width()),
                    "Lime: kernel_width must be >= 0, got ", options_.kernel_width());
  TORCH_CHECK_VALUE(options_.alpha() >= 0 && std::isfinite(options_.alpha()), "Lime: alpha must be >= 0, got ",
                    options_.alpha());
}

torch::Tensor Lime::compute(const torch::Tensor& input, const Target& target) {
  const int64_t batch = input.size(0);
  const ResolvedFeatureMask mask = options_.feature_mask().resolve(input);
  const int64_t features = mask.features, samples = options_.samples();
  const PerturbationEngine engine(model_, options_.engine_options());
  const auto long_options = input.options().dtype(at::kLong);

  at::Generator generator = detail::seeded_generator(static_cast<uint64_t>(options_.seed()));
  const torch::Tensor coalitions =
      at::rand({samples, features}, generator, at::TensorOptions().dtype(at::kDouble)) < options_.probability();  // [M, F]
  const torch::Tensor present = coalitions.to(input.device());
  const bool distribution = options_.baseline().is_distribution();
  const torch::Tensor background = distribution ? options_.baseline().samples(input) : options_.baseline().resolve(input);
  const torch::Tensor drawn =
      distribution ? at::randint(background.size(0), {samples}, generator, at::TensorOptions().dtype(at::kLong)).to(input.device())
                   : torch::Tensor();
  // The similarity of every row to its example, computed as the rows are made: [N, M].
  torch::Tensor similarity = at::ones({batch * samples}, input.options().dtype(at::kDouble));
  const torch::Tensor flat_input = input.reshape({batch, -1});
  const double width = options_.kernel_width();
  // Row r is (example r / M, coalition r % M).
  const PerturbationRun run = engine.run(input, target, batch * samples, [&](int64_t first, int64_t count) {
        const torch::Tensor rows = at::arange(first, first + count, long_options);
        const torch::Tensor examples = rows.div(samples, "floor");
        const torch::Tensor coalition = rows.remainder(samples);
        const torch::Tensor base = distribution ? background.index_select(0, drawn.index_select(0, coalition))
                                                : background.index_select(0, examples);
        torch::Tensor perturbed = detail::coalition_rows(input, mask.ids, present.index_select(0, coalition), examples, base);
        if (options_.similarity()) {
          const torch::Tensor weights =
              options_.similarity()(input.index_select(0, examples), perturbed,
                                    present.index_select(0, coalition).to(input.scalar_type()));
          TORCH_CHECK_VALUE(weights.defined() && weights.numel() == count, "the similarity function returned ",
                            weights.defined() ? weights.numel() : 0, " weights for ", count, " perturbed rows");
          TORCH_CHECK_VALUE((weights >= 0).all().item<bool>() && at::isfinite(weights).all().item<bool>(),
                            "the similarity function returned a negative, NaN or infinite weight");
          similarity.slice(0, first, first + count).copy_(weights.reshape({count}));
        } else if (width > 0) {
          // In the input's dtype: the weights need no more precision than the scores they weigh.
          const torch::Tensor cosine =
              at::cosine_similarity(perturbed.reshape({count, -1}), flat_input.index_select(0, examples), 1, 1e-8)
                  .to(at::kDouble);
          const torch::Tensor distance = 1 - cosine;
          similarity.slice(0, first, first + count).copy_(at::exp(-distance * distance / (2 * width * width)));
        }
        return PerturbedRows{perturbed, examples};
      });
  const torch::Tensor values = run.scores.view({batch, samples}).to(at::kCPU, at::kDouble);   // [N, M]
  const torch::Tensor weights = similarity.view({batch, samples}).to(at::kCPU);           // [N, M]
  const torch::Tensor design = coalitions.to(at::kDouble);                                // [M, F]
  std::vector<torch::Tensor> coefficients;
  for (int64_t n = 0; n < batch; ++n)  // each example its own weights
    coefficients.push_back(
        fit_linear_surrogate(design, values[n].unsqueeze(1), weights[n], options_.fit(), options_.alpha()).coefficients.squeeze(1));
  torch::Tensor result = detail::features_to_input(at::stack(coefficients).to(input.options()), mask.ids);
  detail::check_finite_result(result, "the attributions");
  return result;
}

}  // namespace nn_interpretability
