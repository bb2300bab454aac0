// TorchScript models run through graph functions of our own, executed with the graph optimizer off,
// on the user's module object (so they always see its current parameters and train/eval mode).
//
// Why not the user's module's own forward: from the second call on, the profiling executor fuses
// differentiable subgraphs into a single DifferentiableGraphBackward node, which hides the individual
// ReluBackward0 nodes that guided backprop rewires, and turning the optimizer off later does not undo
// a plan already cached in the user's module (or in a submodule the user called directly). Our
// functions are copies of the forward graph with every submodule call inlined, so no cached plan of
// the user's is ever used, and their own executors only ever run with the optimizer off.
//
// Layers are reached by rewriting such a copy: the submodule calls on the way to the layer are
// inlined until the call of the layer itself (prim::CallMethod "forward" on the GetAttr chain
// spelling its dotted name) is at the top level; its result is then returned next to the model's
// output, and the rest is inlined.
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/inliner.h>
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

// A fully inlined copy of the forward graph; with a layer name, one that returns
// (output, layer output), or null when the layer's call is not found at the top level of the graph
// (e.g. it happens inside control flow).
std::shared_ptr<Graph> forward_graph(const torch::jit::Module& module, const std::string& layer) {
  std::shared_ptr<Graph> graph = torch::jit::toGraphFunction(module.get_method("forward").function()).graph()->copy();
  if (layer.empty()) {
    torch::jit::Inline(*graph);
    return graph;
  }
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
  torch::jit::Inline(*graph);  // the remaining calls, whose cached plans may not be ours to use
  return graph;
}

class TorchScriptBackend final : public ModelBackend {
 public:
  explicit TorchScriptBackend(const torch::jit::Module& module) : user_module_(module) {
    TORCH_CHECK_VALUE(module.find_method("forward").has_value(),
                      "nn_interpretability::Model: the TorchScript module has no forward method");
  }

  torch::Tensor forward(const torch::Tensor& input) override {
    c10::IValue result = run(function(""), input);
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

  std::vector<torch::Tensor> buffers() const override {
    std::vector<torch::Tensor> result;
    for (const auto& buffer : user_module_.buffers()) result.push_back(buffer);
    return result;
  }

  bool is_training() const override {
    for (const auto& module : user_module_.modules())
      if (module.is_training()) return true;
    return false;
  }

  const torch::jit::Module* torchscript_module() const override { return &user_module_; }

  std::string describe() const override { return "TorchScript model"; }

  std::vector<std::string> layer_names() const override {
    std::vector<std::string> names;
    for (const auto& item : user_module_.named_modules())
      if (!item.name.empty()) names.push_back(item.name);
    return names;
  }

  std::pair<torch::Tensor, torch::Tensor> forward_with_layer(const torch::Tensor& input,
                                                             const std::string& layer) override {
    torch::jit::GraphFunction* layer_function = function(layer);
    if (layer_function == nullptr) return {forward(input), torch::Tensor()};
    auto pair = run(layer_function, input).toTuple();
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

 private:
  c10::IValue run(torch::jit::GraphFunction* function, const torch::Tensor& input) {
    torch::jit::GraphOptimizerEnabledGuard optimizer_off(false);
    torch::jit::Stack stack{user_module_._ivalue(), input};
    function->run(stack);
    return stack.back();
  }

  // One function per layer ("" = the plain forward), built on first use.
  torch::jit::GraphFunction* function(const std::string& layer) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = functions_.find(layer);
    if (it == functions_.end()) {
      std::shared_ptr<Graph> graph = forward_graph(user_module_, layer);
      std::unique_ptr<torch::jit::GraphFunction> function;
      if (graph) function = std::make_unique<torch::jit::GraphFunction>("nni_forward", graph, nullptr);
      it = functions_.emplace(layer, std::move(function)).first;
    }
    return it->second.get();
  }

  torch::jit::Module user_module_;  // a handle sharing the user's object: read only
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<torch::jit::GraphFunction>> functions_;
};

}  // namespace
}  // namespace detail

Model::Model(const torch::jit::Module& module)
    : backend_(std::make_shared<detail::TorchScriptBackend>(module)) {}

}  // namespace nn_interpretability
