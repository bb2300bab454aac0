#pragma once
// The model being explained, whatever its kind: a torch::nn::Module, a TorchScript module or a plain
// forward callable. Methods hold a Model and never change what it wraps.

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <torch/arg.h>
#include <torch/types.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

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

/// What a method needs from a model. One implementation per kind of model.
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
  virtual torch::Tensor forward_with_layers(const torch::Tensor& input, LayerSession& session) {
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
};

/// The backend for a C++ module. `forward_is_module_forward` says that `forward` is the module's own
/// forward, which lets layers inside an nn::Sequential root be reached by running it child by child.
std::shared_ptr<ModelBackend> make_module_backend(std::shared_ptr<torch::nn::Module> module, ForwardFunction forward,
                                                  bool forward_is_module_forward);

}  // namespace detail

/// How a TorchScript model is run.
struct TorchScriptOptions {
  /// No-grad passes that need no layer (Score-CAM's masked inputs, integrated gradients' end points,
  /// the predicted class) run an inference-optimized copy when the model is in eval mode on CPU
  /// (torch::jit::freeze + optimize_for_inference: BatchNorm folded, oneDNN layouts; 1.9x faster on
  /// 50 rows of the CIFAR CNN). Its scores differ from the plain graph's by float rounding (~1e-6
  /// relative). false: the plain graph for those too.
  TORCH_ARG(bool, optimize) = true;
  /// Gradient passes that need no layer (the gradient family, integrated gradients, SmoothGrad) run
  /// a frozen copy with BatchNorm folded into the convolutions: exact in arithmetic and 1.2-1.4x
  /// faster on BatchNorm models at 50 rows, but the rounding differs (~1e-6), and a ReLU or max-pool
  /// input within rounding of its kink then takes the other branch: measured on 32 random CIFAR
  /// inputs, 2 examples got a visibly different vanilla gradient (1.8e-2 of the maximum). Off by
  /// default, so the gradients are those of the model's own operators, as in Captum.
  TORCH_ARG(bool, fold_batch_norm) = false;
  // Both copies are rebuilt when the user's module changes (weights, buffers, attributes,
  // train/eval), checked against the plain graph on their first input, and never used for a module
  // in training mode or one they cannot be built for.
};

/// A handle on the model to explain; cheap to copy (the model is shared, not copied).
///
/// Example:
///   auto net = torch::nn::Sequential(torch::nn::Linear(4, 3), torch::nn::ReLU(), torch::nn::Linear(3, 2));
///   nn_interpretability::Model model(net);
class Model {
 public:
  /// Any module with `torch::Tensor forward(torch::Tensor)`, e.g. `std::make_shared<MyNetImpl>()`.
  template <typename ModuleType,
            typename = std::enable_if_t<std::is_base_of<torch::nn::Module, ModuleType>::value>>
  Model(std::shared_ptr<ModuleType> module)  // NOLINT(google-explicit-constructor)
      : Model(detail::make_module_backend(
            std::static_pointer_cast<torch::nn::Module>(module),
            [raw = module.get()](const torch::Tensor& input) { return raw->forward(input); },
            /*forward_is_module_forward=*/true)) {}

  /// A module holder such as `torch::nn::Sequential` or `MyNet` declared with TORCH_MODULE.
  template <typename Impl>
  Model(const torch::nn::ModuleHolder<Impl>& holder)  // NOLINT(google-explicit-constructor)
      : Model(holder.ptr()) {}

  /// A module with a forward that is not `Tensor forward(Tensor)`; `forward` must call `module`.
  Model(std::shared_ptr<torch::nn::Module> module, ForwardFunction forward);

  /// A TorchScript module, e.g. from `torch::jit::load("model.pt")`. Include
  /// <nn_interpretability/model/torchscript.h> for the definition of torch::jit::Module.
  Model(const torch::jit::Module& module);  // NOLINT(google-explicit-constructor)
  Model(const torch::jit::Module& module, TorchScriptOptions options);

  /// A plain forward callable. It has no parameters the library can see.
  Model(ForwardFunction forward);  // NOLINT(google-explicit-constructor)

  /// A model of a kind of your own: implement detail::ModelBackend.
  explicit Model(std::shared_ptr<detail::ModelBackend> backend);

  /// Runs the model on `input` and checks that the output is [N, classes] and depends on the input.
  torch::Tensor forward(const torch::Tensor& input) const;

  /// Checks `input` before a method uses it: defined, floating point, batch of at least one,
  /// finite, and on the model's dtype and device. `method` names the caller in messages.
  void check_input(const torch::Tensor& input, const char* method) const;

  detail::ModelBackend& backend() const { return *backend_; }

 private:
  std::shared_ptr<detail::ModelBackend> backend_;
};

}  // namespace nn_interpretability
