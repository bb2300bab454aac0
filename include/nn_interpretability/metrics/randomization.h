#pragma once
// The sanity checks of Adebayo et al. 2018 ("Sanity checks for saliency maps") and Sixt et al.
// 2020 ("When explanations lie", the random-logit test): an explanation that stays the same when
// the model's weights are randomized, or when another class is explained, does not explain the
// model. Low similarity is good.
//
// Model-parameter randomization (MPRT) re-initializes the layers of a copy of the model, from the
// top (output) layer down, either cumulatively (cascading: after step k the top k layers are
// random) or one at a time (independent), and compares each randomized model's map with the
// original's by Spearman rank correlation, SSIM and the Pearson correlation of HOG features. The
// copies are the library's own (Model::deep_copy): the user's model is never changed.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/arg.h>
#include <torch/types.h>

#include "nn_interpretability/core/target.h"
#include "nn_interpretability/metrics/explainer.h"
#include "nn_interpretability/metrics/similarity.h"
#include "nn_interpretability/model/model.h"

namespace nn_interpretability {
namespace metrics {

/// How the similarity of two maps is measured; every field is [N] float64, or [L, N] per step.
/// Maps are summed over their channels (absolute values first with `absolute`); SSIM and HOG,
/// which need images, are undefined tensors for maps that are not [N, C, H, W].
struct MapSimilarity {
  torch::Tensor spearman;  ///< Spearman rank correlation of the flattened maps (ties averaged)
  torch::Tensor ssim;      ///< SSIM of the maps each divided by its largest |value| (Quantus's normalise)
  torch::Tensor hog;       ///< Pearson correlation of the maps' HOG features (Adebayo et al.)
};

/// Which layers are randomized, and in which way.
enum class RandomizationOrder {
  kCascading,    ///< top layer first, the earlier ones staying random (Adebayo et al.'s cascading)
  kIndependent,  ///< each layer alone, on a fresh copy
};

struct RandomizationOptions {
  TORCH_ARG(RandomizationOrder, order) = RandomizationOrder::kCascading;
  /// The layers, in the order randomized; empty: every module holding parameters, from the last
  /// in the model's module order (its top) to the first.
  TORCH_ARG(std::vector<std::string>, layers) = {};
  /// Compare |Φ| (Adebayo et al.'s and Quantus's default): a sign flip of the whole map is not a change.
  TORCH_ARG(bool, absolute) = true;
  /// A randomized model can give a constant map (a dead ReLU layer: all zero), whose similarity to any
  /// map is undefined: refused by default (the message names the step and the examples); true: NaN
  /// for those examples at that step, documented as "undefined" (the report card counts them apart).
  TORCH_ARG(bool, constant_as_nan) = false;
  /// Keep every map (RandomizationResult::maps), for the randomization figure.
  TORCH_ARG(bool, keep_maps) = false;
  /// Layer k's new weights come from a generator seeded by (seed, k).
  TORCH_ARG(uint64_t, seed) = 0;
  TORCH_ARG(SsimOptions, ssim) = SsimOptions();
  TORCH_ARG(HogOptions, hog) = HogOptions();
  /// Makes an independent copy of the model, for models Model::deep_copy cannot copy (a C++ module
  /// that is not torch::nn::Cloneable): e.g. `[] { auto net = MyNet(); torch::load(net, "w.pt");
  /// net->eval(); return nni::Model(net); }`. It is called once (cascading) or once per layer; a copy
  /// sharing a parameter with the model is refused. Empty: Model::deep_copy.
  TORCH_ARG(std::function<Model()>, copy) = nullptr;
};

struct RandomizationResult {
  std::vector<std::string> layers;  ///< L: the layers, in the order randomized
  MapSimilarity similarity;         ///< [L, N]: step k against the original map
  torch::Tensor maps;               ///< keep_maps: [L + 1, N, ...], the original map then step k's
};

/// The original model's target (resolved once: the originally predicted class is explained on
/// every randomized copy). A layer is re-initialized as PyTorch's reset_parameters() would, with
/// the library's seeded generator: every parameter of two or more dimensions, and a bias next to
/// one, uniform in ±1/√fan_in (Linear, Conv); a module with only one-dimensional parameters (the
/// norm layers): weights 1, biases 0, running mean 0 and variance 1. Quantus's MPRT calls
/// reset_parameters() on the modules that have one; the distributions are the same.
RandomizationResult model_parameter_randomization(const Model& model, const torch::Tensor& input, const Target& target,
                                                  const Explainer& explain, const RandomizationOptions& options = {});

struct RandomLogitOptions {
  /// Compare |Φ| (Quantus's RandomLogit: abs = False, the default here too).
  TORCH_ARG(bool, absolute) = false;
  /// A constant map (of either class): NaN for that example instead of a refusal.
  TORCH_ARG(bool, constant_as_nan) = false;
  /// Each example's other class is uniform among the classes but its own, from a generator seeded by (seed, example).
  TORCH_ARG(uint64_t, seed) = 0;
  TORCH_ARG(SsimOptions, ssim) = SsimOptions();
  TORCH_ARG(HogOptions, hog) = HogOptions();
};

struct RandomLogitResult {
  torch::Tensor classes;     ///< [N] int64: the class explained: `target` on the clean output
  torch::Tensor random;      ///< [N] int64: the other class drawn for each example
  MapSimilarity similarity;  ///< [N]: the two maps' similarity
};

/// The random-logit test for a classifier (output [N, classes], at least 2 classes, class targets).
RandomLogitResult random_logit(const Model& model, const torch::Tensor& input, const Target& target,
                               const Explainer& explain, const RandomLogitOptions& options = {});

}  // namespace metrics
}  // namespace nn_interpretability
