#pragma once
// What kind of layer an autograd node is, and, for convolutions and linear layers, the layer itself
// (input, weights, bias, output, with a following BatchNorm merged in): read from the operator tape.
// Shared by LRP and DeepLIFT.

#include <string>
#include <unordered_map>
#include <vector>

#include <torch/types.h>

#include "nn_interpretability/detail/backward_graph.h"
#include "nn_interpretability/detail/operator_tape.h"
#include "nn_interpretability/detail/weight_cache.h"
#include "nn_interpretability/model/model.h"
#include "nn_interpretability/relevance/composite.h"

namespace nn_interpretability {
namespace detail {

enum class NodeKind {
  kAffine,       ///< convolution or dense layer (AffineLayer)
  kBatchNorm,
  kAveragePool,  ///< a parameterless linear map: average pooling, mean, sum over dimensions
  kSum,          ///< a + α·b with both branches depending on the input
  kActivation,   ///< an elementwise nonlinearity of one input (ReLU, tanh, ...)
  kScale,        ///< an elementwise linear map of one input that depends on it (x·c, x/c, −x)
  kMaxPool,
  kOther,        ///< anything else: routing (view, cat, slice, ...) or no rule (gets the gradient)
};

/// A convolution or dense layer z = W x + b, as the model ran it.
struct AffineLayer {
  bool convolution = true;
  size_t input_slot = 0;     ///< which of the node's next edges is x
  torch::Tensor input;       ///< x
  torch::Tensor weight;      ///< convolution: [out, in/groups, ...]; dense: Wᵀ [in, out]
  torch::Tensor bias;        ///< [out] or undefined
  torch::Tensor output;      ///< z = W x + b (BatchNorm applied when merged)
  std::vector<int64_t> stride, padding, dilation, output_padding;
  bool transposed = false;
  int64_t groups = 1;
  const void* weight_data = nullptr;  ///< the user's weight's data, to find the module that owns it
  const torch::autograd::Node* merged_batch_norm = nullptr;
  const void* batch_norm_weight_data = nullptr;

  /// W x + b with other operands (b undefined = none).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) const;
  /// ∂⟨forward(x, w, ·), g⟩/∂x: the transposed map applied to g.
  torch::Tensor backward(const torch::Tensor& g, const torch::Tensor& w) const;
  /// z without the bias term.
  torch::Tensor output_without_bias() const;
};

/// How the nodes of one backward graph are read. Built once per pass.
class RelevanceLayers {
 public:
  /// `cache` (may be null) keeps merged weights between calls.
  RelevanceLayers(const BackwardGraph& graph, const OperatorTape& tape, bool merge_batch_norm,
                  WeightCache* cache = nullptr);

  NodeKind kind(const torch::autograd::Node* node) const;
  /// The layer of a kAffine node (merged with its BatchNorm when that BatchNorm is merged).
  const AffineLayer& affine(const torch::autograd::Node* node) const;
  /// A BatchNorm node merged into the layer before it (it then passes relevance on unchanged).
  bool is_merged(const torch::autograd::Node* node) const { return merged_.count(node) != 0; }
  /// A kAffine node with no other kAffine node between it and the input.
  bool is_first_layer(const torch::autograd::Node* node) const;
  const TapedOperator* op(const torch::autograd::Node* node) const;

 private:
  std::unordered_map<const torch::autograd::Node*, NodeKind> kinds_;
  std::unordered_map<const torch::autograd::Node*, AffineLayer> affine_;
  std::unordered_map<const torch::autograd::Node*, const TapedOperator*> ops_;
  std::unordered_map<const torch::autograd::Node*, bool> first_;
  std::unordered_map<const torch::autograd::Node*, const torch::autograd::Node*> merged_;
};

/// Module names by the data pointer of their own parameters ("features.0" for features.0.weight).
std::unordered_map<const void*, std::string> parameter_owners(const Model& model);

/// v + s·sign(v) with sign(0) = +1: Zennit's stabilizer.
torch::Tensor stabilize(const torch::Tensor& value, double stabilizer);

/// The relevance rule applied to an affine layer: the relevance of its input x.
/// `cache` (may be null) keeps the derived weights (W⁺, W + γW⁺, ...) between calls.
torch::Tensor affine_relevance(const LrpRule& rule, const AffineLayer& layer, const torch::Tensor& relevance,
                               WeightCache* cache = nullptr);

}  // namespace detail
}  // namespace nn_interpretability
