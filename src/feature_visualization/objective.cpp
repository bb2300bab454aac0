#include "nn_interpretability/feature_visualization/objective.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "nn_interpretability/model/layer.h"

namespace nn_interpretability {

Target Objective::class_target(torch::Tensor classes, const char* factory) {
  TORCH_CHECK_VALUE(classes.defined(), "Objective::", factory, ": the class-index tensor is undefined");
  TORCH_CHECK_TYPE(!classes.is_floating_point() && !classes.is_complex() && classes.scalar_type() != at::kBool,
                   "Objective::", factory, ": class indices must be an integer tensor, got ", classes.scalar_type());
  TORCH_CHECK_VALUE(classes.dim() <= 1, "Objective::", factory,
                    ": class indices must have shape [N] (one class per row) or be 0-d, got shape ", classes.sizes());
  TORCH_CHECK_VALUE(classes.numel() > 0, "Objective::", factory, ": the class-index tensor is empty");
  return Target(std::move(classes));
}

Objective Objective::single(Term term) {
  Objective objective;
  objective.terms_.push_back(std::move(term));
  return objective;
}

Objective Objective::class_logit(int64_t class_index) {
  TORCH_CHECK_INDEX(class_index >= 0, "Objective::class_logit: class index ", class_index, " is negative");
  return single({Kind::kClassLogit, 1.0, Target(class_index), {}, {}});
}
Objective Objective::class_logit(torch::Tensor classes) {
  return single({Kind::kClassLogit, 1.0, class_target(std::move(classes), "class_logit"), {}, {}});
}
Objective Objective::class_log_softmax(int64_t class_index) {
  TORCH_CHECK_INDEX(class_index >= 0, "Objective::class_log_softmax: class index ", class_index, " is negative");
  return single({Kind::kClassLogSoftmax, 1.0, Target(class_index), {}, {}});
}
Objective Objective::class_log_softmax(torch::Tensor classes) {
  return single({Kind::kClassLogSoftmax, 1.0, class_target(std::move(classes), "class_log_softmax"), {}, {}});
}
Objective Objective::neuron(std::string layer, int64_t flat_index) {
  TORCH_CHECK_VALUE(!layer.empty(), "Objective::neuron: the layer name is empty");
  TORCH_CHECK_INDEX(flat_index >= 0, "Objective::neuron: index ", flat_index, " is negative");
  return single({Kind::kNeuronFlat, 1.0, Target(), std::move(layer), {flat_index}});
}
Objective Objective::neuron(std::string layer, int64_t channel, int64_t y, int64_t x) {
  TORCH_CHECK_VALUE(!layer.empty(), "Objective::neuron: the layer name is empty");
  TORCH_CHECK_INDEX(channel >= 0 && y >= 0 && x >= 0, "Objective::neuron: index (", channel, ", ", y, ", ", x,
                    ") has a negative coordinate");
  return single({Kind::kNeuronChw, 1.0, Target(), std::move(layer), {channel, y, x}});
}
Objective Objective::channel(std::string layer, int64_t channel) {
  TORCH_CHECK_VALUE(!layer.empty(), "Objective::channel: the layer name is empty");
  TORCH_CHECK_INDEX(channel >= 0, "Objective::channel: channel ", channel, " is negative");
  return single({Kind::kChannel, 1.0, Target(), std::move(layer), {channel}});
}

Objective Objective::operator+(const Objective& other) const {
  Objective sum = *this;
  sum.terms_.insert(sum.terms_.end(), other.terms_.begin(), other.terms_.end());
  return sum;
}

Objective Objective::operator-(const Objective& other) const { return *this + other * -1.0; }

Objective Objective::operator*(double weight) const {
  TORCH_CHECK_VALUE(std::isfinite(weight), "Objective: the weight must be finite, got ", weight);
  Objective scaled = *this;
  for (Term& term : scaled.terms_) term.weight *= weight;
  return scaled;
}

bool Objective::has_class_term() const {
  return std::any_of(terms_.begin(), terms_.end(), [](const Term& term) {
    return term.kind == Kind::kClassLogit || term.kind == Kind::kClassLogSoftmax;
  });
}

torch::Tensor Objective::class_indices(const torch::Tensor& output) const {
  for (const Term& term : terms_) {
    if (term.kind == Kind::kClassLogit || term.kind == Kind::kClassLogSoftmax) return term.classes.class_indices(output);
  }
  return torch::Tensor();
}

std::vector<std::string> Objective::layers() const {
  std::vector<std::string> names;
  for (const Term& term : terms_) {
    if (term.layer.empty()) continue;
    if (std::find(names.begin(), names.end(), term.layer) == names.end()) names.push_back(term.layer);
  }
  return names;
}

std::string Objective::describe() const {
  std::ostringstream out;
  for (size_t i = 0; i < terms_.size(); ++i) {
    const Term& term = terms_[i];
    out << (i ? " + " : "") << term.weight << "*";
    switch (term.kind) {
      case Kind::kClassLogit: out << "class_logit"; break;
      case Kind::kClassLogSoftmax: out << "class_log_softmax"; break;
      case Kind::kNeuronFlat: out << "neuron(" << term.layer << ", " << term.index[0] << ")"; break;
      case Kind::kNeuronChw:
        out << "neuron(" << term.layer << ", " << term.index[0] << ", " << term.index[1] << ", " << term.index[2] << ")";
        break;
      case Kind::kChannel: out << "channel(" << term.layer << ", " << term.index[0] << ")"; break;
    }
  }
  return out.str();
}

namespace {

torch::Tensor four_d(const torch::Tensor& activation, const std::string& layer, const char* what) {
  TORCH_CHECK_VALUE(activation.dim() == 4, "Objective::", what, ": layer '", layer, "' outputs shape ",
                    activation.sizes(), "; ", what, " (channel, ...) needs a 4-D output [N, C, H, W]");
  return activation;
}

}  // namespace

ObjectiveEvaluation Objective::evaluate(const Model& model, const torch::Tensor& input) const {
  TORCH_CHECK_VALUE(!terms_.empty(), "Objective: the objective has no terms");
  const std::vector<std::string> names = layers();
  std::vector<torch::Tensor> activations;
  torch::Tensor output;
  if (names.empty()) {
    output = model.forward(input);
  } else {
    // One forward pass captures every layer the objective names.
    const std::vector<LayerRequest> requests(names.begin(), names.end());
    LayersForward captured = forward_with_layers(model, input, requests);
    output = captured.output;
    for (const LayerCapture& layer : captured.layers) activations.push_back(layer.value());
  }
  const int64_t batch = input.size(0);
  torch::Tensor log_probabilities;
  torch::Tensor scores;
  for (const Term& term : terms_) {
    torch::Tensor value;
    switch (term.kind) {
      case Kind::kClassLogit:
        value = term.classes.scores(output);
        break;
      case Kind::kClassLogSoftmax: {
        torch::Tensor classes = term.classes.class_indices(output);
        if (!log_probabilities.defined()) log_probabilities = output.log_softmax(1);
        value = log_probabilities.gather(1, classes.unsqueeze(1)).squeeze(1);
        break;
      }
      case Kind::kNeuronFlat:
      case Kind::kNeuronChw:
      case Kind::kChannel: {
        const size_t position = static_cast<size_t>(std::find(names.begin(), names.end(), term.layer) - names.begin());
        const torch::Tensor& activation = activations[position];
        TORCH_CHECK_VALUE(activation.dim() >= 1 && activation.size(0) == batch, "Objective: layer '", term.layer,
                          "' outputs shape ", activation.sizes(), ", not one row per example of a batch of ", batch);
        if (term.kind == Kind::kNeuronFlat) {
          torch::Tensor flat = activation.reshape({batch, -1});
          TORCH_CHECK_INDEX(term.index[0] < flat.size(1), "Objective::neuron: index ", term.index[0],
                            " is out of range: layer '", term.layer, "' has ", flat.size(1),
                            " elements per example (shape ", activation.sizes(), ")");
          value = flat.select(1, term.index[0]);
        } else if (term.kind == Kind::kNeuronChw) {
          four_d(activation, term.layer, "neuron");
          TORCH_CHECK_INDEX(term.index[0] < activation.size(1) && term.index[1] < activation.size(2) &&
                                term.index[2] < activation.size(3),
                            "Objective::neuron: index (", term.index[0], ", ", term.index[1], ", ", term.index[2],
                            ") is out of range: layer '", term.layer, "' outputs shape ", activation.sizes());
          value = activation.select(1, term.index[0]).select(1, term.index[1]).select(1, term.index[2]);
        } else {
          four_d(activation, term.layer, "channel");
          TORCH_CHECK_INDEX(term.index[0] < activation.size(1), "Objective::channel: channel ", term.index[0],
                            " is out of range: layer '", term.layer, "' has ", activation.size(1),
                            " channels (shape ", activation.sizes(), ")");
          value = activation.select(1, term.index[0]).mean({1, 2});
        }
        break;
      }
    }
    value = term.weight == 1.0 ? value : value * term.weight;
    scores = scores.defined() ? scores + value : value;
  }
  return {scores, output};
}

}  // namespace nn_interpretability
