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

  // Whether window w covers each element, [W', ...row] for the windows w of a chunk: per dimension
  // a [W', size] band, combined by broadcasting.
  auto covers = [&](const torch::Tensor& windows) {
    torch::Tensor mask;
    for (int64_t d = 0; d < dims; ++d) {
      const int64_t size = input.size(d + 1);
      // Dimension 0 varies slowest: w = ((k0 · c1 + k1) · c2 + k2) ...
      int64_t below = 1;
      for (int64_t e = d + 1; e < dims; ++e) below *= g.counts[e];
      const torch::Tensor start = windows.div(below, "floor").remainder(g.counts[d]) * g.strides[d];
      const torch::Tensor position = at::arange(size, long_options).unsqueeze(0);
      torch::Tensor band = (position >= start.unsqueeze(1)) & (position < (start + g.window[d]).unsqueeze(1));
      std::vector<int64_t> shape(static_cast<size_t>(dims + 1), 1);
      shape[0] = windows.size(0);
      shape[d + 1] = size;
      band = band.view(shape);
      mask = mask.defined() ? mask & band : band;
    }
    return mask;
  };

  // Row r of the work list is (example r / W, window r % W).
  const int64_t total = batch * g.total;
  const PerturbationRun run = engine.run(input, target, total, [&](int64_t first, int64_t count) {
    const torch::Tensor rows = at::arange(first, first + count, long_options);
    const torch::Tensor examples = rows.div(g.total, "floor");
    const torch::Tensor mask = covers(rows.remainder(g.total));
    return PerturbedRows{at::where(mask, baseline.index_select(0, examples), input.index_select(0, examples)), examples};
  });

  // Σ_w d_w · cover_w / Σ_w cover_w, a chunk of windows at a time (the masks are as large as the rows).
  const torch::Tensor drops = (run.clean.scores.unsqueeze(1) - run.scores.view({batch, g.total})).to(input.scalar_type());
  torch::Tensor sum = at::zeros(input.sizes(), input.options());
  torch::Tensor count = at::zeros(input.sizes().slice(1), input.options());
  const int64_t per_chunk = std::max<int64_t>(1, engine.rows_per_call(g.total, detail::row_bytes(input)));
  for (int64_t first = 0; first < g.total; first += per_chunk) {
    const int64_t n = std::min(per_chunk, g.total - first);
    const torch::Tensor mask = covers(at::arange(first, first + n, long_options)).to(input.scalar_type());  // [n, ...]
    const torch::Tensor flat = mask.reshape({n, -1});
    sum += drops.slice(1, first, first + n).matmul(flat).view(input.sizes());
    count += flat.sum(0).view(input.sizes().slice(1));
  }
  torch::Tensor result = sum / count.unsqueeze(0);
  detail::check_finite_result(result, "the attributions");
  return result;
}

}  // namespace nn_interpretability
