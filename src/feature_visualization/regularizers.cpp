#include "nn_interpretability/feature_visualization/regularizers.h"

#include <cmath>
#include <vector>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace nn_interpretability {
namespace regularizers {

torch::Tensor l2(const torch::Tensor& x, const torch::Tensor& reference) {
  TORCH_CHECK_VALUE(x.defined() && x.dim() >= 1, "regularizers::l2: x must be a batch [N, ...]");
  if (!reference.defined()) return x.square().reshape({x.size(0), -1}).sum(1);
  const auto example = x.sizes().slice(1);
  torch::Tensor r = reference;
  if (r.dim() == x.dim() - 1 && r.sizes() == example) {
    r = r.unsqueeze(0);
  } else {
    TORCH_CHECK_VALUE(r.dim() == x.dim() && r.sizes().slice(1) == example && (r.size(0) == 1 || r.size(0) == x.size(0)),
                      "regularizers::l2: the reference has shape ", reference.sizes(), "; for a batch of shape ",
                      x.sizes(), " it must be one example ", example, ", [1, ...] or [", x.size(0), ", ...]");
  }
  r = r.to(x.device(), x.scalar_type());
  return (x - r).square().reshape({x.size(0), -1}).sum(1);
}

torch::Tensor total_variation(const torch::Tensor& x) {
  TORCH_CHECK_VALUE(x.defined() && x.dim() >= 3, "regularizers::total_variation: needs images [N, ..., H, W] of rank >= 3, got ",
                    x.defined() ? x.sizes() : c10::IntArrayRef{});
  const int64_t h = x.size(-2), w = x.size(-1);
  const int64_t batch = x.size(0);
  torch::Tensor total = at::zeros({batch}, x.options());
  if (h > 1) total = total + (x.narrow(-2, 1, h - 1) - x.narrow(-2, 0, h - 1)).square().reshape({batch, -1}).sum(1);
  if (w > 1) total = total + (x.narrow(-1, 1, w - 1) - x.narrow(-1, 0, w - 1)).square().reshape({batch, -1}).sum(1);
  return total;
}

torch::Tensor jitter(const torch::Tensor& x, int64_t max_pixels, at::Generator generator) {
  TORCH_CHECK_VALUE(max_pixels >= 0, "regularizers::jitter: max_pixels must be >= 0, got ", max_pixels);
  TORCH_CHECK_VALUE(x.defined() && x.dim() >= 3, "regularizers::jitter: needs images [N, ..., H, W] of rank >= 3");
  if (max_pixels == 0) return x;
  // Drawn on the CPU: no device synchronization for two integers.
  torch::Tensor shift = at::randint(-max_pixels, max_pixels + 1, {2}, generator, at::TensorOptions().dtype(at::kLong));
  const int64_t dy = shift[0].item<int64_t>(), dx = shift[1].item<int64_t>();
  if (dy == 0 && dx == 0) return x;
  return x.roll({dy, dx}, {-2, -1});
}

torch::Tensor gaussian_blur(const torch::Tensor& x, double sigma) {
  TORCH_CHECK_VALUE(sigma >= 0 && std::isfinite(sigma), "regularizers::gaussian_blur: sigma must be a finite value >= 0, got ",
                    sigma);
  TORCH_CHECK_VALUE(x.defined() && x.dim() >= 3, "regularizers::gaussian_blur: needs images [N, ..., H, W] of rank >= 3");
  if (sigma == 0) return x;
  const int64_t radius = static_cast<int64_t>(std::ceil(3.0 * sigma));
  torch::Tensor offsets = at::arange(-radius, radius + 1, x.options());
  torch::Tensor kernel = (offsets.square() / (-2.0 * sigma * sigma)).exp();
  kernel = kernel / kernel.sum();
  const int64_t h = x.size(-2), w = x.size(-1);
  torch::Tensor planes = x.reshape({-1, 1, h, w});
  planes = at::replication_pad2d(planes, {radius, radius, radius, radius});
  planes = at::conv2d(planes, kernel.view({1, 1, -1, 1}));
  planes = at::conv2d(planes, kernel.view({1, 1, 1, -1}));
  return planes.reshape(x.sizes());
}

torch::Tensor clip(const torch::Tensor& x, double low, double high) {
  TORCH_CHECK_VALUE(low <= high, "regularizers::clip: low (", low, ") must be <= high (", high, ")");
  return x.clamp(low, high);
}

}  // namespace regularizers
}  // namespace nn_interpretability
