#pragma once
// Localization metrics: does an explanation point at where the evidence is? Each takes attributions
// [N, ...] and a ground-truth mask (bool, or 0/1 numbers) broadcastable to them per example (e.g. a
// [N, 1, H, W] object mask against [N, C, H, W] attributions), and returns one value per example
// [N] (float64).

#include <torch/types.h>

namespace nn_interpretability {
namespace metrics {

/// Pointing game (Zhang et al. 2018): 1 where a largest attribution of the example lies inside the
/// mask (with ties, any of the largest), else 0.
torch::Tensor pointing_game(const torch::Tensor& attributions, const torch::Tensor& mask);

/// Relevance mass accuracy (Arras et al. 2022): Σ_{mask} a⁺ / Σ a⁺, the share of the positive
/// relevance that falls inside the mask (a⁺ = max(a, 0)).
torch::Tensor relevance_mass(const torch::Tensor& attributions, const torch::Tensor& mask);

/// Relevance rank accuracy (Arras et al. 2022): with K the number of elements in the mask, the share
/// of the K largest attributions (ties broken by position) that lie inside it.
torch::Tensor relevance_rank(const torch::Tensor& attributions, const torch::Tensor& mask);

}  // namespace metrics
}  // namespace nn_interpretability
