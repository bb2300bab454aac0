#include "metric_checks.h"

#include <string>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/Exception.h>

#include "nn_interpretability/detail/result_checks.h"
#include "nn_interpretability/detail/seeded_generator.h"

namespace nn_interpretability {
namespace metrics {
namespace detail {

void refuse_rows(const torch::Tensor& bad, const char* metric, const char* what) {
  if (!bad.any().item<bool>()) return;
  const torch::Tensor rows = bad.nonzero().flatten().cpu();
  std::string list;
  for (int64_t i = 0; i < std::min<int64_t>(rows.numel(), 10); ++i) list += (i ? ", " : "") + std::to_string(rows[i].item<int64_t>());
  if (rows.numel() > 10) list += ", ...";
  TORCH_CHECK_VALUE(false, metric, ": ", what, " in example", rows.numel() > 1 ? "s " : " ", list, " (of ", bad.numel(), ")");
}

torch::Tensor ranks(const torch::Tensor& rows, bool descending) {
  const torch::Tensor order = std::get<1>(rows.sort(/*stable=*/true, /*dim=*/1, descending));
  return at::empty_like(order).scatter_(1, order, at::arange(rows.size(1), order.options()).expand_as(order).contiguous());
}

torch::Tensor checked_rows(const torch::Tensor& attributions, const char* metric) {
  TORCH_CHECK_VALUE(attributions.defined() && attributions.dim() >= 2 && attributions.size(0) >= 1 &&
                        attributions.numel() > 0,
                    metric, ": attributions must be a non-empty batch [N, ...] of at least 2 dimensions, got shape ",
                    attributions.defined() ? attributions.sizes() : at::IntArrayRef{});
  TORCH_CHECK_TYPE(attributions.is_floating_point(), metric, ": attributions must be floating point, got ",
                   attributions.scalar_type());
  const torch::Tensor rows = attributions.detach().to(at::kDouble).reshape({attributions.size(0), -1});
  refuse_rows(rows.isfinite().logical_not().any(1), metric, "the attributions hold NaN or Inf");
  return rows;
}

torch::Tensor checked_mask(const torch::Tensor& mask, const torch::Tensor& attributions, const char* metric) {
  TORCH_CHECK_VALUE(mask.defined() && mask.dim() == attributions.dim(), metric, ": the mask must have the attributions' ",
                    attributions.dim(), " dimensions (sizes 1 broadcast), got shape ",
                    mask.defined() ? mask.sizes() : at::IntArrayRef{}, " for attributions ", attributions.sizes());
  for (int64_t d = 0; d < mask.dim(); ++d)
    TORCH_CHECK_VALUE(mask.size(d) == attributions.size(d) || (mask.size(d) == 1 && d > 0), metric, ": a mask of shape ",
                      mask.sizes(), " does not broadcast to attributions ", attributions.sizes(), " (dimension ", d, ")");
  torch::Tensor flat = mask.detach().to(attributions.device());
  if (flat.scalar_type() != at::kBool) {
    refuse_rows(((flat != 0) & (flat != 1)).reshape({flat.size(0), -1}).any(1), metric,
                "the mask holds values other than 0 and 1");
    flat = flat != 0;
  }
  flat = flat.expand(attributions.sizes()).reshape({attributions.size(0), -1});
  refuse_rows(flat.any(1).logical_not(), metric, "the mask is empty");
  return flat;
}

torch::Tensor pixel_relevance(const torch::Tensor& attributions, const torch::Tensor& input, const char* metric) {
  const bool channels_shared = input.dim() >= 3;
  TORCH_CHECK_VALUE(attributions.defined() && attributions.dim() == input.dim() && attributions.size(0) == input.size(0) &&
                        (attributions.sizes().slice(1) == input.sizes().slice(1) ||
                         (channels_shared && attributions.size(1) == 1 &&
                          attributions.sizes().slice(2) == input.sizes().slice(2))),
                    metric, ": attributions of shape ", attributions.defined() ? attributions.sizes() : at::IntArrayRef{},
                    " do not match the input ", input.sizes(), "; give the input's shape or one channel of it ",
                    "(upsample CAM maps to the input first)");
  torch::Tensor relevance = checked_rows(attributions, metric).view(attributions.sizes());
  if (channels_shared) relevance = relevance.sum(1);
  return relevance.reshape({input.size(0), -1}).to(input.device());
}

std::vector<int64_t> pixel_shape(const torch::Tensor& input) {
  std::vector<int64_t> shape = input.sizes().vec();
  if (input.dim() >= 3) shape[1] = 1;
  return shape;
}

int64_t given_samples(const torch::Tensor& given, const torch::Tensor& input, const char* metric) {
  const bool per_example = given.dim() == input.dim() + 1;
  TORCH_CHECK_VALUE((per_example && given.size(0) == input.size(0) && given.sizes().slice(2) == input.sizes().slice(1)) ||
                        (given.dim() == input.dim() && given.sizes().slice(1) == input.sizes().slice(1)),
                    metric, ": perturbations must be [N, S, ...] or [S, ...] for the input ", input.sizes(), ", got ",
                    given.sizes());
  TORCH_CHECK_VALUE(given.isfinite().all().item<bool>(), metric, ": the perturbations hold NaN or Inf");
  return per_example ? given.size(1) : given.size(0);
}

torch::Tensor given_rows(const torch::Tensor& given, const torch::Tensor& input, const torch::Tensor& rows, int64_t samples) {
  const bool per_example = given.dim() == input.dim() + 1;
  return (per_example ? given.flatten(0, 1) : given)
      .to(input.options())
      .index_select(0, per_example ? rows : rows.remainder(samples));
}

at::Generator sample_generator(uint64_t seed, int64_t example, int64_t sample) {
  return nn_interpretability::detail::seeded_generator(seed, example, sample);
}

}  // namespace detail
}  // namespace metrics
}  // namespace nn_interpretability
