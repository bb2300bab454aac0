// C++ modules: the forward pass as the user wrote it, and two ways to reach a named layer without
// hooks (LibTorch modules have none).
#include <algorithm>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include <ATen/record_function.h>
#include <c10/util/Exception.h>
#include <torch/nn/modules/container/sequential.h>

#include "nn_interpretability/model.h"

namespace nn_interpretability {
namespace detail {
namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

// --- Way 1: observe the operators of the forward pass -------------------------------------------
//
// A layer with parameters of its own is found as the top-level operator that consumes one of its
// parameters: that operator's output is the layer's output (conv2d for Conv2d, linear for Linear,
// batch_norm for BatchNorm). A parameterless leaf inside an nn::Sequential (ReLU, pooling, dropout,
// flatten: one operator each) is found by following the chain from the nearest earlier sibling that
// can be found: each hop is the next top-level operator whose first input is the current tensor.

// RecordFunction callbacks are plain function pointers, so their state is thread-local.
struct OperatorCapture {
  std::unordered_set<const c10::TensorImpl*> weights;
  int hops_needed = 0;
  int hops_done = 0;
  const c10::TensorImpl* current = nullptr;
  torch::Tensor value;
  int depth = 0;
};
thread_local OperatorCapture* operator_capture = nullptr;

// What a top-level operator's start callback saw of its inputs. Inputs are read in the start
// callback only: LibTorch 2.x invalidates them once the kernel has run (1.13 still allowed it).
struct TopLevelOperator : at::ObserverContext {
  bool uses_weight = false;
  const c10::TensorImpl* first_input = nullptr;
};

std::unique_ptr<at::ObserverContext> on_operator_start(const at::RecordFunction& record) {
  OperatorCapture* capture = operator_capture;
  if (capture == nullptr) return nullptr;
  if (++capture->depth != 1) return nullptr;  // nested inside another operator
  auto top = std::make_unique<TopLevelOperator>();
  const auto inputs = record.inputs();
  for (const c10::IValue& value : inputs) {
    if (value.isTensor() && capture->weights.count(value.toTensor().unsafeGetTensorImpl()) != 0) {
      top->uses_weight = true;
      break;
    }
  }
  if (!inputs.empty() && inputs[0].isTensor()) top->first_input = inputs[0].toTensor().unsafeGetTensorImpl();
  return top;
}

void on_operator_end(const at::RecordFunction& record, at::ObserverContext* context) {
  OperatorCapture* capture = operator_capture;
  if (capture == nullptr) return;
  --capture->depth;
  if (context == nullptr) return;  // nested inside another operator
  const auto* top = static_cast<const TopLevelOperator*>(context);
  const auto& outputs = record.outputs();
  if (outputs.empty() || !outputs[0].isTensor()) return;
  if (top->uses_weight) {  // the anchor; a layer called twice is taken at its last call
    capture->value = outputs[0].toTensor();
    capture->current = capture->value.unsafeGetTensorImpl();
    capture->hops_done = 0;
  } else if (capture->current != nullptr && capture->hops_done < capture->hops_needed &&
             top->first_input == capture->current) {
    capture->value = outputs[0].toTensor();
    capture->current = capture->value.unsafeGetTensorImpl();
    ++capture->hops_done;
  }
}

class OperatorCaptureScope {
 public:
  explicit OperatorCaptureScope(OperatorCapture& capture) : previous_(operator_capture) {
    operator_capture = &capture;
    handle_ = at::addThreadLocalCallback(
        at::RecordFunctionCallback(&on_operator_start, &on_operator_end).needsInputs(true).needsOutputs(true));
  }
  ~OperatorCaptureScope() {
    at::removeCallback(handle_);
    operator_capture = previous_;
  }
  OperatorCaptureScope(const OperatorCaptureScope&) = delete;
  OperatorCaptureScope& operator=(const OperatorCaptureScope&) = delete;

 private:
  OperatorCapture* previous_;
  at::CallbackHandle handle_ = 0;
};

/// How to find a layer among the operators: the module whose parameters mark the anchor operator,
/// and how many single-operator hops follow it.
struct OperatorPlan {
  std::shared_ptr<torch::nn::Module> anchor;
  int hops = 0;
};

// --- Way 2: run nn::Sequential containers child by child ----------------------------------------

// Child indices from the root to the layer, when every container on the way is an nn::Sequential.
bool sequential_path(torch::nn::Module& root, const std::string& layer, std::vector<size_t>& indices) {
  torch::nn::Module* current = &root;
  for (const std::string& part : split_path(layer)) {
    if (dynamic_cast<torch::nn::SequentialImpl*>(current) == nullptr) return false;
    const auto children = current->named_children();
    size_t index = 0;
    while (index < children.size() && children[index].key() != part) ++index;
    if (index == children.size()) return false;
    indices.push_back(index);
    current = children[index].value().get();
  }
  return true;
}

torch::Tensor run_sequential(torch::nn::SequentialImpl& sequential, torch::Tensor x, const std::vector<size_t>& path,
                             size_t depth, torch::Tensor& captured) {
  size_t index = 0;
  for (auto& child : sequential) {
    if (index == path[depth]) {
      if (depth + 1 == path.size()) {
        x = child.forward(x);
        captured = x;
      } else {
        x = run_sequential(*child.ptr()->as<torch::nn::SequentialImpl>(), x, path, depth + 1, captured);
      }
    } else {
      x = child.forward(x);
    }
    ++index;
  }
  return x;
}

// -------------------------------------------------------------------------------------------------

class ModuleBackend final : public ModelBackend {
 public:
  ModuleBackend(std::shared_ptr<torch::nn::Module> module, ForwardFunction forward, bool forward_is_module_forward)
      : module_(std::move(module)), forward_(std::move(forward)), forward_is_module_forward_(forward_is_module_forward) {
    // Module::to() changes parameters in place (set_data), so this handle follows dtype and device.
    for (const auto& parameter : module_->parameters()) {
      if (parameter.is_floating_point()) {
        reference_ = parameter;
        break;
      }
    }
  }

  torch::Tensor reference_parameter() const override { return reference_; }

  torch::Tensor forward(const torch::Tensor& input) override { return forward_(input); }

  std::vector<torch::Tensor> tensors() const override {
    auto result = module_->parameters();
    auto buffers = module_->buffers();
    result.insert(result.end(), buffers.begin(), buffers.end());
    return result;
  }

  std::vector<torch::Tensor> buffers() const override { return module_->buffers(); }

  bool is_training() const override {
    for (const auto& module : module_->modules())
      if (module->is_training()) return true;
    return false;
  }

  std::shared_ptr<torch::nn::Module> module() const override { return module_; }

  std::string describe() const override { return "module " + module_->name(); }

  std::vector<std::string> layer_names() const override {
    std::vector<std::string> names;
    for (const auto& item : module_->named_modules("", /*include_self=*/false)) names.push_back(item.key());
    return names;
  }

  std::pair<torch::Tensor, torch::Tensor> forward_with_layer(const torch::Tensor& input,
                                                             const std::string& layer) override {
    std::vector<size_t> path;
    if (forward_is_module_forward_ && sequential_path(*module_, layer, path)) {
      torch::Tensor captured;
      torch::Tensor output = run_sequential(*module_->as<torch::nn::SequentialImpl>(), input, path, 0, captured);
      return {output, captured};
    }
    OperatorPlan plan;
    if (!plan_for(layer, plan)) return {forward_(input), torch::Tensor()};
    OperatorCapture capture;
    for (const auto& parameter : plan.anchor->parameters(/*recurse=*/false))
      capture.weights.insert(parameter.unsafeGetTensorImpl());
    capture.hops_needed = plan.hops;
    torch::Tensor output;
    {
      OperatorCaptureScope scope(capture);
      output = forward_(input);
    }
    if (capture.hops_done != capture.hops_needed) return {output, torch::Tensor()};
    return {output, capture.value};
  }

  std::string unreachable_reason(const std::string& layer) const override {
    OperatorPlan plan;
    if (plan_for(layer, plan))
      return "its operators were not seen during the forward pass (is it called, and called as a whole?)";
    return "it (" + find(layer)->name() + ") has no parameters of its own, and it is neither an nn::Sequential " +
           "ending in such a layer nor a one-operator layer (activation, pooling, dropout, flatten, identity) " +
           "following one inside an nn::Sequential (LibTorch modules have no forward hooks)";
  }

 private:
  static bool is_sequential(const torch::nn::Module& module) {
    return dynamic_cast<const torch::nn::SequentialImpl*>(&module) != nullptr;
  }

  bool plan_for(const std::string& layer, OperatorPlan& plan) const {
    std::shared_ptr<torch::nn::Module> target = find(layer);
    if (!target->parameters(/*recurse=*/false).empty()) {
      plan = {target, 0};
      return true;
    }
    const auto children = target->named_children();
    if (is_sequential(*target)) {
      return !children.is_empty() && plan_for(layer + "." + children[children.size() - 1].key(), plan);
    }
    // A parameterless leaf known to run exactly one operator (or none), after its previous sibling
    // in an nn::Sequential.
    const size_t dot = layer.rfind('.');
    const int operators = operator_count(*target);
    if (!children.is_empty() || dot == std::string::npos || operators < 0) return false;
    const std::string parent_name = layer.substr(0, dot);
    std::shared_ptr<torch::nn::Module> parent = find(parent_name);
    if (!is_sequential(*parent)) return false;
    const auto siblings = parent->named_children();
    size_t index = 0;
    while (index < siblings.size() && siblings[index].key() != layer.substr(dot + 1)) ++index;
    if (index == 0 || index == siblings.size()) return false;
    if (!plan_for(parent_name + "." + siblings[index - 1].key(), plan)) return false;
    plan.hops += operators;
    return true;
  }

  // How many top-level operators a parameterless leaf module runs: 0 for Identity, 1 for the
  // activations, pools, dropouts and reshapes listed, -1 (unknown) for anything else.
  static int operator_count(const torch::nn::Module& module) {
    static const std::unordered_set<std::string> one_operator{
        "torch::nn::ReLUImpl",         "torch::nn::ReLU6Impl",          "torch::nn::LeakyReLUImpl",
        "torch::nn::ELUImpl",          "torch::nn::SELUImpl",           "torch::nn::GELUImpl",
        "torch::nn::SiLUImpl",         "torch::nn::MishImpl",           "torch::nn::SigmoidImpl",
        "torch::nn::TanhImpl",         "torch::nn::SoftplusImpl",       "torch::nn::HardtanhImpl",
        "torch::nn::SoftmaxImpl",      "torch::nn::LogSoftmaxImpl",     "torch::nn::MaxPool1dImpl",
        "torch::nn::MaxPool2dImpl",    "torch::nn::MaxPool3dImpl",      "torch::nn::AvgPool1dImpl",
        "torch::nn::AvgPool2dImpl",    "torch::nn::AvgPool3dImpl",      "torch::nn::AdaptiveAvgPool1dImpl",
        "torch::nn::AdaptiveAvgPool2dImpl", "torch::nn::AdaptiveAvgPool3dImpl", "torch::nn::AdaptiveMaxPool1dImpl",
        "torch::nn::AdaptiveMaxPool2dImpl", "torch::nn::AdaptiveMaxPool3dImpl", "torch::nn::DropoutImpl",
        "torch::nn::Dropout2dImpl",    "torch::nn::Dropout3dImpl",      "torch::nn::FlattenImpl",
    };
    const std::string name = module.name();
    if (name == "torch::nn::IdentityImpl") return 0;
    return one_operator.count(name) != 0 ? 1 : -1;
  }

  std::shared_ptr<torch::nn::Module> find(const std::string& layer) const {
    for (const auto& item : module_->named_modules("", /*include_self=*/false))
      if (item.key() == layer) return item.value();
    TORCH_CHECK_VALUE(false, "unknown layer '", layer, "'");
  }

  std::shared_ptr<torch::nn::Module> module_;
  ForwardFunction forward_;
  bool forward_is_module_forward_;
  torch::Tensor reference_;
};

}  // namespace

std::shared_ptr<ModelBackend> make_module_backend(std::shared_ptr<torch::nn::Module> module, ForwardFunction forward,
                                                  bool forward_is_module_forward) {
  TORCH_CHECK_VALUE(module != nullptr, "nn_interpretability::Model: the module is null");
  TORCH_CHECK_VALUE(static_cast<bool>(forward), "nn_interpretability::Model: the forward function is empty");
  return std::make_shared<ModuleBackend>(std::move(module), std::move(forward), forward_is_module_forward);
}

}  // namespace detail
}  // namespace nn_interpretability
