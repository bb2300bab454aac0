// The first principal component of a layer's activations (EigenCAM, EigenGrad-CAM, eigen_smooth).
//
// LAPACK's SVD costs a fixed ~80 µs per call through ATen on CPU, more than the whole forward pass
// of a small model, and it computes every singular vector where only the first is used. On CPU the
// top eigenvector of the smaller Gram matrix is found here by repeated squaring instead (a few
// m × m products, m = min(h·w, K) ≤ kLargestGram), and accepted only when its residual says it is
// an eigenvector to double precision; a nearly degenerate top eigenvalue, a larger matrix or
// another device goes to LAPACK as before.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>

#include "nn_interpretability/detail/cam_steps.h"

namespace nn_interpretability {
namespace detail {
namespace {

constexpr int64_t kLargestGram = 48;  // beyond this LAPACK is as fast as the squarings
constexpr int kMaxSquarings = 40;     // (λ₂/λ₁)^(2^40): converges unless the gap is below ~1e-11
constexpr double kResidualTolerance = 1e-9;

/// C = A · A for a row-major m × m matrix (restrict: the row updates vectorise).
void square_product(const std::vector<double>& a, std::vector<double>& c, int64_t m) {
  const double* __restrict in = a.data();
  double* __restrict out = c.data();
  for (int64_t i = 0; i < m; ++i) {
    double* __restrict row_out = out + i * m;
    for (int64_t j = 0; j < m; ++j) row_out[j] = 0;
    for (int64_t k = 0; k < m; ++k) {
      const double aik = in[i * m + k];
      const double* __restrict row = in + k * m;
      for (int64_t j = 0; j < m; ++j) row_out[j] += aik * row[j];
    }
  }
}

/// The unit eigenvector of the largest eigenvalue of the symmetric positive semi-definite m × m
/// matrix `gram`, or an empty vector when it could not be found to kResidualTolerance.
std::vector<double> top_eigenvector(const std::vector<double>& gram, int64_t m) {
  double trace = 0;
  for (int64_t i = 0; i < m; ++i) trace += gram[i * m + i];
  if (!(trace > 0) || !std::isfinite(trace)) return {};
  // M ← M² / trace(M²): its eigenvalues (λᵢ/λ₁)^(2^s) normalised, so M tends to v vᵀ; it has got
  // there when trace(M²) = Σ μᵢ² equals trace(M)² = 1.
  std::vector<double> power(gram), next(gram.size());
  for (double& value : power) value /= trace;
  for (int squaring = 0; squaring < kMaxSquarings; ++squaring) {
    square_product(power, next, m);
    double next_trace = 0;
    for (int64_t i = 0; i < m; ++i) next_trace += next[i * m + i];
    if (!(next_trace > 0)) return {};
    for (double& value : next) value /= next_trace;
    power.swap(next);
    if (next_trace > 1 - 1e-15) break;
  }
  // v: the column with the largest diagonal entry (a v vᵀ column is vᵢ v), then one power step on
  // the original matrix.
  int64_t best = 0;
  for (int64_t i = 1; i < m; ++i)
    if (power[i * m + i] > power[best * m + best]) best = i;
  std::vector<double> v(static_cast<size_t>(m)), gv(static_cast<size_t>(m));
  auto normalise = [m](std::vector<double>& x) {
    double norm = 0;
    for (double value : x) norm += value * value;
    norm = std::sqrt(norm);
    if (!(norm > 0)) return false;
    for (int64_t i = 0; i < m; ++i) x[i] /= norm;
    return true;
  };
  for (int64_t i = 0; i < m; ++i) v[i] = power[i * m + best];
  if (!normalise(v)) return {};
  auto multiply = [&](const std::vector<double>& x, std::vector<double>& out) {
    for (int64_t i = 0; i < m; ++i) {
      double sum = 0;
      for (int64_t j = 0; j < m; ++j) sum += gram[i * m + j] * x[j];
      out[i] = sum;
    }
  };
  multiply(v, gv);
  v = gv;
  if (!normalise(v)) return {};
  // Accept v when ‖G v − λ v‖ ≤ tolerance · λ₁ (λ = vᵀ G v); the largest eigenvalue is at most the trace.
  multiply(v, gv);
  double lambda = 0;
  for (int64_t i = 0; i < m; ++i) lambda += v[i] * gv[i];
  double residual = 0;
  for (int64_t i = 0; i < m; ++i) residual += (gv[i] - lambda * v[i]) * (gv[i] - lambda * v[i]);
  if (!(std::sqrt(residual) <= kResidualTolerance * lambda)) return {};
  return v;
}

/// The principal-component projection of one [P, K] row-major matrix (centred already) into `out`
/// [P], or false when the Gram matrix's top eigenvector was not found.
template <typename Scalar>
bool project_one(const Scalar* a, int64_t positions, int64_t channels, Scalar* out) {
  const bool by_positions = positions <= channels;  // the Gram matrix of the smaller side
  const int64_t m = by_positions ? positions : channels;
  std::vector<double> gram(static_cast<size_t>(m * m), 0.0);
  if (by_positions) {  // A Aᵀ
    for (int64_t i = 0; i < positions; ++i)
      for (int64_t j = i; j < positions; ++j) {
        double sum = 0;
        for (int64_t k = 0; k < channels; ++k)
          sum += static_cast<double>(a[i * channels + k]) * static_cast<double>(a[j * channels + k]);
        gram[i * m + j] = gram[j * m + i] = sum;
      }
  } else {  // Aᵀ A
    for (int64_t p = 0; p < positions; ++p) {
      const Scalar* row = a + p * channels;
      for (int64_t i = 0; i < channels; ++i) {
        const double ai = static_cast<double>(row[i]);
        for (int64_t j = i; j < channels; ++j) gram[i * m + j] += ai * static_cast<double>(row[j]);
      }
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < i; ++j) gram[i * m + j] = gram[j * m + i];
  }
  const std::vector<double> v = top_eigenvector(gram, m);
  if (v.empty()) return false;
  std::vector<double> projection(static_cast<size_t>(positions));
  if (by_positions) {  // A v₁ = σ₁ u₁, and u₁ is the eigenvector of A Aᵀ with eigenvalue σ₁²
    double lambda = 0;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < m; ++j) lambda += v[i] * gram[i * m + j] * v[j];
    const double sigma = std::sqrt(std::max(lambda, 0.0));
    for (int64_t p = 0; p < positions; ++p) projection[p] = sigma * v[p];
  } else {
    for (int64_t p = 0; p < positions; ++p) {
      double sum = 0;
      for (int64_t k = 0; k < channels; ++k) sum += static_cast<double>(a[p * channels + k]) * v[k];
      projection[p] = sum;
    }
  }
  // The sign of a singular vector is arbitrary: flip so that the largest magnitude is positive.
  const auto [low, high] = std::minmax_element(projection.begin(), projection.end());
  const double sign = std::abs(*low) > std::abs(*high) ? -1.0 : 1.0;
  for (int64_t p = 0; p < positions; ++p) out[p] = static_cast<Scalar>(sign * projection[p]);
  return true;
}

torch::Tensor lapack_projection(const torch::Tensor& positions) {
  const torch::Tensor right = std::get<2>(at::linalg_svd(positions, /*full_matrices=*/false));  // [N, r, K]
  torch::Tensor projection = positions.matmul(right.select(1, 0).unsqueeze(2)).squeeze(2);      // [N, h·w]
  const torch::Tensor flip = std::get<0>(projection.min(1)).abs() > std::get<0>(projection.max(1)).abs();
  return at::where(flip.unsqueeze(1), -projection, projection);
}

}  // namespace

torch::Tensor first_principal_component(const torch::Tensor& weighted, bool center) {
  const int64_t batch = weighted.size(0), channels = weighted.size(1);
  const int64_t positions_count = weighted.size(2) * weighted.size(3);
  torch::Tensor positions = weighted.flatten(2).transpose(1, 2);  // [N, h·w, K]
  if (center) positions = positions - positions.mean(1, /*keepdim=*/true);
  torch::Tensor projection;
  const bool small = std::min(positions_count, channels) <= kLargestGram;
  if (small && positions.device().is_cpu() && (positions.scalar_type() == at::kFloat || positions.scalar_type() == at::kDouble)) {
    positions = positions.contiguous();
    projection = at::empty({batch, positions_count}, positions.options());
    std::vector<int64_t> unsolved;
    AT_DISPATCH_FLOATING_TYPES(positions.scalar_type(), "first_principal_component", [&] {
      const scalar_t* in = positions.data_ptr<scalar_t>();
      scalar_t* out = projection.data_ptr<scalar_t>();
      for (int64_t n = 0; n < batch; ++n)
        if (!project_one(in + n * positions_count * channels, positions_count, channels, out + n * positions_count))
          unsolved.push_back(n);
    });
    if (!unsolved.empty()) {
      const torch::Tensor rows = at::tensor(unsolved, positions.options().dtype(at::kLong));
      projection.index_copy_(0, rows, lapack_projection(positions.index_select(0, rows)));
    }
  } else {
    projection = lapack_projection(positions);
  }
  return projection.view({batch, 1, weighted.size(2), weighted.size(3)});
}

}  // namespace detail
}  // namespace nn_interpretability
