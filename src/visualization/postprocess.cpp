// Post-processing: channel reduction, sign, outlier capping, multiplication by the input,
// normalization and their composition. Each step exists once, in detail::, with an `in_place` flag:
// the public functions run it out of place, `postprocess` runs every step after the first in place
// on the tensor the first step allocated.

#include "nn_interpretability/visualization/postprocess.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include <c10/util/Exception.h>

#include "checks.h"

namespace nn_interpretability::visualization {
namespace detail {
namespace {

// A per-example [N] tensor viewed as [N, 1, 1, 1] to broadcast against a batch.
at::Tensor per_example(const at::Tensor& values, const at::Tensor& batch) {
  std::vector<int64_t> shape(batch.dim(), 1);
  shape[0] = batch.size(0);
  return values.reshape(shape);
}

// |x| of each example as rows: [N, C*H*W] (a new tensor).
at::Tensor abs_rows(const at::Tensor& x) { return x.reshape({x.size(0), -1}).abs(); }

at::Tensor reduce_channels(const at::Tensor& x, ChannelReduction reduction) {
  switch (reduction) {
    case ChannelReduction::Sum:
      return x.sum({1}, /*keepdim=*/true);
    case ChannelReduction::AbsSum:
      return x.abs().sum({1}, /*keepdim=*/true);
    case ChannelReduction::AbsMax:
      return x.abs().amax({1}, /*keepdim=*/true);
    case ChannelReduction::L2Norm:
      return x.square().sum({1}, /*keepdim=*/true).sqrt_();
  }
  TORCH_CHECK_VALUE(false, "reduce_channels: unknown ChannelReduction ", static_cast<int>(reduction));
}

at::Tensor apply_sign(at::Tensor x, Sign sign, bool in_place) {
  switch (sign) {
    case Sign::All:
      return x;
    case Sign::Positive:
      return in_place ? x.clamp_min_(0) : x.clamp_min(0);
    case Sign::Negative:
      return in_place ? x.neg_().clamp_min_(0) : x.neg().clamp_min_(0);
    case Sign::Absolute:
      return in_place ? x.abs_() : x.abs();
  }
  TORCH_CHECK_VALUE(false, "apply_sign: unknown Sign ", static_cast<int>(sign));
}

at::Tensor percentile_threshold(const at::Tensor& x, double percentile) {
  const at::Tensor rows = abs_rows(x);
  const int64_t count = rows.size(1);
  // Linear interpolation between the order statistics around pos (numpy.percentile's default).
  // Multiply before dividing so that e.g. 99 * 100 / 100 is exactly 99.
  const double pos = percentile * static_cast<double>(count - 1) / 100.0;
  const int64_t low = std::min(static_cast<int64_t>(std::floor(pos)), count - 1);
  const int64_t high = std::min(low + 1, count - 1);
  const double weight = pos - static_cast<double>(low);
  at::Tensor value_low = std::get<0>(rows.kthvalue(low + 1, /*dim=*/1));
  if (weight == 0.0 || high == low) {
    return value_low;
  }
  const at::Tensor value_high = std::get<0>(rows.kthvalue(high + 1, /*dim=*/1));
  return value_low.add_(value_high.sub(value_low).mul_(weight));
}

at::Tensor cumulative_mass_threshold(const at::Tensor& x, double outlier_perc) {
  const at::Tensor sorted = std::get<0>(abs_rows(x).sort(/*dim=*/1));
  // Accumulate in double (not on MPS, which has none) so long rows do not drift.
  const auto sum_type = x.device().is_mps() ? x.scalar_type() : at::kDouble;
  const at::Tensor cumulative = sorted.cumsum(/*dim=*/1, sum_type);
  const at::Tensor total = cumulative.select(1, cumulative.size(1) - 1).unsqueeze(1);
  const at::Tensor reached = cumulative.ge(total.mul((100.0 - outlier_perc) / 100.0));
  // argmax returns the first maximum: the first index where the mass is reached. The last index
  // always qualifies, so there is one.
  const at::Tensor first = reached.to(at::kByte).argmax(/*dim=*/1, /*keepdim=*/true);
  return sorted.gather(1, first).squeeze(1);
}

at::Tensor clip_to_threshold(at::Tensor x, const at::Tensor& threshold, bool in_place) {
  const at::Tensor upper = per_example(threshold.to(x.options()), x);
  const at::Tensor lower = upper.neg();
  return in_place ? x.clamp_(lower, upper) : x.clamp(lower, upper);
}

at::Tensor normalize_min_max(at::Tensor x, bool in_place) {
  const at::Tensor rows = x.reshape({x.size(0), -1});
  const at::Tensor low = per_example(rows.amin(1), x);
  at::Tensor range = per_example(rows.amax(1), x).sub_(low);
  // A constant map has x - min == 0 exactly; dividing by 1 keeps those zeros (no 0 / 0).
  range.masked_fill_(range.le(0), 1);
  return in_place ? x.sub_(low).div_(range) : x.sub(low).div_(range);
}

at::Tensor normalize_symmetric(at::Tensor x, bool in_place) {
  const at::Tensor rows = x.reshape({x.size(0), -1});
  // max |x| = max(max x, -min x), without materializing |x|.
  at::Tensor scale = per_example(rows.amax(1).maximum(rows.amin(1).neg()), x);
  scale.masked_fill_(scale.le(0), 1);  // an all-zero map stays zero
  return in_place ? x.div_(scale) : x.div(scale);
}

at::Tensor normalize(at::Tensor x, Normalization normalization, bool in_place) {
  switch (normalization) {
    case Normalization::None:
      return x;
    case Normalization::MinMax:
      return normalize_min_max(std::move(x), in_place);
    case Normalization::Symmetric:
      return normalize_symmetric(std::move(x), in_place);
  }
  TORCH_CHECK_VALUE(false, "normalize: unknown Normalization ", static_cast<int>(normalization));
}

void check_same_layout(const at::Tensor& attributions, const at::Tensor& input, const char* where) {
  TORCH_CHECK_VALUE(input.sizes() == attributions.sizes(), where,
                    ": input must have the attributions' shape ", shape_string(attributions),
                    ", got ", shape_string(input));
  TORCH_CHECK_VALUE(input.device() == attributions.device(), where,
                    ": input and attributions must be on the same device, got ", input.device(),
                    " and ", attributions.device());
}

}  // namespace
}  // namespace detail

at::Tensor reduce_channels(const at::Tensor& attributions, ChannelReduction reduction) {
  detail::check_batch(attributions, "reduce_channels", "attributions");
  return detail::reduce_channels(attributions, reduction);
}

at::Tensor apply_sign(const at::Tensor& attributions, Sign sign) {
  detail::check_batch(attributions, "apply_sign", "attributions");
  return detail::apply_sign(attributions, sign, /*in_place=*/false);
}

at::Tensor absolute(const at::Tensor& attributions) {
  detail::check_batch(attributions, "absolute", "attributions");
  return attributions.abs();
}

at::Tensor percentile_threshold(const at::Tensor& attributions, double percentile) {
  detail::check_batch(attributions, "percentile_threshold", "attributions");
  detail::check_percentile(percentile, "percentile_threshold");
  return detail::percentile_threshold(attributions, percentile);
}

at::Tensor cumulative_mass_threshold(const at::Tensor& attributions, double outlier_perc) {
  detail::check_batch(attributions, "cumulative_mass_threshold", "attributions");
  detail::check_outlier_perc(outlier_perc, "cumulative_mass_threshold");
  return detail::cumulative_mass_threshold(attributions, outlier_perc);
}

at::Tensor clip_to_threshold(const at::Tensor& attributions, const at::Tensor& threshold) {
  detail::check_batch(attributions, "clip_to_threshold", "attributions");
  detail::check_values(threshold, "clip_to_threshold", "threshold");
  TORCH_CHECK_VALUE(threshold.numel() == 1 || threshold.numel() == attributions.size(0),
                    "clip_to_threshold: threshold must have one value per example (",
                    attributions.size(0), ") or a single value, got shape ",
                    detail::shape_string(threshold));
  TORCH_CHECK_VALUE(threshold.min().item<double>() >= 0.0,
                    "clip_to_threshold: threshold must be non-negative, got minimum ",
                    threshold.min().item<double>());
  const at::Tensor per_example =
      threshold.numel() == 1 ? threshold.reshape({1}).expand({attributions.size(0)}) : threshold;
  return detail::clip_to_threshold(attributions, per_example, /*in_place=*/false);
}

at::Tensor cap_at_percentile(const at::Tensor& attributions, double percentile) {
  detail::check_batch(attributions, "cap_at_percentile", "attributions");
  detail::check_percentile(percentile, "cap_at_percentile");
  return detail::clip_to_threshold(attributions,
                                   detail::percentile_threshold(attributions, percentile),
                                   /*in_place=*/false);
}

at::Tensor cap_at_cumulative_mass(const at::Tensor& attributions, double outlier_perc) {
  detail::check_batch(attributions, "cap_at_cumulative_mass", "attributions");
  detail::check_outlier_perc(outlier_perc, "cap_at_cumulative_mass");
  return detail::clip_to_threshold(attributions,
                                   detail::cumulative_mass_threshold(attributions, outlier_perc),
                                   /*in_place=*/false);
}

at::Tensor multiply_by_input(const at::Tensor& attributions, const at::Tensor& input) {
  detail::check_batch(attributions, "multiply_by_input", "attributions");
  detail::check_batch(input, "multiply_by_input", "input");
  detail::check_same_layout(attributions, input, "multiply_by_input");
  return attributions.mul(input);
}

at::Tensor normalize_min_max(const at::Tensor& attributions) {
  detail::check_batch(attributions, "normalize_min_max", "attributions");
  return detail::normalize_min_max(attributions, /*in_place=*/false);
}

at::Tensor normalize_symmetric(const at::Tensor& attributions) {
  detail::check_batch(attributions, "normalize_symmetric", "attributions");
  return detail::normalize_symmetric(attributions, /*in_place=*/false);
}

at::Tensor normalize(const at::Tensor& attributions, Normalization normalization) {
  detail::check_batch(attributions, "normalize", "attributions");
  return detail::normalize(attributions, normalization, /*in_place=*/false);
}

at::Tensor postprocess(const at::Tensor& attributions, const PostprocessOptions& options,
                       const at::Tensor& input) {
  detail::check_batch(attributions, "postprocess", "attributions");
  if (options.outlier_cap() == OutlierCap::ValuePercentile) {
    detail::check_percentile(options.percentile(), "postprocess");
  } else if (options.outlier_cap() == OutlierCap::CumulativeMass) {
    detail::check_outlier_perc(options.outlier_perc(), "postprocess");
  }

  at::Tensor x = attributions;
  bool owned = false;  // whether x is ours to modify in place
  if (options.multiply_by_input()) {
    TORCH_CHECK_VALUE(input.defined(),
                      "postprocess: multiply_by_input is set but no input tensor was given");
    detail::check_batch(input, "postprocess", "input");
    detail::check_same_layout(attributions, input, "postprocess");
    x = x.mul(input);
    owned = true;
  } else {
    TORCH_CHECK_VALUE(!input.defined(),
                      "postprocess: an input tensor was given but multiply_by_input is not set");
  }
  if (options.channel_reduction()) {
    // A reduction writes a new, smaller tensor; running it on x is cheaper than in place anyway.
    x = detail::reduce_channels(x, *options.channel_reduction());
    owned = true;
  }
  if (options.sign() != Sign::All) {
    x = detail::apply_sign(x, options.sign(), owned);
    owned = true;
  }
  if (options.outlier_cap() != OutlierCap::None) {
    const at::Tensor threshold =
        options.outlier_cap() == OutlierCap::ValuePercentile
            ? detail::percentile_threshold(x, options.percentile())
            : detail::cumulative_mass_threshold(x, options.outlier_perc());
    x = detail::clip_to_threshold(x, threshold, owned);
    owned = true;
  }
  return detail::normalize(x, options.normalization(), owned);
}

}  // namespace nn_interpretability::visualization
