// Baselines resolved for a batch.
#include "nn_interpretability/perturbation/baseline.h"

#include <cmath>
#include <sstream>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace nn_interpretability {
namespace {

// A Gaussian blur of each channel of [N, C, H, W]: a separable kernel of radius ⌈3σ⌉, edges replicated.
torch::Tensor gaussian_blur(const torch::Tensor& input, double sigma) {
  const int64_t radius = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(3 * sigma)));
  const torch::Tensor offsets = at::arange(-radius, radius + 1, input.options());
  torch::Tensor kernel = at::exp(-offsets * offsets / (2 * sigma * sigma));
  kernel = kernel / kernel.sum();
  const int64_t channels = input.size(1);
  const torch::Tensor horizontal = kernel.view({1, 1, 1, -1}).repeat({channels, 1, 1, 1});
  const torch::Tensor vertical = kernel.view({1, 1, -1, 1}).repeat({channels, 1, 1, 1});
  torch::Tensor x = at::replication_pad2d(input, {radius, radius, 0, 0});
  x = at::conv2d(x, horizontal, c10::optional<at::Tensor>(), at::IntArrayRef{1, 1}, at::IntArrayRef{0, 0}, at::IntArrayRef{1, 1}, channels);
  x = at::replication_pad2d(x, {0, 0, radius, radius});
  return at::conv2d(x, vertical, c10::optional<at::Tensor>(), at::IntArrayRef{1, 1}, at::IntArrayRef{0, 0}, at::IntArrayRef{1, 1}, channels);
}

}  // namespace

Baseline::Baseline(double value) : value_(value) {
  TORCH_CHECK_VALUE(std::isfinite(value), "Baseline: the value must be finite, got ", value);
}

Baseline::Baseline(torch::Tensor tensor) : kind_(Kind::kTensor), tensor_(std::move(tensor)) {
  TORCH_CHECK_VALUE(tensor_.defined(), "Baseline: the tensor is undefined");
  TORCH_CHECK_VALUE(tensor_.is_floating_point(), "Baseline: the tensor must be floating point, got ", tensor_.scalar_type());
  TORCH_CHECK_VALUE(at::isfinite(tensor_).all().item<bool>(), "Baseline: the tensor holds NaN or infinite values");
  tensor_ = tensor_.detach();
}

Baseline Baseline::blurred(double sigma) {
  TORCH_CHECK_VALUE(std::isfinite(sigma) && sigma > 0, "Baseline::blurred: sigma must be > 0, got ", sigma);
  Baseline baseline;
  baseline.kind_ = Kind::kBlurred;
  baseline.value_ = sigma;
  return baseline;
}

Baseline Baseline::distribution(torch::Tensor samples) {
  TORCH_CHECK_VALUE(samples.defined() && samples.dim() >= 1 && samples.size(0) >= 1,
                    "Baseline::distribution: give the samples as [B, ...] with B >= 1");
  Baseline baseline(samples);
  baseline.kind_ = Kind::kDistribution;
  return baseline;
}

torch::Tensor Baseline::resolve(const torch::Tensor& input) const {
  switch (kind_) {
    case Kind::kScalar:
      return at::full({1}, value_, input.options()).expand(input.sizes());
    case Kind::kTensor: {
      torch::Tensor tensor = tensor_.to(input.options());
      const auto row = input.sizes().slice(1);
      bool fits = tensor.sizes() == row;  // one row, no batch dimension
      if (fits) tensor = tensor.unsqueeze(0);
      if (!fits && tensor.dim() == input.dim()) {
        fits = tensor.size(0) == 1 || tensor.size(0) == input.size(0);
        for (int64_t d = 1; fits && d < tensor.dim(); ++d) fits = tensor.size(d) == 1 || tensor.size(d) == input.size(d);
      }
      TORCH_CHECK_VALUE(fits, "the baseline of shape ", tensor_.sizes(), " does not fit the input of shape ", input.sizes(),
                        ": give one row ", row, ", [1, ...] or one per example [", input.size(0), ", ...] (dimensions of 1 broadcast)");
      return tensor.expand(input.sizes());
    }
    case Kind::kBlurred:
      TORCH_CHECK_VALUE(input.dim() == 4, "a blurred baseline needs an image batch [N, C, H, W], got shape ", input.sizes());
      return gaussian_blur(input, value_);
    case Kind::kDistribution:
      TORCH_CHECK_VALUE(false, "a baseline distribution has no single baseline; this method takes a scalar, a tensor or "
                        "a blurred baseline (distributions: ShapleyValueSampling, ShapleyValues, KernelShap, Lime)");
  }
  return {};
}

torch::Tensor Baseline::samples(const torch::Tensor& input) const {
  TORCH_CHECK_VALUE(kind_ == Kind::kDistribution, "internal: samples() of a baseline that is not a distribution");
  TORCH_CHECK_VALUE(tensor_.sizes().slice(1) == input.sizes().slice(1), "the baseline distribution's rows have shape ",
                    tensor_.sizes().slice(1), ", the input's ", input.sizes().slice(1));
  return tensor_.to(input.options());
}

std::string Baseline::describe() const {
  std::ostringstream text;
  switch (kind_) {
    case Kind::kScalar: text << value_; break;
    case Kind::kTensor: text << "tensor " << tensor_.sizes(); break;
    case Kind::kBlurred: text << "blurred sigma " << value_; break;
    case Kind::kDistribution: text << "distribution of " << tensor_.size(0); break;
  }
  return text.str();
}

Baseline Baseline::parse(const std::string& text) {
  try {
    size_t used = 0;
    if (text.rfind("blur:", 0) == 0) {
      const double sigma = std::stod(text.substr(5), &used);
      if (used == text.size() - 5) return blurred(sigma);
    } else {
      const double value = std::stod(text, &used);
      if (used == text.size()) return Baseline(value);
    }
  } catch (const std::invalid_argument&) {
  } catch (const std::out_of_range&) {
  }
  TORCH_CHECK_VALUE(false, "unknown baseline '", text, "': use a number (0, 0.5) or blur:<sigma> (a tensor: --baseline-file FILE.npy)");
}

}  // namespace nn_interpretability
