#include "nn_interpretability/detail/operator_tape.h"

#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>
#include <ATen/record_function.h>
#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/variable.h>

namespace nn_interpretability {
namespace detail {

torch::Tensor TapedOperator::input(size_t index) const {
  if (index >= inputs.size() || !inputs[index].isTensor()) return {};
  return inputs[index].toTensor();
}

double TapedOperator::scalar(size_t index, double fallback) const {
  if (index >= inputs.size()) return fallback;
  const c10::IValue& value = inputs[index];
  if (value.isDouble()) return value.toDouble();
  if (value.isInt()) return static_cast<double>(value.toInt());
  if (value.isScalar()) return value.toScalar().toDouble();
  return fallback;
}

std::vector<int64_t> TapedOperator::int_list(size_t index) const {
  if (index >= inputs.size() || !inputs[index].isIntList()) return {};
  return inputs[index].toIntVector();
}

bool TapedOperator::flag(size_t index, bool fallback) const {
  if (index >= inputs.size() || !inputs[index].isBool()) return fallback;
  return inputs[index].toBool();
}

torch::Tensor TapedOperator::output(size_t index) const {
  if (index < outputs_before_change.size() && outputs_before_change[index].defined())
    return outputs_before_change[index];
  if (index >= outputs.size() || !outputs[index].isTensor()) return {};
  return outputs[index].toTensor();
}

torch::Tensor TapedOperator::call_with_first_input(const torch::Tensor& first) const {
  const std::string bare = name.compare(0, 6, "aten::") == 0 ? name : "aten::" + name;
  const auto handle = c10::Dispatcher::singleton().findSchema({bare, overload});
  TORCH_CHECK(handle.has_value() && !inputs.empty(), "cannot run ", name, ".", overload, " again: unknown schema");
  torch::jit::Stack stack(inputs.begin(), inputs.end());
  stack[0] = first;
  handle->callBoxed(stack);
  TORCH_CHECK(!stack.empty() && stack[0].isTensor(), name, " returned no tensor");
  return stack[0].toTensor();
}

const std::vector<const TapedOperator*>& OperatorTape::operators_of(const torch::autograd::Node* node) const {
  static const std::vector<const TapedOperator*> none;
  auto found = by_node_.find(node);
  return found == by_node_.end() ? none : found->second;
}

const TapedOperator* OperatorTape::find(const torch::autograd::Node* node,
                                        std::initializer_list<const char*> names) const {
  for (const TapedOperator* op : operators_of(node))
    for (const char* name : names)
      if (op->name == name) return op;
  return nullptr;
}

namespace {

thread_local OperatorTape* active_tape = nullptr;
// Our own operators (the copies below) must not be recorded.
thread_local bool inside_callback = false;

bool is_in_place(const char* name) {
  const size_t length = std::strlen(name);
  return length > 1 && name[length - 1] == '_' && name[length - 2] != '_';
}

struct PendingOperator : at::ObserverContext {
  std::vector<c10::IValue> inputs;
  size_t returns = 0;  // 0: unknown, keep every output
};

// A boxed call (the TorchScript interpreter's) reports the whole interpreter stack as the inputs,
// and the stack after the call as the outputs: the operator's own arguments are the last entries,
// its returns the last entries after the call. The schema says how many.
std::pair<size_t, size_t> arity(const at::RecordFunction& record) {
  thread_local std::unordered_map<std::string, std::pair<size_t, size_t>> known;
  const auto name = record.operator_name();
  if (!name) return {0, 0};
  const std::string key = name->name + "." + name->overload_name;
  auto found = known.find(key);
  if (found != known.end()) return found->second;
  std::pair<size_t, size_t> counts{0, 0};
  if (auto handle = c10::Dispatcher::singleton().findSchema(*name)) {
    const c10::FunctionSchema& schema = handle->schema();
    if (!schema.is_vararg() && !schema.is_varret())
      counts = {schema.arguments().size(), schema.returns().size()};
  }
  known.emplace(key, counts);
  return counts;
}

}  // namespace

struct TapeCallbacks {
  static std::unique_ptr<at::ObserverContext> start(const at::RecordFunction& record) {
    OperatorTape* tape = active_tape;
    if (tape == nullptr || inside_callback) return nullptr;
    auto pending = std::make_unique<PendingOperator>();
    // Inputs are read here only: LibTorch 2.x invalidates them once the kernel has run.
    const auto inputs = record.inputs();
    const auto [arguments, returns] = arity(record);
    const size_t skipped = arguments > 0 && inputs.size() > arguments ? inputs.size() - arguments : 0;
    pending->inputs.assign(inputs.begin() + skipped, inputs.end());
    pending->returns = returns;
    if (!pending->inputs.empty() && pending->inputs[0].isTensor() && is_in_place(record.name())) {
      const torch::Tensor self = pending->inputs[0].toTensor();
      if (self.defined() && self.requires_grad()) {
        // The value before the change: this operator's input, and the output of the one that made it.
        inside_callback = true;
        torch::Tensor before;
        {
          c10::AutoGradMode no_grad(false);
          before = self.clone();
        }
        inside_callback = false;
        pending->inputs[0] = before;
        auto producer = tape->by_output_.find(self.unsafeGetTensorImpl());
        if (producer != tape->by_output_.end()) {
          TapedOperator* op = producer->second.first;
          const size_t slot = producer->second.second;
          if (op->outputs_before_change.size() <= slot) op->outputs_before_change.resize(slot + 1);
          if (!op->outputs_before_change[slot].defined()) op->outputs_before_change[slot] = before;
        }
      }
    }
    return pending;
  }

  static void end(const at::RecordFunction& record, at::ObserverContext* context) {
    OperatorTape* tape = active_tape;
    if (tape == nullptr || context == nullptr || inside_callback) return;
    const std::vector<c10::IValue>& stack = record.outputs();
    const size_t returns = static_cast<PendingOperator*>(context)->returns;
    const std::vector<c10::IValue> outputs(
        returns > 0 && stack.size() > returns ? stack.end() - static_cast<std::ptrdiff_t>(returns) : stack.begin(),
        stack.end());
    std::vector<const torch::autograd::Node*> nodes;
    for (const c10::IValue& value : outputs) {
      if (!value.isTensor()) continue;
      const torch::Tensor& tensor = value.toTensor();
      if (!tensor.defined()) continue;
      const auto& grad_fn = tensor.grad_fn();
      if (grad_fn) nodes.push_back(grad_fn.get());
    }
    if (nodes.empty()) return;
    auto op = std::make_unique<TapedOperator>();
    op->name = record.name();
    if (const auto operator_name = record.operator_name()) op->overload = operator_name->overload_name;
    op->inputs = std::move(static_cast<PendingOperator*>(context)->inputs);
    op->outputs = outputs;
    TapedOperator* raw = op.get();
    tape->operators_.push_back(std::move(op));
    for (size_t slot = 0; slot < outputs.size(); ++slot)
      if (outputs[slot].isTensor() && outputs[slot].toTensor().defined())
        tape->by_output_[outputs[slot].toTensor().unsafeGetTensorImpl()] = {raw, slot};
    for (const torch::autograd::Node* node : nodes) {
      auto& list = tape->by_node_[node];
      if (list.empty() || list.back() != raw) list.push_back(raw);
    }
  }
};

OperatorRecording::OperatorRecording(OperatorTape& tape) : previous_(active_tape) {
  active_tape = &tape;
  handle_ = at::addThreadLocalCallback(
      at::RecordFunctionCallback(&TapeCallbacks::start, &TapeCallbacks::end).needsInputs(true).needsOutputs(true));
}

OperatorRecording::~OperatorRecording() {
  at::removeCallback(handle_);
  active_tape = previous_;
}

}  // namespace detail
}  // namespace nn_interpretability
