#pragma once
// Image priors for activation maximization, as pure functions of a batch. Penalties return one value
// per row [N] and are differentiable; the transforms (jitter, blur, clip) return a new batch.
// Images are [N, ..., H, W]: the last two dimensions are the spatial ones.

#include <cstdint>

#include <ATen/core/Generator.h>
#include <torch/types.h>

namespace nn_interpretability {
namespace regularizers {

/// Squared L2 distance per row: l2(x, r)_i = Σ_j (x_ij − r_ij)², summed over every element of row i
/// (not averaged, no square root). `reference` undefined = zeros; otherwise one example's shape
/// (e.g. [C, H, W], the class mean), [1, ...] (the same for every row) or [N, ...] (one per row).
///
/// Example:
///   torch::Tensor penalty = nni::regularizers::l2(images, class_mean);  // [N]
torch::Tensor l2(const torch::Tensor& x, const torch::Tensor& reference = torch::Tensor());

/// Total variation per row, as the sum of squared differences between vertical and horizontal
/// neighbours (the anisotropic, squared form; Mahendran & Vedaldi's TV with β = 2):
///   tv(x)_i = Σ_{c,y,x} (x[i,c,y+1,x] − x[i,c,y,x])² + Σ_{c,y,x} (x[i,c,y,x+1] − x[i,c,y,x])².
/// Needs rank >= 3 ([N, H, W] or [N, C, H, W], ...).
///
/// Example:
///   torch::Tensor penalty = nni::regularizers::total_variation(images);  // [N]
torch::Tensor total_variation(const torch::Tensor& x);

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

}  // namespace regularizers
}  // namespace nn_interpretability
