#pragma once
// LRP rules (Bach et al. 2015; Montavon et al., "Layer-Wise Relevance Propagation: An Overview",
// 2019), defined as Zennit defines them: each says how the relevance R of a layer's outputs is
// redistributed onto its inputs x. For a layer z = W x + b (convolution or linear, BatchNorm merged
// in when the composite says so), with stab(v) = v + s·sign(v), sign(0) = +1:
//
//   epsilon(e)        R_x = x ⊙ Wᵀ (R / stab_e(z))
//   z_plus            R_x = x⁺ ⊙ W⁺ᵀ q + x⁻ ⊙ W⁻ᵀ q,   q = R / stab(W⁺x⁺ + b⁺ + W⁻x⁻)
//   alpha_beta(α, β)  α · (the z_plus share) − β · (the same with W⁺ and W⁻ swapped, bias b⁻)
//   gamma(γ)          z_plus-like with W + γW⁺ / W + γW⁻, positive and negative outputs apart
//   z_box(l, h)       R_x = x ⊙ Wᵀq − l ⊙ W⁺ᵀq − h ⊙ W⁻ᵀq,  q = R / stab(z − W⁺l − b⁺ − W⁻h − b⁻)
//   flat              R_x = 1ᵀ (R / stab(1·1)): every input of a unit gets an equal share
//   w_square          R_x = (W²)ᵀ (R / stab(W²·1 + b²))
//   norm              R_x = x ⊙ ∂⟨f(x), R / stab(f(x))⟩/∂x, for parameterless linear maps f
//                     (average pooling, sums of branches)
//   pass              R_x = R (activations, BatchNorm after merging)
//   gradient          the layer's ordinary backward (not a relevance rule; for comparisons)
//   guided_backprop   at a ReLU: max(g, 0) where its input was positive (Springenberg et al. 2015)
//   deconvnet         at a ReLU: max(g, 0) wherever its input was (Zeiler & Fergus 2014)
// The last two modify a gradient, not relevance: Composite::guided_backprop() and ::deconvnet()
// use them with the gradient everywhere else.

#include <string>

#include <torch/types.h>

namespace nn_interpretability {

/// One LRP rule with its parameters; a value type, cheap to copy.
///
///   auto rule = nn_interpretability::LrpRule::gamma(0.25);
class LrpRule {
 public:
  enum class Kind { kEpsilon, kZPlus, kAlphaBeta, kGamma, kZBox, kFlat, kWSquare, kNorm, kPass, kGradient, kGuidedBackprop, kDeconvnet };

  /// ε: e added to the denominator with its sign (e = 0 is LRP-0).
  static LrpRule epsilon(double epsilon = 1e-6);
  /// LRP-0, the ε rule with e = 0 (undefined where a layer's output is exactly 0).
  static LrpRule zero();
  static LrpRule z_plus(double stabilizer = 1e-6);
  /// α − β must be 1, both ≥ 0; alpha_beta(1, 0) equals z_plus.
  static LrpRule alpha_beta(double alpha = 2.0, double beta = 1.0, double stabilizer = 1e-6);
  static LrpRule gamma(double gamma = 0.25, double stabilizer = 1e-6);
  /// zᴮ for inputs known to lie in [low, high]: scalars, or tensors broadcastable to one input row
  /// (e.g. [1, C, 1, 1] per channel).
  static LrpRule z_box(double low, double high, double stabilizer = 1e-6);
  static LrpRule z_box(torch::Tensor low, torch::Tensor high, double stabilizer = 1e-6);
  static LrpRule flat(double stabilizer = 1e-6);
  static LrpRule w_square(double stabilizer = 1e-6);
  static LrpRule norm(double stabilizer = 1e-6);
  static LrpRule pass();
  static LrpRule gradient();
  /// For activations only: ReLUs pass the positive part of what they receive, where their input
  /// was positive (guided) or wherever (deconvnet); other activations keep their gradient.
  static LrpRule guided_backprop();
  static LrpRule deconvnet();
  /// Whether the rule is one of the two ReLU rules above (for activations only).
  bool is_relu_rule() const { return kind_ == Kind::kGuidedBackprop || kind_ == Kind::kDeconvnet; }

  /// The rule with the layer's bias left out of every term (Zennit's zero_params=["bias"]): the
  /// relevance is then conserved through the layer instead of partly absorbed by the bias.
  LrpRule without_bias() const;

  Kind kind() const { return kind_; }
  double parameter() const { return parameter_; }   ///< ε, γ or α
  double beta() const { return beta_; }
  double stabilizer() const { return stabilizer_; }
  bool ignores_bias() const { return ignore_bias_; }
  const torch::Tensor& low() const { return low_; }
  const torch::Tensor& high() const { return high_; }
  /// Whether the rule needs a layer with weights (all but norm, pass, gradient and the ReLU rules).
  bool needs_weights() const;
  /// "epsilon(0.25)", "z_plus", "z_box(-3, 3)", ...
  std::string describe() const;

 private:
  LrpRule(Kind kind, double parameter, double stabilizer) : kind_(kind), parameter_(parameter), stabilizer_(stabilizer) {}
  Kind kind_;
  double parameter_ = 0.0;
  double beta_ = 0.0;
  double stabilizer_ = 1e-6;
  bool ignore_bias_ = false;
  torch::Tensor low_, high_;
};

}  // namespace nn_interpretability
