#pragma once
// The CAM family's base, in the spirit of pytorch-grad-cam's BaseCAM: one forward pass with the
// layers captured (and rearranged into [N, C, h, w]), the gradient where the method needs it, then
// each method's own channel weights w, the map Σ_k w_k A_k (or the first principal component of
// w ⊙ A), and the shared finish: ReLU, test-time augmentation, several layers fused, upsampling
// to the input's size, a finite-values check. docs/architecture.md draws the path.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "nn_interpretability/cam/layer_reshape.h"
#include "nn_interpretability/cam/upsample.h"
#include "nn_interpretability/core/attribution.h"

namespace nn_interpretability {

/// What every CAM method is configured with.
struct CamMapOptions {
  std::vector<std::string> layers;      ///< dotted layer names, e.g. {"layer4"}; several are fused
  bool relu = true;                     ///< keep only the positive part of each map
  Upsample upsample = Upsample::kNone;  ///< kNone: the raw layer-resolution map (one layer only)
  LayerReshape reshape;                 ///< how each layer's output becomes [N, C, h, w]
  bool eigen_smooth = false;            ///< the first principal component of w ⊙ A instead of Σ_k
  bool aug_smooth = false;              ///< average over flips and brightness factors (see CamOptionsBase)
};

/// The options struct of a CAM method derives from this (`Derived` is the struct itself), so
/// `GradCamOptions("layer4").relu(false).upsample(Upsample::kBilinear)` chains and keeps its type,
/// and each method adds only its own fields.
template <typename Derived>
class CamOptionsBase {
 public:
  /// The dotted name of the layer whose output [N, K, h, w] is explained, e.g. "layer4" (required).
  Derived& layer(std::string layer) {
    map_.layers = {std::move(layer)};
    return self();
  }
  /// The first (usually the only) layer; "" when none is set.
  const std::string& layer() const noexcept {
    static const std::string none;
    return map_.layers.empty() ? none : map_.layers.front();
  }
  /// Several layers, fused: each layer's map (after the ReLU) is resized to the input's H × W
  /// (bilinear unless `upsample` says otherwise), scaled to [0, 1] per example by its min and max
  /// (a flat map gives zeros), and the maps are averaged, as pytorch-grad-cam fuses target layers.
  /// All layers are captured in one forward pass (and one backward pass for gradient methods).
  Derived& layers(std::vector<std::string> layers) {
    map_.layers = std::move(layers);
    return self();
  }
  const std::vector<std::string>& layers() const noexcept { return map_.layers; }
  /// Keep only the positive part of the map.
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
  /// How the layer's output becomes [N, C, h, w]: LayerReshape::tokens() for vision-transformer
  /// tokens, LayerReshape::channels_last() for Swin. Default: none (the output already is).
  Derived& reshape(LayerReshape reshape) {
    map_.reshape = std::move(reshape);
    return self();
  }
  const LayerReshape& reshape() const noexcept { return map_.reshape; }
  /// The map is the first principal component of the weighted activations w ⊙ A over the positions
  /// (centred per channel, sign chosen so the larger magnitude is positive) instead of their sum
  /// over channels: pytorch-grad-cam's eigen_smooth, which removes much of the noise.
  Derived& eigen_smooth(bool eigen_smooth) {
    map_.eigen_smooth = eigen_smooth;
    return self();
  }
  bool eigen_smooth() const noexcept { return map_.eigen_smooth; }
  /// Test-time augmentation (pytorch-grad-cam's aug_smooth, its default ttach transforms): the map
  /// is computed for the six inputs flip(X)·f, flip ∈ {no, horizontal}, f ∈ {1.0, 0.9, 1.1} (the
  /// pixel values scaled, not the image resized), each flipped back, and averaged. One call on 6 × N
  /// rows; the target is resolved once, on the unaugmented input.
  Derived& aug_smooth(bool aug_smooth) {
    map_.aug_smooth = aug_smooth;
    return self();
  }
  bool aug_smooth() const noexcept { return map_.aug_smooth; }

  const CamMapOptions& map_options() const noexcept { return map_; }

 protected:
  explicit CamOptionsBase(std::string layer, bool relu = true, Upsample upsample = Upsample::kNone) {
    map_.layers = {std::move(layer)};
    map_.relu = relu;
    map_.upsample = upsample;
  }

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
  CamMapOptions map_;
};

/// One captured layer as a CAM method sees it.
struct CamLayer {
  std::string name;          ///< as requested, e.g. "layer4" or "layer4.0.relu@first"
  torch::Tensor output;      ///< the layer's own output (before the reshape), detached
  torch::Tensor activation;  ///< A: the output rearranged to [N, K, h, w], detached
  torch::Tensor gradient;    ///< ∂ score / ∂ A, same shape; undefined for gradient-free methods
  int64_t calls = 1;         ///< how many times the layer ran in the pass
};

/// The forward pass the layers were captured in, for methods whose weights need more forward
/// passes (Score-CAM's masked inputs, Ablation-CAM's ablated channels).
struct CamPass {
  torch::Tensor input;   ///< the rows the layers were captured on (6 × N with aug_smooth)
  Target target;         ///< resolved: class indices or a score function, one per row
  torch::Tensor output;  ///< the model's output on `input`, detached
  /// The model's output on the copies that rode along in the capture pass (CamRideAlong), copy by
  /// copy [copies × rows, ...]; undefined when none did.
  torch::Tensor ride_along_output;
};

/// Copies of the rows that a gradient-free method has run in the capture pass itself, after the rows,
/// with the layer's output changed by `change` for them (Ablation-CAM's ablated channels): one forward
/// pass instead of two, which matters where a pass costs little more than its fixed overhead.
struct CamRideAlong {
  int64_t copies = 0;  ///< 0: none, the capture pass runs the rows alone
  /// The call of the layer changed (and captured), and how many calls the pass must see for it to be
  /// that call; on any other count the base runs the capture pass again without the copies.
  int64_t call = 0;
  int64_t expected_calls = 1;
  /// The layer's output for all (1 + copies) × rows rows → what the rest of the model sees; the
  /// first block (the rows themselves) must come back unchanged. An undefined result declines (the
  /// output is not what the copies were planned for): the pass goes on unchanged and the copies'
  /// outputs are dropped.
  std::function<torch::Tensor(const torch::Tensor&)> change;
};

/// A CAM method: supplies its channel weights w for each captured layer; the base does the rest.
class CamMethod : public ModelAttribution {
 public:
  const CamMapOptions& map_options() const { return map_options_; }

 protected:
  /// Checks the options (a message names `class_name` and the option). `uses_gradients`: whether
  /// the layers' gradients are computed (one backward pass, down to the deepest layer only).
  CamMethod(Model model, CamMapOptions options, const char* class_name, bool uses_gradients);

  /// w for one layer, broadcastable to its activation: [N, K, 1, 1] or [N, K, h, w]; a 0-d tensor
  /// means w = 1 (the activations themselves).
  virtual torch::Tensor layer_weights(const CamLayer& layer, const CamPass& pass) = 0;

  /// w ⊙ A [N, K, h, w] → the map [N, 1, h, w], before the ReLU: Σ_k, or with eigen_smooth the first
  /// principal component. EigenCAM-style methods override it.
  virtual torch::Tensor reduce_channels(const torch::Tensor& weighted) const;

  /// What rides along in the capture pass (asked only of gradient-free methods with one layer).
  /// Default: nothing.
  virtual CamRideAlong ride_along(const torch::Tensor& rows);

  /// 4-D inputs where the map is resized, layers are fused or the input is flipped.
  void check_input_shape(const torch::Tensor& input) const override;

  /// For constructors of methods that take exactly one layer (the message names the method).
  void require_one_layer(const char* class_name, const char* why) const;

 private:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) final;
  /// One forward pass for all targets: one backward to the layers per target (gradient CAMs).
  torch::Tensor compute_several(const torch::Tensor& input, const std::vector<Target>& targets) final;
  /// For each target, one map [rows, 1, h_l, w_l] per layer, before the ReLU; `rows` holds copies of
  /// a batch of `batch` examples (6 with aug_smooth), the first copy unaugmented.
  std::vector<std::vector<torch::Tensor>> layer_maps(const torch::Tensor& rows, int64_t batch,
                                                     const std::vector<Target>& targets);
  /// The result [N, 1, H, W] (or [N, 1, h, w]) from one target's layer maps.
  torch::Tensor finished_map(std::vector<torch::Tensor> maps, const torch::Tensor& input) const;

  CamMapOptions map_options_;
  bool uses_gradients_;
};

/// A CAM method whose weights are a function of the layer's activation A and its gradient
/// G = ∂score/∂A only: Grad-CAM, Grad-CAM++, LayerCAM, HiResCAM, XGrad-CAM supply only that function.
class GradientCamMethod : public CamMethod {
 protected:
  GradientCamMethod(Model model, CamMapOptions options, const char* class_name)
      : CamMethod(std::move(model), std::move(options), class_name, /*uses_gradients=*/true) {}

  /// The channel weights from A and G (both [N, K, h, w]): [N, K, 1, 1] or [N, K, h, w].
  virtual torch::Tensor channel_weights(const torch::Tensor& activation, const torch::Tensor& gradient) const = 0;

 private:
  torch::Tensor layer_weights(const CamLayer& layer, const CamPass& pass) final;
};

}  // namespace nn_interpretability
