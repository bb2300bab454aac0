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

#include "nn_interpretability/model/model_backend.h"

namespace nn_interpretability {

namespace detail {

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

  /// A model of a kind of your own: implement ModelBackend (model_backend.h, docs/model_access.md).
  explicit Model(std::shared_ptr<ModelBackend> backend);

  /// Runs the model on `input` and checks that the output is [N, classes] and depends on the input.
  torch::Tensor forward(const torch::Tensor& input) const;

  /// Checks `input` before a method uses it: defined, floating point, batch of at least one,
  /// finite, and on the model's dtype and device. `method` names the caller in messages.
  void check_input(const torch::Tensor& input, const char* method) const;

  ModelBackend& backend() const { return *backend_; }

 private:
  std::shared_ptr<ModelBackend> backend_;
};

}  // namespace nn_interpretability
