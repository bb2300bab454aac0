#pragma once
// Baselines: what a perturbation method puts in place of the features it removes.

#include <cstdint>
#include <string>

#include <torch/types.h>

namespace nn_interpretability {

/// The value a removed feature takes.
///
///   Baseline(0.0)                     a scalar (the default: zero)
///   Baseline(tensor)                  broadcastable to the input: [...], [1, ...] or per example [N, ...]
///   Baseline::blurred(5.0)            the input blurred (Gaussian, sigma in pixels), per image [N, C, H, W]
///   Baseline::distribution(samples)   [B, ...] rows of background data: sampling methods draw one per
///                                     perturbation, exact Shapley values average over all B
class Baseline {
 public:
  Baseline(double value = 0.0);         // NOLINT(google-explicit-constructor)
  Baseline(torch::Tensor tensor);       // NOLINT(google-explicit-constructor)
  static Baseline blurred(double sigma);
  static Baseline distribution(torch::Tensor samples);

  bool is_distribution() const { return kind_ == Kind::kDistribution; }

  /// The baseline of each example, [N, ...] (an expanded view where it is shared), on the input's
  /// device and dtype. A distribution has no single baseline: call samples().
  torch::Tensor resolve(const torch::Tensor& input) const;

  /// A distribution's rows [B, ...] checked against the input's row shape.
  torch::Tensor samples(const torch::Tensor& input) const;

  /// "0", "tensor [1, 28, 28]", "blurred sigma 5", "distribution of 16".
  std::string describe() const;

  /// Parses the command line's --baseline: a number, blur:<sigma>.
  static Baseline parse(const std::string& text);

 private:
  enum class Kind { kScalar, kTensor, kBlurred, kDistribution };
  Kind kind_ = Kind::kScalar;
  double value_ = 0.0;
  torch::Tensor tensor_;
};

}  // namespace nn_interpretability
