// Occlusion: sliding windows of baseline over the input.
#include "nn_interpretability/perturbation/occlusion.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "nn_interpretability/detail/perturbation_steps.h"
#include "nn_interpretability/detail/result_checks.h"

namespace nn_interpretability {

Occlusion::Occlusion(Model model, OcclusionOptions options)
    : ModelAttribution(std::move(model)), options_(std::move(options)) {
  PerturbationEngine::check_options("Occlusion", options_.engine_options());
  TORCH_CHECK_VALUE(!options_.window().empty(), "Occlusion: window is empty; give its shape over the input's "
                    "dimensions without the batch, e.g. {1, 8, 8}");
  for (int64_t size : options_.window()) TORCH_CHECK_VALUE(size >= 1, "Occlusion: window sizes must be >= 1, got ", size);
  for (int64_t step : options_.strides()) TORCH_CHECK_VALUE(step >= 1, "Occlusion: strides must be >= 1, got ", step);
  TORCH_CHECK_VALUE(options_.strides().empty() || options_.strides().size() == options_.window().size(),
                    "Occlusion: ", options_.strides().size(), " strides for a window of ", options_.window().size(),
                    " dimensions");
  TORCH_CHECK_VALUE(!options_.baseline().is_distribution(), "Occlusion: a baseline distribution does not apply; give a "
                    "scalar, a tensor or a blurred baseline");
}

Occlusion::Grid Occlusion::grid(const torch::Tensor& input) const {
  const auto row = input.sizes().slice(1);
  Grid grid;
  grid.window = options_.window();
  TORCH_CHECK_VALUE(grid.window.size() == row.size(), "the window has ", grid.window.size(), " dimensions, the input's rows ",
                    row.size(), " (", row, "); give one size per dimension without the batch");
  grid.strides = options_.strides().empty() ? std::vector<int64_t>(row.size(), 1) : options_.strides();
  for (size_t d = 0; d < row.size(); ++d) {
    TORCH_CHECK_VALUE(grid.window[d] <= row[d], "the window ", at::IntArrayRef(grid.window), " is larger than the input's rows ",
                      row, " in dimension ", d + 1);
    TORCH_CHECK_VALUE(grid.window[d] == row[d] || grid.strides[d] <= grid.window[d], "the stride ", grid.strides[d],
                      " exceeds the window ", grid.window[d], " in dimension ", d + 1, ": elements between windows would ",
                      "never be occluded");
    // ⌈(size − window) / stride⌉ + 1 starts; the last window is clipped at the edge.
    grid.counts.push_back((row[d] - grid.window[d] + grid.strides[d] - 1) / grid.strides[d] + 1);
    grid.total *= grid.counts.back();
  }
  return grid;
}

int64_t Occlusion::windows(const torch::Tensor& input) const { return grid(input).total; }

torch::Tensor Occlusion::compute(const torch::Tensor& input, const Target& target) {
  const Grid g = grid(input);
  const int64_t batch = input.size(0);
  const int64_t dims = input.dim() - 1;
  const PerturbationEngine engine(model_, options_.engine_options());
  const torch::Tensor baseline = options_.baseline().resolve(input);
  const auto long_options = input.options().dtype(at::kLong);

  // The windows are separable: window (k_0, k_1, ...) covers an element iff band_d[k_d] covers its
  // position in every dimension d, with band_d [c_d, size_d] the start-k_d windows of dimension d.
  std::vector<torch::Tensor> bands;
  for (int64_t d = 0; d < dims; ++d) {
    const torch::Tensor start = at::arange(g.counts[d], long_options).mul_(g.strides[d]).unsqueeze(1);
    const torch::Tensor position = at::arange(input.size(d + 1), long_options).unsqueeze(0);
    bands.push_back((position >= start) & (position < start + g.window[d]));
  }
  // Whether each window of a chunk covers each element, [W', ...row].
  auto covers = [&](const torch::Tensor& windows) {
    torch::Tensor mask;
    int64_t below = g.total;
    for (int64_t d = 0; d < dims; ++d) {
      // Dimension 0 varies slowest: w = ((k0 · c1 + k1) · c2 + k2) ...
      below /= g.counts[d];
      const torch::Tensor k = below == 1 ? windows.remainder(g.counts[d]) : windows.div(below, "floor").remainder(g.counts[d]);
      std::vector<int64_t> shape(static_cast<size_t>(dims + 1), 1);
      shape[0] = windows.size(0);
      shape[d + 1] = input.size(d + 1);
      const torch::Tensor band = bands[d].index_select(0, k).view(shape);
      mask = mask.defined() ? mask & band : band;
    }
    return mask;
  };

  // Row r of the work list is (example r / W, window r % W).
  const int64_t total = batch * g.total;
  const PerturbationRun run = engine.run(input, target, total, [&](int64_t first, int64_t count) {
    const torch::Tensor rows = at::arange(first, first + count, long_options);
    const torch::Tensor examples = batch == 1 ? at::zeros({count}, long_options) : rows.div(g.total, "floor");
    const torch::Tensor mask = covers(batch == 1 ? rows : rows.remainder(g.total));
    return PerturbedRows{at::where(mask, baseline.index_select(0, examples), input.index_select(0, examples)), examples};
  });

  // Σ_w d_w · cover_w / Σ_w cover_w, contracted one dimension at a time against the bands (no mask
  // as large as the rows is made): [N, c_0, c_1, ...] → [N, c_1, ..., size_0] → ... → [N, ...row].
  std::vector<int64_t> drop_shape{batch};
  drop_shape.insert(drop_shape.end(), g.counts.begin(), g.counts.end());
  torch::Tensor sum = (run.clean.scores.unsqueeze(1) - run.scores.view({batch, g.total})).to(input.scalar_type()).view(drop_shape);
  torch::Tensor count;
  for (int64_t d = 0; d < dims; ++d) {
    const torch::Tensor band = bands[d].to(input.scalar_type());
    sum = at::tensordot(sum, band, {1}, {0});
    const torch::Tensor covered = band.sum(0);  // windows covering each position of dimension d
    count = count.defined() ? (count.unsqueeze(-1) * covered) : covered;
  }
  torch::Tensor result = sum / count.unsqueeze(0);
  detail::check_finite_result(result, "the attributions");
  return result;
}

}  // namespace nn_interpretability
