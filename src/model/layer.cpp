// Layer capture: the requests, the per-forward session every backend reports to, mark_layer, and
// describe_layers. The backends' own mechanisms are in module_backend.cpp and torchscript_model.cpp.
#include "nn_interpretability/model/layer.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "nn_interpretability/detail/checks.h"
#include "nn_interpretability/detail/layer_session.h"

namespace nn_interpretability {
namespace {

thread_local detail::LayerSession* active_session = nullptr;

std::string list_names(const std::vector<std::string>& names) {
  if (names.empty()) return "(none)";
  std::ostringstream out;
  const size_t shown = std::min<size_t>(names.size(), 60);
  for (size_t i = 0; i < shown; ++i) out << (i ? ", " : "") << names[i];
  if (shown < names.size()) out << ", ... (" << names.size() - shown << " more)";
  return out.str();
}

}  // namespace

// ------------------------------------------------------------------------------ requests

std::string LayerCall::to_string() const {
  if (all_) return "all";
  if (index_ == -1) return "last";
  if (index_ == 0) return "first";
  return std::to_string(index_);
}

LayerCall LayerCall::parse(const std::string& text) {
  if (text == "last") return last();
  if (text == "first") return first();
  if (text == "all") return all();
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  TORCH_CHECK_VALUE(!text.empty() && end != nullptr && *end == '\0',
                    "a layer call must be first, last, all or an integer index, got '", text, "'");
  return index(value);
}

LayerRequest::LayerRequest(const std::string& layer) {
  const size_t at = layer.rfind('@');
  if (at == std::string::npos) {
    layer_ = layer;
    return;
  }
  layer_ = layer.substr(0, at);
  call_ = LayerCall::parse(layer.substr(at + 1));
}

LayerRequest& LayerRequest::replace_with(torch::Tensor value) {
  TORCH_CHECK_VALUE(value.defined(), "LayerRequest::replace_with: the replacement tensor is undefined");
  replace_ = [value = std::move(value)](const torch::Tensor& output) {
    TORCH_CHECK_VALUE(value.dim() <= output.dim(), "the replacement of shape ", value.sizes(),
                      " does not broadcast to the layer's output of shape ", output.sizes());
    // Materialized: an expanded view would break a later in-place operation of the model.
    return value.to(output.options()).expand_as(output).contiguous();
  };
  return *this;
}

const torch::Tensor& LayerCapture::value() const {
  TORCH_CHECK_VALUE(values.size() == 1, "layer '", layer, "': ", values.size(),
                    " calls were captured (LayerCall::all()); one value was expected");
  return values.front();
}

// ------------------------------------------------------------------------------ session

namespace detail {

LayerSession::LayerSession(const std::vector<LayerRequest>& requests, std::vector<int64_t> call_counts)
    : requests_(requests), slots_(requests.size()), previous_(active_session) {
  for (size_t i = 0; i < call_counts.size() && i < slots_.size(); ++i) slots_[i].known_calls = call_counts[i];
  active_session = this;
}

LayerSession::~LayerSession() { active_session = previous_; }

LayerSession* LayerSession::current() { return active_session; }

int64_t LayerSession::slot_of(const std::string& layer) const {
  for (size_t i = 0; i < requests_.size(); ++i)
    if (requests_[i].layer() == layer) return static_cast<int64_t>(i);
  return -1;
}

bool LayerSession::selected(size_t slot, int64_t call_index) const {
  const LayerCall& call = requests_[slot].call();
  if (call.is_all()) return true;
  if (call.index() >= 0) return call_index == call.index();
  const int64_t known = slots_[slot].known_calls;
  return known >= 0 && call_index == known + call.index();
}

torch::Tensor LayerSession::on_call(size_t slot, const torch::Tensor& value, CallSource source) {
  Slot& state = slots_[slot];
  if (!value.defined()) return value;
  if (source != CallSource::kMark && !state.marked.empty()) return value;  // the author's mark wins
  std::vector<Seen>& seen = source == CallSource::kMark ? state.marked : state.other;
  const int64_t call_index = static_cast<int64_t>(seen.size());
  seen.push_back({value, value._version(), source});
  if (source == CallSource::kObservation) return value;  // cannot be swapped; checked in finish()
  const LayerReplacement& replace = requests_[slot].replace();
  if (replace && selected(slot, call_index)) {
    torch::Tensor replacement = replace(value);
    TORCH_CHECK_VALUE(replacement.defined(), "the replacement for layer '", layer(slot), "' is undefined");
    // A replacement that is the output itself would let later in-place operations reach it.
    if (replacement.unsafeGetTensorImpl() == value.unsafeGetTensorImpl()) replacement = replacement.clone();
    return replacement;
  }
  // The rest of the forward pass runs on a copy: an in-place operation after the layer changes the
  // copy, and the captured tensor stays the layer's own output (what a Captum hook hands on).
  return value.clone();
}

int64_t LayerSession::calls(size_t slot) const {
  const Slot& state = slots_[slot];
  return static_cast<int64_t>(state.marked.empty() ? state.other.size() : state.marked.size());
}

bool LayerSession::modified_after_capture(size_t slot) const {
  const Slot& state = slots_[slot];
  const std::vector<Seen>& seen = state.marked.empty() ? state.other : state.marked;
  return !seen.empty() && seen.back().value._version() != seen.back().version;
}

torch::Tensor LayerSession::last_value(size_t slot) const {
  const Slot& state = slots_[slot];
  const std::vector<Seen>& seen = state.marked.empty() ? state.other : state.marked;
  return seen.empty() ? torch::Tensor() : seen.back().value;
}

std::vector<LayerCapture> LayerSession::finish(const std::function<std::string(size_t)>& failure) const {
  std::vector<LayerCapture> captures;
  for (size_t slot = 0; slot < slots_.size(); ++slot) {
    const Slot& state = slots_[slot];
    const std::vector<Seen>& seen = state.marked.empty() ? state.other : state.marked;
    const std::string& name = layer(slot);
    TORCH_CHECK_VALUE(!seen.empty(), failure(slot));
    LayerCapture capture;
    capture.layer = name;
    capture.calls = static_cast<int64_t>(seen.size());
    const LayerCall& call = requests_[slot].call();
    std::vector<size_t> chosen;
    if (call.is_all()) {
      for (size_t i = 0; i < seen.size(); ++i) chosen.push_back(i);
    } else {
      const int64_t index = call.index() >= 0 ? call.index() : capture.calls + call.index();
      TORCH_CHECK_VALUE(index >= 0 && index < capture.calls, "layer '", name, "' ran ", capture.calls,
                        capture.calls == 1 ? " time" : " times", " in this forward pass; call @", call.to_string(),
                        " does not exist (valid: @0 .. @", capture.calls - 1, ", @first, @last, @all)");
      chosen.push_back(static_cast<size_t>(index));
    }
    for (size_t i : chosen) {
      const Seen& item = seen[i];
      TORCH_CHECK_VALUE(item.value._version() == item.version, "the output of layer '", name,
                        "' was modified in place by a later operation of the forward pass (e.g. ReLU(inplace) or "
                        "+=); capturing it would explain the modified tensor. In a C++ forward the library only "
                        "observes this layer's operator and cannot hand the rest of the model a copy: mark it, ",
                        "x = nn_interpretability::mark_layer(\"", name,
                        "\", x); (the mark protects the value), or name the layer after the in-place operation");
      capture.values.push_back(item.value);
    }
    captures.push_back(std::move(capture));
  }
  return captures;
}

}  // namespace detail

// ------------------------------------------------------------------------------ public API

torch::Tensor mark_layer(const std::string& name, const torch::Tensor& value) {
  detail::LayerSession* session = active_session;
  if (session == nullptr) return value;
  const int64_t slot = session->slot_of(name);
  if (slot < 0) return value;
  return session->on_call(static_cast<size_t>(slot), value, detail::CallSource::kMark);
}

std::vector<std::string> layer_names(const Model& model) { return model.backend().layer_names(); }

namespace {

void check_requests(const std::vector<LayerRequest>& layers) {
  TORCH_CHECK_VALUE(!layers.empty(), "forward_with_layers: no layer requested");
  std::unordered_set<std::string> requested;
  for (const LayerRequest& request : layers)
    TORCH_CHECK_VALUE(requested.insert(request.layer()).second, "layer '", request.layer(),
                      "' is requested twice in one forward pass; request it once (LayerCall::all() for every call)");
}

// One forward pass with `layers` captured. A name that is not a module may still be marked with
// mark_layer (in any C++ forward), so unknown names are refused only when nothing marked them.
LayersForward run_with_layers(const Model& model, const torch::Tensor& input, const std::vector<LayerRequest>& layers,
                              const std::vector<int64_t>& call_counts) {
  detail::ModelBackend& backend = model.backend();
  detail::LayerSession session(layers, call_counts);
  torch::Tensor output = detail::checked_forward(backend, input, [&] { return backend.forward_with_layers(input, session); });
  std::vector<LayerCapture> captures = session.finish([&](size_t slot) {  // only on failure
    const std::string& name = session.layer(slot);
    const std::vector<std::string> names = backend.layer_names();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      std::string message =
          "unknown layer '" + name + "'; the " + backend.describe() + " has these layers: " + list_names(names);
      if (names.empty())
        message += " (a forward function reaches layers only through mark_layer: x = nn_interpretability::mark_layer(\"" +
                   name + "\", x);)";
      return message;
    }
    const std::string reason =
        backend.unreachable_reason(name, session.planned(slot), session.wants_replacement(slot));
    if (session.planned(slot)) return "layer '" + name + "' of the " + backend.describe() + ": " + reason;
    return "layer '" + name + "' of the " + backend.describe() + " cannot be reached automatically: " + reason;
  });
  return {output, std::move(captures)};
}

}  // namespace

LayersForward forward_with_layers(const Model& model, const torch::Tensor& input,
                                  const std::vector<LayerRequest>& layers) {
  check_requests(layers);
  // Replacing "the last call" needs the number of calls before the forward pass: count them first.
  bool count_first = false;
  for (const LayerRequest& request : layers)
    count_first |= request.replace() && !request.call().is_all() && request.call().index() < 0;
  std::vector<int64_t> call_counts;
  if (count_first) {
    std::vector<LayerRequest> counting;
    for (const LayerRequest& request : layers) counting.push_back(LayerRequest(request.layer()).call(LayerCall::all()));
    torch::NoGradGuard no_grad;
    for (const LayerCapture& capture : run_with_layers(model, input, counting, {}).layers)
      call_counts.push_back(capture.calls);
  }
  return run_with_layers(model, input, layers, call_counts);
}

LayerForward forward_with_layer(const Model& model, const torch::Tensor& input, const LayerRequest& layer) {
  TORCH_CHECK_VALUE(!layer.call().is_all(), "layer '", layer.layer(),
                    "@all': this needs one activation; choose one call (@first, @last or @<k>)");
  LayersForward result = forward_with_layers(model, input, {layer});
  return {result.output, result.layers.front().value()};
}

std::vector<LayerDescription> describe_layers(const Model& model, const torch::Tensor& example_input) {
  model.check_input(example_input, "describe_layers");
  detail::ModelBackend& backend = model.backend();
  const std::vector<std::string> names = backend.layer_names();
  std::vector<LayerDescription> result;
  if (names.empty()) return result;
  std::vector<LayerRequest> requests;
  for (const std::string& name : names) requests.push_back(LayerRequest(name).call(LayerCall::all()));
  torch::NoGradGuard no_grad;
  detail::LayerSession session(requests);
  detail::checked_forward(backend, example_input, [&] { return backend.forward_with_layers(example_input, session); });
  for (size_t slot = 0; slot < names.size(); ++slot) {
    LayerDescription description;
    description.name = names[slot];
    description.type = backend.layer_type(names[slot]);
    description.calls = session.calls(slot);
    const bool planned = session.planned(slot);
    description.reachable = planned || description.calls > 0;
    if (description.calls > 0) {
      const torch::Tensor value = session.last_value(slot);
      description.output_shape = value.sizes().vec();
      if (session.modified_after_capture(slot)) {
        description.reachable = false;
        description.reason = "its output is modified in place later in the forward pass, and operator observation "
                             "cannot hand the rest of a C++ forward a copy: mark it with mark_layer";
      }
    } else {
      description.reason = backend.unreachable_reason(names[slot], planned, false);
    }
    result.push_back(std::move(description));
  }
  return result;
}

}  // namespace nn_interpretability
