#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <torch/arg.h>

#include "nn_interpretability/cam/cam_method.h"
#include "nn_interpretability/core/rows_per_call.h"

namespace nn_interpretability {

struct AblationCamOptions : CamOptionsBase<AblationCamOptions> {
  /// `layer`: the dotted name of the layer whose channels are ablated, e.g. "layer4".
  /// Defaults: relu on, upsample kNone.
  AblationCamOptions(std::string layer) : CamOptionsBase(std::move(layer)) {}  // NOLINT(google-explicit-constructor)
  AblationCamOptions(const char* layer) : CamOptionsBase(layer) {}             // NOLINT(google-explicit-constructor)
  /// Ablated copies per forward pass (N × K in all); 0 = all in one call; kAutomaticRowsPerCall =
  /// about 320 within `memory_budget` (rows_per_call.h).
  TORCH_ARG(int64_t, rows_per_call) = 64;
  /// Input bytes per call the automatic choice stays within.
  TORCH_ARG(int64_t, memory_budget) = kDefaultRowsPerCallBudget;
};

/// Ablation-CAM: gradient-free. For each channel k the layer's output is replaced by itself with
/// channel k set to 0 and the rest of the model is run; the channel's weight is the relative drop
/// of the target score, α_k = (y_c − y_c^k) / y_c, and map = ReLU(Σ_k α_k A_k). The paper's zero
/// ablation everywhere; pytorch-grad-cam instead sets the channel to min(A) − 10⁷ where the layer's
/// output is not ≥ 0 (the two agree after a ReLU). The score y_c is the model's output for a class
/// target (the logit, no softmax) or the score function's value; a score of exactly 0 is refused
/// (the relative drop is undefined). Costs N × K forward passes without autograd, `rows_per_call`
/// at a time; the layers before the ablated one are recomputed for each (no caching). From the
/// second call on rows of the same shape (eval mode), the first `rows_per_call` ablated rows ride
/// along in the capture pass of the clean rows, zeroed in the layer's own output there: a call whose
/// K × N rows fit in one call costs one forward pass of (K + 1) × N rows.
/// Desai & Ramaswamy, "Ablation-CAM: Visual Explanations for Deep Convolutional Network via
/// Gradient-free Localization", WACV 2020.
/// Result: [N, 1, h, w] at the layer's resolution (or [N, 1, H, W] with `upsample`), raw.
///
/// Example:
///   nn_interpretability::AblationCam method(model, nn_interpretability::AblationCamOptions("layer4"));
///   torch::Tensor maps = method.attribute(images, labels);
class AblationCam : public CamMethod {
 public:
  AblationCam(Model model, AblationCamOptions options);

  std::string name() const override { return "ablation_cam"; }
  std::string class_name() const override { return "AblationCam"; }
  const AblationCamOptions& options() const { return options_; }

 protected:
  /// α_k, [N, K, 1, 1], from the ablated forward passes.
  torch::Tensor layer_weights(const CamLayer& layer, const CamPass& pass) override;

  /// From the second call on rows of the same shape, dtype and device (eval mode): the first ablated
  /// channels ride along in the capture pass, so a call that fits in one pass runs one forward pass.
  CamRideAlong ride_along(const torch::Tensor& rows) override;

 private:
  /// What the last call saw of the layer, for planning the next call's capture pass.
  struct Learned {
    std::vector<int64_t> row_shape;
    at::ScalarType dtype = at::kFloat;
    c10::Device device = c10::Device(c10::kCPU);
    int64_t channels = 0;  ///< 0: nothing learned yet
    int64_t calls = 0;
  };
  struct LearnedState {
    std::mutex mutex;
    Learned value;
  };
  /// Ablated rows per forward pass for `channels` ablated copies of `rows`.
  int64_t rows_per_pass(const torch::Tensor& rows, int64_t channels) const;

  AblationCamOptions options_;
  std::shared_ptr<LearnedState> learned_;  // shared by copies of the method
};

}  // namespace nn_interpretability
