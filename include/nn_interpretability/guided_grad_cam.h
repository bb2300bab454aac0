#pragma once

#include <string>
#include <utility>

#include <torch/arg.h>

#include "nn_interpretability/attribution.h"
#include "nn_interpretability/grad_cam.h"
#include "nn_interpretability/guided_backprop.h"
#include "nn_interpretability/model.h"
#include "nn_interpretability/upsample.h"

namespace nn_interpretability {

struct GuidedGradCamOptions {
  /// `layer`: the dotted name of the layer Grad-CAM explains, e.g. "layer4".
  GuidedGradCamOptions(std::string layer) : layer_(std::move(layer)) {}  // NOLINT(google-explicit-constructor)
  GuidedGradCamOptions(const char* layer) : layer_(layer) {}             // NOLINT(google-explicit-constructor)
  /// The layer Grad-CAM explains (required).
  TORCH_ARG(std::string, layer);
  /// ReLU on the Grad-CAM map before the product, as in the paper.
  TORCH_ARG(bool, relu) = true;
  /// How the Grad-CAM map is resized to the input's H×W; kNone is not allowed.
  TORCH_ARG(Upsample, upsample) = Upsample::kBilinear;
};

/// Guided Grad-CAM: guided backpropagation multiplied by the Grad-CAM map upsampled to the input's
/// size, so that the fine-grained guided gradients are kept only where Grad-CAM localizes the class.
/// Both parts come from ONE forward pass: the gradient with respect to the layer is taken first
/// (graph retained), then the graph's ReLUs are switched to the guided rule and the gradient with
/// respect to the input is taken. Equal to GradCam(upsample) × GuidedBackprop, at the cost of one
/// forward and (less than) two backward passes.
/// Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based
/// Localization", ICCV 2017.
/// Result: same shape as the input [N, C, H, W] (the map is broadcast over the channels).
///
/// Example:
///   nn_interpretability::GuidedGradCam method(model, nn_interpretability::GuidedGradCamOptions("layer4"));
///   torch::Tensor attributions = method.attribute(images, labels);
class GuidedGradCam : public Attribution {
 public:
  GuidedGradCam(Model model, GuidedGradCamOptions options);

  torch::Tensor attribute(const torch::Tensor& input, const Target& target = Target()) override;
  std::string name() const override { return "guided_grad_cam"; }

  const Model& model() const override { return grad_cam_.model(); }
  const GuidedGradCamOptions& options() const { return options_; }
  /// The two parts, for use on their own: Grad-CAM (with this method's layer, ReLU and upsampling)
  /// and guided backpropagation.
  GradCam& grad_cam() { return grad_cam_; }
  GuidedBackprop& guided_backprop() { return guided_backprop_; }

 private:
  GuidedGradCamOptions options_;
  GradCam grad_cam_;
  GuidedBackprop guided_backprop_;
};

}  // namespace nn_interpretability
