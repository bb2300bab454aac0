#pragma once
// The model being explained, whatever its kind: a torch::nn::Module, a TorchScript module or a plain
// forward callable. Methods hold a Model and never change what it wraps.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <torch/arg.h>
#include <torch/types.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "nn_interpretability/model/model_backend.h"

namespace nn_interpretability {

namespace detail {

/// The backend for a C++ module. `forward_is_module_forward` says that `forward` is the module's own
/// forward, which lets layers inside an nn::Sequential root be reached by running it child by child.
std::shared_ptr<ModelBackend> make_module_backend(std::shared_ptr<torch::nn::Module> module, ForwardFunction forward,
                                                  bool forward_is_module_forward);

/// A deep copy of a module with its own forward bound to the copy (Model::deep_copy).
struct ModuleCopy {
  std::shared_ptr<torch::nn::Module> module;
  ForwardFunction forward;
};
using ModuleCopier = std::function<ModuleCopy(const torch::nn::Module& module)>;

/// The copier for modules of type ModuleType: set when it is torch::nn::Cloneable (the type is known
/// only where the model is made, so the copy's forward is bound there); empty otherwise.
template <typename ModuleType>
ModuleCopier module_copier() {
  if constexpr (std::is_base_of<torch::nn::Cloneable<ModuleType>, ModuleType>::value) {
    return [](const torch::nn::Module& module) {
      auto copy = std::dynamic_pointer_cast<ModuleType>(module.clone());
      ModuleType* raw = copy.get();
      return ModuleCopy{copy, [raw](const torch::Tensor& input) { return raw->forward(input); }};
    };
  } else {
    return nullptr;
  }
}

/// The backend for a C++ module whose forward is its own, copyable with `copier` when it is set.
std::shared_ptr<ModelBackend> make_copyable_module_backend(std::shared_ptr<torch::nn::Module> module, ForwardFunction forward,
                                                           ModuleCopier copier);

}  // namespace detail

/// Arguments of a forward held fixed, by name.
using FixedInputs = std::map<std::string, torch::Tensor>;

/// A fixed input for a pass over `rows` rows: as is when it has `rows` rows (or is 0-d); its one row
/// repeated when it has one; tiled when `rows` is a multiple of its rows. Methods stack copies of a
/// batch copy-major (example i of copy k is row k * N + i: integrated gradients' steps, SmoothGrad's
/// samples, aug_smooth), so tiling pairs every copy with its example. Use it in a forward of your
/// own: `Model(net, [&](const torch::Tensor& x) { return net->forward(x, tile_rows(mask, x.size(0))); })`.
/// Methods that run chosen subsets of rows (Score-CAM, Ablation-CAM) refuse per-example fixed
/// inputs of a TorchScript model; in a forward of your own, tile only inputs shared by all examples.
torch::Tensor tile_rows(const torch::Tensor& fixed, int64_t rows, const std::string& name = "fixed input");

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
  /// Which part of a tuple, list or dict output to explain: an index ("0") or a key ("out", as
  /// torchvision's segmentation models return); several joined by "+" are concatenated on their
  /// last dimension ("boxes+scores": [N, boxes, 4] and [N, boxes, K] give [N, boxes, 4 + K], what
  /// Target::box reads). Empty: the forward must return one tensor.
  TORCH_ARG(std::string, output) = "";
  /// For a forward with several arguments (`forward(image, mask)`): the argument attributions are
  /// for, by name; empty: the first. Every other argument without a default must be in fixed_inputs.
  TORCH_ARG(std::string, input) = "";
  /// The other arguments, by name, held fixed while `input` is explained: tensors with one row per
  /// example or one row for all, tiled to the rows of each pass (tile_rows); 0-d tensors as they are.
  TORCH_ARG(FixedInputs, fixed_inputs) = {};
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
      : Model(detail::make_copyable_module_backend(
            std::static_pointer_cast<torch::nn::Module>(module),
            [raw = module.get()](const torch::Tensor& input) { return raw->forward(input); },
            detail::module_copier<ModuleType>())) {}

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

  /// Runs the model on `input` and checks that the output is a batch [N, ...] of finite scores.
  torch::Tensor forward(const torch::Tensor& input) const;

  /// Checks `input` before a method uses it: defined, floating point, batch of at least one,
  /// finite, and on the model's dtype and device. `method` names the caller in messages.
  void check_input(const torch::Tensor& input, const char* method) const;

  /// An independent copy of the model: its own parameters and buffers, the same train/eval mode and
  /// options; changing it leaves this model as it is. TorchScript modules are deep-copied; C++
  /// modules must be torch::nn::Cloneable (nn::Sequential and the built-in layers are; derive a
  /// module of your own from torch::nn::Cloneable<MyNetImpl> and implement reset()); a forward
  /// function, or a module given with a forward of its own, cannot be copied. Throws a c10::ValueError
  /// saying why when the model cannot be copied.
  Model deep_copy() const;

  ModelBackend& backend() const { return *backend_; }

 private:
  std::shared_ptr<ModelBackend> backend_;
};

}  // namespace nn_interpretability
