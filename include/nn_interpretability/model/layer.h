#pragma once
// Reaching named layers inside a model, without hooks and without changing the model.
//
// A layer is named by its dotted path as named_modules() reports it ("features.7",
// "layer4.1.conv2"). How it is reached depends on the kind of model (docs/model_access.md has the
// details and the limits):
//  - TorchScript (scripted or traced): every call of the module, wherever it happens — inside blocks
//    calling blocks, methods other than forward (`_forward_impl`, DenseNet's `bn_function`), loops
//    and branches — is found in a rewritten copy of the graph;
//  - C++ module: nn::Sequential containers are run child by child; a layer with parameters of its own
//    is found by observing the operators of the forward pass (at::RecordFunction), and one-operator
//    leaves after it in an nn::Sequential by following the operator chain;
//  - anything else (a plain forward function, a C++ container with a hand-written forward): one line
//    in the forward, `x = nn_interpretability::mark_layer("layer4", layer4(x));`.
//
// Semantics, equal to Captum's module hooks:
//  - a module called several times is taken at its last call by default; `@first`, `@<k>` (0-based,
//    negative counts from the end) or LayerCall select another, `@all` every call;
//  - the captured tensor is the layer's own output: the rest of the forward pass runs on a copy, so an
//    in-place operation after the layer (ReLU(inplace), `+=`) never changes what is captured, and the
//    gradient is the one with respect to the layer's output. Where the library cannot hand the rest
//    of the model a copy (operator observation in a hand-written C++ forward) and a later operation
//    modifies the output in place, it raises an error instead of returning the modified value.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/arg.h>
#include <torch/types.h>

#include "nn_interpretability/model/model.h"

namespace nn_interpretability {

/// Identity, except while a method captures layer `name` in this thread: then `value` is recorded
/// as (one call of) that layer's output and the rest of the forward pass gets a copy of it, or the
/// requested replacement. The opt-in for layers the library cannot find by itself.
torch::Tensor mark_layer(const std::string& name, const torch::Tensor& value);

/// The dotted names of every layer of the model, in named_modules() order (empty for a plain
/// forward function).
std::vector<std::string> layer_names(const Model& model);

/// Which call of a layer that runs several times in one forward pass.
class LayerCall {
 public:
  /// The last call (the default, as a Captum hook sees it).
  static LayerCall last() { return LayerCall(-1); }
  /// The first call.
  static LayerCall first() { return LayerCall(0); }
  /// Call `index`, 0-based; a negative index counts from the end (-1 is the last call).
  static LayerCall index(int64_t index) { return LayerCall(index); }
  /// Every call, in order.
  static LayerCall all() { return LayerCall(0, true); }

  bool is_all() const { return all_; }
  int64_t index() const { return index_; }
  /// "last", "first", "all" or the index, as written after '@' in a layer name.
  std::string to_string() const;
  /// Parses what follows '@' in "layer@first": first, last, all or an integer index.
  static LayerCall parse(const std::string& text);

 private:
  explicit LayerCall(int64_t index, bool all = false) : index_(index), all_(all) {}
  int64_t index_;
  bool all_;
};

/// A function of a layer's output whose result the rest of the forward pass sees instead.
using LayerReplacement = std::function<torch::Tensor(const torch::Tensor&)>;

/// One layer to capture in a forward pass.
struct LayerRequest {
  /// `layer`: a dotted name, optionally followed by "@first", "@last", "@all" or "@<k>".
  LayerRequest(const std::string& layer);  // NOLINT(google-explicit-constructor)
  LayerRequest(const char* layer) : LayerRequest(std::string(layer)) {}  // NOLINT(google-explicit-constructor)
  /// Replaces the selected call's output by `value` (which must broadcast to the output's shape).
  LayerRequest& replace_with(torch::Tensor value);
  /// The layer's dotted name (without the '@' part).
  TORCH_ARG(std::string, layer);
  /// Which call is captured (and replaced). Default: the last.
  TORCH_ARG(LayerCall, call) = LayerCall::last();
  /// When set, the selected call's output is replaced by replace(output) for the rest of the forward
  /// pass; the captured value is still the layer's own output. Empty (the default): no replacement.
  TORCH_ARG(LayerReplacement, replace);
};

/// What one forward pass captured of one layer.
struct LayerCapture {
  std::string layer;                ///< the dotted name
  int64_t calls = 0;                ///< how many times the layer ran in this forward pass
  std::vector<torch::Tensor> values;  ///< the selected call's output (every call's with LayerCall::all())
  /// The one selected value; throws when several calls were selected.
  const torch::Tensor& value() const;
};

/// One forward pass with a layer's output captured.
struct LayerForward {
  torch::Tensor output;      ///< the model output [N, classes]
  torch::Tensor activation;  ///< the layer's output, a tensor of the same autograd graph
};

/// One forward pass with several layers captured.
struct LayersForward {
  torch::Tensor output;              ///< the model output [N, classes]
  std::vector<LayerCapture> layers;  ///< one per request, in request order
};

/// Runs `model` once on `input`, capturing (and, where requested, replacing) the outputs of the
/// requested layers. Throws a ValueError naming the layer when it does not exist (listing the valid
/// names), cannot be reached (saying why and what works instead), was not called, or when the
/// selected call does not exist.
LayersForward forward_with_layers(const Model& model, const torch::Tensor& input,
                                  const std::vector<LayerRequest>& layers);

/// Runs `model` on `input` and captures the output of one layer, e.g. "layer4" or "layer4.0.relu@first".
LayerForward forward_with_layer(const Model& model, const torch::Tensor& input, const LayerRequest& layer);

/// A layer as one forward pass on an example input sees it.
struct LayerDescription {
  std::string name;                  ///< dotted name
  std::string type;                  ///< module type (C++ class or TorchScript class name)
  bool reachable = false;            ///< whether its output can be captured
  std::string reason;                ///< why not, when it cannot
  int64_t calls = 0;                 ///< calls in the forward pass on the example input
  std::vector<int64_t> output_shape;  ///< shape of the last call's output (empty when not a tensor or not reached)
};

/// Every layer of `model`, with its output shape on `example_input`, how often it ran, and whether
/// it can be captured (or why not). One forward pass for all layers.
std::vector<LayerDescription> describe_layers(const Model& model, const torch::Tensor& example_input);

}  // namespace nn_interpretability
