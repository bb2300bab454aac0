#pragma once

#include <string>
#include <utility>

#include <torch/arg.h>
#include <torch/types.h>

#include "nn_interpretability/attribution.h"
#include "nn_interpretability/model.h"
#include "nn_interpretability/upsample.h"

namespace nn_interpretability {

struct CamOptions {
  /// `layer`: the dotted name of the layer that feeds the global average pool, e.g. "layer4".
  CamOptions(std::string layer) : layer_(std::move(layer)) {}  // NOLINT(google-explicit-constructor)
  CamOptions(const char* layer) : layer_(layer) {}             // NOLINT(google-explicit-constructor)
  /// The layer whose output [N, K, h, w] is average-pooled and classified (required).
  TORCH_ARG(std::string, layer);
  /// The classifier's weights [classes, K]. Undefined (the default): found in the model — the last
  /// nn::Linear in named_modules() order for a C++ module, the last 2-D parameter named "*weight" (and
  /// its "*bias") for TorchScript — and checked numerically against the model's output. Given
  /// weights are trusted: only their shape is checked.
  TORCH_ARG(torch::Tensor, weights);
  /// Keep only the positive part of the map. Off by default: the paper's CAM is the raw weighted sum.
  TORCH_ARG(bool, relu) = false;
  /// Resize the map to the input's H×W; kNone (the default) returns the raw layer-resolution map.
  TORCH_ARG(Upsample, upsample) = Upsample::kNone;
};

/// Class activation mapping, for models that end in global average pooling and one linear layer
/// (y_c = Σ_k w_ck mean_ij A_kij + b_c): CAM_c = Σ_k w_ck A_k, the class score before averaging and
/// without the bias (so Σ_ij CAM_c = h·w·(y_c − b_c)). No gradients: one forward pass without
/// autograd. Targets must be class indices (a score function has no classifier row).
/// Zhou et al., "Learning Deep Features for Discriminative Localization", CVPR 2016.
/// Result: [N, 1, h, w] at the layer's resolution (or [N, 1, H, W] with `upsample`), raw.
///
/// Example:
///   nn_interpretability::Cam method(model, nn_interpretability::CamOptions("layer4"));
///   torch::Tensor maps = method.attribute(images, labels);  // [N, 1, 7, 7] for a 224×224 ResNet
class Cam : public Attribution {
 public:
  Cam(Model model, CamOptions options) : model_(std::move(model)), options_(std::move(options)) {}

  torch::Tensor attribute(const torch::Tensor& input, const Target& target = Target()) override;
  std::string name() const override { return "cam"; }

  const Model& model() const override { return model_; }
  const CamOptions& options() const { return options_; }

 private:
  Model model_;
  CamOptions options_;
};

}  // namespace nn_interpretability
