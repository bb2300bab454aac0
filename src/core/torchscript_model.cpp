// TorchScript models run through a private clone executed with the graph optimizer off.
//
// Why: from the second call on, the profiling executor fuses differentiable subgraphs into a single
// DifferentiableGraphBackward node, which hides the individual ReluBackward0 nodes that guided
// backprop rewires. Turning the optimizer off later does not undo a plan already cached in the
// user's module, so we never run the user's module itself: our clone (sharing its parameter
// tensors) gets its own executor, whose first and every later run happens with the optimizer off.
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <c10/util/Exception.h>

#include "nn_interpretability/model.h"

namespace nn_interpretability {
namespace detail {
namespace {

class TorchScriptBackend final : public ModelBackend {
 public:
  explicit TorchScriptBackend(const torch::jit::Module& module) : user_module_(module), clone_(module.clone()) {
    TORCH_CHECK_VALUE(module.find_method("forward").has_value(),
                      "nn_interpretability::Model: the TorchScript module has no forward method");
  }

  torch::Tensor forward(const torch::Tensor& input) override {
    torch::jit::GraphOptimizerEnabledGuard optimizer_off(false);
    // Follow the user's current train/eval mode; only our clone's flag is written.
    if (clone_.is_training() != user_module_.is_training()) clone_.train(user_module_.is_training());
    c10::IValue result = clone_.forward({input});
    TORCH_CHECK_VALUE(result.isTensor(), "the TorchScript model must return one tensor [N, classes], got ",
                      result.tagKind());
    return result.toTensor();
  }

  std::vector<torch::Tensor> tensors() const override {
    std::vector<torch::Tensor> result;
    for (const auto& parameter : user_module_.parameters()) result.push_back(parameter);
    for (const auto& buffer : user_module_.buffers()) result.push_back(buffer);
    return result;
  }

  const torch::jit::Module* torchscript_module() const override { return &user_module_; }

  std::string describe() const override { return "TorchScript model"; }

 private:
  torch::jit::Module user_module_;  // a handle sharing the user's object: read only
  torch::jit::Module clone_;
};

}  // namespace
}  // namespace detail

Model::Model(const torch::jit::Module& module)
    : backend_(std::make_shared<detail::TorchScriptBackend>(module)) {}

}  // namespace nn_interpretability
