#pragma once
// The one evaluator every perturbation method shares: the target's score on perturbed copies of a
// batch, without gradients, in chunks of at most `rows_per_call` rows, so that memory is bounded by
// the chunk whatever the number of perturbations.

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include <torch/arg.h>
#include <torch/types.h>

#include "nn_interpretability/core/rows_per_call.h"
#include "nn_interpretability/core/target.h"
#include "nn_interpretability/model/layer.h"
#include "nn_interpretability/model/model.h"

namespace nn_interpretability {

/// A chunk of a method's work list: the perturbed rows and, for each, the example it perturbs.
struct PerturbedRows {
  PerturbedRows() = default;
  PerturbedRows(torch::Tensor inputs, torch::Tensor examples, std::vector<LayerRequest> layers = {})
      : inputs(std::move(inputs)), examples(std::move(examples)), layers(std::move(layers)) {}

  torch::Tensor inputs;    ///< [R, ...], shaped like the batch's rows
  torch::Tensor examples;  ///< [R] int64: the example of the batch row r is a perturbation of
  /// Perturbations inside the model: when given, the rows run through forward_with_layers with these
  /// requests (a layer's output replaced for the R rows, as Ablation-CAM's zeroed channels) instead of
  /// a plain forward.
  std::vector<LayerRequest> layers;
};

/// Makes rows first .. first + count - 1 of a method's work list (count ≤ rows_per_call).
using PerturbationGenerator = std::function<PerturbedRows(int64_t first, int64_t count)>;

/// Called after every chunk with the rows scored so far and the total, for progress reports on long runs.
using PerturbationProgress = std::function<void(int64_t done, int64_t total)>;

/// How the engine runs. Every perturbation method has these options (its own struct forwards them).
struct PerturbationEngineOptions {
  /// Perturbed rows per forward call: R > 0 at most R rows; 0 all at once; kAutomaticRowsPerCall
  /// (-1) about 320 rows within `memory_budget` bytes of input.
  TORCH_ARG(int64_t, rows_per_call) = kAutomaticRowsPerCall;
  /// Input bytes per call for the automatic choice.
  TORCH_ARG(int64_t, memory_budget) = kDefaultRowsPerCallBudget;
  /// Optional: called after each chunk.
  TORCH_ARG(PerturbationProgress, progress) = nullptr;
  /// Class targets scored on softmax(output) instead of the output (Score-CAM's definition).
  TORCH_ARG(bool, class_probabilities) = false;
};

/// The clean batch's forward pass: its output, the target resolved on it (predicted classes fixed)
/// and each example's score [N].
struct CleanPass {
  torch::Tensor output;
  Target target;
  torch::Tensor scores;
};

/// The clean pass and the scores of every perturbed row (PerturbationEngine::run).
struct PerturbationRun {
  CleanPass clean;
  torch::Tensor scores;  ///< [total]
};

/// The no-grad evaluator of perturbed copies of one batch for one model.
///
///   PerturbationEngine engine(model, options);
///   const PerturbationRun run = engine.run(input, target, total_rows, generator);
///   // run.clean.scores [N], run.scores [total_rows]
///
/// run() puts the clean batch in the first chunk, ahead of the first perturbed rows: one forward call
/// fewer (a batch-1 call of ResNet-18 costs as much as ~9 rows of a batched one). Models in train mode
/// (batch statistics would mix the two) and models with per-example fixed inputs get a separate
/// clean pass.
///
/// Each chunk's scores are checked finite (the message names the row and its example). Models whose
/// forward takes per-example fixed inputs (TorchScriptOptions::fixed_inputs with N rows) cannot run
/// rows of different examples together: the engine refuses them for batches of more than one example.
class PerturbationEngine {
 public:
  PerturbationEngine(Model model, PerturbationEngineOptions options);

  /// One no-grad forward of `input`, the target resolved on it, the scores checked finite.
  CleanPass clean_pass(const torch::Tensor& input, const Target& target) const;

  /// The resolved target's score [total] for every row of the work list `generate` describes;
  /// `row_bytes` sizes the automatic chunk (bytes of one input row).
  torch::Tensor scores(const Target& resolved, int64_t total, int64_t row_bytes,
                       const PerturbationGenerator& generate) const;

  /// The clean pass and the resolved target's score for every row of the work list.
  PerturbationRun run(const torch::Tensor& input, const Target& target, int64_t total,
                      const PerturbationGenerator& generate) const;

  /// Rows per call for a work list of rows of `row_bytes` bytes.
  int64_t rows_per_call(int64_t total, int64_t row_bytes) const;

  const Model& model() const { return model_; }
  const PerturbationEngineOptions& options() const { return options_; }

  /// Throws unless `options` are valid ("<owner>: rows_per_call must be ..."); for constructors.
  static void check_options(const char* owner, const PerturbationEngineOptions& options);

 private:
  // Rows `first` .. total − 1 scored into `scores` (allocated if undefined).
  void score_rows(const Target& resolved, int64_t first, int64_t total, int64_t per_call,
                  const PerturbationGenerator& generate, torch::Tensor& scores) const;
  // One generated chunk (rows first .. first + R − 1) scored into `scores`, progress reported.
  void score_chunk(const Target& resolved, int64_t first, int64_t total, const PerturbedRows& rows,
                   torch::Tensor& scores) const;
  static void check_chunk(const PerturbedRows& rows, int64_t count);
  CleanPass finish_clean(torch::Tensor output, const Target& target, int64_t batch) const;
  torch::Tensor scored(const torch::Tensor& output, const Target& target) const;

  Model model_;
  PerturbationEngineOptions options_;
};

}  // namespace nn_interpretability
