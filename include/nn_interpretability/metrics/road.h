#pragma once
// ROAD, RemOve And Debias (Rong et al. 2022, "A Consistent and Efficient Evaluation Strategy for
// Attribution Methods", ICML): the target's score after a share of the pixels, taken in the
// explanation's order, is removed and imputed from its neighbours with *noisy linear imputation*.
// Imputing instead of blanking keeps the perturbed image close to the data, and the imputed values
// carry (almost) no trace of which pixels were removed, so the score measures the information the
// removed pixels held rather than the shape of the removal mask.
//
//   namespace metrics = nn_interpretability::metrics;
//   const metrics::Curve morf = metrics::road_curve(model, images, labels, attributions);
//   // morf.scores [N, 10]: the clean score, then the scores with 10 %, 20 %, ..., 90 % removed
//   const torch::Tensor road = metrics::road_combined(model, images, labels, attributions);  // [N]

#include <cstdint>
#include <vector>

#include <torch/arg.h>
#include <torch/types.h>

#include "nn_interpretability/core/target.h"
#include "nn_interpretability/metrics/deletion_insertion.h"
#include "nn_interpretability/model/model.h"
#include "nn_interpretability/perturbation/perturbation_engine.h"

namespace nn_interpretability {
namespace metrics {

/// Noisy linear imputation (ROAD's imputer): every removed pixel's value, channel by channel, is the
/// weighted mean of its 8 neighbours inside the image (weight 1/6 for the 4 direct neighbours, 1/12
/// for the 4 diagonal ones; the weights of the neighbours that exist are renormalized to sum to 1),
/// known and removed neighbours alike, then Gaussian noise of standard deviation `noise` is added to
/// the removed pixels. For the set of removed pixels this is a sparse linear system with the known
/// pixels as boundary condition: the graph Laplacian of the weighted 8-neighbour grid restricted to
/// the removed pixels, symmetric positive definite as long as some pixel is known. It is solved on the
/// input's device by Jacobi-preconditioned conjugate gradient in float64, one system per example and
/// channel, batched (on the CPU in cache-sized groups), until every system's residual ||b - A x|| is
/// at most 1e-12 ||b|| (checked on the true residual, not only the recurrence); after max(100, 4 H W)
/// iterations without that, it throws rather than return an unconverged answer. Iterations grow
/// with the size of the holes: 3x32x32 with 90 % removed took 76 (scattered) to 132 (one blob),
/// 3x224x224 100 to 870 (~1.2 s on 2 CPU cores).
///
/// `input` [N, C, H, W] floating point; `removed` [N, H, W] or [N, 1, H, W] (shared by the channels),
/// bool or 0/1: true where a pixel is imputed. The values of removed pixels are never read (they may
/// be NaN). Every example must keep at least one pixel. The noise is drawn in float64 with
/// `generator` (default: the global generator of the input's device) on the generator's device, then
/// moved to the input's: a seeded CPU generator gives the same noise whatever the device. `noise` 0
/// draws nothing. Returns the input with the removed pixels imputed, in the input's dtype; the known
/// pixels are returned unchanged.
///
/// Example (at::make_generator and at::CPUGeneratorImpl: <ATen/CPUGeneratorImpl.h>):
///   const torch::Tensor filled = metrics::linear_imputation(images, holes, 0.01,
///                                                           at::make_generator<at::CPUGeneratorImpl>(7));
torch::Tensor linear_imputation(const torch::Tensor& input, const torch::Tensor& removed, double noise = 0.0,
                                c10::optional<at::Generator> generator = c10::nullopt);

struct RoadOptions {
  /// Shares of the pixels removed, each in (0, 1), strictly increasing: round(p · P) of the P pixels
  /// go at share p. Default 0.1, 0.2, ..., 0.9: the removed shares of pytorch-grad-cam's percentiles
  /// 90, 80, ..., 10 (ROADMostRelevantFirst(q) and ROADLeastRelevantFirst(q) both remove 1 - q / 100).
  TORCH_ARG(std::vector<double>, fractions) = std::vector<double>{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
  /// Which pixels go first (road_combined runs both and ignores this).
  TORCH_ARG(RelevanceOrder, order) = RelevanceOrder::kMostRelevantFirst;
  /// Standard deviation of the Gaussian noise on the imputed pixels (the paper's and pytorch-grad-cam's
  /// 0.01, for inputs scaled to about [0, 1]); 0: plain linear imputation.
  TORCH_ARG(double, noise) = 0.01;
  /// Seeds the noise. Each perturbed image's noise is drawn in float64 on the CPU from its own
  /// generator, seeded from (seed, example, order, fraction index): the same seed draws the same noise
  /// on every device and for every rows_per_call (the results then agree to rounding), a rerun gives
  /// the same result, and road_combined's curves are road_curve's.
  TORCH_ARG(uint64_t, seed) = 0;
  /// Class targets scored as softmax probabilities (pytorch-grad-cam's ClassifierOutputSoftmaxTarget,
  /// the paper's score) rather than raw outputs.
  TORCH_ARG(bool, probabilities) = true;
  /// The engine: rows per forward call (each chunk's imputations are solved together), memory budget,
  /// progress.
  TORCH_ARG(PerturbationEngineOptions, engine) = PerturbationEngineOptions();
};

/// The ROAD curve of each example: the target's score on the clean input, then after each share of
/// `fractions` is removed in `order` and imputed (linear_imputation with the options' noise).
/// Returns fractions [S + 1] = {0, fractions...} (the nominal shares), scores [N, S + 1] float64 (the
/// clean score first) and auc [N], the trapezoidal area under scores over those fractions (from 0 to
/// the last fraction, not to 1). pytorch-grad-cam's ROAD values are `scores[:, j] - scores[:, 0]`.
///
/// The input must be images [N, C, H, W]. A pixel's relevance is its attributions summed over the
/// channels; `attributions` have the input's shape or one channel of it (a CAM map upsampled to the
/// input). At share p the round(p · P) first pixels of the order are removed, the order being a
/// stable sort (ties by position), as in deletion_curve. pytorch-grad-cam instead keeps the pixels of
/// relevance strictly below np.percentile(relevance, q): with distinct values that removes
/// P - ceil((P - 1) q / 100) pixels, within one pixel of ours (equal whenever ceil((P - 1) q / 100) =
/// round(P q / 100), e.g. for P = 100); with ties it removes every pixel tied at the threshold (a
/// constant map loses all its pixels in both orders), where our count stays exact. A share that
/// would remove every pixel (round(p · P) = P) is refused.
Curve road_curve(const Model& model, const torch::Tensor& input, const Target& target,
                 const torch::Tensor& attributions, const RoadOptions& options = {});

/// pytorch-grad-cam's ROADCombined [N] float64: (mean_p (LeRF score at p - clean score) - mean_p (MoRF
/// score at p - clean score)) / 2 over `fractions`, i.e. half the mean gap between the two curves;
/// large when removing the least relevant pixels hurts the model much less than removing the most
/// relevant ones. Its default percentiles 10, ..., 90 are our default fractions 0.9, ..., 0.1 (the same
/// set for both orders). `order` is ignored; the MoRF and LeRF curves are those of road_curve with the
/// same options.
torch::Tensor road_combined(const Model& model, const torch::Tensor& input, const Target& target,
                            const torch::Tensor& attributions, const RoadOptions& options = {});

}  // namespace metrics
}  // namespace nn_interpretability
