// TorchScript models run through a private clone executed with the graph optimizer off.
//
// Why: from the second call on, the profiling executor fuses differentiable subgraphs into a single
// DifferentiableGraphBackward node, which hides the individual ReluBackward0 nodes that guided
// backprop rewires. Turning the optimizer off later does not undo a plan already cached in the
// user's module, so we never run the user's module itself: our clone (sharing its parameter
// tensors) gets its own executor, whose first and every later run happens with the optimizer off.
//
// Layers are reached by rewriting a copy of the forward graph: the submodule calls on the way to the
// layer are inlined until the call of the layer itself (prim::CallMethod "forward" on the GetAttr
// chain spelling its dotted name) is at the top level; its result is then returned next to the
// model's output. The rewritten graph runs as a function of its own on the user's module object.
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <c10/util/Exception.h>

#include "nn_interpretability/model.h"

namespace nn_interpretability {
namespace detail {
namespace {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

// The dotted module path a value names when it is a chain of GetAttr on `self`; false otherwise.
bool module_path(const Value* value, const Value* self, std::string& path) {
  if (value == self) {
    path.clear();
    return true;
  }
  const Node* node = value->node();
  if (node->kind() != c10::prim::GetAttr) return false;
  std::string parent;
  if (!module_path(node->input(0), self, parent)) return false;
  const std::string& name = node->s(c10::attr::name);
  path = parent.empty() ? name : parent + "." + name;
  return true;
}

// A copy of the forward graph that returns (output, layer output); null when the layer's call is
// not found at the top level of the graph (e.g. it happens inside control flow).
std::shared_ptr<Graph> graph_returning_layer(const torch::jit::Module& module, const std::string& layer) {
  std::shared_ptr<Graph> graph = torch::jit::toGraphFunction(module.get_method("forward").function()).graph()->copy();
  const Value* self = graph->inputs().at(0);
  Value* found = nullptr;
  bool inlined = true;
  while (inlined && found == nullptr) {
    inlined = false;
    for (Node* node : graph->nodes()) {
      if (node->kind() != c10::prim::CallMethod || node->s(c10::attr::name) != "forward") continue;
      std::string path;
      if (!module_path(node->input(0), self, path)) continue;
      if (path == layer) {
        found = node->output();  // keep looking: a layer called twice is taken at its last call
      } else if (layer.compare(0, path.size() + 1, path + ".") == 0) {
        auto callee = node->input(0)->type()->expect<c10::ClassType>()->findMethod("forward");
        if (callee == nullptr) continue;
        // false: inline the callee as written (its optimized graph has lost the submodule calls).
        torch::jit::inlineCallTo(node, &torch::jit::toGraphFunction(*callee), /*use_graph=*/false);
        inlined = true;
        break;
      }
    }
  }
  if (found == nullptr) return nullptr;
  Node* pair = graph->createTuple({graph->outputs().at(0), found});
  graph->appendNode(pair);
  graph->eraseOutput(0);
  graph->registerOutput(pair->output());
  return graph;
}

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

  std::vector<std::string> layer_names() const override {
    std::vector<std::string> names;
    for (const auto& item : user_module_.named_modules())
      if (!item.name.empty()) names.push_back(item.name);
    return names;
  }

  std::pair<torch::Tensor, torch::Tensor> forward_with_layer(const torch::Tensor& input,
                                                             const std::string& layer) override {
    torch::jit::GraphFunction* function = layer_function(layer);
    if (function == nullptr) return {forward(input), torch::Tensor()};
    torch::jit::GraphOptimizerEnabledGuard optimizer_off(false);
    torch::jit::Stack stack{user_module_._ivalue(), input};
    function->run(stack);
    auto pair = stack.back().toTuple();
    const c10::IValue& output = pair->elements()[0];
    const c10::IValue& activation = pair->elements()[1];
    TORCH_CHECK_VALUE(output.isTensor(), "the TorchScript model must return one tensor [N, classes], got ",
                      output.tagKind());
    TORCH_CHECK_VALUE(activation.isTensor(), "layer '", layer, "' returns ", activation.tagKind(),
                      ", not a tensor");
    return {output.toTensor(), activation.toTensor()};
  }

  std::string unreachable_reason(const std::string& layer) const override {
    return "the call of '" + layer + "' was not found at the top level of the forward graph (is it called " +
           "inside a loop or branch, or not called at all?)";
  }

  std::string describe() const override { return "TorchScript model"; }

 private:
  // One rewritten function per layer, built on first use.
  torch::jit::GraphFunction* layer_function(const std::string& layer) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = layer_functions_.find(layer);
    if (it == layer_functions_.end()) {
      std::shared_ptr<Graph> graph = graph_returning_layer(user_module_, layer);
      std::unique_ptr<torch::jit::GraphFunction> function;
      if (graph) function = std::make_unique<torch::jit::GraphFunction>("nni_forward_with_layer", graph, nullptr);
      it = layer_functions_.emplace(layer, std::move(function)).first;
    }
    return it->second.get();
  }

  torch::jit::Module user_module_;  // a handle sharing the user's object: read only
  torch::jit::Module clone_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<torch::jit::GraphFunction>> layer_functions_;
};

}  // namespace
}  // namespace detail

Model::Model(const torch::jit::Module& module)
    : backend_(std::make_shared<detail::TorchScriptBackend>(module)) {}

}  // namespace nn_interpretability
