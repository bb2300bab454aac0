#pragma once
// What activation maximization maximizes: a weighted sum of per-row scores read from one forward
// pass of the classifier (a class logit or log-probability, a neuron, a channel's mean activation).

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "nn_interpretability/model/model.h"
#include "nn_interpretability/core/target.h"

namespace nn_interpretability {

/// One evaluation of an objective on a batch.
struct ObjectiveEvaluation {
  torch::Tensor scores;  ///< the objective per row [N], part of the autograd graph of the input
  torch::Tensor output;  ///< the model output [N, classes] of the same forward pass
};

/// A per-row score to maximize, built from factories and combined with weights.
///
/// Every term reads one forward pass of the input batch [N, ...] and gives a score per row [N]:
///  - `class_logit(c)`:        output[i, c_i] (the raw class score);
///  - `class_log_softmax(c)`:  log_softmax(output)[i, c_i];
///  - `neuron(layer, k)`:      the k-th element of row i's flattened layer output;
///  - `neuron(layer, c, y, x)`: element (c, y, x) of row i's 4-D layer output [N, C, H, W];
///  - `channel(layer, c)`:     the mean over H × W of channel c of row i's 4-D layer output.
/// Class targets are per row: one index for every row, or an integer tensor [N] with one class per
/// row (e.g. `torch::arange(10)` maximizes all ten classes of an MNIST model in one batch).
/// Layers are named as `layer_names(model)` lists them (see layer.h for how they are reached).
///
/// Evaluation runs one forward pass per distinct layer named by the terms (one plain forward when no
/// term names a layer); class terms read the output of the first of them.
///
/// Example:
///   auto objective = nni::Objective::class_logit(torch::arange(10)) + 0.5 * nni::Objective::channel("conv2", 3);
///   torch::Tensor scores = objective.evaluate(model, images).scores;  // [10]
class Objective {
 public:
  /// The raw class score output[i, c_i]. `classes`: one index for all rows, or an integer tensor [N].
  static Objective class_logit(int64_t class_index);
  static Objective class_logit(torch::Tensor classes);
  /// The class log-probability log_softmax(output)[i, c_i]: raising it also lowers the other classes.
  static Objective class_log_softmax(int64_t class_index);
  static Objective class_log_softmax(torch::Tensor classes);
  /// Element `flat_index` of one example's flattened output of `layer` (any rank).
  static Objective neuron(std::string layer, int64_t flat_index);
  /// Element (channel, y, x) of one example's output of `layer`, which must be 4-D [N, C, H, W].
  static Objective neuron(std::string layer, int64_t channel, int64_t y, int64_t x);
  /// The mean activation of `channel` over H × W at `layer`, whose output must be 4-D [N, C, H, W].
  static Objective channel(std::string layer, int64_t channel);

  /// The sum of both objectives' terms.
  Objective operator+(const Objective& other) const;
  /// This objective minus `other` (its terms with negated weights).
  Objective operator-(const Objective& other) const;
  /// Every term's weight times `weight`.
  Objective operator*(double weight) const;
  friend Objective operator*(double weight, const Objective& objective) { return objective * weight; }

  /// Scores [N] and the model output of `input` [N, ...]; differentiable with respect to `input`.
  /// Throws a ValueError for an unknown layer, an IndexError for an out-of-range class, neuron or
  /// channel, and a ValueError for a class-index tensor whose length is not N.
  ObjectiveEvaluation evaluate(const Model& model, const torch::Tensor& input) const;

  /// The scores only: `evaluate(model, input).scores`.
  torch::Tensor operator()(const Model& model, const torch::Tensor& input) const {
    return evaluate(model, input).scores;
  }

  /// Whether some term is a class term; the first one names the class whose probability
  /// ActivationMaximization reports and tests against `stop_probability`.
  bool has_class_term() const;
  /// The classes [N] of the first class term for an output [N, classes] (checked against its range).
  torch::Tensor class_indices(const torch::Tensor& output) const;
  /// The distinct layers the terms name, in order of first appearance (one forward pass each).
  std::vector<std::string> layers() const;
  /// A readable form such as "1*class_logit + 0.5*channel(conv2, 3)".
  std::string describe() const;

 private:
  enum class Kind { kClassLogit, kClassLogSoftmax, kNeuronFlat, kNeuronChw, kChannel };
  struct Term {
    Kind kind;
    double weight = 1.0;
    Target classes;  // class terms
    std::string layer;
    std::vector<int64_t> index;  // neuron: {flat} or {c, y, x}; channel: {c}
  };
  Objective() = default;
  static Objective single(Term term);
  static Target class_target(torch::Tensor classes, const char* factory);
  std::vector<Term> terms_;
};

}  // namespace nn_interpretability
