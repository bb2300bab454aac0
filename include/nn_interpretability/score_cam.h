#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <torch/arg.h>

#include "nn_interpretability/attribution.h"
#include "nn_interpretability/model.h"
#include "nn_interpretability/upsample.h"

namespace nn_interpretability {

struct ScoreCamOptions {
  /// `layer`: the dotted name of the layer whose channels become masks, e.g. "layer4".
  ScoreCamOptions(std::string layer) : layer_(std::move(layer)) {}  // NOLINT(google-explicit-constructor)
  ScoreCamOptions(const char* layer) : layer_(layer) {}             // NOLINT(google-explicit-constructor)
  /// The layer explained (required).
  TORCH_ARG(std::string, layer);
  /// Masked inputs per forward pass; bounds memory at batch_size × (one input) per call.
  TORCH_ARG(int64_t, batch_size) = 64;
  /// Keep only the positive part of the map, as in the paper.
  TORCH_ARG(bool, relu) = true;
  /// Resize the map to the input's H×W; kNone (the default) returns the raw layer-resolution map.
  TORCH_ARG(Upsample, upsample) = Upsample::kNone;
};

/// Score-CAM: gradient-free. Each channel A_k of the layer is upsampled to the input's size
/// (bilinear, align_corners = false) and min-max normalized to [0, 1] per example (a constant channel
/// gives an all-zero mask), the input is multiplied by that mask H_k, and the channel's weight is the
/// model's softmax probability of the target class on X ∘ H_k. No baseline is subtracted (as in the
/// authors' code and pytorch-grad-cam; equivalently a baseline of probability 0).
/// map = ReLU(Σ_k α_k A_k), at the layer's resolution. A score-function target is applied to the
/// masked outputs as is (no softmax). Costs N × K forward passes, run without autograd in batches of
/// `batch_size`.
/// Wang et al., "Score-CAM: Score-Weighted Visual Explanations for Convolutional Neural Networks",
/// CVPR workshops 2020.
/// Result: [N, 1, h, w] at the layer's resolution (or [N, 1, H, W] with `upsample`), raw.
///
/// Example:
///   nn_interpretability::ScoreCam method(model, nn_interpretability::ScoreCamOptions("layer4").batch_size(32));
///   torch::Tensor maps = method.attribute(images, labels);
class ScoreCam : public Attribution {
 public:
  ScoreCam(Model model, ScoreCamOptions options) : model_(std::move(model)), options_(std::move(options)) {}

  torch::Tensor attribute(const torch::Tensor& input, const Target& target = Target()) override;
  std::string name() const override { return "score_cam"; }

  const Model& model() const override { return model_; }
  const ScoreCamOptions& options() const { return options_; }

 private:
  Model model_;
  ScoreCamOptions options_;
};

}  // namespace nn_interpretability
