// C++ modules: the forward pass as the user wrote it, and two ways to reach a named layer without
// hooks (LibTorch modules have none).
#include <algorithm>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <ATen/record_function.h>
#include <c10/util/Exception.h>
#include <torch/nn/modules/container/sequential.h>

#include "nn_interpretability/detail/layer_session.h"
#include "nn_interpretability/model/model.h"

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
// parameters and some other tensor (its input): that operator's output is the layer's output
// (conv2d for Conv2d, addmm or linear for Linear, batch_norm for BatchNorm). A parameterless leaf inside an nn::Sequential (ReLU, pooling, dropout,
// flatten: one operator each) is found by following the chain from the nearest earlier sibling that
// can be found: each hop is the next top-level operator whose first input is the current tensor.

// RecordFunction callbacks are plain function pointers, so their state is thread-local.
struct Tracker {
  size_t slot = 0;
  int hops_needed = 0;
  int hops_done = 0;
  const c10::TensorImpl* current = nullptr;
};
struct OperatorCapture {
  LayerSession* session = nullptr;
  std::vector<Tracker> trackers;
  std::unordered_map<const c10::TensorImpl*, std::vector<size_t>> trackers_of_weight;
  int depth = 0;
};
thread_local OperatorCapture* operator_capture = nullptr;

// What a top-level operator's start callback saw of its inputs. Inputs are read in the start
// callback only: LibTorch 2.x invalidates them once the kernel has run (1.13 still allowed it).
struct TopLevelOperator : at::ObserverContext {
  std::vector<size_t> anchored;  // trackers whose layer's weight this operator takes
  const c10::TensorImpl* first_input = nullptr;
};

std::unique_ptr<at::ObserverContext> on_operator_start(const at::RecordFunction& record) {
  OperatorCapture* capture = operator_capture;
  if (capture == nullptr) return nullptr;
  if (++capture->depth != 1) return nullptr;  // nested inside another operator
  auto top = std::make_unique<TopLevelOperator>();
  const auto inputs = record.inputs();
  bool takes_data = false;  // a tensor that is no tracked layer's parameter: the layer's input
  for (const c10::IValue& value : inputs) {
    if (!value.isTensor()) continue;
    auto found = capture->trackers_of_weight.find(value.toTensor().unsafeGetTensorImpl());
    if (found == capture->trackers_of_weight.end()) {
      takes_data = true;
      continue;
    }
    for (size_t tracker : found->second)
      if (std::find(top->anchored.begin(), top->anchored.end(), tracker) == top->anchored.end())
        top->anchored.push_back(tracker);
  }
  // An operator on the parameters alone is no call of the layer: LibTorch's C++ F::linear runs
  // t(weight) and then addmm(bias, input, weight.t()) at top level; only the second is the call.
  if (!takes_data) top->anchored.clear();
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
  const torch::Tensor output = outputs[0].toTensor();
  for (size_t index = 0; index < capture->trackers.size(); ++index) {
    Tracker& tracker = capture->trackers[index];
    const bool anchor = std::find(top->anchored.begin(), top->anchored.end(), index) != top->anchored.end();
    if (anchor) {
      tracker.hops_done = 0;
    } else if (tracker.current != nullptr && tracker.hops_done < tracker.hops_needed &&
               top->first_input == tracker.current) {
      ++tracker.hops_done;
    } else {
      continue;
    }
    tracker.current = output.unsafeGetTensorImpl();
    if (tracker.hops_done == tracker.hops_needed) {  // one call of the layer ends here
      capture->session->on_call(tracker.slot, output, CallSource::kObservation);
      if (tracker.hops_needed > 0) tracker.current = nullptr;
    }
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

// Whether every container from the root down to `layer` is an nn::Sequential.
bool on_sequential_path(torch::nn::Module& root, const std::string& layer) {
  torch::nn::Module* current = &root;
  for (const std::string& part : split_path(layer)) {
    if (dynamic_cast<torch::nn::SequentialImpl*>(current) == nullptr) return false;
    torch::nn::Module* next = nullptr;
    for (const auto& child : current->named_children())
      if (child.key() == part) next = child.value().get();
    if (next == nullptr) return false;
    current = next;
  }
  return true;
}

// Runs `sequential` child by child; each child named in `slots` (dotted paths from the root) reports
// its output to the session, and the next child gets what the session hands back.
torch::Tensor run_sequential(torch::nn::SequentialImpl& sequential, torch::Tensor x, const std::string& prefix,
                             const std::unordered_map<std::string, size_t>& slots, LayerSession& session) {
  size_t index = 0;
  const auto children = sequential.named_children();
  for (auto& child : sequential) {
    const std::string name = prefix + children[index].key();
    ++index;
    bool inner = false;
    auto* nested = child.ptr()->as<torch::nn::SequentialImpl>();
    if (nested != nullptr)
      for (const auto& item : slots) inner |= item.first.compare(0, name.size() + 1, name + ".") == 0;
    x = inner ? run_sequential(*nested, x, name + ".", slots, session) : child.forward(x);
    auto found = slots.find(name);
    if (found != slots.end()) x = session.on_call(found->second, x, CallSource::kRewrite);
  }
  return x;
}

// -------------------------------------------------------------------------------------------------

class ModuleBackend final : public ModelBackend {
 public:
  ModuleBackend(std::shared_ptr<torch::nn::Module> module, ForwardFunction forward, bool forward_is_module_forward,
                ModuleCopier copier = nullptr)
      : module_(std::move(module)),
        forward_(std::move(forward)),
        forward_is_module_forward_(forward_is_module_forward),
        copier_(std::move(copier)) {
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

  std::shared_ptr<ModelBackend> deep_copy() const override {
    if (!copier_) return nullptr;
    ModuleCopy copy;
    try {
      copy = copier_(*module_);
    } catch (const c10::Error& error) {  // a child that is not Cloneable
      TORCH_CHECK_VALUE(false, "nn_interpretability::Model: cannot copy the module ", module_->name(), ": ",
                        error.what_without_backtrace());
    }
    return std::make_shared<ModuleBackend>(copy.module, copy.forward, forward_is_module_forward_, copier_);
  }

  std::string copy_unavailable_reason() const override {
    if (!forward_is_module_forward_)
      return "its forward was given as a function of its own, which calls this module, not a copy; give the module "
             "itself (its forward is then its own) or a TorchScript model";
    return module_->name() + " is not torch::nn::Cloneable: derive it from torch::nn::Cloneable<" + module_->name() +
           "> and implement reset(), or give a TorchScript model";
  }

  std::vector<std::string> layer_names() const override {
    std::vector<std::string> names;
    for (const auto& item : module_->named_modules("", /*include_self=*/false)) names.push_back(item.key());
    return names;
  }

  std::string layer_type(const std::string& layer) const override {
    auto module = find(layer);
    return module ? module->name() : "";
  }

  torch::Tensor forward_with_layers(const torch::Tensor& input, LayerSession& session) override {
    std::unordered_map<std::string, size_t> sequential_slots;
    OperatorCapture capture;
    capture.session = &session;
    for (size_t slot = 0; slot < session.size(); ++slot) {
      const std::string& layer = session.layer(slot);
      if (forward_is_module_forward_ && on_sequential_path(*module_, layer)) {
        sequential_slots.emplace(layer, slot);
        session.set_planned(slot);
        continue;
      }
      OperatorPlan plan;
      // Observation cannot swap an operator's output: a replacement needs a mark or a Sequential.
      if (session.wants_replacement(slot) || !plan_for(layer, plan)) continue;
      Tracker tracker;
      tracker.slot = slot;
      tracker.hops_needed = plan.hops;
      const size_t index = capture.trackers.size();
      capture.trackers.push_back(tracker);
      for (const auto& parameter : plan.anchor->parameters(/*recurse=*/false))
        capture.trackers_of_weight[parameter.unsafeGetTensorImpl()].push_back(index);
      session.set_planned(slot);
    }
    std::unique_ptr<OperatorCaptureScope> scope;
    if (!capture.trackers.empty()) scope = std::make_unique<OperatorCaptureScope>(capture);
    if (!sequential_slots.empty())
      return run_sequential(*module_->as<torch::nn::SequentialImpl>(), input, "", sequential_slots, session);
    return forward_(input);
  }

  std::string unreachable_reason(const std::string& layer, bool planned, bool replacing) const override {
    OperatorPlan plan;
    const bool observable = plan_for(layer, plan);
    if (planned)
      return "no call of it was seen in this forward pass (is it called, and called as a whole?)";
    if (replacing && observable)
      return "its output can be observed in a hand-written C++ forward but not replaced (LibTorch modules have "
             "no forward hooks); mark it in the forward, x = nn_interpretability::mark_layer(\"" + layer +
             "\", x);, or put it in an nn::Sequential";
    return "it (" + find(layer)->name() + ") has no parameters of its own, and it is neither an nn::Sequential " +
           "ending in such a layer nor a one-operator layer (activation, pooling, dropout, flatten, identity) " +
           "following one inside an nn::Sequential, and LibTorch modules have no forward hooks: mark its output " +
           "in the model's forward, x = nn_interpretability::mark_layer(\"" + layer +
           "\", x);, or name a layer with parameters inside it";
  }

 private:
  static bool is_sequential(const torch::nn::Module& module) {
    return dynamic_cast<const torch::nn::SequentialImpl*>(&module) != nullptr;
  }

  bool plan_for(const std::string& layer, OperatorPlan& plan) const {
    std::shared_ptr<torch::nn::Module> target = find(layer);
    if (target == nullptr) return false;  // not a module: only a mark can capture it
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
    // (The parent may be the root: "3" in an nn::Sequential explained through a forward function.)
    const size_t dot = layer.rfind('.');
    const int operators = operator_count(*target);
    if (!children.is_empty() || operators < 0) return false;
    const bool in_root = dot == std::string::npos;
    const std::string parent_name = in_root ? "" : layer.substr(0, dot);
    std::shared_ptr<torch::nn::Module> parent = in_root ? module_ : find(parent_name);
    if (parent == nullptr || !is_sequential(*parent)) return false;
    const auto siblings = parent->named_children();
    const std::string own_name = in_root ? layer : layer.substr(dot + 1);
    size_t index = 0;
    while (index < siblings.size() && siblings[index].key() != own_name) ++index;
    if (index == 0 || index == siblings.size()) return false;
    if (!plan_for(in_root ? siblings[index - 1].key() : parent_name + "." + siblings[index - 1].key(), plan))
      return false;
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
    return nullptr;
  }

  std::shared_ptr<torch::nn::Module> module_;
  ForwardFunction forward_;
  bool forward_is_module_forward_;
  ModuleCopier copier_;
  torch::Tensor reference_;
};

}  // namespace

std::shared_ptr<ModelBackend> make_module_backend(std::shared_ptr<torch::nn::Module> module, ForwardFunction forward,
                                                  bool forward_is_module_forward) {
  TORCH_CHECK_VALUE(module != nullptr, "nn_interpretability::Model: the module is null");
  TORCH_CHECK_VALUE(static_cast<bool>(forward), "nn_interpretability::Model: the forward function is empty");
  return std::make_shared<ModuleBackend>(std::move(module), std::move(forward), forward_is_module_forward);
}

std::shared_ptr<ModelBackend> make_copyable_module_backend(std::shared_ptr<torch::nn::Module> module, ForwardFunction forward,
                                                           ModuleCopier copier) {
  TORCH_CHECK_VALUE(module != nullptr, "nn_interpretability::Model: the module is null");
  return std::make_shared<ModuleBackend>(std::move(module), std::move(forward), /*forward_is_module_forward=*/true,
                                         std::move(copier));
}

}  // namespace detail
}  // namespace nn_interpretability
