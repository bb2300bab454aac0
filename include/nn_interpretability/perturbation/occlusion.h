#pragma once
// Occlusion (Zeiler & Fergus 2014): a window slid over the input, replaced by the baseline.

#include <cstdint>
#include <vector>

#include <torch/arg.h>
#include <torch/types.h>

#include "nn_interpretability/core/attribution.h"
#include "nn_interpretability/perturbation/perturbation_options.h"

namespace nn_interpretability {

struct OcclusionOptions : PerturbationOptionsBase<OcclusionOptions> {
  /// The window's shape over the row's dimensions (without the batch), e.g. {1, 8, 8} for [N, 1, 28, 28].
  TORCH_ARG(std::vector<int64_t>, window) = {};
  /// The step per dimension; empty: 1 in every dimension. A stride may not exceed the window where
  /// the window is smaller than the input (elements would be skipped).
  TORCH_ARG(std::vector<int64_t>, strides) = {};
};

/// Each window position w (starts 0, s, 2s, ... per dimension; the last window clipped at the edge,
/// as in Captum) replaces its elements by the baseline; the score drop d_w = f(x) − f(x_w). An
/// element's attribution is the mean of d_w over the windows that cover it (Captum's definition).
/// Result shaped like the input. Cost: one no-grad forward of N × windows rows.
class Occlusion : public ModelAttribution {
 public:
  Occlusion(Model model, OcclusionOptions options);
  std::string name() const override { return "occlusion"; }
  std::string class_name() const override { return "Occlusion"; }
  const OcclusionOptions& options() const { return options_; }

  /// The number of window positions for a batch of `input`'s shape.
  int64_t windows(const torch::Tensor& input) const;

 protected:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;

 private:
  struct Grid {
    std::vector<int64_t> window, strides, counts;  // per row dimension
    int64_t total = 1;
  };
  Grid grid(const torch::Tensor& input) const;
  OcclusionOptions options_;
};

}  // namespace nn_interpretability
