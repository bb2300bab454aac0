#pragma once

#include <string>

#include "nn_interpretability/attention/attention_options.h"
#include "nn_interpretability/core/attribution.h"

namespace nn_interpretability {

/// Attention rollout: how much the class token attends to each patch through all layers, counting
/// the residual connections as attention to oneself:
///   Â_l = rownorm(½ fuse_heads(A_l) + ½ I),   R = Â_L ⋯ Â_1,   map = R[class token, patch tokens].
/// Class-agnostic (the target is checked, not used). Abnar & Zuidema, "Quantifying Attention Flow in
/// Transformers", ACL 2020. TorchScript models (scripted or traced) with nn.MultiheadAttention.
/// Result: [N, 1, h, w] on the token grid (or [N, 1, H, W] with `upsample`), rows of R sum to 1.
///
/// Example:
///   nn_interpretability::AttentionRollout method(vit);   // torchvision's VisionTransformer
///   torch::Tensor maps = method.attribute(images);
class AttentionRollout : public ModelAttribution {
 public:
  explicit AttentionRollout(Model model, AttentionOptions options = {});

  std::string name() const override { return "attention_rollout"; }
  std::string class_name() const override { return "AttentionRollout"; }
  const AttentionOptions& options() const { return options_; }

 protected:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;

 private:
  AttentionOptions options_;
};

}  // namespace nn_interpretability
