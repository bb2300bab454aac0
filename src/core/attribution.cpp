#include "nn_interpretability/core/attribution.h"

#include <cctype>
#include <exception>
#include <typeinfo>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace nn_interpretability {
namespace detail {
namespace {

// "GradCam: ..." or "SmoothGrad (base): ...": a message that already says who failed.
bool starts_with_class_name(const std::string& message) {
  size_t i = 0;
  while (i < message.size() && (std::isalnum(static_cast<unsigned char>(message[i])) || message[i] == '_')) ++i;
  if (i == 0 || !std::isupper(static_cast<unsigned char>(message[0]))) return false;
  return message.compare(i, 2, ": ") == 0;
}

template <typename Error>
[[noreturn]] void throw_as(const c10::Error& error, std::string message) {
  throw Error(std::move(message), error.backtrace(), error.caller());
}

}  // namespace

void rethrow_named(const std::string& class_name) {
  try {
    throw;
  } catch (const c10::Error& error) {
    const std::string message = error.what_without_backtrace();
    if (starts_with_class_name(message)) throw;
    std::string named = class_name + ": " + message;
    // The most derived type first, so callers catching c10::ValueError etc. still catch it.
    if (dynamic_cast<const c10::ValueError*>(&error)) throw_as<c10::ValueError>(error, std::move(named));
    if (dynamic_cast<const c10::IndexError*>(&error)) throw_as<c10::IndexError>(error, std::move(named));
    if (dynamic_cast<const c10::TypeError*>(&error)) throw_as<c10::TypeError>(error, std::move(named));
    if (dynamic_cast<const c10::NotImplementedError*>(&error))
      throw_as<c10::NotImplementedError>(error, std::move(named));
    if (typeid(error) == typeid(c10::Error)) throw_as<c10::Error>(error, std::move(named));
    throw;  // another c10::Error subclass (e.g. out of memory): keep its type and message
  }
}

}  // namespace detail

void Attribution::check_input_shape(const torch::Tensor& /*input*/) const {}

torch::Tensor Attribution::attribute(const torch::Tensor& input, const Target& target) {
  const std::string name = class_name();
  return detail::naming_errors(name, [&] {
    if (input.defined()) check_input_shape(input);
    model().check_input(input, name.c_str());
    return compute(input, target);
  });
}

torch::Tensor Attribution::attribute(const torch::Tensor& input, const std::vector<Target>& targets) {
  const std::string name = class_name();
  return detail::naming_errors(name, [&] {
    TORCH_CHECK_VALUE(!targets.empty(), "attribute: the list of targets is empty");
    if (input.defined()) check_input_shape(input);
    model().check_input(input, name.c_str());
    return compute_several(input, targets);
  });
}

torch::Tensor Attribution::compute_several(const torch::Tensor& input, const std::vector<Target>& targets) {
  const int64_t batch = input.size(0);
  const auto count = static_cast<int64_t>(targets.size());
  bool all_classes = !model().backend().is_training();  // train mode: a stacked batch changes BatchNorm
  for (const Target& target : targets) all_classes = all_classes && target.is_class();
  if (all_classes && count > 1) {
    std::vector<int64_t> times(static_cast<size_t>(input.dim()), 1);
    times[0] = count;
    const torch::Tensor result = compute(input.repeat(times), Target::stacked(targets, batch));
    std::vector<int64_t> shape = result.sizes().vec();
    shape[0] = batch;
    shape.insert(shape.begin(), count);
    return result.view(shape).transpose(0, 1).contiguous();
  }
  std::vector<torch::Tensor> maps;
  for (const Target& target : targets) maps.push_back(compute(input, target));
  return at::stack(maps, 1);
}

}  // namespace nn_interpretability
