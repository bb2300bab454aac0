#include "nn_interpretability/relevance/composite.h"

#include <algorithm>

#include <c10/util/Exception.h>

namespace nn_interpretability {
namespace {

template <typename Key>
void set_rule(std::vector<std::pair<Key, LrpRule>>& rules, Key key, LrpRule rule) {
  for (auto& entry : rules)
    if (entry.first == key) {
      entry.second = std::move(rule);
      return;
    }
  rules.emplace_back(std::move(key), std::move(rule));
}

// "layer4" covers "layer4" and "layer4.1.conv2", not "layer40".
bool covers(const std::string& prefix, const std::string& name) {
  if (prefix.empty()) return false;
  if (name.size() < prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return false;
  return name.size() == prefix.size() || name[prefix.size()] == '.';
}

}  // namespace

std::string to_string(LayerKind kind) {
  switch (kind) {
    case LayerKind::kConvolution: return "convolution";
    case LayerKind::kLinear: return "linear";
    case LayerKind::kBatchNorm: return "batch_norm";
    case LayerKind::kAveragePool: return "average_pool";
    case LayerKind::kSum: return "sum";
    case LayerKind::kActivation: return "activation";
  }
  return "unknown";
}

Composite::Composite() {
  kind_rules_ = {{LayerKind::kActivation, LrpRule::pass()},
                 {LayerKind::kSum, LrpRule::norm()},
                 {LayerKind::kAveragePool, LrpRule::norm()},
                 {LayerKind::kBatchNorm, LrpRule::pass()}};
}

Composite& Composite::rule(LayerKind kind, LrpRule rule) {
  TORCH_CHECK_VALUE(!rule.needs_weights() || kind == LayerKind::kConvolution || kind == LayerKind::kLinear,
                    "Composite: the rule ", rule.describe(), " needs a layer with weights; a ", to_string(kind),
                    " layer takes pass, norm or gradient");
  TORCH_CHECK_VALUE(!rule.is_relu_rule() || kind == LayerKind::kActivation, "Composite: the rule ",
                    rule.describe(), " is for activations, not a ", to_string(kind), " layer");
  set_rule(kind_rules_, kind, std::move(rule));
  label_ = "custom";
  return *this;
}

Composite& Composite::first_layer_rule(LayerKind kind, LrpRule rule) {
  TORCH_CHECK_VALUE(kind == LayerKind::kConvolution || kind == LayerKind::kLinear,
                    "Composite: a first-layer rule is for convolution or linear layers, got ", to_string(kind));
  TORCH_CHECK_VALUE(!rule.is_relu_rule(), "Composite: the rule ", rule.describe(),
                    " is for activations, not a first layer");
  set_rule(first_rules_, kind, std::move(rule));
  label_ = "custom";
  return *this;
}

Composite& Composite::layer_rule(std::string name, LrpRule rule) {
  TORCH_CHECK_VALUE(!name.empty(), "Composite: a layer rule needs a layer name");
  TORCH_CHECK_VALUE(!rule.is_relu_rule(), "Composite: the rule ", rule.describe(),
                    " is for activations, not the convolution or linear layers of \"", name, "\"");
  set_rule(name_rules_, std::move(name), std::move(rule));
  label_ = "custom";
  return *this;
}

Composite& Composite::merge_batch_norm(bool merge) {
  merge_batch_norm_ = merge;
  return *this;
}

Composite& Composite::ignore_bias(bool ignore) {
  ignore_bias_ = ignore;
  return *this;
}

Composite& Composite::start_from_gradient(bool gradient) {
  start_from_gradient_ = gradient;
  return *this;
}

// The gradient everywhere (BatchNorm unmerged), ReLUs under the guided rule, starting from the gradient.
Composite Composite::guided_backprop() {
  Composite composite;
  for (LayerKind kind : {LayerKind::kSum, LayerKind::kAveragePool, LayerKind::kBatchNorm})
    composite.rule(kind, LrpRule::gradient());
  composite.rule(LayerKind::kActivation, LrpRule::guided_backprop());
  composite.merge_batch_norm(false).start_from_gradient(true);
  composite.label_ = "guided_backprop";
  return composite;
}

Composite Composite::deconvnet() {
  Composite composite = guided_backprop();
  composite.rule(LayerKind::kActivation, LrpRule::deconvnet());
  composite.label_ = "deconvnet";
  return composite;
}

Composite Composite::epsilon_plus(double epsilon, double stabilizer) {
  Composite composite;
  composite.rule(LayerKind::kConvolution, LrpRule::z_plus(stabilizer));
  composite.rule(LayerKind::kLinear, LrpRule::epsilon(epsilon));
  composite.kind_rules_[1].second = LrpRule::norm(stabilizer);
  composite.kind_rules_[2].second = LrpRule::norm(stabilizer);
  composite.label_ = "epsilon_plus";
  return composite;
}

Composite Composite::epsilon_plus_flat(double epsilon, double stabilizer) {
  Composite composite = epsilon_plus(epsilon, stabilizer);
  composite.first_layer_rule(LayerKind::kConvolution, LrpRule::flat(stabilizer));
  composite.first_layer_rule(LayerKind::kLinear, LrpRule::flat(stabilizer));
  composite.label_ = "epsilon_plus_flat";
  return composite;
}

Composite Composite::epsilon_gamma_box(double low, double high, double epsilon, double gamma, double stabilizer) {
  Composite composite;
  composite.kind_rules_[1].second = LrpRule::norm(stabilizer);
  composite.kind_rules_[2].second = LrpRule::norm(stabilizer);
  composite.rule(LayerKind::kConvolution, LrpRule::gamma(gamma, stabilizer));
  composite.rule(LayerKind::kLinear, LrpRule::epsilon(epsilon));
  composite.first_layer_rule(LayerKind::kConvolution, LrpRule::z_box(low, high, stabilizer));
  composite.label_ = "epsilon_gamma_box";
  return composite;
}

Composite Composite::epsilon_alpha2_beta1(double epsilon, double stabilizer) {
  Composite composite;
  composite.kind_rules_[1].second = LrpRule::norm(stabilizer);
  composite.kind_rules_[2].second = LrpRule::norm(stabilizer);
  composite.rule(LayerKind::kConvolution, LrpRule::alpha_beta(2.0, 1.0, stabilizer));
  composite.rule(LayerKind::kLinear, LrpRule::epsilon(epsilon));
  composite.label_ = "epsilon_alpha2_beta1";
  return composite;
}

Composite Composite::uniform(LrpRule rule) {
  Composite composite;
  if (rule.needs_weights() && rule.stabilizer() > 0) {
    composite.kind_rules_[1].second = LrpRule::norm(rule.stabilizer());
    composite.kind_rules_[2].second = LrpRule::norm(rule.stabilizer());
  }
  composite.rule(LayerKind::kConvolution, rule);
  composite.rule(LayerKind::kLinear, rule);
  composite.label_ = "uniform " + rule.describe();
  return composite;
}

std::vector<std::string> Composite::names() {
  return {"epsilon_plus", "epsilon_plus_flat", "epsilon_gamma_box", "epsilon_alpha2_beta1", "guided_backprop",
          "deconvnet"};
}

Composite Composite::named(const std::string& name, double low, double high, double epsilon) {
  if (name == "epsilon_plus") return epsilon_plus(epsilon);
  if (name == "epsilon_plus_flat") return epsilon_plus_flat(epsilon);
  if (name == "epsilon_gamma_box") return epsilon_gamma_box(low, high, epsilon);
  if (name == "epsilon_alpha2_beta1") return epsilon_alpha2_beta1(epsilon);
  if (name == "guided_backprop") return guided_backprop();
  if (name == "deconvnet") return deconvnet();
  TORCH_CHECK_VALUE(false, "unknown composite \"", name,
                    "\"; valid: epsilon_plus, epsilon_plus_flat, epsilon_gamma_box, epsilon_alpha2_beta1, "
                    "guided_backprop, deconvnet");
}

LrpRule Composite::rule_for(LayerKind kind, bool first_layer, const std::string& name) const {
  auto finish = [&](const LrpRule& rule) { return ignore_bias_ ? rule.without_bias() : rule; };
  const std::pair<std::string, LrpRule>* best = nullptr;
  for (const auto& entry : name_rules_)
    if (covers(entry.first, name) && (best == nullptr || entry.first.size() > best->first.size())) best = &entry;
  if (best != nullptr) return finish(best->second);
  if (first_layer)
    for (const auto& entry : first_rules_)
      if (entry.first == kind) return finish(entry.second);
  for (const auto& entry : kind_rules_)
    if (entry.first == kind) return finish(entry.second);
  return LrpRule::gradient();
}

}  // namespace nn_interpretability
