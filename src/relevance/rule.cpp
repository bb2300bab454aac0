#include "nn_interpretability/relevance/rule.h"

#include <cmath>
#include <sstream>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace nn_interpretability {
namespace {

void check_stabilizer(double stabilizer, const char* rule) {
  TORCH_CHECK_VALUE(std::isfinite(stabilizer) && stabilizer >= 0, "LrpRule::", rule,
                    ": the stabilizer must be finite and >= 0, got ", stabilizer);
}

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

LrpRule LrpRule::epsilon(double epsilon) {
  TORCH_CHECK_VALUE(std::isfinite(epsilon) && epsilon >= 0, "LrpRule::epsilon: epsilon must be finite and >= 0, got ",
                    epsilon);
  return LrpRule(Kind::kEpsilon, epsilon, epsilon);
}

LrpRule LrpRule::zero() { return epsilon(0.0); }

LrpRule LrpRule::z_plus(double stabilizer) {
  check_stabilizer(stabilizer, "z_plus");
  return LrpRule(Kind::kZPlus, 1.0, stabilizer);
}

LrpRule LrpRule::alpha_beta(double alpha, double beta, double stabilizer) {
  check_stabilizer(stabilizer, "alpha_beta");
  TORCH_CHECK_VALUE(std::isfinite(alpha) && std::isfinite(beta) && alpha >= 0 && beta >= 0,
                    "LrpRule::alpha_beta: alpha and beta must be finite and >= 0, got ", alpha, " and ", beta);
  TORCH_CHECK_VALUE(std::abs(alpha - beta - 1.0) < 1e-12, "LrpRule::alpha_beta: alpha - beta must be 1, got ", alpha,
                    " - ", beta);
  LrpRule rule(Kind::kAlphaBeta, alpha, stabilizer);
  rule.beta_ = beta;
  return rule;
}

LrpRule LrpRule::gamma(double gamma, double stabilizer) {
  check_stabilizer(stabilizer, "gamma");
  TORCH_CHECK_VALUE(std::isfinite(gamma) && gamma >= 0, "LrpRule::gamma: gamma must be finite and >= 0, got ", gamma);
  return LrpRule(Kind::kGamma, gamma, stabilizer);
}

LrpRule LrpRule::z_box(double low, double high, double stabilizer) {
  return z_box(at::scalar_tensor(low, at::kDouble), at::scalar_tensor(high, at::kDouble), stabilizer);
}

LrpRule LrpRule::z_box(torch::Tensor low, torch::Tensor high, double stabilizer) {
  check_stabilizer(stabilizer, "z_box");
  TORCH_CHECK_VALUE(low.defined() && high.defined(), "LrpRule::z_box: low and high must be defined");
  TORCH_CHECK_VALUE(low.is_floating_point() && high.is_floating_point(),
                    "LrpRule::z_box: low and high must be floating-point tensors");
  TORCH_CHECK_VALUE(low.isfinite().all().item<bool>() && high.isfinite().all().item<bool>(),
                    "LrpRule::z_box: low and high must be finite");
  TORCH_CHECK_VALUE((low <= high).all().item<bool>(), "LrpRule::z_box: low must not exceed high");
  LrpRule rule(Kind::kZBox, 0.0, stabilizer);
  rule.low_ = low.detach();
  rule.high_ = high.detach();
  return rule;
}

LrpRule LrpRule::flat(double stabilizer) {
  check_stabilizer(stabilizer, "flat");
  return LrpRule(Kind::kFlat, 0.0, stabilizer);
}

LrpRule LrpRule::w_square(double stabilizer) {
  check_stabilizer(stabilizer, "w_square");
  return LrpRule(Kind::kWSquare, 0.0, stabilizer);
}

LrpRule LrpRule::norm(double stabilizer) {
  check_stabilizer(stabilizer, "norm");
  return LrpRule(Kind::kNorm, 0.0, stabilizer);
}

LrpRule LrpRule::pass() { return LrpRule(Kind::kPass, 0.0, 0.0); }

LrpRule LrpRule::gradient() { return LrpRule(Kind::kGradient, 0.0, 0.0); }

LrpRule LrpRule::guided_backprop() { return LrpRule(Kind::kGuidedBackprop, 0.0, 0.0); }

LrpRule LrpRule::deconvnet() { return LrpRule(Kind::kDeconvnet, 0.0, 0.0); }

LrpRule LrpRule::without_bias() const {
  LrpRule copy = *this;
  copy.ignore_bias_ = true;
  return copy;
}

bool LrpRule::needs_weights() const {
  return kind_ != Kind::kNorm && kind_ != Kind::kPass && kind_ != Kind::kGradient && !is_relu_rule();
}

std::string LrpRule::describe() const {
  std::string text;
  switch (kind_) {
    case Kind::kEpsilon: text = "epsilon(" + number(parameter_) + ")"; break;
    case Kind::kZPlus: text = "z_plus"; break;
    case Kind::kAlphaBeta: text = "alpha_beta(" + number(parameter_) + ", " + number(beta_) + ")"; break;
    case Kind::kGamma: text = "gamma(" + number(parameter_) + ")"; break;
    case Kind::kZBox:
      text = low_.numel() == 1 && high_.numel() == 1
                 ? "z_box(" + number(low_.item<double>()) + ", " + number(high_.item<double>()) + ")"
                 : "z_box(per-element bounds)";
      break;
    case Kind::kFlat: text = "flat"; break;
    case Kind::kWSquare: text = "w_square"; break;
    case Kind::kNorm: text = "norm"; break;
    case Kind::kPass: text = "pass"; break;
    case Kind::kGradient: text = "gradient"; break;
    case Kind::kGuidedBackprop: text = "guided_backprop"; break;
    case Kind::kDeconvnet: text = "deconvnet"; break;
  }
  return ignore_bias_ ? text + " without bias" : text;
}

}  // namespace nn_interpretability
