#pragma once
// A composite assigns an LRP rule to every layer of a model by its kind, its position (the first
// layer from the input) and its dotted name, and says which canonizations apply. The presets are
// Zennit's, with the same rules and defaults.

#include <string>
#include <utility>
#include <vector>

#include "nn_interpretability/relevance/rule.h"

namespace nn_interpretability {

/// The kinds of layer the relevance pass tells apart in a model's autograd graph, however the layer
/// was written (module, functional call, TorchScript):
enum class LayerKind {
  kConvolution,   ///< any convolution (1-D, 2-D, 3-D, grouped, transposed)
  kLinear,        ///< a dense layer: addmm / mm with a weight that does not depend on the input
  kBatchNorm,     ///< a BatchNorm not merged into the layer before it
  kAveragePool,   ///< average pooling, adaptive average pooling, mean and sum over dimensions
  kSum,           ///< an addition or subtraction of two branches that both depend on the input (residuals)
  kActivation,    ///< an elementwise map of one input: activations, scaling by a constant, negation
};

/// "convolution", "linear", ...
std::string to_string(LayerKind kind);

/// Rules by layer kind, first-layer rules, rules by layer name, and the canonizers.
///
///   auto composite = nn_interpretability::Composite::epsilon_gamma_box(-3, 3)
///                        .layer_rule("classifier.2", nn_interpretability::LrpRule::epsilon(0.25));
class Composite {
 public:
  /// Zennit's base map: activations and BatchNorm pass, average pooling and sums use norm;
  /// convolutions and linear layers keep their gradient until a rule is set.
  Composite();

  /// The rule for every layer of `kind` (replacing the previous one).
  Composite& rule(LayerKind kind, LrpRule rule);
  /// The rule for the first convolution or linear layer(s) from the input of kind `kind`.
  Composite& first_layer_rule(LayerKind kind, LrpRule rule);
  /// The rule for the layer whose weights are the module `name`'s ("features.0", "layer1.0.conv1"),
  /// or any layer below it ("layer4"): the longest matching name wins over kind and position.
  Composite& layer_rule(std::string name, LrpRule rule);
  /// Canonizer: a BatchNorm in eval mode that directly follows a convolution or linear layer is
  /// merged into it for the explanation (the model is not changed). Default on.
  Composite& merge_batch_norm(bool merge);
  /// Every rule without the bias terms (LrpRule::without_bias), for exact conservation.
  Composite& ignore_bias(bool ignore);
  /// The pass starts from ∂score/∂output instead of the relevance output ⊙ ∂score/∂output, and its
  /// result is a (modified) gradient with no conservation delta: for gradient composites.
  Composite& start_from_gradient(bool gradient);

  /// EpsilonPlus: convolutions z_plus, linear layers epsilon(ε).
  static Composite epsilon_plus(double epsilon = 1e-6, double stabilizer = 1e-6);
  /// EpsilonPlusFlat: as EpsilonPlus, and the first convolution or linear layer flat (the default).
  static Composite epsilon_plus_flat(double epsilon = 1e-6, double stabilizer = 1e-6);
  /// EpsilonGammaBox: convolutions gamma(γ), linear layers epsilon(ε), the first convolution
  /// z_box(low, high).
  static Composite epsilon_gamma_box(double low, double high, double epsilon = 1e-6, double gamma = 0.25,
                                     double stabilizer = 1e-6);
  /// EpsilonAlpha2Beta1: convolutions alpha_beta(2, 1), linear layers epsilon(ε).
  static Composite epsilon_alpha2_beta1(double epsilon = 1e-6, double stabilizer = 1e-6);
  /// Guided backpropagation as a composite (Zennit's GuidedBackprop): the gradient everywhere, ReLUs
  /// under LrpRule::guided_backprop. Equals GuidedBackprop's result.
  static Composite guided_backprop();
  /// Deconvnet as a composite (Zennit's Deconvnet): ReLUs under LrpRule::deconvnet. Equals
  /// Deconvolution's result.
  static Composite deconvnet();
  /// Every convolution and linear layer gets `rule` (on top of the base map, whose norm rules take
  /// the rule's stabilizer).
  static Composite uniform(LrpRule rule);
  /// By name, as the command-line tool spells them: "epsilon_plus", "epsilon_plus_flat",
  /// "epsilon_gamma_box", "epsilon_alpha2_beta1", "guided_backprop", "deconvnet"; `low`/`high` are
  /// used by epsilon_gamma_box.
  static Composite named(const std::string& name, double low = -3.0, double high = 3.0, double epsilon = 1e-6);
  static std::vector<std::string> names();

  /// The rule of a layer of `kind`, first from the input or not, whose weights belong to module `name`.
  LrpRule rule_for(LayerKind kind, bool first_layer, const std::string& name) const;
  bool merges_batch_norm() const { return merge_batch_norm_; }
  bool starts_from_gradient() const { return start_from_gradient_; }
  /// The rules set by layer name.
  const std::vector<std::pair<std::string, LrpRule>>& layer_rules() const { return name_rules_; }
  /// e.g. "epsilon_plus_flat"; "custom" once changed.
  const std::string& label() const { return label_; }

 private:
  std::vector<std::pair<LayerKind, LrpRule>> kind_rules_;
  std::vector<std::pair<LayerKind, LrpRule>> first_rules_;
  std::vector<std::pair<std::string, LrpRule>> name_rules_;
  bool merge_batch_norm_ = true;
  bool ignore_bias_ = false;
  bool start_from_gradient_ = false;
  std::string label_ = "base";
};

}  // namespace nn_interpretability
