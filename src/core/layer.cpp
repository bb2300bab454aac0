#include "nn_interpretability/layer.h"

#include <algorithm>
#include <sstream>

#include <c10/util/Exception.h>

#include "nn_interpretability/detail/checks.h"

namespace nn_interpretability {
namespace {

// The capture requested by forward_with_layer for mark_layer calls in this thread.
struct MarkedLayerCapture {
  const std::string* name = nullptr;
  torch::Tensor value;
};
thread_local MarkedLayerCapture* marked_capture = nullptr;

std::string list_names(const std::vector<std::string>& names) {
  if (names.empty()) return "(none)";
  std::ostringstream out;
  const size_t shown = std::min<size_t>(names.size(), 60);
  for (size_t i = 0; i < shown; ++i) out << (i ? ", " : "") << names[i];
  if (shown < names.size()) out << ", ... (" << names.size() - shown << " more)";
  return out.str();
}

}  // namespace

torch::Tensor mark_layer(const std::string& name, const torch::Tensor& value) {
  if (marked_capture != nullptr && *marked_capture->name == name) marked_capture->value = value;
  return value;
}

std::vector<std::string> layer_names(const Model& model) { return model.backend().layer_names(); }

LayerForward forward_with_layer(const Model& model, const torch::Tensor& input, const std::string& layer) {
  detail::ModelBackend& backend = model.backend();
  const std::vector<std::string> names = backend.layer_names();
  const bool known = std::find(names.begin(), names.end(), layer) != names.end();

  MarkedLayerCapture capture;
  capture.name = &layer;
  MarkedLayerCapture* previous = marked_capture;
  marked_capture = &capture;
  std::pair<torch::Tensor, torch::Tensor> result;
  torch::Tensor output;
  try {
    output = detail::checked_forward(backend, input, [&] {
      if (known) {
        result = backend.forward_with_layer(input, layer);
      } else {
        result = {backend.forward(input), torch::Tensor()};
      }
      return result.first;
    });
  } catch (...) {
    marked_capture = previous;
    throw;
  }
  marked_capture = previous;

  // An explicit mark in the model's forward wins: it is what the model's author calls this layer.
  torch::Tensor activation = capture.value.defined() ? capture.value : result.second;
  TORCH_CHECK_VALUE(known || activation.defined(), "unknown layer '", layer, "'; the ", backend.describe(),
                    " has these layers: ", list_names(names));
  TORCH_CHECK_VALUE(activation.defined(), "layer '", layer, "' of the ", backend.describe(),
                    " cannot be reached automatically: ", backend.unreachable_reason(layer),
                    ". Name a layer with parameters inside it, or mark its output in the model's forward: ",
                    "x = nn_interpretability::mark_layer(\"", layer, "\", x);");
  return {output, activation};
}

}  // namespace nn_interpretability
