#include "nn_interpretability/gradient/gradient_shap.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/Exception.h>

#include "nn_interpretability/detail/input_gradient.h"
#include "nn_interpretability/detail/result_checks.h"
#include "nn_interpretability/detail/seeded_generator.h"

namespace nn_interpretability {
namespace {

/// The baseline distribution as [B, ...row] in the input's options.
torch::Tensor baseline_rows(const torch::Tensor& given, const torch::Tensor& input) {
  const at::IntArrayRef row = input.sizes().slice(1);
  if (!given.defined()) {
    std::vector<int64_t> shape{1};
    shape.insert(shape.end(), row.begin(), row.end());
    return at::zeros(shape, input.options());
  }
  torch::Tensor baselines = given.detach().to(input.options());
  if (baselines.dim() == input.dim() && baselines.sizes().slice(1) == row) {
    TORCH_CHECK_VALUE(baselines.size(0) > 0, "the baseline distribution is empty (shape ", baselines.sizes(), ")");
  } else {
    TORCH_CHECK_VALUE(baselines.dim() <= input.dim() - 1, "the baselines of shape ", baselines.sizes(),
                      " are neither rows shaped like the input's ", row, " nor broadcastable to one row");
    try {
      baselines = baselines.expand(row).unsqueeze(0).contiguous();
    } catch (const c10::Error&) {
      TORCH_CHECK_VALUE(false, "the baselines of shape ", given.sizes(), " are neither rows shaped like the input's ", row,
                        " nor broadcastable to one row");
    }
  }
  TORCH_CHECK_VALUE(baselines.isfinite().all().item<bool>(), "the baselines contain NaN or Inf");
  return baselines;
}

/// A given per-draw tensor [N, S, ...]: checked against its expected leading shape, moved to the input's device.
torch::Tensor given_draws(const torch::Tensor& given, const char* name, int64_t batch, int64_t samples,
                          at::IntArrayRef row) {
  std::vector<int64_t> expected{batch, samples};
  expected.insert(expected.end(), row.begin(), row.end());
  TORCH_CHECK_VALUE(given.sizes() == at::IntArrayRef(expected), "the given ", name, " have shape ", given.sizes(),
                    "; expected ", at::IntArrayRef(expected), " (examples, samples", row.empty() ? "" : ", the input's row",
                    ")");
  return given.detach();
}

}  // namespace

GradientShap::GradientShap(Model model, GradientShapOptions options)
    : ModelAttribution(std::move(model)), options_(std::move(options)) {
  TORCH_CHECK_VALUE(options_.samples() >= 1, "GradientShap: samples must be >= 1, got ", options_.samples());
  TORCH_CHECK_VALUE(std::isfinite(options_.stdev()) && options_.stdev() >= 0,
                    "GradientShap: stdev must be finite and >= 0, got ", options_.stdev());
  check_rows_per_call("GradientShap", options_.rows_per_call(), options_.memory_budget());
}

torch::Tensor GradientShap::compute(const torch::Tensor& input, const Target& target) {
  const int64_t batch = input.size(0), samples = options_.samples();
  const at::IntArrayRef row = input.sizes().slice(1);
  const torch::Tensor baselines = baseline_rows(options_.baselines(), input);
  const int64_t choices = baselines.size(0);
  const auto cpu_long = at::TensorOptions().dtype(at::kLong);
  const auto cpu_double = at::TensorOptions().dtype(at::kDouble);

  // The draws, [N, S] each (noise per chunk below): given, or from (seed, example, sample).
  torch::Tensor indices, alphas;
  if (options_.baseline_indices().defined()) {
    indices = given_draws(options_.baseline_indices(), "baseline_indices", batch, samples, {}).to(at::kCPU).to(at::kLong);
    TORCH_CHECK_VALUE(indices.min().item<int64_t>() >= 0 && indices.max().item<int64_t>() < choices,
                      "the given baseline_indices must lie in [0, ", choices, "), the baseline rows; got [",
                      indices.min().item<int64_t>(), ", ", indices.max().item<int64_t>(), "]");
  }
  if (options_.alphas().defined()) {
    alphas = given_draws(options_.alphas(), "alphas", batch, samples, {}).to(at::kCPU).to(at::kDouble);
    TORCH_CHECK_VALUE(((alphas >= 0) & (alphas <= 1)).all().item<bool>(), "the given alphas must lie in [0, 1]");
  }
  torch::Tensor given_noise;
  if (options_.noise().defined()) {
    given_noise = given_draws(options_.noise(), "noise", batch, samples, row);
    TORCH_CHECK_VALUE(given_noise.isfinite().all().item<bool>(), "the given noise holds NaN or Inf");
  }
  const bool draw_noise = !given_noise.defined() && options_.stdev() > 0;
  if (!indices.defined() || !alphas.defined()) {
    // Straight from the generators' 64-bit streams: two ATen calls per draw would cost more than the
    // draw's share of a forward and backward row on small models.
    torch::Tensor drawn_indices = at::empty({batch, samples}, cpu_long), drawn_alphas = at::empty({batch, samples}, cpu_double);
    int64_t* index_data = drawn_indices.data_ptr<int64_t>();
    double* alpha_data = drawn_alphas.data_ptr<double>();
    for (int64_t e = 0; e < batch; ++e)
      for (int64_t s = 0; s < samples; ++s) {
        at::Generator generator = detail::seeded_generator(options_.seed(), e, s);
        auto* stream = at::check_generator<at::CPUGeneratorImpl>(generator);
        alpha_data[e * samples + s] = static_cast<double>(stream->random64() >> 11) * 0x1.0p-53;  // [0, 1)
        index_data[e * samples + s] = static_cast<int64_t>(stream->random64() % static_cast<uint64_t>(choices));
      }
    if (!indices.defined()) indices = drawn_indices;
    if (!alphas.defined()) alphas = drawn_alphas;
  }

  // A predicted class is resolved on the clean input, never on the path points.
  Target resolved = target;
  if (target.is_predicted()) {
    torch::NoGradGuard no_grad;
    resolved = target.resolved(model_.forward(input));
  }

  const int64_t row_bytes = input.numel() / batch * static_cast<int64_t>(input.element_size());
  const int64_t samples_per_call =
      copies_per_call(options_.rows_per_call(), samples, batch, row_bytes, options_.memory_budget());
  std::vector<int64_t> draw_shape{-1, batch};  // [count, N, ...row]: draw-major, as Target::repeated
  draw_shape.insert(draw_shape.end(), row.begin(), row.end());
  std::vector<int64_t> column_shape(static_cast<size_t>(input.dim() + 1), 1);
  column_shape[0] = -1;
  column_shape[1] = batch;
  torch::Tensor sum = at::zeros_like(input);
  for (int64_t first = 0; first < samples; first += samples_per_call) {
    const int64_t count = std::min(samples_per_call, samples - first);
    // Draw-major rows: row k * N + e is draw first + k of example e.
    const torch::Tensor chunk_indices = indices.slice(1, first, first + count).t().contiguous().to(input.device());
    const torch::Tensor chunk_alphas =
        alphas.slice(1, first, first + count).t().contiguous().to(input.options()).view(column_shape);
    torch::Tensor noisy = input.unsqueeze(0).expand(draw_shape);
    if (given_noise.defined()) {
      noisy = noisy + given_noise.slice(1, first, first + count).transpose(0, 1).to(input.options());
    } else if (draw_noise) {
      std::vector<torch::Tensor> draws;
      for (int64_t k = 0; k < count; ++k)
        for (int64_t e = 0; e < batch; ++e) {
          // A stream of its own, apart from the (alpha, index) one of the same (example, sample).
          at::Generator generator = detail::seeded_generator(options_.seed() ^ 0x6e6f697365ULL, e, first + k);
          draws.push_back(at::randn(row, generator, cpu_double));
        }
      noisy = noisy + (at::stack(draws).mul_(options_.stdev())).to(input.options()).view(draw_shape);
    }
    const torch::Tensor base = baselines.index_select(0, chunk_indices.flatten()).view(draw_shape);
    const torch::Tensor difference = noisy - base;
    const torch::Tensor points = (base + chunk_alphas * difference).flatten(0, 1);
    const torch::Tensor gradients =
        detail::input_gradient(model_, points, resolved.repeated(batch, count), detail::ReluGradientRule::kStandard)
            .gradient;
    sum += (difference * gradients.view(draw_shape)).sum(0);
  }
  torch::Tensor attributions = sum / static_cast<double>(samples);
  detail::check_finite_result(attributions, "the attributions");
  return attributions;
}

}  // namespace nn_interpretability
