#include "nn_interpretability/integrated_gradients.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "nn_interpretability/detail/checks.h"
#include "nn_interpretability/detail/input_gradient.h"

namespace nn_interpretability {
namespace {

constexpr double kPi = 3.14159265358979323846;

struct Quadrature {
  std::vector<double> alphas;
  std::vector<double> weights;
};

// Gauss–Legendre nodes by Newton's method on P_n, mapped from [-1, 1] to [0, 1].
Quadrature gauss_legendre(int64_t n) {
  Quadrature q;
  for (int64_t i = 1; i <= n; ++i) {
    double x = std::cos(kPi * (static_cast<double>(i) - 0.25) / (static_cast<double>(n) + 0.5));
    double derivative = 1.0;
    for (int iteration = 0; iteration < 100; ++iteration) {
      double p_previous = 1.0;
      double p = x;
      for (int64_t j = 2; j <= n; ++j) {
        const double p_next = ((2.0 * j - 1.0) * x * p - (j - 1.0) * p_previous) / static_cast<double>(j);
        p_previous = p;
        p = p_next;
      }
      derivative = static_cast<double>(n) * (x * p - p_previous) / (x * x - 1.0);
      const double step = p / derivative;
      x -= step;
      if (std::abs(step) < 1e-15) break;
    }
    q.alphas.push_back((x + 1.0) / 2.0);
    q.weights.push_back(1.0 / ((1.0 - x * x) * derivative * derivative));  // (2 / (...)) / 2
  }
  return q;
}

Quadrature quadrature(IntegrationRule rule, int64_t n) {
  Quadrature q;
  const double step = 1.0 / static_cast<double>(n);
  switch (rule) {
    case IntegrationRule::kGaussLegendre:
      return gauss_legendre(n);
    case IntegrationRule::kRiemannTrapezoid:
      TORCH_CHECK_VALUE(n >= 2, "IntegratedGradients: the trapezoid rule needs at least 2 steps, got ", n);
      for (int64_t k = 0; k < n; ++k) {
        q.alphas.push_back(static_cast<double>(k) / static_cast<double>(n - 1));
        q.weights.push_back((k == 0 || k == n - 1 ? 0.5 : 1.0) / static_cast<double>(n - 1));
      }
      return q;
    case IntegrationRule::kRiemannLeft:
    case IntegrationRule::kRiemannRight:
    case IntegrationRule::kRiemannMiddle: {
      const double offset = rule == IntegrationRule::kRiemannLeft ? 0.0
                            : rule == IntegrationRule::kRiemannRight ? 1.0
                                                                      : 0.5;
      for (int64_t k = 0; k < n; ++k) {
        q.alphas.push_back((static_cast<double>(k) + offset) * step);
        q.weights.push_back(step);
      }
      return q;
    }
  }
  return q;
}

}  // namespace

IntegratedGradients::IntegratedGradients(Model model, IntegratedGradientsOptions options)
    : model_(std::move(model)), options_(std::move(options)) {
  TORCH_CHECK_VALUE(options_.steps() >= 1, "IntegratedGradients: steps must be >= 1, got ", options_.steps());
  TORCH_CHECK_VALUE(options_.rule() != IntegrationRule::kRiemannTrapezoid || options_.steps() >= 2,
                    "IntegratedGradients: the trapezoid rule needs at least 2 steps, got ", options_.steps());
  TORCH_CHECK_VALUE(options_.internal_batch_size() >= 0, "IntegratedGradients: internal_batch_size must be >= 0, got ",
                    options_.internal_batch_size());
}

torch::Tensor IntegratedGradients::attribute(const torch::Tensor& input, const Target& target) {
  return attribute_with_delta(input, target).attributions;
}

IntegratedGradientsResult IntegratedGradients::attribute_with_delta(const torch::Tensor& input, const Target& target) {
  const char* method = "IntegratedGradients";
  model_.check_input(input, method);
  const int64_t batch = input.size(0);
  torch::Tensor baseline = options_.baseline().defined() ? options_.baseline().to(input.options())
                                                         : at::zeros_like(input);
  TORCH_CHECK_VALUE(baseline.dim() <= input.dim(), method, ": the baseline of shape ", baseline.sizes(),
                    " does not broadcast to the input shape ", input.sizes());
  try {
    baseline = baseline.expand(input.sizes());
  } catch (const c10::Error&) {
    TORCH_CHECK_VALUE(false, method, ": the baseline of shape ", baseline.sizes(),
                      " does not broadcast to the input shape ", input.sizes());
  }
  TORCH_CHECK_VALUE(baseline.isfinite().all().item<bool>(), method, ": the baseline contains NaN or Inf");

  // f(input) and f(baseline) for the completeness check; a predicted target is resolved on the input,
  // never on interpolated points.
  Target resolved;
  torch::Tensor end_scores;
  {
    torch::NoGradGuard no_grad;
    torch::Tensor input_output = model_.forward(input);
    resolved = target.resolved(input_output);
    end_scores = resolved.scores(input_output) - resolved.scores(model_.forward(baseline));
  }

  const Quadrature q = quadrature(options_.rule(), options_.steps());
  const int64_t steps = options_.steps();
  const int64_t steps_per_call =
      options_.internal_batch_size() == 0 ? steps : std::max<int64_t>(1, options_.internal_batch_size() / batch);

  torch::Tensor difference = input - baseline;
  torch::Tensor weighted_sum = at::zeros_like(input);
  std::vector<int64_t> stacked_shape = input.sizes().vec();
  stacked_shape.insert(stacked_shape.begin(), -1);
  std::vector<int64_t> column_shape(input.dim() + 1, 1);
  column_shape[0] = -1;
  const auto scalar_options = input.options().device(at::kCPU).dtype(at::kDouble);
  for (int64_t first = 0; first < steps; first += steps_per_call) {
    const int64_t count = std::min(steps_per_call, steps - first);
    torch::Tensor alphas = at::tensor(std::vector<double>(q.alphas.begin() + first, q.alphas.begin() + first + count),
                                      scalar_options)
                               .to(input.options())
                               .view(column_shape);
    torch::Tensor weights =
        at::tensor(std::vector<double>(q.weights.begin() + first, q.weights.begin() + first + count), scalar_options)
            .to(input.options())
            .view(column_shape);
    torch::Tensor points = (baseline.unsqueeze(0) + alphas * difference.unsqueeze(0)).flatten(0, 1);
    torch::Tensor gradients = detail::input_gradient(model_, points, resolved.repeated(batch, count),
                                                     detail::ReluGradientRule::kStandard, method)
                                  .gradient;
    weighted_sum += (gradients.view(stacked_shape) * weights).sum(0);
  }
  torch::Tensor attributions = difference * weighted_sum;
  torch::Tensor delta = attributions.flatten(1).sum(1) - end_scores;
  return {attributions, delta.detach()};
}

}  // namespace nn_interpretability
