#include "nn_interpretability/feature_visualization/transforms.h"

#include <cmath>
#include <utility>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/Exception.h>

namespace nn_interpretability {
namespace transforms {

torch::Tensor jitter(const torch::Tensor& x, int64_t max_pixels, at::Generator generator) {
  TORCH_CHECK_VALUE(max_pixels >= 0, "transforms::jitter: max_pixels must be >= 0, got ", max_pixels);
  TORCH_CHECK_VALUE(x.defined() && x.dim() >= 3, "transforms::jitter: needs images [N, ..., H, W] of rank >= 3");
  if (max_pixels == 0) return x;
  // Drawn on the CPU: no device synchronization for two integers.
  torch::Tensor shift = at::randint(-max_pixels, max_pixels + 1, {2}, generator, at::TensorOptions().dtype(at::kLong));
  const int64_t dy = shift[0].item<int64_t>(), dx = shift[1].item<int64_t>();
  if (dy == 0 && dx == 0) return x;
  return x.roll({dy, dx}, {-2, -1});
}

torch::Tensor gaussian_blur(const torch::Tensor& x, double sigma) {
  TORCH_CHECK_VALUE(sigma >= 0 && std::isfinite(sigma), "transforms::gaussian_blur: sigma must be a finite value >= 0, got ",
                    sigma);
  TORCH_CHECK_VALUE(x.defined() && x.dim() >= 3, "transforms::gaussian_blur: needs images [N, ..., H, W] of rank >= 3");
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
  TORCH_CHECK_VALUE(low <= high, "transforms::clip: low (", low, ") must be <= high (", high, ")");
  return x.clamp(low, high);
}

}  // namespace transforms

Transforms::Transforms(TransformOptions options, std::string caller) : options_(std::move(options)) {
  const auto& o = options_;
  TORCH_CHECK_VALUE(o.jitter() >= 0, caller, ": transforms.jitter must be >= 0 pixels, got ", o.jitter());
  TORCH_CHECK_VALUE(std::isfinite(o.blur_sigma()) && o.blur_sigma() >= 0, caller,
                    ": transforms.blur_sigma must be a finite value >= 0, got ", o.blur_sigma());
  TORCH_CHECK_VALUE(o.blur_every() >= 1, caller, ": transforms.blur_every must be >= 1, got ", o.blur_every());
}

at::Generator Transforms::make_generator(uint64_t seed) const { return at::make_generator<at::CPUGeneratorImpl>(seed); }

torch::Tensor Transforms::seen_by_model(const torch::Tensor& image, at::Generator& generator) const {
  return options_.jitter() > 0 ? transforms::jitter(image, options_.jitter(), generator) : image;
}

torch::Tensor Transforms::after_step(const torch::Tensor& image, int64_t steps_done) const {
  if (options_.blur_sigma() > 0 && steps_done % options_.blur_every() == 0)
    return transforms::gaussian_blur(image, options_.blur_sigma());
  return image;
}

}  // namespace nn_interpretability
