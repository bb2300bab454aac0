#pragma once
// Reaching a named layer inside a model, without hooks and without changing the model.
//
// A layer is named by its dotted path as named_modules() reports it ("features.7",
// "layer4.1.conv2"). How it is reached (docs/model_access.md has the details and limits):
//  - nn::Module whose root is an nn::Sequential (nested ones too): the Sequential is run child by
//    child and the layer's output is taken between children;
//  - nn::Module, any layer with parameters of its own (Conv, Linear, BatchNorm, ...), wherever the
//    forward calls it: the top-level operator that consumes the layer's weight is observed during the
//    forward pass (at::RecordFunction) and its output, a tensor of the autograd graph, is taken;
//  - nn::Module, an nn::Sequential ending in such a layer, or a one-operator layer (ReLU, pooling,
//    dropout, flatten) that follows one inside an nn::Sequential: the operator chain is followed;
//  - TorchScript: the forward graph is rewritten to also return the output of the submodule call
//    (containers like "layer4" included);
//  - anything else (e.g. a ResNet BasicBlock in a C++ model: a container with a hand-written forward):
//    one line in the model's forward, `x = nn_interpretability::mark_layer("layer4", layer4(x));`.
// A layer called several times is taken at its last call. An in-place operation applied to the
// layer's output afterwards (e.g. ReLU(inplace)) is seen in the captured tensor.

#include <string>
#include <vector>

#include <torch/types.h>

#include "nn_interpretability/model.h"

namespace nn_interpretability {

/// Identity, except that while a method is capturing layer `name` in this thread, `value` is
/// recorded as that layer's output. The opt-in for layers the library cannot find by itself.
torch::Tensor mark_layer(const std::string& name, const torch::Tensor& value);

/// The dotted names of every layer of the model, in named_modules() order (empty for a plain
/// forward function).
std::vector<std::string> layer_names(const Model& model);

/// One forward pass with a layer's output captured.
struct LayerForward {
  torch::Tensor output;      ///< the model output [N, classes]
  torch::Tensor activation;  ///< the layer's output, a tensor of the same autograd graph
};

/// Runs `model` on `input` and captures the output of the layer named `layer`. Throws a
/// ValueError naming the layer and listing the valid names when it does not exist or cannot be
/// reached.
LayerForward forward_with_layer(const Model& model, const torch::Tensor& input, const std::string& layer);

}  // namespace nn_interpretability
