#pragma once

#include <string>
#include <utility>

#include "nn_interpretability/cam/grad_cam.h"
#include "nn_interpretability/gradient/guided_backprop.h"

namespace nn_interpretability {

struct GuidedGradCamOptions : CamOptionsBase<GuidedGradCamOptions> {
  /// `layer`: the dotted name of the Grad-CAM layer, e.g. "layer4".
  /// Defaults: relu on, upsample kBilinear (the map must be upsampled: kNone is refused).
  GuidedGradCamOptions(std::string layer)  // NOLINT(google-explicit-constructor)
      : CamOptionsBase(std::move(layer), /*relu=*/true, Upsample::kBilinear) {}
  GuidedGradCamOptions(const char* layer)  // NOLINT(google-explicit-constructor)
      : CamOptionsBase(layer, /*relu=*/true, Upsample::kBilinear) {}
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
class GuidedGradCam : public ModelAttribution {
 public:
  GuidedGradCam(Model model, GuidedGradCamOptions options);

  std::string name() const override { return "guided_grad_cam"; }
  std::string class_name() const override { return "GuidedGradCam"; }
  const GuidedGradCamOptions& options() const { return options_; }
  /// The two methods it combines, with the same model and options (for comparisons).
  GradCam& grad_cam() { return grad_cam_; }
  GuidedBackprop& guided_backprop() { return guided_backprop_; }

 protected:
  void check_input_shape(const torch::Tensor& input) const override;
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;

 private:
  GuidedGradCamOptions options_;
  GradCam grad_cam_;
  GuidedBackprop guided_backprop_;
};

}  // namespace nn_interpretability
