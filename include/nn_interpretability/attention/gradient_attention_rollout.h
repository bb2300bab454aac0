#pragma once

#include <string>

#include "nn_interpretability/attention/attention_options.h"
#include "nn_interpretability/core/attribution.h"

namespace nn_interpretability {

/// Gradient-weighted attention rollout (Chefer, Gur & Wolf, "Generic Attention-model Explainability
/// for Interpreting Bi-Modal and Encoder-Decoder Transformers", ICCV 2021, its rule for self-attention):
///   Ā_l = mean_heads((∂y/∂A_l ⊙ A_l)⁺),   R ← R + Ā_l R from R = I,   map = R[class token, patches].
/// Class-specific through ∂y/∂A. (Their earlier "Transformer Interpretability Beyond Attention
/// Visualization", CVPR 2021, propagates LRP relevance instead of A; that is not this method.)
/// One forward and one backward pass; TorchScript models with nn.MultiheadAttention, scripted or traced.
/// Result: [N, 1, h, w] (or [N, 1, H, W] with `upsample`).
class GradientAttentionRollout : public ModelAttribution {
 public:
  explicit GradientAttentionRollout(Model model, AttentionOptions options = {});

  std::string name() const override { return "gradient_attention_rollout"; }
  std::string class_name() const override { return "GradientAttentionRollout"; }
  const AttentionOptions& options() const { return options_; }

 protected:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;

 private:
  AttentionOptions options_;
};

}  // namespace nn_interpretability
