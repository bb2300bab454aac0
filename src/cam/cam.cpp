// CAM: the classifier row of the target class applied to the layer's channels. The classifier is
// found in the model and the architecture is verified numerically on every call (one cheap check:
// GAP(activation) · Wᵀ + b must reproduce the model's output).
#include "nn_interpretability/cam/cam.h"

#include <algorithm>
#include <string>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/nn/modules/linear.h>


namespace nn_interpretability {
namespace {

struct Classifier {
  torch::Tensor weight;  // [classes, K]
  torch::Tensor bias;    // [classes] or undefined
  std::string name;      // for messages
};

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Classifier find_classifier(const Model& model) {
  detail::ModelBackend& backend = model.backend();
  Classifier found;
  if (auto module = backend.module()) {
    for (const auto& item : module->named_modules("", /*include_self=*/true)) {
      if (auto* linear = dynamic_cast<torch::nn::LinearImpl*>(item.value().get())) {
        found.weight = linear->weight;
        found.bias = linear->bias;
        found.name = item.key().empty() ? std::string("(root)") : item.key();
      }
    }
    TORCH_CHECK_VALUE(found.weight.defined(), "Cam: the ", backend.describe(),
                      " has no nn::Linear layer; give the classifier weights with CamOptions(layer).weights(W)");
  } else if (const torch::jit::Module* script = backend.torchscript_module()) {
    std::string weight_name;
    for (const auto& item : script->named_parameters(/*recurse=*/true)) {
      if (item.value.dim() == 2 && (item.name == "weight" || ends_with(item.name, ".weight"))) {
        found.weight = item.value;
        weight_name = item.name;
      }
    }
    TORCH_CHECK_VALUE(found.weight.defined(), "Cam: the TorchScript model has no 2-D parameter named *weight; ",
                      "give the classifier weights with CamOptions(layer).weights(W)");
    const std::string prefix = weight_name.substr(0, weight_name.size() - std::string("weight").size());
    for (const auto& item : script->named_parameters(/*recurse=*/true))
      if (item.name == prefix + "bias") found.bias = item.value;
    found.name = prefix.empty() ? weight_name : prefix.substr(0, prefix.size() - 1);
  } else {
    TORCH_CHECK_VALUE(false, "Cam: the ", backend.describe(), " shows no classifier layer; give the classifier ",
                      "weights with CamOptions(layer).weights(W)");
  }
  return found;
}

}  // namespace

Cam::Cam(Model model, CamOptions options)
    : CamMethod(std::move(model), options.map_options(), "Cam", /*uses_gradients=*/false),
      options_(std::move(options)) {
  require_one_layer("Cam", "its weights are the classifier's, which sees only the layer feeding the global "
                    "average pool");
  if (options_.weights().defined()) {
    const torch::Tensor& weights = options_.weights();
    TORCH_CHECK_VALUE(weights.dim() == 2, "Cam: the classifier weights must be [classes, channels], got shape ",
                      weights.sizes());
    TORCH_CHECK_TYPE(weights.is_floating_point(), "Cam: the classifier weights must be floating point, got ",
                     weights.scalar_type());
  }
}

torch::Tensor Cam::layer_weights(const CamLayer& layer, const CamPass& pass) {
  const torch::Tensor& activation = layer.activation;
  const torch::Tensor& output = pass.output;
  const int64_t channels = activation.size(1);
  const std::string architecture =
      "the model does not end in global average pooling + one linear layer after '" + layer.name + "'";

  Classifier classifier;
  const bool given = options_.weights().defined();
  if (given) {
    classifier.weight = options_.weights();
    classifier.name = "CamOptions::weights";
  } else {
    classifier = find_classifier(model_);
  }
  torch::Tensor weight = classifier.weight.detach().to(activation.options());
  TORCH_CHECK_VALUE(weight.size(1) == channels, "layer '", layer.name, "' has ", channels, " channels but the ",
                    "classifier '", classifier.name, "' takes ", weight.size(1), " features; ", architecture);
  TORCH_CHECK_VALUE(weight.size(0) == output.size(1), "the classifier '", classifier.name, "' has ",
                    weight.size(0), " rows but the model has ", output.size(1), " classes; ", architecture);
  if (!given) {
    torch::Tensor expected = activation.mean({2, 3}).matmul(weight.t());
    if (classifier.bias.defined()) expected = expected + classifier.bias.detach().to(activation.options());
    const double scale = std::max(1.0, output.abs().max().item<double>());
    const double tolerance = (activation.scalar_type() == at::kDouble ? 1e-8 : 1e-3) * scale;
    const double difference = (output - expected).abs().max().item<double>();
    TORCH_CHECK_VALUE(difference <= tolerance, architecture, " (the output differs from ",
                      "GAP(activation) · Wᵀ + b of the classifier '", classifier.name, "' by up to ", difference,
                      ")");
  }

  torch::Tensor classes = pass.target.class_indices(output);
  TORCH_CHECK_VALUE(classes.defined(), "CAM needs class indices as targets; a score-function target ",
                    "has no classifier row (use GradCam for arbitrary scores)");
  return weight.index_select(0, classes).unsqueeze(2).unsqueeze(3);  // [N, K, 1, 1]
}

}  // namespace nn_interpretability
