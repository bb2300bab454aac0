#pragma once
// The CAM family's base, in the spirit of pytorch-grad-cam's BaseCAM: one forward pass with the
// layer captured, the gradient where the method needs it, then each method's own channel weights
// (or map), and the shared finish: ReLU, upsampling to the input's size, a finite-values check.

#include <string>
#include <utility>

#include <torch/types.h>

#include "nn_interpretability/cam/upsample.h"
#include "nn_interpretability/core/attribution.h"

namespace nn_interpretability {

/// What every CAM method is configured with: the layer, the final ReLU and the upsampling.
struct CamMapOptions {
  std::string layer;                    ///< dotted layer name, e.g. "layer4"
  bool relu = true;                     ///< keep only the positive part of the map
  Upsample upsample = Upsample::kNone;  ///< kNone: the raw layer-resolution map
};

/// The options struct of a CAM method derives from this (`Derived` is the struct itself), so
/// `GradCamOptions("layer4").relu(false).upsample(Upsample::kBilinear)` chains and keeps its type,
/// and each method adds only its own fields.
template <typename Derived>
class CamOptionsBase {
 public:
  /// The dotted name of the layer whose output [N, K, h, w] is explained, e.g. "layer4" (required).
  Derived& layer(std::string layer) {
    map_.layer = std::move(layer);
    return self();
  }
  const std::string& layer() const noexcept { return map_.layer; }
  /// Keep only the positive part of the summed map.
  Derived& relu(bool relu) {
    map_.relu = relu;
    return self();
  }
  bool relu() const noexcept { return map_.relu; }
  /// Resize the map to the input's H×W; kNone returns the raw layer-resolution map.
  Derived& upsample(Upsample upsample) {
    map_.upsample = upsample;
    return self();
  }
  Upsample upsample() const noexcept { return map_.upsample; }

  const CamMapOptions& map_options() const noexcept { return map_; }

 protected:
  explicit CamOptionsBase(std::string layer, bool relu = true, Upsample upsample = Upsample::kNone)
      : map_{std::move(layer), relu, upsample} {}

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
  CamMapOptions map_;
};

/// A CAM method: supplies the raw map [N, 1, h, w] of the captured layer; the base applies the
/// ReLU and the upsampling and checks the result.
class CamMethod : public ModelAttribution {
 public:
  const CamMapOptions& map_options() const { return map_options_; }

 protected:
  CamMethod(Model model, CamMapOptions options);

  /// The method's map [N, 1, h, w] at the layer's resolution, before the ReLU.
  virtual torch::Tensor raw_map(const torch::Tensor& input, const Target& target) = 0;

 private:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) final;

  CamMapOptions map_options_;
};

/// A CAM method that weights the layer's activation A by something computed from its gradient
/// G = ∂score/∂A: map = Σ_k (w ⊙ A)_k. Grad-CAM, Grad-CAM++ and LayerCAM supply only w.
class GradientCamMethod : public CamMethod {
 protected:
  using CamMethod::CamMethod;

  /// The channel weights from A and G (both [N, K, h, w]): [N, K, 1, 1] or [N, K, h, w].
  virtual torch::Tensor channel_weights(const torch::Tensor& activation, const torch::Tensor& gradient) const = 0;

 private:
  torch::Tensor raw_map(const torch::Tensor& input, const Target& target) final;
};

}  // namespace nn_interpretability
