#pragma once
// Complexity metrics: how concentrated an explanation is. Both read |attribution| over every
// element of each example and return one value per example [N] (float64).

#include <torch/types.h>

namespace nn_interpretability {
namespace metrics {

/// Sparseness (Chalasani et al. 2020): the Gini index of |a| over each example's elements. With
/// a_(1) ≤ ... ≤ a_(n) sorted, G = Σ_i (2i − n − 1) a_(i) / (n Σ_i a_(i)): 0 for a constant map,
/// (n − 1) / n for a one-hot map. Higher is sparser.
torch::Tensor sparseness(const torch::Tensor& attributions);

/// Complexity (Bhatt et al. 2020): the entropy −Σ p_i ln p_i of p = |a| / Σ|a| over each example's
/// elements (natural logarithm): 0 for a one-hot map, ln n for a constant one. Lower is simpler.
torch::Tensor complexity(const torch::Tensor& attributions);

}  // namespace metrics
}  // namespace nn_interpretability
