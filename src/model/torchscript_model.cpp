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
// Layers are reached by rewriting such a copy: every call of the module, wherever it is, gets a
// `nn_interpretability::layer_output(value, slot)` operator after it, which reports the value to the
// forward pass's LayerSession and hands the rest of the graph a copy (or a replacement). To find the
// calls, the calls that may lead to the layer are inlined first, in every block (branches and loops
// included): any method of the root and of each module on the layer's dotted path (`_forward_impl`,
// DenseNet's `bn_function`, a traced module's `forward1`, ...). A module's own call is any method
// named `forward`, `forward<digits>` (tracing names the second call of a module `forward1`) or
// `forward__<digits>` (an overloaded forward).

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/passes/freeze_module.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/library.h>

#include <c10/util/Exception.h>

#include "nn_interpretability/detail/batch_one_convolution.h"
#include "nn_interpretability/detail/layer_session.h"
#include "nn_interpretability/model/model.h"

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

// The operator that reports a layer's output: what the rest of the graph gets in its place.
torch::Tensor layer_output(const torch::Tensor& value, int64_t slot) {
  LayerSession* session = LayerSession::current();
  if (session == nullptr || slot < 0 || static_cast<size_t>(slot) >= session->size()) return value.clone();
  return session->on_call(static_cast<size_t>(slot), value, CallSource::kRewrite);
}

TORCH_LIBRARY(nn_interpretability, m) {
  m.def("layer_output(Tensor value, int slot) -> Tensor", &layer_output);
}

// A module's own call: "forward", a traced module's later calls "forward1", "forward2", ..., and the
// overloads TorchScript compiles from @torch.jit._overload_method ("forward__0", ...).
bool is_forward_method(const std::string& name) {
  if (name.compare(0, 7, "forward") != 0) return false;
  size_t i = 7;
  if (name.compare(i, 2, "__") == 0 && name.size() > 9) i += 2;
  for (; i < name.size(); ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  return true;
}

bool is_prefix_of_any(const std::string& path, const std::vector<std::string>& layers) {
  if (path.empty()) return true;  // the root
  for (const std::string& layer : layers)
    if (layer.size() > path.size() && layer.compare(0, path.size() + 1, path + ".") == 0) return true;
  return false;
}

// What the rewrite found of each requested layer.
struct RewriteResult {
  std::vector<int> call_sites;             // per slot
  std::vector<std::string> non_tensor;     // per slot: the output type when it is not a tensor
};

// One pass over `block` and its nested blocks: puts a layer_output after each not yet seen call of a
// requested layer, then inlines the calls that may lead to a requested layer. Returns whether it
// inlined anything (new calls may have appeared).
bool rewrite_block(torch::jit::Block* block, Graph& graph, const Value* self, const std::vector<std::string>& layers,
                   const std::unordered_map<std::string, size_t>& slots, std::unordered_set<const Node*>& seen,
                   RewriteResult& result) {
  bool inlined = false;
  for (auto it = block->nodes().begin(); it != block->nodes().end();) {
    Node* node = *it;
    ++it;  // before the node can be inlined away
    for (torch::jit::Block* nested : node->blocks())
      inlined |= rewrite_block(nested, graph, self, layers, slots, seen, result);
    if (node->kind() != c10::prim::CallMethod) continue;
    std::string path;
    if (!module_path(node->input(0), self, path)) continue;
    const std::string& method = node->s(c10::attr::name);
    auto slot = slots.find(path);
    if (slot != slots.end() && is_forward_method(method) && seen.insert(node).second) {
      Value* output = node->output();
      const auto tuple = output->type()->cast<c10::TupleType>();
      const bool tensor_first = tuple && !tuple->elements().empty() &&
                                tuple->elements()[0]->isSubtypeOf(*c10::TensorType::get());
      if (output->type()->isSubtypeOf(*c10::TensorType::get())) {
        ++result.call_sites[slot->second];
        torch::jit::WithInsertPoint insert_point(node->next());
        Value* index = graph.insertConstant(static_cast<int64_t>(slot->second));
        Value* reported = graph.insert(c10::Symbol::fromQualString("nn_interpretability::layer_output"), {output, index});
        output->replaceAllUsesWith(reported);
        reported->node()->replaceInput(0, output);
      } else if (tensor_first) {
        // A tuple whose first entry is a tensor (MultiheadAttention's (output, weights)): that entry,
        // unpacked, reported and packed again for the rest of the graph.
        ++result.call_sites[slot->second];
        torch::jit::WithInsertPoint insert_point(node->next());
        Node* unpack = graph.insertNode(graph.createTupleUnpack(output));
        Value* index = graph.insertConstant(static_cast<int64_t>(slot->second));
        Value* reported =
            graph.insert(c10::Symbol::fromQualString("nn_interpretability::layer_output"), {unpack->output(0), index});
        std::vector<Value*> entries(unpack->outputs().begin(), unpack->outputs().end());
        entries[0] = reported;
        Node* pack = graph.insertNode(graph.createTuple(entries));
        output->replaceAllUsesWith(pack->output());
        unpack->replaceInput(0, output);
      } else {
        result.non_tensor[slot->second] = output->type()->repr_str();
      }
    }
    if (!is_prefix_of_any(path, layers)) continue;
    auto callee = node->input(0)->type()->expect<c10::ClassType>()->findMethod(method);
    if (callee == nullptr) continue;
    // false: inline the callee as written (its optimized graph has lost the submodule calls).
    torch::jit::inlineCallTo(node, &torch::jit::toGraphFunction(*callee), /*use_graph=*/false);
    inlined = true;
  }
  return inlined;
}

// A fully inlined copy of the forward graph, with layer_output after every call of the `layers`.
std::shared_ptr<Graph> forward_graph(const torch::jit::Module& module, const std::vector<std::string>& layers,
                                     RewriteResult& result) {
  std::shared_ptr<Graph> graph = torch::jit::toGraphFunction(module.get_method("forward").function()).graph()->copy();
  result.call_sites.assign(layers.size(), 0);
  result.non_tensor.assign(layers.size(), "");
  if (!layers.empty()) {
    std::unordered_map<std::string, size_t> slots;
    for (size_t i = 0; i < layers.size(); ++i) slots.emplace(layers[i], i);
    std::unordered_set<const Node*> seen;
    const Value* self = graph->inputs().at(0);
    while (rewrite_block(graph->block(), *graph, self, layers, slots, seen, result)) {
    }
  }
  torch::jit::Inline(*graph);  // the remaining calls, whose cached plans may not be ours to use
  use_batch_one_convolutions(*graph);
  return graph;
}

// What the frozen copies were built from: every attribute of every module (tensors by identity,
// storage and version counter, plain values by value, other objects by identity), the train flags
// among them. A copy is used only while the user's module still matches it. Integers, not text:
// this runs before every no-grad forward, and a ViT has ~300 attributes (string formatting cost
// 0.22 ms per call, half a forward of the small ViT).
using Fingerprint = std::vector<int64_t>;

void add_fingerprint(const c10::ivalue::Object& object, Fingerprint& fingerprint) {
  fingerprint.push_back(static_cast<int64_t>(reinterpret_cast<uintptr_t>(&object)));
  const size_t slots = object.type()->numAttributes();
  for (size_t slot = 0; slot < slots; ++slot) {
    const c10::IValue& value = object.getSlot(slot);
    fingerprint.push_back(static_cast<int64_t>(value.isTensor() ? 1 : 0) | (static_cast<int64_t>(slot) << 8));
    if (value.isTensor()) {
      const at::Tensor& tensor = value.toTensor();
      fingerprint.push_back(static_cast<int64_t>(reinterpret_cast<uintptr_t>(tensor.unsafeGetTensorImpl())));
      fingerprint.push_back(
          tensor.defined() ? static_cast<int64_t>(reinterpret_cast<uintptr_t>(tensor.data_ptr())) : 0);
      fingerprint.push_back(tensor.defined() ? static_cast<int64_t>(tensor._version()) : -1);
    } else if (value.isModule()) {
      add_fingerprint(value.toObjectRef(), fingerprint);  // submodules in slot order
    } else if (value.isInt()) {
      fingerprint.push_back(value.toInt());
    } else if (value.isBool()) {
      fingerprint.push_back(value.toBool() ? 3 : 2);
    } else if (value.isDouble()) {
      const double number = value.toDouble();
      int64_t bits = 0;
      std::memcpy(&bits, &number, sizeof(bits));
      fingerprint.push_back(bits);
    } else if (value.isString()) {
      fingerprint.push_back(static_cast<int64_t>(std::hash<std::string>()(value.toStringRef())));
    } else if (value.isNone()) {
      fingerprint.push_back(-2);
    } else {
      fingerprint.push_back(static_cast<int64_t>(reinterpret_cast<uintptr_t>(value.internalToPointer())));
    }
  }
}

bool any_training(const c10::ivalue::Object& object) {
  const c10::ClassTypePtr& type = object.type();
  const size_t slots = type->numAttributes();
  for (size_t slot = 0; slot < slots; ++slot) {
    const c10::IValue& value = object.getSlot(slot);
    if (value.isBool() && type->getAttributeName(slot) == "training" && value.toBool()) return true;
    if (value.isModule() && any_training(value.toObjectRef())) return true;
  }
  return false;
}

Fingerprint module_fingerprint(const torch::jit::Module& module) {
  Fingerprint fingerprint;
  fingerprint.reserve(1024);
  add_fingerprint(*module._ivalue(), fingerprint);
  return fingerprint;
}

class TorchScriptBackend final : public ModelBackend {
 public:
  TorchScriptBackend(const torch::jit::Module& module, TorchScriptOptions options)
      : user_module_(module), options_(std::move(options)) {
    TORCH_CHECK_VALUE(module.find_method("forward").has_value(),
                      "nn_interpretability::Model: the TorchScript module has no forward method");
    plan_arguments();
  }

  torch::Tensor forward(const torch::Tensor& input) override {
    const bool no_grad = !at::GradMode::is_enabled();
    if (no_grad ? options_.optimize() : options_.fold_batch_norm()) {
      if (std::shared_ptr<const FrozenCopies> copies = frozen_copies(input)) {
        const bool inference = no_grad && copies->inference.function != nullptr;
        const FrozenFunction& frozen = inference ? copies->inference : copies->gradient;
        return tensor_output(run(frozen.function.get(), frozen.module, input));
      }
    }
    return tensor_output(run(function({}).function.get(), user_module_, input));
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

  // Asked before every forward pass (BufferRestorer): the module objects' "training" slots read
  // directly, without the Module handles modules() builds for each submodule.
  bool is_training() const override { return any_training(*user_module_._ivalue()); }

  torch::Tensor reference_parameter() const override {
    for (const auto& parameter : user_module_.parameters())  // stops at the first floating one
      if (parameter.is_floating_point()) return parameter;
    for (const auto& buffer : user_module_.buffers())
      if (buffer.is_floating_point()) return buffer;
    return torch::Tensor();
  }

  const torch::jit::Module* torchscript_module() const override { return &user_module_; }

  std::string describe() const override { return "TorchScript model"; }

  std::shared_ptr<ModelBackend> deep_copy() const override {
    return std::make_shared<TorchScriptBackend>(user_module_.deepcopy(), options_);
  }

  bool has_per_example_inputs() const override { return per_example_inputs_; }

  std::vector<std::string> layer_names() const override {
    std::vector<std::string> names;
    for (const auto& item : user_module_.named_modules())
      if (!item.name.empty()) names.push_back(item.name);
    return names;
  }

  std::string layer_type(const std::string& layer) const override {
    for (const auto& item : user_module_.named_modules())
      if (item.name == layer) return item.value.type()->name() ? item.value.type()->name()->qualifiedName() : "";
    return "";
  }

  torch::Tensor forward_with_layers(const torch::Tensor& input, LayerSession& session) override {
    std::vector<std::string> layers;
    for (size_t slot = 0; slot < session.size(); ++slot) layers.push_back(session.layer(slot));
    const LayerFunction& layer_function = function(layers);
    for (size_t slot = 0; slot < session.size(); ++slot)
      if (layer_function.rewrite.call_sites[slot] > 0) session.set_planned(slot);
    return tensor_output(run(layer_function.function.get(), user_module_, input));
  }

  std::string unreachable_reason(const std::string& layer, bool planned, bool replacing) const override {
    (void)replacing;
    std::lock_guard<std::mutex> lock(mutex_);
    int sites = 0;
    std::string non_tensor;
    for (const auto& item : functions_) {
      for (size_t slot = 0; slot < item.second.layers.size(); ++slot) {
        if (item.second.layers[slot] != layer) continue;
        sites = item.second.rewrite.call_sites[slot];
        non_tensor = item.second.rewrite.non_tensor[slot];
      }
    }
    if (planned)
      return "its " + std::to_string(sites) + (sites == 1 ? " call" : " calls") +
             " in the forward graph did not run for this input (inside a branch not taken, or a loop run zero times)";
    if (non_tensor == "NoneType")
      return "in this traced model its call takes no tensor and returns None: the module returned its input "
             "unchanged when it was traced (Identity, or Dropout / StochasticDepth in eval mode), so tracing "
             "recorded nothing of it. Its output is the tensor it was given: name the layer that produced that "
             "tensor, or export the model with torch.jit.script";
    if (!non_tensor.empty()) return "its forward returns " + non_tensor + ", not a tensor";
    return "the forward pass never calls it (no call of its forward was found in the TorchScript graph, with every "
           "method of the root and of its parent modules inlined and branches and loops searched; a module "
           "that is only called from a method the forward does not reach, or is handed to a function as an "
           "argument, cannot be found)";
  }

 private:
  // One of our graph functions on `self` (the user's module, or a frozen copy), optimizer off.
  c10::IValue run(torch::jit::GraphFunction* function, const torch::jit::Module& self,
                  const torch::Tensor& input) const {
    torch::jit::GraphOptimizerEnabledGuard optimizer_off(false);
    torch::jit::Stack stack{self._ivalue()};
    for (const Argument& argument : arguments_) {
      if (argument.attributed) stack.emplace_back(input);
      else if (argument.fixed.defined()) stack.emplace_back(tile_rows(argument.fixed, input.size(0), argument.name));
      else stack.push_back(argument.default_value);
    }
    function->run(stack);
    return stack.back();
  }

  // The forward's arguments after self: which one is explained, which are fixed, which take defaults.
  struct Argument {
    std::string name;
    bool attributed = false;
    torch::Tensor fixed;
    c10::IValue default_value;
  };

  void plan_arguments() {
    const c10::FunctionSchema& schema = user_module_.get_method("forward").function().getSchema();
    std::vector<std::string> names;
    for (size_t i = 1; i < schema.arguments().size(); ++i) names.push_back(schema.arguments()[i].name());
    auto listed = [&] {
      std::string text;
      for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
      return "forward(" + text + ")";
    };
    TORCH_CHECK_VALUE(!names.empty(), "nn_interpretability::Model: the TorchScript forward takes no argument");
    const std::string input = options_.input().empty() ? names.front() : options_.input();
    TORCH_CHECK_VALUE(std::find(names.begin(), names.end(), input) != names.end(),
                      "nn_interpretability::Model: the TorchScript forward has no argument '", input, "': ", listed());
    for (const auto& fixed : options_.fixed_inputs()) {
      TORCH_CHECK_VALUE(std::find(names.begin(), names.end(), fixed.first) != names.end(),
                        "nn_interpretability::Model: fixed input '", fixed.first, "' is not an argument of ", listed());
      TORCH_CHECK_VALUE(fixed.first != input, "nn_interpretability::Model: '", input,
                        "' is the input explained; it cannot also be a fixed input");
      TORCH_CHECK_VALUE(fixed.second.defined(), "nn_interpretability::Model: fixed input '", fixed.first,
                        "' is an undefined tensor");
    }
    for (size_t i = 0; i < names.size(); ++i) {
      const c10::Argument& declared = schema.arguments()[i + 1];
      Argument argument;
      argument.name = names[i];
      argument.attributed = names[i] == input;
      const auto fixed = options_.fixed_inputs().find(names[i]);
      if (fixed != options_.fixed_inputs().end()) {
        argument.fixed = fixed->second;
        if (fixed->second.dim() > 0 && fixed->second.size(0) > 1) per_example_inputs_ = true;
      } else if (!argument.attributed) {
        TORCH_CHECK_VALUE(declared.default_value().has_value(), "nn_interpretability::Model: argument '", names[i],
                          "' of ", listed(), " has no default: give it in TorchScriptOptions::fixed_inputs (nni: "
                          "--fixed-input ", names[i], "=FILE.npy)");
        argument.default_value = *declared.default_value();
      }
      arguments_.push_back(std::move(argument));
    }
  }

  struct FrozenFunction {
    torch::jit::Module module;
    std::unique_ptr<torch::jit::GraphFunction> function;
  };
  struct FrozenCopies {
    Fingerprint fingerprint;
    FrozenFunction gradient;   // torch::jit::freeze: BatchNorm folded, autograd through aten ops
    FrozenFunction inference;  // optimize_for_inference (CPU only; null elsewhere)
  };

  static FrozenFunction frozen_function(torch::jit::Module module) {
    FrozenFunction result;
    std::shared_ptr<Graph> graph = torch::jit::toGraphFunction(module.get_method("forward").function()).graph()->copy();
    torch::jit::Inline(*graph);
    use_batch_one_convolutions(*graph);
    result.function = std::make_unique<torch::jit::GraphFunction>("nni_frozen_forward", graph, nullptr);
    result.module = std::move(module);
    return result;
  }

  // Whether the copies give what the plain graph gives on `input` (no-grad outputs, 1e-4 relative):
  // a graph the freezing passes would change is refused here rather than explained wrongly.
  bool agree_with_plain(const FrozenCopies& copies, const torch::Tensor& input) {
    torch::NoGradGuard no_grad;
    const torch::Tensor expected = tensor_output(run(function({}).function.get(), user_module_, input));
    for (const FrozenFunction* frozen : {&copies.gradient, &copies.inference}) {
      if (frozen->function == nullptr) continue;
      const torch::Tensor output = tensor_output(run(frozen->function.get(), frozen->module, input));
      if (output.sizes() != expected.sizes()) return false;
      const torch::Tensor actual = output.to(expected.dtype());
      const double scale = expected.abs().max().item<double>();
      const double difference = (actual - expected).abs().max().item<double>();
      if (!(difference <= 1e-4 * scale + 1e-6)) return false;
    }
    return true;
  }

  // The frozen copies for the user's module as it is now; null where they cannot be used (training
  // mode, a module freezing refuses, a copy that disagrees with the plain graph).
  std::shared_ptr<const FrozenCopies> frozen_copies(const torch::Tensor& input) {
    Fingerprint fingerprint = module_fingerprint(user_module_);
    std::lock_guard<std::mutex> lock(frozen_mutex_);
    if (frozen_ && frozen_->fingerprint == fingerprint) return frozen_;
    if (frozen_refused_ == fingerprint) return nullptr;
    frozen_.reset();
    frozen_refused_.clear();
    if (is_training()) {
      frozen_refused_ = std::move(fingerprint);
      return nullptr;
    }
    auto copies = std::make_shared<FrozenCopies>();
    try {
      c10::InferenceMode off(false);
      copies->gradient = frozen_function(torch::jit::freeze(user_module_.clone(), c10::nullopt, true));
      bool on_cpu = true;
      for (const auto& parameter : user_module_.parameters()) on_cpu = on_cpu && parameter.device().is_cpu();
      for (const auto& buffer : user_module_.buffers()) on_cpu = on_cpu && buffer.device().is_cpu();
      if (on_cpu && input.device().is_cpu()) {
        torch::jit::Module inference = torch::jit::freeze(user_module_.clone(), c10::nullopt, true);
        copies->inference = frozen_function(torch::jit::optimize_for_inference(inference));
      }
      if (!agree_with_plain(*copies, input)) copies.reset();
    } catch (const std::exception&) {
      copies.reset();  // a module freezing refuses runs plainly
    }
    if (!copies) {
      frozen_refused_ = std::move(fingerprint);
      return nullptr;
    }
    copies->fingerprint = std::move(fingerprint);
    frozen_ = copies;
    return frozen_;
  }

  struct LayerFunction {
    std::vector<std::string> layers;
    RewriteResult rewrite;
    std::unique_ptr<torch::jit::GraphFunction> function;
  };

  // The tensor explained: the output itself, or the entries TorchScriptOptions::output names.
  torch::Tensor tensor_output(const c10::IValue& result) const {
    const std::string& selection = options_.output();
    if (selection.empty()) {
      TORCH_CHECK_VALUE(result.isTensor(), "the TorchScript model returns ", describe_value(result),
                        ", not one tensor: choose the entry to explain with TorchScriptOptions().output(\"0\") "
                        "(an index or a key; nni: --output-index)");
      return result.toTensor();
    }
    TORCH_CHECK_VALUE(!result.isTensor(), "the TorchScript model returns one tensor, so there is no entry '",
                      selection, "' to choose (drop TorchScriptOptions::output / --output-index)");
    std::vector<torch::Tensor> parts;
    size_t start = 0;
    while (start <= selection.size()) {
      const size_t plus = std::min(selection.find('+', start), selection.size());
      parts.push_back(output_entry(result, selection.substr(start, plus - start)));
      start = plus + 1;
    }
    if (parts.size() == 1) return parts.front();
    for (const torch::Tensor& part : parts)
      TORCH_CHECK_VALUE(part.dim() == parts.front().dim() &&
                            part.sizes().slice(0, part.dim() - 1) == parts.front().sizes().slice(0, part.dim() - 1),
                        "the entries '", selection, "' cannot be joined on their last dimension: shapes ",
                        parts.front().sizes(), " and ", part.sizes());
    return at::cat(parts, -1);
  }

  static std::string describe_value(const c10::IValue& value) {
    if (value.isTuple()) return "a tuple of " + std::to_string(value.toTupleRef().elements().size()) + " entries";
    if (value.isList()) return "a list of " + std::to_string(value.toListRef().size()) + " entries";
    if (value.isGenericDict()) {
      std::string keys;
      for (const auto& item : value.toGenericDict())
        keys += (keys.empty() ? "" : ", ") + (item.key().isString() ? item.key().toStringRef() : item.key().tagKind());
      return "a dict with keys " + keys;
    }
    return std::string("a ") + value.tagKind();
  }

  static torch::Tensor output_entry(const c10::IValue& result, const std::string& key) {
    const bool is_index = !key.empty() && key.find_first_not_of("0123456789") == std::string::npos;
    c10::IValue entry;
    if (result.isGenericDict()) {
      bool found = false;
      for (const auto& item : result.toGenericDict()) {
        if (item.key().isString() && item.key().toStringRef() == key) {
          entry = item.value();
          found = true;
        }
      }
      TORCH_CHECK_VALUE(found, "the TorchScript model's output has no entry '", key, "': it returns ",
                        describe_value(result));
    } else if (result.isTuple() || result.isList()) {
      const std::vector<c10::IValue> elements =
          result.isTuple() ? result.toTupleRef().elements().vec() : result.toListRef().vec();
      TORCH_CHECK_VALUE(is_index, "the TorchScript model returns ", describe_value(result), ", chosen by index, not '",
                        key, "'");
      const size_t index = std::stoul(key);
      TORCH_CHECK_VALUE(index < elements.size(), "output index ", index, " is out of range: the model returns ",
                        describe_value(result));
      entry = elements[index];
    } else {
      TORCH_CHECK_VALUE(false, "the TorchScript model returns ", describe_value(result), ", which has no entry '",
                        key, "'");
    }
    TORCH_CHECK_VALUE(entry.isTensor(), "output entry '", key, "' is ", describe_value(entry), ", not a tensor");
    return entry.toTensor();
  }

  // One function per list of requested layers (none = the plain forward), built on first use.
  const LayerFunction& function(const std::vector<std::string>& layers) {
    std::string key;
    for (const std::string& layer : layers) key += layer + '\n';
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = functions_.find(key);
    if (it == functions_.end()) {
      LayerFunction entry;
      entry.layers = layers;
      std::shared_ptr<Graph> graph = forward_graph(user_module_, layers, entry.rewrite);
      entry.function = std::make_unique<torch::jit::GraphFunction>("nni_forward", graph, nullptr);
      it = functions_.emplace(key, std::move(entry)).first;
    }
    return it->second;
  }

  torch::jit::Module user_module_;  // a handle sharing the user's object: read only
  TorchScriptOptions options_;
  std::vector<Argument> arguments_;
  bool per_example_inputs_ = false;
  std::mutex frozen_mutex_;
  std::shared_ptr<const FrozenCopies> frozen_;
  Fingerprint frozen_refused_;  // the fingerprint for which no copy could be used
  mutable std::mutex mutex_;
  std::map<std::string, LayerFunction> functions_;
};

}  // namespace
}  // namespace detail

Model::Model(const torch::jit::Module& module) : Model(module, TorchScriptOptions()) {}

Model::Model(const torch::jit::Module& module, TorchScriptOptions options)
    : backend_(std::make_shared<detail::TorchScriptBackend>(module, options)) {}

}  // namespace nn_interpretability
