#pragma once
// The transforms part of feature visualization: image-to-image operations that make the result
// robust rather than adversarial. Jitter changes what the classifier sees in each step (a random
// roll); blur smooths the optimized image after a step. Images are [N, ..., H, W]: the last two
// dimensions are the spatial ones.

#include <cstdint>
#include <string>

#include <ATen/core/Generator.h>
#include <torch/arg.h>
#include <torch/types.h>

namespace nn_interpretability {
namespace transforms {

/// `x` rolled (circularly shifted) by (dy, dx) pixels over its last two dimensions, dy and dx drawn
/// uniformly from [−max_pixels, max_pixels] with `generator` (a CPU generator, e.g.
/// `at::make_generator<at::CPUGeneratorImpl>(seed)`); the same shift for every row. Differentiable.
torch::Tensor jitter(const torch::Tensor& x, int64_t max_pixels, at::Generator generator);

/// `x` convolved with a normalized Gaussian of standard deviation `sigma` pixels over its last two
/// dimensions, channel by channel (separable kernel of radius ceil(3σ), borders replicated).
/// σ = 0 returns `x` unchanged. Needs rank >= 3.
torch::Tensor gaussian_blur(const torch::Tensor& x, double sigma);

/// `x` clamped to [low, high].
torch::Tensor clip(const torch::Tensor& x, double low, double high);

}  // namespace transforms

// The spelling from before the parts were split (issue #14): these lived in nni::regularizers.
namespace regularizers {
using transforms::clip;
using transforms::gaussian_blur;
using transforms::jitter;
}  // namespace regularizers

/// Which transforms a feature visualization applies in each step.
struct TransformOptions {
  /// Each step's forward pass sees the image rolled by up to this many pixels (0 = off).
  TORCH_ARG(int64_t, jitter) = 0;
  /// Standard deviation in pixels of a Gaussian blur applied to the image after every
  /// `blur_every`-th step (0 = off). Input space only.
  TORCH_ARG(double, blur_sigma) = 0.0;
  TORCH_ARG(int64_t, blur_every) = 1;
};

/// Applies TransformOptions. Options are checked once, at construction; `caller` names the method
/// in every error message.
class Transforms {
 public:
  Transforms(TransformOptions options, std::string caller);

  const TransformOptions& options() const { return options_; }
  /// The CPU generator the random transforms of one run draw from, seeded with `seed` (a CPU one:
  /// no device synchronization for the shifts; the global generator is never used).
  at::Generator make_generator(uint64_t seed) const;
  /// What the classifier sees of `image` in one step: jittered with `generator` (no draw when
  /// jitter is 0). Differentiable.
  torch::Tensor seen_by_model(const torch::Tensor& image, at::Generator& generator) const;
  /// `image` after `steps_done` steps: blurred when blur is on and `steps_done` is a multiple of
  /// `blur_every`, otherwise `image` itself (the same tensor).
  torch::Tensor after_step(const torch::Tensor& image, int64_t steps_done) const;

 private:
  TransformOptions options_;
};

}  // namespace nn_interpretability
