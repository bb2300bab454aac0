// RISE: random smooth masks weighted by the scores they leave.
#include "nn_interpretability/perturbation/rise.h"

#include <cmath>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "nn_interpretability/detail/perturbation_steps.h"
#include "nn_interpretability/detail/result_checks.h"

namespace nn_interpretability {

Rise::Rise(Model model, RiseOptions options) : ModelAttribution(std::move(model)), options_(std::move(options)) {
  PerturbationEngine::check_options("Rise", options_.engine_options());
  TORCH_CHECK_VALUE(options_.masks() >= 1, "Rise: masks must be >= 1, got ", options_.masks());
  TORCH_CHECK_VALUE(options_.cells() >= 1, "Rise: cells must be >= 1, got ", options_.cells());
  TORCH_CHECK_VALUE(options_.probability() > 0 && options_.probability() <= 1, "Rise: probability must be in (0, 1], got ",
                    options_.probability());
  TORCH_CHECK_VALUE(!options_.baseline().is_distribution(), "Rise: a baseline distribution does not apply; give a scalar, "
                    "a tensor or a blurred baseline");
}

void Rise::check_input_shape(const torch::Tensor& input) const {
  TORCH_CHECK_VALUE(input.dim() == 4, "the input must be an image batch [N, C, H, W], got shape ", input.sizes());
}

torch::Tensor Rise::compute(const torch::Tensor& input, const Target& target) {
  const int64_t batch = input.size(0), height = input.size(2), width = input.size(3);
  const int64_t cells = options_.cells(), count = options_.masks();
  TORCH_CHECK_VALUE(cells <= std::min(height, width), "Rise: ", cells, " x ", cells, " cells do not fit the input's ",
                    height, " x ", width, " pixels");
  const PerturbationEngine engine(model_, options_.engine_options());
  const torch::Tensor baseline = options_.baseline().resolve(input);
  const auto long_options = input.options().dtype(at::kLong);
  const int64_t cell_height = (height + cells - 1) / cells, cell_width = (width + cells - 1) / cells;

  at::Generator generator = detail::seeded_generator(static_cast<uint64_t>(options_.seed()));
  const auto cpu = at::TensorOptions().dtype(input.scalar_type());
  const torch::Tensor grids = (at::rand({count, 1, cells, cells}, generator, cpu) < options_.probability()).to(input.scalar_type());
  const torch::Tensor shift_y = at::randint(cell_height, {count}, generator, at::TensorOptions().dtype(at::kLong));
  const torch::Tensor shift_x = at::randint(cell_width, {count}, generator, at::TensorOptions().dtype(at::kLong));
  const auto* dy = shift_y.data_ptr<int64_t>();
  const auto* dx = shift_x.data_ptr<int64_t>();
  // Masks first .. first + n − 1, [n, 1, H, W], on the input's device.
  auto masks = [&](int64_t first, int64_t n) {
    const torch::Tensor up = at::upsample_bilinear2d(grids.slice(0, first, first + n).to(input.device()),
                                                     {(cells + 1) * cell_height, (cells + 1) * cell_width},
                                                     /*align_corners=*/false);
    std::vector<torch::Tensor> crops;
    for (int64_t m = 0; m < n; ++m)
      crops.push_back(up[m].slice(1, dy[first + m], dy[first + m] + height).slice(2, dx[first + m], dx[first + m] + width));
    return at::stack(crops);
  };
  // Row r is (mask r / N, example r % N): a chunk needs few masks.
  const PerturbationRun run = engine.run(input, target, count * batch, [&](int64_t first, int64_t rows_count) {
        const torch::Tensor rows = at::arange(first, first + rows_count, long_options);
        const torch::Tensor examples = rows.remainder(batch);
        const int64_t first_mask = first / batch, last_mask = (first + rows_count - 1) / batch;
        const torch::Tensor chunk_masks = masks(first_mask, last_mask - first_mask + 1);
        const torch::Tensor mask = chunk_masks.index_select(0, rows.div(batch, "floor") - first_mask);  // [R, 1, H, W]
        const torch::Tensor x = input.index_select(0, examples), b = baseline.index_select(0, examples);
        return PerturbedRows{x * mask + b * (1 - mask), examples};
      });
  // Σ_m s_{m,i} M_m, a chunk of masks at a time.
  const torch::Tensor weights = run.scores.view({count, batch}).to(input.scalar_type());
  torch::Tensor saliency = at::zeros({batch, height * width}, input.options());
  const int64_t per_chunk = std::max<int64_t>(1, engine.rows_per_call(count, height * width * input.element_size()));
  for (int64_t first = 0; first < count; first += per_chunk) {
    const int64_t n = std::min(per_chunk, count - first);
    saliency += weights.slice(0, first, first + n).t().matmul(masks(first, n).view({n, -1}));
  }
  torch::Tensor result = (saliency / (static_cast<double>(count) * options_.probability())).view({batch, 1, height, width});
  detail::check_finite_result(result, "the saliency");
  return result;
}

}  // namespace nn_interpretability
