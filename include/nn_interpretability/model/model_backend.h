#pragma once
// The model-access extension point: what every method needs from a model (docs/model_access.md,
// "A kind of model of your own").

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

namespace torch {
namespace jit {
struct Module;
}  // namespace jit
}  // namespace torch

namespace nn_interpretability {

/// A forward pass: input batch [N, ...] to output [N, classes].
using ForwardFunction = std::function<torch::Tensor(const torch::Tensor&)>;

namespace detail {
class LayerSession;
}  // namespace detail

/// What a method needs from a model: the extension point for a kind of model of your own (the
/// library's are C++ modules, TorchScript modules and forward functions). Implement forward(),
/// tensors() and describe(); the rest have defaults. Wrap it with `Model(std::make_shared<Mine>())`.
/// Layer access (CAM methods, forward_with_layer) needs forward_with_layers and the internal
/// detail::LayerSession protocol; without it, a layer request fails with unreachable_reason().
class ModelBackend {
 public:
  virtual ~ModelBackend() = default;
  /// Runs the forward pass exactly as the user's model does (same train/eval mode).
  virtual torch::Tensor forward(const torch::Tensor& input) = 0;
  /// Parameters and buffers, used to check inputs against the model's dtype and device.
  virtual std::vector<torch::Tensor> tensors() const = 0;
  /// A floating-point parameter whose dtype and device inputs must match; undefined when none.
  virtual torch::Tensor reference_parameter() const {
    for (const auto& tensor : tensors())
      if (tensor.is_floating_point()) return tensor;
    return torch::Tensor();
  }
  /// Buffers (e.g. BatchNorm running statistics), which a forward pass in train mode updates.
  virtual std::vector<torch::Tensor> buffers() const { return {}; }
  /// Whether any part of the model is in train mode.
  virtual bool is_training() const { return false; }
  /// The C++ module, when there is one (layer access needs it); nullptr otherwise.
  virtual std::shared_ptr<torch::nn::Module> module() const { return nullptr; }
  /// The user's TorchScript module, when there is one; nullptr otherwise.
  virtual const torch::jit::Module* torchscript_module() const { return nullptr; }
  /// Whether the forward pairs each row with a per-example fixed input (TorchScriptOptions::fixed_inputs):
  /// then rows must come as whole copies of the batch, which methods running subsets refuse.
  virtual bool has_per_example_inputs() const { return false; }
  /// A short description for error messages.
  virtual std::string describe() const = 0;
  /// Layer names, in named_modules() order.
  virtual std::vector<std::string> layer_names() const { return {}; }
  /// The type of a layer (its class name), for describe_layers; empty when unknown.
  virtual std::string layer_type(const std::string& layer) const {
    (void)layer;
    return "";
  }
  /// The forward pass with `session` active (mark_layer calls in the model's forward report to it).
  /// A backend that reaches layers by itself calls session.set_planned(slot) for each layer it will
  /// see and reports every call of it through session.on_call; requested names are known to exist.
  virtual torch::Tensor forward_with_layers(const torch::Tensor& input, detail::LayerSession& session) {
    (void)session;
    return forward(input);
  }
  /// Why `layer` cannot be reached (the backend did not plan it), or, when it was planned, why no
  /// call of it was seen; for the error message. `replacing`: the request replaces the output.
  virtual std::string unreachable_reason(const std::string& layer, bool planned, bool replacing) const {
    (void)layer;
    (void)replacing;
    if (planned) return "it was not called in this forward pass";
    return "this kind of model gives no access to its layers";
  }
  /// An independent copy with its own parameters and buffers (what the randomization checks change);
  /// nullptr when this kind of model cannot be copied, and copy_unavailable_reason() says why.
  virtual std::shared_ptr<ModelBackend> deep_copy() const { return nullptr; }
  virtual std::string copy_unavailable_reason() const { return "this kind of model cannot be copied"; }
};

namespace detail {
/// The internal spelling of the same class (the library's backends use it).
using ModelBackend = nn_interpretability::ModelBackend;
}  // namespace detail

}  // namespace nn_interpretability
