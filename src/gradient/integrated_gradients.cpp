#include "nn_interpretability/gradient/integrated_gradients.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "nn_interpretability/detail/checks.h"
#include "nn_interpretability/detail/input_gradient.h"
#include "nn_interpretability/detail/quadrature.h"
#include "nn_interpretability/detail/result_checks.h"

namespace nn_interpretability {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Gauss–Legendre on [0, 1]: nodes in descending order (node i = 1 is the one nearest 1), weights
// summing to 1. Computed once per IntegratedGradients object, in O(n) (below).

// Roots i = first..last (1 = the one nearest 1) of P_n by Newton's method, each step evaluating P_n
// by its three-term recurrence: O(n) per root. Blocks of roots at a time so that the recurrence
// vectorizes. at::parallel_for spreads the blocks over threads with ATen's native thread pool; with
// its OpenMP backend (Debian's LibTorch) it is an inline `#pragma omp parallel`, serial here because
// the library is not compiled with -fopenmp. x[i - first] and P_n'(x) at it are written.
void newton_roots(int64_t n, int64_t first_root, int64_t last_root, double* roots, double* slopes) {
  const double nd = static_cast<double>(n);
  // Tricomi's first correction of the initial guess (1 - (n - 1) / (8 n³)) saves about one Newton
  // step for large n; for n < 64 the guess is the plain one.
  const double guess_scale = n >= 64 ? 1.0 - (nd - 1.0) / (8.0 * nd * nd * nd) : 1.0;
  constexpr int64_t kBlock = 16;
  const int64_t total = last_root - first_root + 1;
  const int64_t blocks = (total + kBlock - 1) / kBlock;
  at::parallel_for(0, blocks, 1, [&](int64_t first_block, int64_t last_block) {
    for (int64_t block = first_block; block < last_block; ++block) {
      const int64_t first = first_root + block * kBlock;
      const int64_t count = std::min<int64_t>(kBlock, last_root - first + 1);
      double x[kBlock], derivative[kBlock], p[kBlock], p_previous[kBlock];
      bool done[kBlock];
      for (int64_t k = 0; k < kBlock; ++k) {
        const double i = static_cast<double>(first + std::min<int64_t>(k, count - 1));
        x[k] = guess_scale * std::cos(kPi * (i - 0.25) / (nd + 0.5));
        derivative[k] = 1.0;
        done[k] = k >= count;
      }
      for (int iteration = 0; iteration < 100; ++iteration) {
        for (int64_t k = 0; k < kBlock; ++k) {
          p_previous[k] = 1.0;
          p[k] = x[k];
        }
        for (int64_t j = 2; j <= n; ++j) {
          const double aj = (2.0 * j - 1.0) / static_cast<double>(j), bj = (j - 1.0) / static_cast<double>(j);
          for (int64_t k = 0; k < kBlock; ++k) {
            const double p_next = aj * x[k] * p[k] - bj * p_previous[k];
            p_previous[k] = p[k];
            p[k] = p_next;
          }
        }
        bool all_done = true;
        for (int64_t k = 0; k < kBlock; ++k) {
          if (done[k]) continue;
          derivative[k] = nd * (x[k] * p[k] - p_previous[k]) / (x[k] * x[k] - 1.0);
          const double step = p[k] / derivative[k];
          x[k] -= step;
          if (std::abs(step) < 1e-15) done[k] = true;
          all_done = all_done && done[k];
        }
        if (all_done) break;
      }
      for (int64_t k = 0; k < count; ++k) {
        roots[first + k - first_root] = x[k];
        slopes[first + k - first_root] = derivative[k];
      }
    }
  });
}

// y(x0 + h) and y'(x0 + h) for a solution y of Legendre's equation (1 - x²) y'' - 2x y' + n(n+1) y = 0
// with y(x0) = value, y'(x0) = slope: differentiating the equation k times gives every Taylor
// coefficient from the two before it, (1 - x0²) y⁽ᵏ⁺²⁾ = 2(k+1) x0 y⁽ᵏ⁺¹⁾ − (n(n+1) − k(k+1)) y⁽ᵏ⁾, i.e.
// (1 - x0²)(k+1)(k+2) t_{k+2} = 2(k+1)² x0 h t_{k+1} − (n(n+1) − k(k+1)) h² t_k for the terms
// t_k = y⁽ᵏ⁾(x0) hᵏ / k!, which are summed until they no longer matter (|h| is kept well inside the
// radius of convergence, 1 − |x0|).
void legendre_taylor(double nd, double x0, double value, double slope, double h, double& y, double& dy) {
  const double nn1 = nd * (nd + 1.0), one_minus = 1.0 - x0 * x0;
  double t_previous = value, t = slope * h;  // t_0, t_1
  y = t_previous + t;
  dy = slope;  // Σ k t_k / h, k >= 1
  double largest = std::max(std::abs(t_previous), std::abs(t));
  for (int k = 0; k < 200; ++k) {
    const double kd = static_cast<double>(k);
    const double t_next = (2.0 * (kd + 1.0) * (kd + 1.0) * x0 * t * h - (nn1 - kd * (kd + 1.0)) * t_previous * h * h) /
                          (one_minus * (kd + 1.0) * (kd + 2.0));
    y += t_next;
    dy += (kd + 2.0) * t_next / h;
    largest = std::max(largest, std::abs(t_next));
    if (k > 4 && std::abs(t_next) + std::abs(t) <= 1e-18 * largest) break;
    t_previous = t;
    t = t_next;
  }
}

// O(n) in all (after Glaser, Liu & Rokhlin, "A fast algorithm for the calculation of the roots of
// special functions", 2007): from x = 0, where P_n and P_n' are known in closed form, each root is
// found by Newton's method on the Taylor series of P_n about the previous root (O(1) per root), and
// the series gives P_n' there for the weight. The series converges slowly next to ±1, where the
// equation is singular: the last roots (about ten, whatever n) take Newton on the recurrence instead.
// The series carries P_n up to one constant factor (rounding in the closed form); the weights are
// rescaled so that they sum to exactly 1, which fixes it.
detail::Quadrature gauss_legendre(int64_t n) {
  detail::Quadrature q;
  q.alphas.assign(static_cast<std::size_t>(n), 0.0);
  q.weights.assign(static_cast<std::size_t>(n), 0.0);
  const double nd = static_cast<double>(n);
  const int64_t half = (n + 1) / 2;  // roots 1..half are >= 0; root n + 1 - i mirrors root i
  std::vector<double> roots(static_cast<std::size_t>(half)), slopes(static_cast<std::size_t>(half));
  int64_t newton_last = half;  // roots 1..newton_last by the recurrence
  bool rescale = false;
  if (n > 128) {
    // Start at x = 0: P_n(0) = (-1)^m (2m-1)!!/(2m)!! for n = 2m, P_n'(0) = n P_{n-1}(0) for n odd.
    double start = 1.0;
    for (int64_t j = 1; j <= n / 2; ++j) start *= (2.0 * j - 1.0) / (2.0 * j);
    double x0 = 0.0, value = n % 2 == 0 ? start : 0.0, slope = n % 2 == 0 ? 0.0 : nd * start;
    int64_t i = half;  // the root to find next (counted from 1, the one nearest 1)
    if (n % 2 == 1) {  // x = 0 is root `half` itself
      roots[static_cast<std::size_t>(i - 1)] = 0.0;
      slopes[static_cast<std::size_t>(i - 1)] = slope;
      --i;
    }
    const double guess_scale = 1.0 - (nd - 1.0) / (8.0 * nd * nd * nd);
    for (; i >= 1; --i) {
      double x = guess_scale * std::cos(kPi * (static_cast<double>(i) - 0.25) / (nd + 0.5));
      if (x - x0 > 0.25 * (1.0 - x0)) break;  // too close to 1 for the series: the recurrence takes over
      double h = x - x0, y = 0, dy = 1;
      for (int iteration = 0; iteration < 20; ++iteration) {
        legendre_taylor(nd, x0, value, slope, h, y, dy);
        const double step = y / dy;
        h -= step;
        if (std::abs(step) <= 1e-16 * std::abs(x0 + h) + 1e-300) break;
      }
      legendre_taylor(nd, x0, value, slope, h, y, dy);
      // Roots ascend and stay between their neighbours' guesses; anything else (never seen) hands
      // this root and the rest to the recurrence rather than risk a wrong rule.
      if (!(h > 0) || !std::isfinite(dy) || std::abs(h - (x - x0)) > 0.5 * (x - x0)) break;
      x0 += h;
      value = 0.0;
      slope = dy;
      roots[static_cast<std::size_t>(i - 1)] = x0;
      slopes[static_cast<std::size_t>(i - 1)] = slope;
    }
    newton_last = i;
    rescale = true;
  }
  if (newton_last >= 1) newton_roots(n, 1, newton_last, roots.data(), slopes.data());
  // Weights 2 / ((1 - x²) P_n'(x)²), halved for [0, 1]; the series part times one common factor.
  double series_sum = 0, newton_sum = 0;
  std::vector<double> raw(static_cast<std::size_t>(half));
  for (int64_t i = 1; i <= half; ++i) {
    const double x = roots[static_cast<std::size_t>(i - 1)], d = slopes[static_cast<std::size_t>(i - 1)];
    const double weight = 1.0 / ((1.0 - x * x) * d * d);
    raw[static_cast<std::size_t>(i - 1)] = weight;
    const double multiplicity = (n % 2 == 1 && i == half) ? 1.0 : 2.0;
    (i <= newton_last ? newton_sum : series_sum) += multiplicity * weight;
  }
  const double factor = rescale && series_sum > 0 ? (1.0 - newton_sum) / series_sum : 1.0;
  for (int64_t i = 1; i <= half; ++i) {
    const double x = roots[static_cast<std::size_t>(i - 1)];
    const double weight = raw[static_cast<std::size_t>(i - 1)] * (i <= newton_last ? 1.0 : factor);
    const auto upper = static_cast<std::size_t>(i - 1);
    const auto lower = static_cast<std::size_t>(n - i);
    q.alphas[upper] = (x + 1.0) / 2.0;
    q.weights[upper] = weight;
    q.alphas[lower] = (1.0 - x) / 2.0;
    q.weights[lower] = weight;
  }
  return q;
}

}  // namespace

namespace detail {

Quadrature integration_rule(IntegrationRule rule, int64_t n) {
  TORCH_CHECK_VALUE(n >= 1 && n <= IntegratedGradients::kMaxSteps, "IntegratedGradients: steps must be in 1..",
                    IntegratedGradients::kMaxSteps, ", got ", n);
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

}  // namespace detail

IntegratedGradients::IntegratedGradients(Model model, IntegratedGradientsOptions options)
    : ModelAttribution(std::move(model)), options_(std::move(options)) {
  TORCH_CHECK_VALUE(options_.steps() >= 1, "IntegratedGradients: steps must be >= 1, got ", options_.steps());
  TORCH_CHECK_VALUE(options_.steps() <= kMaxSteps, "IntegratedGradients: steps must be at most ", kMaxSteps, ", got ",
                    options_.steps(), " (IntegratedGradientsOptions::steps; nni: --steps). Every step is one more "
                    "forward and backward pass per example; Gauss-Legendre with ", kMaxSteps,
                    " points is exact for polynomials of degree < ", 2 * kMaxSteps,
                    " along the path, and beyond that the float32 sum of the gradients, not the rule, limits the "
                    "accuracy");
  TORCH_CHECK_VALUE(options_.rule() != IntegrationRule::kRiemannTrapezoid || options_.steps() >= 2,
                    "IntegratedGradients: the trapezoid rule needs at least 2 steps, got ", options_.steps());
  check_rows_per_call("IntegratedGradients", options_.rows_per_call(), options_.memory_budget());
  // The nodes and weights, once per object: every call (and every batch of the nni tool) reuses them.
  quadrature_ = std::make_shared<const detail::Quadrature>(detail::integration_rule(options_.rule(), options_.steps()));
}

torch::Tensor IntegratedGradients::compute(const torch::Tensor& input, const Target& target) {
  return integrate(input, target, /*with_delta=*/false).attributions;
}

IntegratedGradientsResult IntegratedGradients::attribute_with_delta(const torch::Tensor& input, const Target& target) {
  return detail::naming_errors(class_name(), [&] {
    model_.check_input(input, "IntegratedGradients");
    return integrate(input, target, /*with_delta=*/true);
  });
}

IntegratedGradientsResult IntegratedGradients::integrate(const torch::Tensor& input, const Target& target,
                                                         bool with_delta) {
  const int64_t batch = input.size(0);
  torch::Tensor baseline = options_.baseline().defined() ? options_.baseline().to(input.options())
                                                         : at::zeros_like(input);
  TORCH_CHECK_VALUE(baseline.dim() <= input.dim(), "the baseline of shape ", baseline.sizes(),
                    " does not broadcast to the input shape ", input.sizes());
  try {
    baseline = baseline.expand(input.sizes());
  } catch (const c10::Error&) {
    TORCH_CHECK_VALUE(false, "the baseline of shape ", baseline.sizes(),
                      " does not broadcast to the input shape ", input.sizes());
  }
  TORCH_CHECK_VALUE(baseline.isfinite().all().item<bool>(), "the baseline contains NaN or Inf");

  // f(input) and f(baseline) for the completeness check; a predicted target is resolved on the input,
  // never on interpolated points. Without the check, a given target needs neither pass (its classes
  // are range-checked on the path points' output): at batch 1 they cost ~20 % of the 50-row pass.
  Target resolved = target;
  torch::Tensor end_scores;
  if (with_delta || target.is_predicted()) {
    torch::NoGradGuard no_grad;
    torch::Tensor input_output = model_.forward(input);
    resolved = target.resolved(input_output);
    if (with_delta) end_scores = resolved.scores(input_output) - resolved.scores(model_.forward(baseline));
  }

  const detail::Quadrature& q = *quadrature_;
  const int64_t steps = options_.steps();
  const int64_t row_bytes = batch > 0 ? input.numel() / batch * static_cast<int64_t>(input.element_size()) : 1;
  const int64_t steps_per_call =
      copies_per_call(options_.rows_per_call(), steps, batch, row_bytes, options_.memory_budget());

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
    torch::Tensor gradients;
    try {
      gradients = detail::input_gradient(model_, points, resolved.repeated(batch, count),
                                         detail::ReluGradientRule::kStandard)
                      .gradient;
    } catch (const c10::Error&) {
      // Without the end-point passes the first model error comes from the path points' batch;
      // run the caller's batch so the message names its rows and shape, if it fails the same way.
      if (first == 0 && !end_scores.defined() && !target.is_predicted()) {
        torch::NoGradGuard no_grad;
        resolved.scores(model_.forward(input));
      }
      throw;
    }
    weighted_sum += (gradients.view(stacked_shape) * weights).sum(0);
  }
  torch::Tensor attributions = difference * weighted_sum;
  detail::check_finite_result(attributions, "the attributions");
  if (!with_delta) return {attributions, torch::Tensor()};
  torch::Tensor delta = attributions.flatten(1).sum(1) - end_scores;
  return {attributions, delta.detach()};
}

}  // namespace nn_interpretability
