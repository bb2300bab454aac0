#pragma once
// The quadrature rules of integrated gradients (src/gradient/integrated_gradients.cpp), exposed for tests.

#include <cstdint>
#include <vector>

#include "nn_interpretability/gradient/integrated_gradients.h"

namespace nn_interpretability {
namespace detail {

/// Nodes on [0, 1] and weights (summing to 1) of a rule with `n` points.
struct Quadrature {
  std::vector<double> alphas;
  std::vector<double> weights;
};

/// The rule with `n` points (1 <= n <= IntegratedGradients::kMaxSteps; the trapezoid rule needs
/// n >= 2). Gauss–Legendre nodes come in descending order (the first is nearest 1) and the rule
/// integrates polynomials of degree <= 2n - 1 exactly.
Quadrature integration_rule(IntegrationRule rule, int64_t n);

}  // namespace detail
}  // namespace nn_interpretability
