#pragma once

#include <string>
#include <utility>

#include <torch/arg.h>

#include "nn_interpretability/cam/cam_method.h"

namespace nn_interpretability {

struct EigenCamOptions : CamOptionsBase<EigenCamOptions> {
  /// `layer`: the dotted name of the layer whose output [N, K, h, w] is explained, e.g. "layer4".
  /// Defaults: relu on, upsample kNone, center off (the paper's definition).
  EigenCamOptions(std::string layer) : CamOptionsBase(std::move(layer)) {}  // NOLINT(google-explicit-constructor)
  EigenCamOptions(const char* layer) : CamOptionsBase(layer) {}             // NOLINT(google-explicit-constructor)
  /// Subtract each channel's mean over the positions before the SVD, as pytorch-grad-cam does
  /// (off: the paper's SVD of the activations themselves).
  TORCH_ARG(bool, center) = false;
};

/// EigenCAM: class-agnostic, gradient-free. The activation of each example as an [h·w, K] matrix
/// O = U Σ Vᵀ is projected onto its first right singular vector, map = ReLU(O v₁) as [N, 1, h, w].
/// The SVD's sign is arbitrary: the projection is negated where its most negative value is larger
/// in magnitude than its most positive one. One forward pass without autograd plus a small SVD per
/// example. The map does not depend on the target (it is still checked against the output).
/// Muhammad & Yeasin, "Eigen-CAM: Class Activation Map using Principal Components", IJCNN 2020.
/// Result: [N, 1, h, w] at the layer's resolution (or [N, 1, H, W] with `upsample`), raw.
///
/// Example:
///   nn_interpretability::EigenCam method(model, nn_interpretability::EigenCamOptions("layer4"));
///   torch::Tensor maps = method.attribute(images);
class EigenCam : public CamMethod {
 public:
  EigenCam(Model model, EigenCamOptions options);

  std::string name() const override { return "eigen_cam"; }
  std::string class_name() const override { return "EigenCam"; }
  const EigenCamOptions& options() const { return options_; }

 protected:
  /// 1: the activations themselves.
  torch::Tensor layer_weights(const CamLayer& layer, const CamPass& pass) override;
  /// The first principal component (centred when `center`).
  torch::Tensor reduce_channels(const torch::Tensor& weighted) const override;

 private:
  EigenCamOptions options_;
};

}  // namespace nn_interpretability
