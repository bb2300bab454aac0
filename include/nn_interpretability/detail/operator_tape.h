#pragma once
// A record of the operators one forward pass ran, keyed by the autograd node each one made: what the
// relevance rules need of a layer (its input, weights, output) without hooks, for C++ modules and
// TorchScript alike. Recording is a thread-local at::RecordFunction callback, so other threads (and
// the model) see nothing.

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ATen/core/ivalue.h>
#include <torch/types.h>

namespace torch {
namespace autograd {
struct Node;
}  // namespace autograd
}  // namespace torch

namespace nn_interpretability {
namespace detail {

/// One operator call: its name, its arguments as the operator received them, its outputs.
struct TapedOperator {
  std::string name;                  ///< "aten::convolution"
  std::string overload;              ///< the schema's overload name ("Tensor", "" for none)
  std::vector<c10::IValue> inputs;   ///< an in-place operator's first argument is a copy taken before it ran
  std::vector<c10::IValue> outputs;  ///< as returned; a later in-place change is undone by output()
  std::vector<torch::Tensor> outputs_before_change;  ///< per output: a copy taken before an in-place op changed it

  /// Argument `index` as a tensor; undefined when it is None, not a tensor or missing.
  torch::Tensor input(size_t index) const;
  /// Argument `index` as a double / int / bool / int list (the defaults when missing).
  double scalar(size_t index, double fallback) const;
  std::vector<int64_t> int_list(size_t index) const;
  bool flag(size_t index, bool fallback) const;
  /// The value output `index` had when the operator returned, even if an in-place operator changed it later.
  torch::Tensor output(size_t index = 0) const;
  /// Runs the operator again with `first` in place of argument 0 and the other arguments as recorded;
  /// returns output 0 (for elementwise functions: f at other points). Throws if the schema is unknown.
  torch::Tensor call_with_first_input(const torch::Tensor& first) const;
};

/// The operators of one forward pass.
class OperatorTape {
 public:
  /// The operators whose outputs have `node` as grad_fn, innermost first (conv2d runs convolution,
  /// which makes the node: convolution comes first). Empty when the node was made elsewhere.
  const std::vector<const TapedOperator*>& operators_of(const torch::autograd::Node* node) const;
  /// The first operator of `node` with one of these names ("aten::convolution"); nullptr if none.
  const TapedOperator* find(const torch::autograd::Node* node, std::initializer_list<const char*> names) const;

  size_t size() const { return operators_.size(); }

 private:
  friend class OperatorRecording;
  friend struct TapeCallbacks;
  std::vector<std::unique_ptr<TapedOperator>> operators_;
  std::unordered_map<const torch::autograd::Node*, std::vector<const TapedOperator*>> by_node_;
  // The operator and output slot that last produced each tensor, to copy it before an in-place change.
  std::unordered_map<const c10::TensorImpl*, std::pair<TapedOperator*, size_t>> by_output_;
};

/// While alive, every operator this thread runs is recorded into `tape`. Not nestable with another
/// recording on the same thread (the inner one wins until it ends).
class OperatorRecording {
 public:
  explicit OperatorRecording(OperatorTape& tape);
  ~OperatorRecording();
  OperatorRecording(const OperatorRecording&) = delete;
  OperatorRecording& operator=(const OperatorRecording&) = delete;

 private:
  OperatorTape* previous_;
  uint64_t handle_ = 0;
};

}  // namespace detail
}  // namespace nn_interpretability
