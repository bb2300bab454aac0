#pragma once

#include <string>
#include <vector>

#include <torch/arg.h>

#include "nn_interpretability/cam/upsample.h"
#include "nn_interpretability/core/attribution.h"

namespace nn_interpretability {

/// How FullGrad rescales each term to [0, 1] before adding them up.
enum class FullGradScaling {
  kPerExample,  ///< over all channels of the term, per example (the paper's code, the default)
  kPerChannel,  ///< each channel on its own (pytorch-grad-cam's FullGrad)
};

struct FullGradOptions {
  /// The layers whose bias-gradients are used; empty (the default): every convolution, linear and
  /// BatchNorm layer with a bias, found by type (but a MultiheadAttention's out_proj, which the
  /// attention kernel reads without calling it). Each call of a layer called several times is a term.
  TORCH_ARG(std::vector<std::string>, layers) = {};
  TORCH_ARG(FullGradScaling, scaling) = FullGradScaling::kPerExample;
  /// How the layers' terms are resized to the input (every spatial term needs it).
  TORCH_ARG(Upsample, upsample) = Upsample::kBilinear;
};

/// The full-gradient decomposition of a score: f(x) = Σ ∇ₓf ⊙ x + Σ_layers Σ ∇_z f ⊙ b, exact for
/// models that are piecewise linear in their input and biases (convolutions, linear layers,
/// BatchNorm in eval mode, ReLU, max and average pooling, residual sums).
struct FullGradDecomposition {
  torch::Tensor scores;                   ///< f(x) [N]
  torch::Tensor input_term;               ///< ∇ₓf ⊙ x, shaped like the input
  std::vector<std::string> layers;        ///< per bias term: "name" or, for a reused layer, "name@k"
  std::vector<torch::Tensor> bias_terms;  ///< ∇_z f ⊙ b per layer call, shaped like the layer's output
};

/// FullGrad: the input-gradient term and every layer's bias-gradient term, each made absolute,
/// rescaled to [0, 1], summed over channels and resized to the input; then summed:
///   S(x) = ψ(|∇ₓf ⊙ x|) + Σ_l ψ(|∇_{z_l} f ⊙ b_l|)   (only spatial terms [N, K, h, w] enter the map).
/// BatchNorm's bias is its effective one, β − γ·μ/√(σ² + ε). On transformers the terms do not add
/// up to the score (LayerNorm and softmax are not piecewise linear; the attention's own biases have
/// no output to capture); the map is still defined. The paper's code rescales over all
/// channels at once and resizes with align_corners = true; here bilinear resizing is align_corners =
/// false (as everywhere in this library) and a flat term is 0 (no ε). pytorch-grad-cam rescales per
/// channel, uses only Conv2d and BatchNorm2d layers and min-max normalizes the sum: FullGradScaling::
/// kPerChannel with layers() of those types gives its map before that normalization.
/// Srinivas & Fleuret, "Full-Gradient Representation for Neural Network Visualization", NeurIPS 2019.
/// Result: [N, 1, H, W] for an image batch [N, C, H, W], raw. Needs the model in eval mode when it
/// has BatchNorm layers (in training mode they normalize with the batch, not a bias).
///
/// Example:
///   nn_interpretability::FullGrad method(model);
///   torch::Tensor maps = method.attribute(images, labels);
///   auto parts = method.decompose(images, labels);  // completeness: parts add up to the score
class FullGrad : public ModelAttribution {
 public:
  explicit FullGrad(Model model, FullGradOptions options = {});

  std::string name() const override { return "full_grad"; }
  std::string class_name() const override { return "FullGrad"; }
  const FullGradOptions& options() const { return options_; }

  /// The terms themselves, signed and unscaled.
  FullGradDecomposition decompose(const torch::Tensor& input, const Target& target = Target());

 protected:
  void check_input_shape(const torch::Tensor& input) const override;
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;

 private:
  FullGradDecomposition decomposition(const torch::Tensor& input, const Target& target);
  FullGradOptions options_;
};

}  // namespace nn_interpretability
