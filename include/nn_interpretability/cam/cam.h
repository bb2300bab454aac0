#pragma once

#include <string>
#include <utility>

#include <torch/arg.h>
#include <torch/types.h>

#include "nn_interpretability/cam/cam_method.h"

namespace nn_interpretability {

struct CamOptions : CamOptionsBase<CamOptions> {
  /// `layer`: the layer whose output [N, K, h, w] feeds the global average pool, e.g. "layer4".
  /// Defaults: relu off (the paper's CAM is signed), upsample kNone.
  CamOptions(std::string layer) : CamOptionsBase(std::move(layer), /*relu=*/false) {}  // NOLINT(google-explicit-constructor)
  CamOptions(const char* layer) : CamOptionsBase(layer, /*relu=*/false) {}  // NOLINT(google-explicit-constructor)
  /// The classifier's weights [classes, K]. Undefined (the default): found in the model — the last
  /// nn::Linear in named_modules() order for a C++ module, the last 2-D parameter named "*weight" (and
  /// its "*bias") for TorchScript — and checked numerically against the model's output. Given
  /// weights are trusted: only their shape is checked.
  TORCH_ARG(torch::Tensor, weights);
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
class Cam : public CamMethod {
 public:
  Cam(Model model, CamOptions options);

  std::string name() const override { return "cam"; }
  std::string class_name() const override { return "Cam"; }
  const CamOptions& options() const { return options_; }

 protected:
  /// The classifier rows of the target classes, [N, K, 1, 1].
  torch::Tensor layer_weights(const CamLayer& layer, const CamPass& pass) override;

 private:
  CamOptions options_;
};

}  // namespace nn_interpretability
