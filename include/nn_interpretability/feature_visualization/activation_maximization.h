#pragma once
// Activation maximization: the input (or a generator's code) that maximizes an objective of a
// classifier, found by gradient ascent with image priors. It composes the four parts of feature
// visualization: parameterization, transforms, penalties and optimizer. See
// docs/methods/activation_maximization.md.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include <c10/util/ArrayRef.h>
#include <c10/util/Optional.h>
#include <torch/arg.h>
#include <torch/types.h>

#include "nn_interpretability/feature_visualization/objective.h"
#include "nn_interpretability/feature_visualization/optimizer.h"
#include "nn_interpretability/feature_visualization/parameterization.h"
#include "nn_interpretability/feature_visualization/penalties.h"
#include "nn_interpretability/feature_visualization/transforms.h"
#include "nn_interpretability/model/model.h"

namespace nn_interpretability {

/// What the progress callback sees (the names from before the parts were split).
using ActivationMaximizationProgress = AscentProgress;
using ActivationMaximizationCallback = AscentCallback;

/// Options of ActivationMaximization: one struct per part, and the seed they share.
///
/// Example:
///   auto options = nni::ActivationMaximizationOptions()
///                      .parameterization(nni::ParameterizationOptions().start(nni::AmStart::kZeros))
///                      .transforms(nni::TransformOptions().jitter(2))
///                      .penalties(nni::PenaltyOptions().tv_weight(0.01))
///                      .optimizer(nni::OptimizerOptions().iterations(300));
///   options.optimizer().learning_rate(0.1);  // one field of a part, in place
struct ActivationMaximizationOptions {
  /// What is optimized: pixels (input space) or a generator's code; the start; the value range.
  TORCH_ARG(ParameterizationOptions, parameterization);
  /// Jitter before each forward pass, blur after each step.
  TORCH_ARG(TransformOptions, transforms);
  /// The terms subtracted from the objective: L2, total variation, ‖z‖², the energy prior.
  TORCH_ARG(PenaltyOptions, penalties);
  /// The ascent: update rule, steps, learning rate, stopping, progress.
  TORCH_ARG(OptimizerOptions, optimizer);
  /// Seed of the private generators (start noise on the input's device, jitter shifts on the CPU).
  /// The global generator is never used or changed, so equal seeds give bit-identical runs.
  TORCH_ARG(uint64_t, seed) = 0;

  // ---- The flat setters from before the parts were split (issue #14), kept so existing code
  // compiles: each sets the field of the same name in its part; optimizer(AmOptimizer) sets
  // optimizer.algorithm. New code sets the parts.
 public:
  ActivationMaximizationOptions& iterations(int64_t value);
  ActivationMaximizationOptions& learning_rate(double value);
  ActivationMaximizationOptions& momentum(double value);
  ActivationMaximizationOptions& stop_probability(c10::optional<double> value);
  ActivationMaximizationOptions& progress(AscentCallback value);
  ActivationMaximizationOptions& progress_every(int64_t value);
  ActivationMaximizationOptions& l2_weight(double value);
  ActivationMaximizationOptions& l2_reference(torch::Tensor value);
  ActivationMaximizationOptions& tv_weight(double value);
  ActivationMaximizationOptions& latent_l2_weight(double value);
  ActivationMaximizationOptions& energy(EnergyFunction value);
  ActivationMaximizationOptions& energy_weight(double value);
  ActivationMaximizationOptions& jitter(int64_t value);
  ActivationMaximizationOptions& blur_sigma(double value);
  ActivationMaximizationOptions& blur_every(int64_t value);
  ActivationMaximizationOptions& start(AmStart value);
  ActivationMaximizationOptions& noise_std(double value);
  ActivationMaximizationOptions& start_image(torch::Tensor value);
  ActivationMaximizationOptions& clip(c10::optional<AmRange> value);
  ActivationMaximizationOptions& generator(c10::optional<Model> value);
  ActivationMaximizationOptions& latent_shape(std::vector<int64_t> value);
  ActivationMaximizationOptions& start_code(torch::Tensor value);
  ActivationMaximizationOptions& optimizer(AmOptimizer algorithm);
};

/// What maximize() returns. Tensors are detached, on the input's device.
struct ActivationMaximizationResult {
  torch::Tensor images;         ///< the final images [N, ...] (code space: G(codes))
  torch::Tensor codes;          ///< code space: the final codes [N, ...]; undefined in input space
  torch::Tensor objective;      ///< the objective of the final images [N] (no jitter, no penalties)
  torch::Tensor probabilities;  ///< class objectives: softmax probability of each row's class [N]
  int64_t iterations_run = 0;   ///< gradient steps taken (fewer than `iterations` when all rows stopped)
  /// Per row: the step count at which its probability reached `stop_probability` (the row was
  /// frozen from then on), or −1 when it never did.
  std::vector<int64_t> stop_iteration;
};

/// Activation maximization: gradient ascent on an input batch (or on a generator's codes) to
/// maximize an Objective of the classifier, with optional L2, total-variation, jitter, blur,
/// clipping and energy priors. Erhan et al. 2009; Simonyan et al. 2014; Yosinski et al. 2015;
/// Nguyen et al. 2016 (generator priors).
///
/// Only the image (or code) tensor is optimized, through torch::autograd::grad with respect to it:
/// the classifier and generator are run in the mode they are in and left unchanged (parameters,
/// requires_grad flags, .grad, buffers, train/eval mode, grad mode), also when an error is thrown.
///
/// Example:
///   nni::ActivationMaximization am(model, nni::ActivationMaximizationOptions()
///                                             .penalties(nni::PenaltyOptions().tv_weight(0.01))
///                                             .optimizer(nni::OptimizerOptions().iterations(300)));
///   auto result = am.maximize(nni::Objective::class_logit(torch::arange(10)), {10, 1, 28, 28});
///   // result.images [10, 1, 28, 28]: row i maximizes class i
class ActivationMaximization {
 public:
  /// Checks every option (errors name it, e.g. "optimizer.learning_rate").
  explicit ActivationMaximization(Model model, ActivationMaximizationOptions options = {});

  /// Optimizes a batch of the given shape: the image batch [N, ...] in input space, the code batch
  /// [N, ...] in code space.
  ActivationMaximizationResult maximize(const Objective& objective, c10::IntArrayRef shape) const;
  ActivationMaximizationResult maximize(const Objective& objective, std::initializer_list<int64_t> shape) const {
    return maximize(objective, c10::IntArrayRef(shape));
  }
  /// Code space only: `batch` codes of shape `latent_shape`.
  ActivationMaximizationResult maximize(const Objective& objective, int64_t batch) const;
  /// The shape comes from `start_image` (input space) or `start_code` (code space).
  ActivationMaximizationResult maximize(const Objective& objective) const;

  const Model& model() const { return model_; }
  const ActivationMaximizationOptions& options() const { return options_; }

 private:
  Model model_;
  ActivationMaximizationOptions options_;
  Parameterization parameterization_;
  Transforms transforms_;
  Penalties penalties_;
  GradientAscent optimizer_;
};

/// Named option sets. Each returns options to adjust further, e.g. through the parts' getters.
///
/// Example:
///   auto options = nni::activation_maximization_presets::regularized();
///   options.optimizer().iterations(500);
namespace activation_maximization_presets {

/// The original project's setting: uniform-noise start, Adam with learning rate 5e-3, 1000 steps,
/// L2 towards `class_mean` (one example's shape or [N, ...], e.g. the per-class means of the
/// training images) with weight 0.05, images clipped to [0, 1]; no jitter, blur or TV.
ActivationMaximizationOptions original(torch::Tensor class_mean);
/// Naive gradient ascent: zeros start, Adam lr 0.05, 200 steps, no penalty, clipping to [0, 1].
ActivationMaximizationOptions naive();
/// Yosinski et al. 2015 style: uniform-noise start, Adam lr 0.05, 300 steps, jitter 2 px, Gaussian
/// blur σ 0.5 every 4 steps, TV weight 0.05, L2 (towards zero) weight 0.01, clipping to [0, 1].
ActivationMaximizationOptions regularized();
/// The preset named "original" (needs `class_mean`), "naive" or "regularized".
ActivationMaximizationOptions by_name(const std::string& name, torch::Tensor class_mean = torch::Tensor());
/// The preset names.
std::vector<std::string> names();

}  // namespace activation_maximization_presets

}  // namespace nn_interpretability
