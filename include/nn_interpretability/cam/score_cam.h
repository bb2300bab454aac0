#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <torch/arg.h>

#include "nn_interpretability/cam/cam_method.h"
#include "nn_interpretability/core/rows_per_call.h"

namespace nn_interpretability {

struct ScoreCamOptions : CamOptionsBase<ScoreCamOptions> {
  /// `layer`: the dotted name of the layer whose channels become masks, e.g. "layer4".
  /// Defaults: relu on, upsample kNone.
  ScoreCamOptions(std::string layer) : CamOptionsBase(std::move(layer)) {}  // NOLINT(google-explicit-constructor)
  ScoreCamOptions(const char* layer) : CamOptionsBase(layer) {}  // NOLINT(google-explicit-constructor)
  /// Masked inputs per forward pass (N × K in all); 0 = all in one call; kAutomaticRowsPerCall =
  /// about 320 within `memory_budget` (rows_per_call.h). Bounds memory at rows_per_call inputs.
  TORCH_ARG(int64_t, rows_per_call) = 64;
  /// Input bytes per call the automatic choice stays within.
  TORCH_ARG(int64_t, memory_budget) = kDefaultRowsPerCallBudget;
};

/// Score-CAM: gradient-free. Each channel A_k of the layer is upsampled to the input's size
/// (bilinear, align_corners = false) and min-max normalized to [0, 1] per example (a constant channel
/// gives an all-zero mask), the input is multiplied by that mask H_k, and the channel's weight is the
/// model's softmax probability of the target class on X ∘ H_k. No baseline is subtracted (as in the
/// authors' code and pytorch-grad-cam; equivalently a baseline of probability 0).
/// map = ReLU(Σ_k α_k A_k), at the layer's resolution. A score-function target is applied to the
/// masked outputs as is (no softmax). Costs N × K forward passes, run without autograd in batches of
/// `rows_per_call`.
/// Wang et al., "Score-CAM: Score-Weighted Visual Explanations for Convolutional Neural Networks",
/// CVPR workshops 2020.
/// Result: [N, 1, h, w] at the layer's resolution (or [N, 1, H, W] with `upsample`), raw.
///
/// Example:
///   nn_interpretability::ScoreCam method(model, nn_interpretability::ScoreCamOptions("layer4").rows_per_call(32));
///   torch::Tensor maps = method.attribute(images, labels);
class ScoreCam : public CamMethod {
 public:
  ScoreCam(Model model, ScoreCamOptions options);

  std::string name() const override { return "score_cam"; }
  std::string class_name() const override { return "ScoreCam"; }
  const ScoreCamOptions& options() const { return options_; }

 protected:
  void check_input_shape(const torch::Tensor& input) const override;
  /// α_k, [N, K, 1, 1], from the masked forward passes.
  torch::Tensor layer_weights(const CamLayer& layer, const CamPass& pass) override;

 private:
  ScoreCamOptions options_;
};

}  // namespace nn_interpretability
