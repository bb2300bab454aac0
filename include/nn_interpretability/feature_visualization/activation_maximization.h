#pragma once
// Activation maximization: the input (or a generator's code) that maximizes an objective of a
// classifier, found by gradient ascent with image priors. See docs/methods/activation_maximization.md.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <c10/util/ArrayRef.h>
#include <c10/util/Optional.h>
#include <torch/arg.h>
#include <torch/types.h>

#include "nn_interpretability/feature_visualization/objective.h"
#include "nn_interpretability/feature_visualization/regularizers.h"
#include "nn_interpretability/model/model.h"

namespace nn_interpretability {

/// The update rule of the gradient ascent.
enum class AmOptimizer {
  kAdam,  ///< Adam (β₁ 0.9, β₂ 0.999, ε 1e-8), bias-corrected, per element
  kSgd,   ///< gradient ascent with heavy-ball momentum: v ← μv + g; x ← x + lr·v
};

/// Where the optimized tensor starts.
enum class AmStart {
  kZeros,          ///< all zeros
  kUniformNoise,   ///< uniform in [low, high) of the clip range ([0, 1) without clipping)
  kGaussianNoise,  ///< normal with mean at the clip range's centre (0 without clipping), std `noise_std`
  kImage,          ///< the batch given as `start_image` (input space) or `start_code` (code space)
};
// A defined `start_image` (input space) or `start_code` (code space) is always the start, whatever
// `start` says; kImage without one is an error.

/// What the progress callback sees.
struct ActivationMaximizationProgress {
  int64_t iteration = 0;        ///< gradient steps done so far (1-based at the first report)
  double mean_objective = 0;    ///< mean over rows of the objective at this iteration's forward pass
  torch::Tensor objective;      ///< the objective per row [N]
  torch::Tensor probabilities;  ///< softmax probability of each row's class [N] (class objectives; else undefined)
  torch::Tensor active;         ///< bool [N]: rows still being optimized (false once stopped)
};

/// A per-row energy F(x) [N] of an image batch, e.g. an RBM's free energy (low = likely).
using EnergyFunction = std::function<torch::Tensor(const torch::Tensor&)>;
using ActivationMaximizationCallback = std::function<void(const ActivationMaximizationProgress&)>;
/// A closed value range [low, high].
using AmRange = std::pair<double, double>;

/// Options of ActivationMaximization. The ascent maximizes, per row i,
///   objective(x_i) − energy_weight·F(x_i) − l2_weight·‖x_i − r‖² − tv_weight·TV(x_i)
///   − latent_l2_weight·‖z_i‖²   (code space, x = G(z))
/// with the exact definitions of regularizers.h.
struct ActivationMaximizationOptions {
  /// Gradient steps (per row at most; stopped rows take no more).
  TORCH_ARG(int64_t, iterations) = 200;
  TORCH_ARG(double, learning_rate) = 0.05;
  TORCH_ARG(AmOptimizer, optimizer) = AmOptimizer::kAdam;
  /// Momentum μ of kSgd (0 = plain gradient ascent).
  TORCH_ARG(double, momentum) = 0.9;
  /// Weight of the squared L2 distance of the image to `l2_reference`.
  TORCH_ARG(double, l2_weight) = 0.0;
  /// Reference image of the L2 term (e.g. the class mean): one example's shape, [1, ...] or [N, ...];
  /// undefined = zeros.
  TORCH_ARG(torch::Tensor, l2_reference);
  /// Weight of the total variation (sum of squared neighbour differences) of the image.
  TORCH_ARG(double, tv_weight) = 0.0;
  /// Each step's forward pass sees the image rolled by up to this many pixels (0 = off).
  TORCH_ARG(int64_t, jitter) = 0;
  /// Standard deviation in pixels of a Gaussian blur applied to the image after every
  /// `blur_every`-th step (0 = off). Input space only.
  TORCH_ARG(double, blur_sigma) = 0.0;
  TORCH_ARG(int64_t, blur_every) = 1;
  /// After every step the image is clamped to this range (input space only); nullopt = no clipping.
  TORCH_ARG(c10::optional<AmRange>, clip) = AmRange(0.0, 1.0);
  TORCH_ARG(AmStart, start) = AmStart::kUniformNoise;
  /// Standard deviation of kGaussianNoise.
  TORCH_ARG(double, noise_std) = 0.1;
  /// The start batch in input space [N, ...] (always used when defined); it also gives maximize() its shape.
  TORCH_ARG(torch::Tensor, start_image);
  /// Seed of the private generators (start noise on the input's device, jitter shifts on the CPU).
  /// The global generator is never used or changed, so equal seeds give bit-identical runs.
  TORCH_ARG(uint64_t, seed) = 0;
  /// Stop a row once the softmax probability of its class (the first class term) reaches this value:
  /// the row is frozen from then on; the run ends when every row has stopped. Needs a class objective.
  TORCH_ARG(c10::optional<double>, stop_probability) = c10::nullopt;
  /// Called every `progress_every` steps (and after the last one).
  TORCH_ARG(ActivationMaximizationCallback, progress);
  TORCH_ARG(int64_t, progress_every) = 10;

  // ---- code space: optimize z and show the classifier x = G(z)
  /// The generator G (images = G(codes)); unset = optimize the image itself (input space).
  TORCH_ARG(c10::optional<Model>, generator) = c10::nullopt;
  /// One code's shape, e.g. {64}, so that maximize(objective, batch) can make codes [batch, 64].
  TORCH_ARG(std::vector<int64_t>, latent_shape);
  /// The start codes [N, ...] in code space (always used when defined; otherwise kZeros gives zero
  /// codes and either noise start N(0, 1) codes); it also gives maximize() its shape.
  TORCH_ARG(torch::Tensor, start_code);
  /// Weight of ‖z‖² (keeps codes where the generator was trained).
  TORCH_ARG(double, latent_l2_weight) = 0.0;

  // ---- density prior
  /// Per-row energy F(x) [N] of the image; unset = no prior.
  TORCH_ARG(EnergyFunction, energy);
  /// λ: the weight of the energy term.
  TORCH_ARG(double, energy_weight) = 0.0;
};

/// What maximize() returns. Tensors are detached, on the input's device.
struct ActivationMaximizationResult {
  torch::Tensor images;         ///< the final images [N, ...] (code space: G(codes))
  torch::Tensor codes;          ///< code space: the final codes [N, ...]; undefined in input space
  torch::Tensor objective;      ///< the objective of the final images [N] (no jitter, no regularizers)
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
///   nni::ActivationMaximization am(model, nni::ActivationMaximizationOptions().iterations(300).tv_weight(0.01));
///   auto result = am.maximize(nni::Objective::class_logit(torch::arange(10)), {10, 1, 28, 28});
///   // result.images [10, 1, 28, 28]: row i maximizes class i
class ActivationMaximization {
 public:
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
};

/// Named option sets. Each returns options to adjust further with the setters.
///
/// Example:
///   auto options = nni::activation_maximization_presets::regularized().iterations(500);
namespace activation_maximization_presets {

/// The original project's setting: uniform-noise start, Adam with learning rate 5e-3, 1000 steps,
/// L2 towards `class_mean` (one example's shape or [N, ...], e.g. the per-class means of the
/// training images) with weight 0.05, images clipped to [0, 1]; no jitter, blur or TV.
ActivationMaximizationOptions original(torch::Tensor class_mean);
/// Naive gradient ascent: zeros start, Adam lr 0.05, 200 steps, no regularizer, clipping to [0, 1].
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
