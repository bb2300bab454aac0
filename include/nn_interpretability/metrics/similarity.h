#pragma once
// Similarity of two explanations of the same examples: the measures of the model-randomization
// sanity checks (Adebayo et al. 2018, "Sanity checks for saliency maps", NeurIPS), defined exactly
// as scipy.stats and scikit-image 0.19 compute them. Each takes a, b of one shape [N, ...] and
// returns one value per example [N] (float64, on the input's device); a and b must be floating
// point, hold at least one example and no NaN or Inf.

#include <cstdint>

#include <torch/arg.h>
#include <torch/types.h>

namespace nn_interpretability {
namespace metrics {

/// Spearman's rank correlation of each example's elements (rows flattened): the Pearson correlation
/// of their ranks, tied values sharing the mean of the positions they span (scipy.stats.rankdata
/// 'average', as scipy.stats.spearmanr). 1: the same order, −1: the reverse order. A row constant in
/// a or b has no correlation and is refused.
///
///   torch::Tensor rho = metrics::spearman_correlation(saliency, randomized_saliency);  // [N]
torch::Tensor spearman_correlation(const torch::Tensor& a, const torch::Tensor& b);

/// Pearson's correlation of each example's elements (rows flattened):
/// r = Σ (a_i − ā)(b_i − b̄) / sqrt(Σ (a_i − ā)² Σ (b_i − b̄)²), clamped to [−1, 1] like
/// scipy.stats.pearsonr. A row constant in a or b is refused.
torch::Tensor pearson_correlation(const torch::Tensor& a, const torch::Tensor& b);

struct SsimOptions {
  /// Side of the square uniform window; odd, at least 3 and at most min(H, W). Default: 7.
  TORCH_ARG(int64_t, window) = 7;
  /// Luminance constant: C1 = (k1 R)², k1 > 0. Default: 0.01.
  TORCH_ARG(double, k1) = 0.01;
  /// Contrast constant: C2 = (k2 R)², k2 > 0. Default: 0.03.
  TORCH_ARG(double, k2) = 0.03;
  /// R, the data range. Default 0: max(a, b) − min(a, b) over each example pair, as Quantus's ssim
  /// passes to scikit-image (attributions have no dtype range).
  TORCH_ARG(double, data_range) = 0;
};

/// Mean structural similarity (Wang et al. 2004, "Image quality assessment: from error visibility to
/// structural similarity") of each pair of maps, as skimage.metrics.structural_similarity(a, b,
/// win_size=w, data_range=R, K1=k1, K2=k2, gaussian_weights=False, use_sample_covariance=True):
/// over every w × w window lying inside the map (skimage's map cropped by (w − 1) / 2 on each side,
/// so its boundary mode plays no part), with window means μ, sample (co)variances σ (factor
/// w² / (w² − 1)), the mean of
///   SSIM = (2 μa μb + C1)(2 σab + C2) / ((μa² + μb² + C1)(σa² + σb² + C2)).
/// 1 for a == b. Maps [N, H, W], or [N, C, H, W] summed over the channels first (a pixel's relevance,
/// as the other metrics read it). A pair with R = 0 (both maps one constant) has SSIM 0/0 and is refused.
///
///   torch::Tensor s = metrics::ssim(saliency, randomized_saliency, metrics::SsimOptions().window(5));
torch::Tensor ssim(const torch::Tensor& a, const torch::Tensor& b, const SsimOptions& options = {});

struct HogOptions {
  /// Number of unsigned orientation bins over [0°, 180°). Default: 9.
  TORCH_ARG(int64_t, orientations) = 9;
  /// Side of a square cell, in pixels. Default: 8.
  TORCH_ARG(int64_t, pixels_per_cell) = 8;
  /// Side of a square block, in cells. Default: 3.
  TORCH_ARG(int64_t, cells_per_block) = 3;
};

/// Histogram-of-oriented-gradients features (Dalal & Triggs 2005) of each map, [N, F] float64, equal to
/// skimage.feature.hog(map, orientations=o, pixels_per_cell=(p, p), cells_per_block=(c, c),
/// block_norm='L2-Hys') of scikit-image 0.19: central-difference gradients (0 on the border rows and
/// columns), each pixel's magnitude voting into the bin of its orientation in [0°, 180°), cell sums
/// over the top-left ⌊H/p⌋ × ⌊W/p⌋ cells divided by p² (rounded to float32 as scikit-image's cell sums
/// are), then every c × c block normalized by L2-Hys (v / sqrt(Σv² + 1e-10), clipped at 0.2,
/// normalized again). F = (⌊H/p⌋ − c + 1)(⌊W/p⌋ − c + 1) c² o, ordered [block row, block column, cell
/// row, cell column, bin]. Maps [N, H, W], or [N, C, H, W] summed over the channels first; they must
/// hold at least c × c cells.
torch::Tensor hog_features(const torch::Tensor& maps, const HogOptions& options = {});

/// The Pearson correlation of the two maps' HOG features, per example (Adebayo et al. 2018's HOG
/// similarity). A map whose features are constant (no gradient anywhere, e.g. a flat map) is refused.
torch::Tensor hog_similarity(const torch::Tensor& a, const torch::Tensor& b, const HogOptions& options = {});

}  // namespace metrics
}  // namespace nn_interpretability
