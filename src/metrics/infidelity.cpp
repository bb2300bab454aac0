// Infidelity on the perturbation engine: row r of the work list is x − I for draw r % S of example
// r / S; Iᵀ Φ is formed while the row is made, so no draw is kept after its chunk.
#include "nn_interpretability/metrics/infidelity.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "metric_checks.h"

namespace nn_interpretability {
namespace metrics {

torch::Tensor infidelity(const Model& model, const torch::Tensor& input, const Target& target,
                         const torch::Tensor& attributions, const InfidelityOptions& options) {
  const char* metric = "infidelity";
  model.check_input(input, metric);
  PerturbationEngine::check_options(metric, options.engine());
  const int64_t batch = input.size(0);
  const bool square_removal = options.perturbation() == InfidelityPerturbation::kSquareRemoval;
  const torch::Tensor& given = options.perturbations();
  int64_t samples = options.samples();
  if (given.defined()) {
    samples = detail::given_samples(given, input, metric);
  } else if (square_removal) {
    TORCH_CHECK_VALUE(input.dim() >= 4, metric, ": square removal needs images [N, C, H, W], got shape ", input.sizes());
    TORCH_CHECK_VALUE(options.square() >= 0 && options.square() <= std::min(input.size(-2), input.size(-1)), metric,
                      ": square must be in [0, ", std::min(input.size(-2), input.size(-1)), "] (0: a quarter of the ",
                      "smaller side), got ", options.square());
    TORCH_CHECK_VALUE(!options.baseline().is_distribution(), metric, ": a baseline distribution does not apply; give a ",
                      "scalar, a tensor or a blurred baseline");
  } else {
    TORCH_CHECK_VALUE(std::isfinite(options.noise_std()) && options.noise_std() > 0, metric,
                      ": noise_std must be > 0, got ", options.noise_std());
  }
  TORCH_CHECK_VALUE(samples >= 1, metric, ": samples must be >= 1, got ", samples);
  // Φ [N, 1 or C, ...] in the input's dtype: broadcast over the channels when it has one.
  (void)detail::pixel_relevance(attributions, input, metric);  // shape and finiteness
  const torch::Tensor phi = attributions.detach().to(input.options());

  const int64_t height = input.dim() >= 4 ? input.size(-2) : 1, width = input.dim() >= 4 ? input.size(-1) : 1;
  const int64_t side = options.square() > 0 ? options.square() : std::max<int64_t>(1, std::min(height, width) / 4);
  const torch::Tensor baseline = square_removal && !given.defined() ? options.baseline().resolve(input) : torch::Tensor();
  std::vector<int64_t> row_shape = input.sizes().vec();
  row_shape.erase(row_shape.begin());

  const int64_t total = batch * samples;
  torch::Tensor dots = at::empty({total}, input.options().dtype(at::kDouble));
  const PerturbationEngine engine(model, PerturbationEngineOptions(options.engine()).class_probabilities(options.probabilities()));
  const auto long_options = input.options().dtype(at::kLong);
  const PerturbationRun run = engine.run(input, target, total, [&](int64_t first, int64_t count) {
    const torch::Tensor rows = at::arange(first, first + count, long_options);
    const torch::Tensor examples = rows.div(samples, "floor");
    const torch::Tensor x = input.index_select(0, examples);
    torch::Tensor perturbation;
    if (given.defined()) {
      perturbation = detail::given_rows(given, input, rows, samples);
    } else if (square_removal) {
      // I = x − baseline inside the square, 0 outside: x − I is the baseline there.
      torch::Tensor inside = at::zeros({count, 1, height, width}, at::TensorOptions().dtype(at::kBool));
      for (int64_t r = 0; r < count; ++r) {
        at::Generator generator = detail::sample_generator(options.seed(), (first + r) / samples, (first + r) % samples);
        const int64_t top = at::randint(height - side + 1, {1}, generator, at::kLong).item<int64_t>();
        const int64_t left = at::randint(width - side + 1, {1}, generator, at::kLong).item<int64_t>();
        inside[r].slice(1, top, top + side).slice(2, left, left + side).fill_(true);
      }
      inside = inside.to(input.device());
      perturbation = at::where(inside, x - baseline.index_select(0, examples), at::zeros({}, input.options()));
    } else {
      std::vector<torch::Tensor> drawn;
      drawn.reserve(static_cast<size_t>(count));
      for (int64_t r = first; r < first + count; ++r)
        drawn.push_back(at::empty(row_shape, at::TensorOptions().dtype(input.scalar_type()))
                            .normal_(0.0, options.noise_std(), detail::sample_generator(options.seed(), r / samples, r % samples)));
      perturbation = at::stack(drawn).to(input.device());
    }
    dots.slice(0, first, first + count)
        .copy_((perturbation * phi.index_select(0, examples)).reshape({count, -1}).sum(1).to(at::kDouble));
    return PerturbedRows{x - perturbation, examples};
  });

  const torch::Tensor explained = dots.view({batch, samples});
  const torch::Tensor change = run.clean.scores.to(at::kDouble).unsqueeze(1) - run.scores.to(at::kDouble).view({batch, samples});
  if (!options.normalize()) return (explained - change).pow(2).mean(1);
  // β minimizes E[(β IᵀΦ − Δf)²]; a map with IᵀΦ = 0 for every draw gets β = 0 (Captum's safe_div).
  const torch::Tensor squares = explained.pow(2).sum(1);
  const torch::Tensor beta = at::where(squares > 0, (explained * change).sum(1) / squares.clamp_min(1e-300),
                                       at::zeros_like(squares)).unsqueeze(1);
  return (beta * explained - change).pow(2).mean(1);
}

}  // namespace metrics
}  // namespace nn_interpretability
