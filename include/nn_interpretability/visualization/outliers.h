#pragma once
// Capping outliers: clip each example's values to [-t, t] for a per-example threshold t.

#include <ATen/core/Tensor.h>

namespace nn_interpretability::visualization {

/// How `postprocess` caps outliers.
enum class OutlierCap {
  None,             ///< no capping.
  ValuePercentile,  ///< t = the p-th percentile of |x| (SmoothGrad: p = 99).
  CumulativeMass,   ///< t = Captum's `_cumulative_sum_threshold` with `outlier_perc`.
};

/// Per-example p-th percentile of |x|: a tensor [N].
///
/// The M = C*H*W values |x| of example n, sorted ascending as v_0 <= ... <= v_{M-1}, give
/// pos = p/100 * (M - 1) and t_n = v_floor(pos) + (pos - floor(pos)) * (v_ceil(pos) - v_floor(pos))
/// (numpy.percentile's default, linear interpolation). `percentile` is in [0, 100].
///
/// Example:
///   at::Tensor t = percentile_threshold(attributions, 99.0);  // [N]
at::Tensor percentile_threshold(const at::Tensor& attributions, double percentile);

/// Per-example cumulative-mass threshold of |x| (Captum's `outlier_perc` convention): a tensor [N].
///
/// The values |x| of example n, sorted ascending as v_0 <= ... <= v_{M-1}, with cumulative sums
/// S_k = v_0 + ... + v_k; t_n = v_k for the smallest k with S_k >= (100 - outlier_perc)/100 * S_{M-1}.
/// Values above t_n carry the last `outlier_perc` percent of the total mass. `outlier_perc` is in
/// [0, 100). The sums are accumulated in double precision.
///
/// Example:
///   at::Tensor t = cumulative_mass_threshold(attributions, 2.0);  // Captum's default
at::Tensor cumulative_mass_threshold(const at::Tensor& attributions, double outlier_perc);

/// Clips example n of `attributions` to [-t_n, t_n]; `threshold` is [N] (or a scalar tensor).
///
/// Example:
///   at::Tensor capped = clip_to_threshold(attributions, percentile_threshold(attributions, 99.0));
at::Tensor clip_to_threshold(const at::Tensor& attributions, const at::Tensor& threshold);

/// Clips each example to the `percentile`-th percentile of its |x| (SmoothGrad's outlier capping).
///
/// Example:
///   at::Tensor capped = cap_at_percentile(absolute(attributions), 99.0);
at::Tensor cap_at_percentile(const at::Tensor& attributions, double percentile = 99.0);

/// Clips each example to its cumulative-mass threshold (Captum's `outlier_perc`, default 2).
///
/// Example:
///   at::Tensor capped = cap_at_cumulative_mass(attributions, 2.0);
at::Tensor cap_at_cumulative_mass(const at::Tensor& attributions, double outlier_perc = 2.0);

}  // namespace nn_interpretability::visualization
