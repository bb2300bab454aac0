// Weighted linear surrogates: least squares, ridge, lasso (coordinate descent).
#include "nn_interpretability/perturbation/linear_surrogate.h"

#include <cmath>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace nn_interpretability {
namespace {

double soft_threshold(double value, double threshold) {
  return value > threshold ? value - threshold : value < -threshold ? value + threshold : 0.0;
}

// Lasso on centred, weight-scaled data: min (1/2n) ‖y − X β‖² + α ‖β‖₁ for one column y.
void lasso_column(const double* x, int64_t rows, int64_t features, const double* y, double alpha, double* beta) {
  std::vector<double> residual(y, y + rows), norms(static_cast<size_t>(features), 0.0);
  for (int64_t j = 0; j < features; ++j)
    for (int64_t i = 0; i < rows; ++i) norms[j] += x[i * features + j] * x[i * features + j];
  const double n = static_cast<double>(rows);
  // Stops when no coefficient moved by more than 1e-9 of the largest (sklearn stops on a dual gap of
  // 1e-4; the surrogates here are small, so a tighter rule costs little).
  for (int sweep = 0; sweep < 10000; ++sweep) {
    double largest_step = 0, largest_beta = 0;
    for (int64_t j = 0; j < features; ++j) {
      if (norms[j] == 0) continue;
      double correlation = 0;
      for (int64_t i = 0; i < rows; ++i) correlation += x[i * features + j] * residual[i];
      const double previous = beta[j];
      const double updated = soft_threshold(correlation / n + norms[j] / n * previous, alpha) / (norms[j] / n);
      if (updated != previous)
        for (int64_t i = 0; i < rows; ++i) residual[i] -= x[i * features + j] * (updated - previous);
      beta[j] = updated;
      largest_step = std::max(largest_step, std::abs(updated - previous));
      largest_beta = std::max(largest_beta, std::abs(updated));
    }
    if (largest_step <= 1e-9 * std::max(1e-12, largest_beta)) return;
  }
}

}  // namespace

SurrogateCoefficients fit_linear_surrogate(const torch::Tensor& design, const torch::Tensor& targets,
                                           const torch::Tensor& weights, SurrogateFit fit, double alpha) {
  const auto cpu = at::TensorOptions().dtype(at::kDouble);
  const torch::Tensor x = design.to(at::kCPU, at::kDouble);
  const torch::Tensor y = targets.to(at::kCPU, at::kDouble);
  torch::Tensor w = weights.to(at::kCPU, at::kDouble).view({-1, 1});
  TORCH_CHECK_VALUE(x.dim() == 2 && y.dim() == 2 && x.size(0) == y.size(0) && w.size(0) == x.size(0),
                    "internal: surrogate shapes ", x.sizes(), ", ", y.sizes(), ", ", w.sizes());
  TORCH_CHECK_VALUE(alpha >= 0 && std::isfinite(alpha), "the surrogate's alpha must be >= 0, got ", alpha);
  const double total = w.sum().item<double>();
  TORCH_CHECK_VALUE(total > 0, "every perturbed sample has similarity 0: the surrogate has nothing to fit (widen the kernel)");
  // Centre by the weighted means; the intercept is then mean(y) − mean(x) β.
  const torch::Tensor x_mean = (w * x).sum(0, true) / total;
  const torch::Tensor y_mean = (w * y).sum(0, true) / total;
  const torch::Tensor root = (w * (static_cast<double>(x.size(0)) / total)).sqrt();  // weights summing to M
  const torch::Tensor xs = (x - x_mean) * root;
  const torch::Tensor ys = (y - y_mean) * root;
  const int64_t features = x.size(1);
  torch::Tensor beta;
  switch (fit) {
    case SurrogateFit::kLeastSquares:
      beta = std::get<0>(at::linalg_lstsq(xs, ys, c10::nullopt, "gelsd"));
      break;
    case SurrogateFit::kRidge: {
      const torch::Tensor gram = xs.t().matmul(xs) + alpha * at::eye(features, cpu);
      beta = at::linalg_solve(gram, xs.t().matmul(ys));
      break;
    }
    case SurrogateFit::kLasso: {
      beta = at::zeros({features, y.size(1)}, cpu);
      const torch::Tensor xc = xs.contiguous();
      const torch::Tensor yt = ys.t().contiguous();
      std::vector<double> column(static_cast<size_t>(features));
      for (int64_t k = 0; k < y.size(1); ++k) {
        std::fill(column.begin(), column.end(), 0.0);
        lasso_column(xc.data_ptr<double>(), x.size(0), features, yt.data_ptr<double>() + k * x.size(0), alpha, column.data());
        beta.select(1, k).copy_(at::tensor(column, cpu));
      }
      break;
    }
  }
  return {beta, (y_mean - x_mean.matmul(beta)).squeeze(0)};
}

}  // namespace nn_interpretability
