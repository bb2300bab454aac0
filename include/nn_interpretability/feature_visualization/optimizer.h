#pragma once
// The optimizer part of feature visualization: the gradient-ascent loop on the optimized tensor
// (Adam or SGD with momentum), its per-row stopping rule and its progress reports.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <c10/util/Optional.h>
#include <torch/arg.h>
#include <torch/types.h>

namespace nn_interpretability {

/// The update rule of the gradient ascent.
enum class AmOptimizer {
  kAdam,  ///< Adam (β₁ 0.9, β₂ 0.999, ε 1e-8), bias-corrected, per element
  kSgd,   ///< gradient ascent with heavy-ball momentum: v ← μv + g; x ← x + lr·v
};

/// What the progress callback sees.
struct AscentProgress {
  int64_t iteration = 0;        ///< gradient steps done so far (1-based at the first report)
  double mean_objective = 0;    ///< mean over rows of the objective at this iteration's forward pass
  torch::Tensor objective;      ///< the objective per row [N]
  torch::Tensor probabilities;  ///< softmax probability of each row's class [N] (class objectives; else undefined)
  torch::Tensor active;         ///< bool [N]: rows still being optimized (false once stopped)
};
using AscentCallback = std::function<void(const AscentProgress&)>;

/// The settings of the ascent loop.
struct OptimizerOptions {
  TORCH_ARG(AmOptimizer, algorithm) = AmOptimizer::kAdam;
  /// Gradient steps (per row at most; stopped rows take no more).
  TORCH_ARG(int64_t, iterations) = 200;
  TORCH_ARG(double, learning_rate) = 0.05;
  /// Momentum μ of kSgd (0 = plain gradient ascent).
  TORCH_ARG(double, momentum) = 0.9;
  /// Stop a row once the softmax probability of its class (the first class term) reaches this value:
  /// the row is frozen from then on; the run ends when every row has stopped. Needs a class objective.
  TORCH_ARG(c10::optional<double>, stop_probability) = c10::nullopt;
  /// Called every `progress_every` steps (and after the last one).
  TORCH_ARG(AscentCallback, progress);
  TORCH_ARG(int64_t, progress_every) = 10;
};

/// One step's evaluation of the optimized tensor, as the ascent needs it.
struct AscentEvaluation {
  torch::Tensor total;      ///< per row [N]: what is maximized, differentiable with respect to the tensor
  torch::Tensor objective;  ///< per row [N]: the objective alone, for the progress reports
  /// The class probability per row [N] (undefined without a class objective); called only when a
  /// step stops rows or reports, so other steps do not pay for the softmax.
  std::function<torch::Tensor()> class_probabilities;
};

/// How a run ended.
struct AscentRun {
  int64_t iterations_run = 0;  ///< gradient steps taken
  /// Per row: the step count at which its probability reached `stop_probability`, or −1.
  std::vector<int64_t> stop_iteration;
};

/// Runs the ascent of OptimizerOptions. Options are checked once, at construction; `caller` names
/// the method in every error message.
class GradientAscent {
 public:
  GradientAscent(OptimizerOptions options, std::string caller);

  const OptimizerOptions& options() const { return options_; }

  /// Evaluates the objective of the batch `variable`.
  using Evaluate = std::function<AscentEvaluation(const torch::Tensor& variable)>;
  /// After a step's update, the tensor `variable` should become (blurred, clipped, ...), or
  /// `variable` itself when nothing changes; `steps_done` counts that step. Called without grad mode.
  using Project = std::function<torch::Tensor(const torch::Tensor& variable, int64_t steps_done)>;

  /// Updates `variable` (a leaf [N, ...] that requires grad) in place for up to `iterations` steps:
  /// evaluate, gradient of Σ total with respect to `variable` alone (nothing accumulates in any
  /// .grad), stopping test, masked update, projection, report.
  AscentRun run(const torch::Tensor& variable, const Evaluate& evaluate, const Project& project) const;

 private:
  OptimizerOptions options_;
};

}  // namespace nn_interpretability
