#include "metric_checks.h"

#include <string>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "nn_interpretability/detail/result_checks.h"

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

}  // namespace detail
}  // namespace metrics
}  // namespace nn_interpretability
