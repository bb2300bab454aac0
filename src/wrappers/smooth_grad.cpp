#include "nn_interpretability/wrappers/smooth_grad.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "nn_interpretability/detail/result_checks.h"


namespace nn_interpretability {
namespace {

// A private generator for the input's device, so a seed gives reproducible noise without touching
// the global generator the user's own code relies on.
c10::optional<at::Generator> make_generator(const c10::optional<uint64_t>& seed, const at::Device& device) {
  if (!seed) return c10::nullopt;
  at::Generator global = at::globalContext().defaultGenerator(device);
  at::Generator generator;
  {
    std::lock_guard<std::mutex> lock(global.mutex());
    generator = global.clone();
  }
  generator.set_current_seed(*seed);
  return generator;
}

void check_noisy_samples(const torch::Tensor& noisy, const torch::Tensor& sigma, const SmoothGradOptions& options) {
  // A noise level so large that input + noise overflows the dtype: the base method would blame "the
  // input" for the Inf values, so say here that the noise did it. One reduction on the fast path.
  if (std::isfinite(noisy.sum().item<double>()) || noisy.isfinite().all().item<bool>()) return;
  const int64_t bad = noisy.numel() - noisy.isfinite().sum().item<int64_t>();
  const double largest = sigma.max().item<double>();
  if (options.stdev()) {
    TORCH_CHECK_VALUE(false, "SmoothGrad: the noisy samples overflowed (", bad, " of ", noisy.numel(),
                      " values are Inf or NaN in ", noisy.scalar_type(), "): the noise standard deviation stdev = ",
                      *options.stdev(), " is too large for the input's dtype; lower the stdev option (nni: --stdev)");
  }
  TORCH_CHECK_VALUE(false, "SmoothGrad: the noisy samples overflowed (", bad, " of ", noisy.numel(),
                    " values are Inf or NaN in ", noisy.scalar_type(), "): noise_level = ", options.noise_level(),
                    " times an example's max - min gives a noise standard deviation of up to ", largest,
                    ", too large for the input's dtype; lower the noise_level option (nni: --noise-level)");
}

}  // namespace

SmoothGrad::SmoothGrad(std::shared_ptr<Attribution> base, SmoothGradOptions options)
    : base_(std::move(base)), options_(std::move(options)) {
  TORCH_CHECK_VALUE(base_ != nullptr, "SmoothGrad: the base method is null");
  TORCH_CHECK_VALUE(options_.samples() >= 1, "SmoothGrad: samples must be >= 1, got ", options_.samples());
  check_rows_per_call("SmoothGrad", options_.rows_per_call(), options_.memory_budget());
  TORCH_CHECK_VALUE(options_.noise_level() >= 0 && std::isfinite(options_.noise_level()),
                    "SmoothGrad: noise_level must be a finite value >= 0, got ", options_.noise_level());
  TORCH_CHECK_VALUE(!options_.stdev() || (*options_.stdev() >= 0 && std::isfinite(*options_.stdev())),
                    "SmoothGrad: stdev must be a finite value >= 0, got ", options_.stdev().value_or(0));
}

torch::Tensor SmoothGrad::compute(const torch::Tensor& input, const Target& target) {
  const int64_t batch = input.size(0);
  // One forward pass of the clean batch (about 1/(3·samples) of the work): it resolves "predicted
  // class" on the clean input, and model and target errors name the caller's batch, not the noisy one.
  Target resolved;
  {
    torch::NoGradGuard no_grad;
    torch::Tensor output = base_->model().forward(input);
    resolved = target.resolved(output);
    resolved.scores(output);  // checks class ranges and a score function's shape
  }

  // Per-example standard deviation, shaped to broadcast over one example.
  std::vector<int64_t> per_example_shape(input.dim(), 1);
  per_example_shape[0] = batch;
  torch::Tensor sigma;
  if (options_.stdev()) {
    // Made in double, then converted: a stdev beyond the dtype's range becomes Inf (reported below as
    // overflowing noise) rather than failing inside at::full.
    sigma = at::full(per_example_shape, *options_.stdev(), input.options().dtype(at::kDouble)).to(input.scalar_type());
  } else {
    torch::Tensor flat = input.detach().flatten(1);
    sigma = ((flat.amax(1) - flat.amin(1)) * options_.noise_level()).view(per_example_shape);
  }

  c10::optional<at::Generator> generator = make_generator(options_.seed(), input.device());
  const int64_t samples = options_.samples();
  std::vector<int64_t> noise_shape = input.sizes().vec();
  torch::Tensor mean;            // running mean of the attributions (or of their squares)
  torch::Tensor squared_deviation;  // running sum of squared deviations, for the variance
  int64_t seen = 0;
  const int64_t row_bytes = batch > 0 ? input.numel() / batch * static_cast<int64_t>(input.element_size()) : 1;
  const int64_t per_call = copies_per_call(options_.rows_per_call(), samples, batch, row_bytes, options_.memory_budget());
  for (int64_t first = 0; first < samples; first += per_call) {
    const int64_t count = std::min(per_call, samples - first);
    noise_shape.insert(noise_shape.begin(), count);
    torch::Tensor noisy = at::randn(noise_shape, generator, input.options());
    noise_shape.erase(noise_shape.begin());
    noisy.mul_(sigma.unsqueeze(0)).add_(input.unsqueeze(0));
    check_noisy_samples(noisy, sigma, options_);
    torch::Tensor attributions = base_->attribute(noisy.flatten(0, 1), resolved.repeated(batch, count));
    std::vector<int64_t> stacked = attributions.sizes().vec();
    stacked[0] = batch;
    stacked.insert(stacked.begin(), count);
    attributions = attributions.view(stacked);
    if (options_.variant() == SmoothGradVariant::kSquare) attributions = attributions.square();

    // Chan et al.'s pairwise update: merging chunk statistics keeps the variance accurate without
    // storing every sample.
    torch::Tensor chunk_mean = attributions.mean(0);
    if (seen == 0) {
      mean = chunk_mean;
      if (options_.variant() == SmoothGradVariant::kVariance)
        squared_deviation = (attributions - chunk_mean.unsqueeze(0)).square().sum(0);
    } else {
      const double total = static_cast<double>(seen + count);
      torch::Tensor delta = chunk_mean - mean;
      mean.add_(delta, static_cast<double>(count) / total);
      if (options_.variant() == SmoothGradVariant::kVariance) {
        squared_deviation.add_((attributions - chunk_mean.unsqueeze(0)).square().sum(0))
            .add_(delta.square(), static_cast<double>(seen) * static_cast<double>(count) / total);
      }
    }
    seen += count;
  }
  torch::Tensor result =
      options_.variant() == SmoothGradVariant::kVariance ? squared_deviation.div_(static_cast<double>(seen)) : mean;
  detail::check_finite_result(result, "the smoothed attributions");
  return result;
}

}  // namespace nn_interpretability
