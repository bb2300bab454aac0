#pragma once
// Post-processing pipeline: the steps of channel_reduction.h, sign.h, outliers.h, input_product.h
// and normalize.h composed in a fixed order, with one options struct.

#include <optional>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include "nn_interpretability/visualization/channel_reduction.h"
#include "nn_interpretability/visualization/input_product.h"
#include "nn_interpretability/visualization/normalize.h"
#include "nn_interpretability/visualization/outliers.h"
#include "nn_interpretability/visualization/sign.h"

namespace nn_interpretability::visualization {

/// Options for `postprocess`. Every step defaults to "off", so the default options keep raw values.
///
/// Example:
///   auto options = PostprocessOptions()
///                      .channel_reduction(ChannelReduction::Sum)
///                      .sign(Sign::Absolute)
///                      .outlier_cap(OutlierCap::ValuePercentile)
///                      .percentile(99.0)
///                      .normalization(Normalization::MinMax);
struct PostprocessOptions {
  /// Multiply by the input first (needs `input` in `postprocess`). Default: false.
  TORCH_ARG(bool, multiply_by_input) = false;
  /// Channel reduction to [N, 1, H, W]; nullopt keeps the channels. Default: nullopt.
  TORCH_ARG(std::optional<ChannelReduction>, channel_reduction) = std::nullopt;
  /// Which sign to keep. Default: Sign::All.
  TORCH_ARG(Sign, sign) = Sign::All;
  /// Outlier capping. Default: OutlierCap::None.
  TORCH_ARG(OutlierCap, outlier_cap) = OutlierCap::None;
  /// Percentile of |x| for OutlierCap::ValuePercentile, in [0, 100]. Default: 99.
  TORCH_ARG(double, percentile) = 99.0;
  /// Captum's outlier_perc for OutlierCap::CumulativeMass, in [0, 100). Default: 2.
  TORCH_ARG(double, outlier_perc) = 2.0;
  /// Final normalization. Default: Normalization::None.
  TORCH_ARG(Normalization, normalization) = Normalization::None;
};

/// Runs, in this order and each only when enabled: multiply by input, channel reduction, sign,
/// outlier capping, normalization. Works on a batch [N, C, H, W] on any device.
///
/// The first step that runs allocates the result; later steps work in place on it, so the data is
/// copied once (plus the sort buffers of outlier capping). When no step runs, `attributions` itself
/// is returned (shared, not copied). `input` is required when multiply_by_input is true and must be
/// undefined otherwise.
///
/// Example:
///   at::Tensor map = postprocess(attributions, PostprocessOptions()
///                                                  .channel_reduction(ChannelReduction::Sum)
///                                                  .sign(Sign::Absolute)
///                                                  .outlier_cap(OutlierCap::ValuePercentile)
///                                                  .normalization(Normalization::MinMax));
at::Tensor postprocess(const at::Tensor& attributions, const PostprocessOptions& options,
                       const at::Tensor& input = at::Tensor());

}  // namespace nn_interpretability::visualization
