#pragma once
// Layer-wise relevance propagation (Bach et al., "On Pixel-Wise Explanations for Non-Linear
// Classifier Decisions by Layer-Wise Relevance Propagation", PLoS ONE 2015) with Zennit's rules,
// composites and canonizers, on any model the library runs: C++ modules (nested, Sequential,
// hand-written forwards with residual additions, functional calls) and TorchScript (scripted or
// traced). One forward pass records the operators; one backward pass of our own replaces each
// layer's gradient by its rule (docs/model_access.md, "Modified backward passes").

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/arg.h>

#include "nn_interpretability/core/attribution.h"
#include "nn_interpretability/relevance/composite.h"

namespace nn_interpretability {
namespace detail {
class WeightCache;
}  // namespace detail

struct LrpOptions {
  /// The rules; the default is EpsilonPlusFlat with BatchNorm merged.
  TORCH_ARG(Composite, composite) = Composite::epsilon_plus_flat();
};

/// Which rule a layer of the last explained batch got.
struct LrpLayer {
  std::string name;        ///< the module owning the weights ("layer1.0.conv1"), or the autograd node's name
  LayerKind kind;
  std::string rule;        ///< LrpRule::describe()
  bool first_layer = false;
  std::string merged_batch_norm;  ///< the BatchNorm merged into this layer (its module name), if any
};

struct LrpResult {
  torch::Tensor attributions;  ///< relevance, shaped like the input
  /// Per example: Σ relevance − the target's score. Zero for conserving rules without bias terms;
  /// biases, ε and the flat/box first layers absorb or add relevance. Undefined for a composite
  /// that starts from the gradient (guided backprop, deconvnet): its result is not a relevance.
  torch::Tensor delta;
  torch::Tensor scores;        ///< the target's score per example: the relevance put at the output
  std::vector<LrpLayer> layers;  ///< in backward order, one entry per convolution/linear/BatchNorm/pool/sum
  /// Autograd nodes of kinds with no relevance rule that got their gradient instead (e.g. a product
  /// of two branches), by name; empty for convolutional networks built of the kinds above.
  std::vector<std::string> gradient_nodes;
};

/// The relevance at the output is the target's score (the logit of the class, for class targets):
/// R_out = output ⊙ ∂score/∂output. Result shaped like the input.
///
///   nn_interpretability::Lrp lrp(model, nn_interpretability::LrpOptions().composite(
///       nn_interpretability::Composite::epsilon_gamma_box(-3, 3)));
///   torch::Tensor relevance = lrp.attribute(images, labels);
class Lrp : public ModelAttribution {
 public:
  explicit Lrp(Model model, LrpOptions options = {});

  std::string name() const override { return "lrp"; }
  std::string class_name() const override { return "Lrp"; }
  const LrpOptions& options() const { return options_; }

  /// The relevance, the conservation delta per example and the rule each layer got.
  LrpResult attribute_with_delta(const torch::Tensor& input, const Target& target = Target());

 protected:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;

 private:
  LrpResult propagate(const torch::Tensor& input, const Target& target);
  LrpOptions options_;
  // Merged and clamped weights, kept between calls (valid while the model's weights are unchanged).
  std::shared_ptr<detail::WeightCache> weights_;
};

}  // namespace nn_interpretability
