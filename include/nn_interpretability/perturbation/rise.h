#pragma once
// RISE (Petsiuk et al. 2018): importance as the score-weighted average of random smooth masks.

#include <cstdint>

#include <torch/arg.h>
#include <torch/types.h>

#include "nn_interpretability/core/attribution.h"
#include "nn_interpretability/perturbation/perturbation_options.h"

namespace nn_interpretability {

struct RiseOptions : PerturbationOptionsBase<RiseOptions> {
  /// Random masks per call (the paper uses 4000–8000 for ImageNet models).
  TORCH_ARG(int64_t, masks) = 1000;
  /// The low-resolution grid: cells × cells binary cells.
  TORCH_ARG(int64_t, cells) = 7;
  /// The probability that a cell is kept.
  TORCH_ARG(double, probability) = 0.5;
  /// Seed of the method's own generator.
  TORCH_ARG(int64_t, seed) = 0;
};

/// Each mask: a cells × cells grid of Bernoulli(p) values, upsampled bilinearly to
/// (cells + 1) · ⌈H / cells⌉ × (cells + 1) · ⌈W / cells⌉ and cropped to H × W at a random shift of
/// less than one cell (the paper's construction). The input is multiplied by the mask (blended with
/// the baseline: x ⊙ M + b ⊙ (1 − M); zero by default, as in the paper), and the saliency of example i
/// is Σ_m f_i(x_i ⊙ M_m) M_m / (masks · p). The masks are shared by the batch. Result [N, 1, H, W]
/// (one value per pixel: the masks act on all channels together). Cost: N × masks no-grad rows.
class Rise : public ModelAttribution {
 public:
  Rise(Model model, RiseOptions options = {});
  std::string name() const override { return "rise"; }
  std::string class_name() const override { return "Rise"; }
  const RiseOptions& options() const { return options_; }

 protected:
  void check_input_shape(const torch::Tensor& input) const override;
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;

 private:
  RiseOptions options_;
};

}  // namespace nn_interpretability
