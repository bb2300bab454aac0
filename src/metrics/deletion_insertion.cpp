// Deletion and insertion curves on the perturbation engine: row (example e, step j) of the work list
// is example e with the pixels of rank below k_j (deletion) or from k_j on (insertion) set to the
// baseline.
#include "nn_interpretability/metrics/deletion_insertion.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "metric_checks.h"

namespace nn_interpretability {
namespace metrics {
namespace {

Curve run_curve(const Model& model, const torch::Tensor& input, const Target& target, const torch::Tensor& attributions,
                const CurveOptions& options, bool deletion) {
  const char* metric = deletion ? "deletion_curve" : "insertion_curve";
  model.check_input(input, metric);
  TORCH_CHECK_VALUE(input.dim() >= 2, metric, ": the input must be a batch [N, F] or [N, C, ...], got shape ", input.sizes());
  TORCH_CHECK_VALUE(options.step() >= 0, metric, ": step must be >= 0 (0: step_fraction), got ", options.step());
  TORCH_CHECK_VALUE(options.step() > 0 || (options.step_fraction() > 0 && options.step_fraction() <= 1), metric,
                    ": step_fraction must be in (0, 1], got ", options.step_fraction());
  TORCH_CHECK_VALUE(!options.baseline().is_distribution(), metric, ": a baseline distribution does not apply; give a ",
                    "scalar, a tensor or a blurred baseline");
  PerturbationEngine::check_options(metric, options.engine());
  const int64_t batch = input.size(0);
  // Pixel relevance [N, P]: summed over the channels for images, the elements themselves for [N, F].
  const torch::Tensor relevance = detail::pixel_relevance(attributions, input, metric);
  const int64_t pixels = relevance.size(1);
  const int64_t step = options.step() > 0
                           ? std::min(options.step(), pixels)
                           : std::max<int64_t>(1, static_cast<int64_t>(std::round(options.step_fraction() * pixels)));
  const int64_t steps = (pixels + step - 1) / step;

  // rank[e, p]: the position of pixel p in example e's order (a stable sort: ties by position).
  const bool most_first = options.order() == RelevanceOrder::kMostRelevantFirst;
  const torch::Tensor rank = detail::ranks(relevance, /*descending=*/most_first).to(input.device());
  const std::vector<int64_t> pixel_shape = detail::pixel_shape(input);

  const torch::Tensor baseline = options.baseline().resolve(input);
  const PerturbationEngine engine(model, PerturbationEngineOptions(options.engine()).class_probabilities(options.probabilities()));
  const auto long_options = input.options().dtype(at::kLong);
  // Deletion row j: ranks < min((j + 1) · step, P) removed; insertion row j: ranks >= j · step removed.
  const PerturbationRun run = engine.run(input, target, batch * steps, [&](int64_t first, int64_t count) {
    const torch::Tensor rows = at::arange(first, first + count, long_options);
    const torch::Tensor examples = rows.div(steps, "floor");
    const torch::Tensor j = rows.remainder(steps);
    const torch::Tensor k = deletion ? ((j + 1) * step).clamp_max(pixels) : j * step;
    const torch::Tensor below = rank.index_select(0, examples) < k.unsqueeze(1);
    std::vector<int64_t> chunk_shape = pixel_shape;
    chunk_shape[0] = count;
    const torch::Tensor removed = (deletion ? below : below.logical_not()).view(chunk_shape);
    return PerturbedRows{at::where(removed, baseline.index_select(0, examples), input.index_select(0, examples)), examples};
  });

  const auto real = at::TensorOptions().dtype(at::kDouble).device(input.device());
  const torch::Tensor perturbed = run.scores.to(at::kDouble).view({batch, steps});
  const torch::Tensor clean = run.clean.scores.to(at::kDouble).unsqueeze(1);
  Curve curve;
  // The point after j steps has min(j · step, P) pixels changed.
  curve.fractions = (at::arange(steps + 1, real) * static_cast<double>(step)).clamp_max(pixels) / static_cast<double>(pixels);
  curve.scores = deletion ? at::cat({clean, perturbed}, 1) : at::cat({perturbed, clean}, 1);
  const torch::Tensor widths = curve.fractions.slice(0, 1) - curve.fractions.slice(0, 0, steps);
  curve.auc = ((curve.scores.slice(1, 1) + curve.scores.slice(1, 0, steps)) * 0.5 * widths).sum(1);
  return curve;
}

}  // namespace

Curve deletion_curve(const Model& model, const torch::Tensor& input, const Target& target,
                     const torch::Tensor& attributions, const CurveOptions& options) {
  return run_curve(model, input, target, attributions, options, /*deletion=*/true);
}

Curve insertion_curve(const Model& model, const torch::Tensor& input, const Target& target,
                      const torch::Tensor& attributions, const CurveOptions& options) {
  return run_curve(model, input, target, attributions, options, /*deletion=*/false);
}

}  // namespace metrics
}  // namespace nn_interpretability
