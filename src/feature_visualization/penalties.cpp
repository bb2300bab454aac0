#include "nn_interpretability/feature_visualization/penalties.h"

#include <cmath>
#include <sstream>
#include <utility>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace nn_interpretability {
namespace penalties {

torch::Tensor l2(const torch::Tensor& x, const torch::Tensor& reference) {
  TORCH_CHECK_VALUE(x.defined() && x.dim() >= 1, "penalties::l2: x must be a batch [N, ...]");
  if (!reference.defined()) return x.square().reshape({x.size(0), -1}).sum(1);
  const auto example = x.sizes().slice(1);
  torch::Tensor r = reference;
  if (r.dim() == x.dim() - 1 && r.sizes() == example) {
    r = r.unsqueeze(0);
  } else {
    TORCH_CHECK_VALUE(r.dim() == x.dim() && r.sizes().slice(1) == example && (r.size(0) == 1 || r.size(0) == x.size(0)),
                      "penalties::l2: the reference has shape ", reference.sizes(), "; for a batch of shape ",
                      x.sizes(), " it must be one example ", example, ", [1, ...] or [", x.size(0), ", ...]");
  }
  r = r.to(x.device(), x.scalar_type());
  return (x - r).square().reshape({x.size(0), -1}).sum(1);
}

torch::Tensor total_variation(const torch::Tensor& x) {
  TORCH_CHECK_VALUE(x.defined() && x.dim() >= 3, "penalties::total_variation: needs images [N, ..., H, W] of rank >= 3, got ",
                    x.defined() ? x.sizes() : c10::IntArrayRef{});
  const int64_t h = x.size(-2), w = x.size(-1);
  const int64_t batch = x.size(0);
  torch::Tensor total = at::zeros({batch}, x.options());
  if (h > 1) total = total + (x.narrow(-2, 1, h - 1) - x.narrow(-2, 0, h - 1)).square().reshape({batch, -1}).sum(1);
  if (w > 1) total = total + (x.narrow(-1, 1, w - 1) - x.narrow(-1, 0, w - 1)).square().reshape({batch, -1}).sum(1);
  return total;
}

}  // namespace penalties

namespace {

bool finite_non_negative(double value) { return std::isfinite(value) && value >= 0; }

std::string shape_string(c10::IntArrayRef shape) {
  std::ostringstream out;
  out << shape;
  return out.str();
}

}  // namespace

Penalties::Penalties(PenaltyOptions options, std::string caller)
    : options_(std::move(options)), caller_(std::move(caller)) {
  const auto& o = options_;
  TORCH_CHECK_VALUE(finite_non_negative(o.l2_weight()), caller_,
                    ": penalties.l2_weight must be a finite value >= 0, got ", o.l2_weight());
  TORCH_CHECK_VALUE(finite_non_negative(o.tv_weight()), caller_,
                    ": penalties.tv_weight must be a finite value >= 0, got ", o.tv_weight());
  TORCH_CHECK_VALUE(finite_non_negative(o.latent_l2_weight()), caller_,
                    ": penalties.latent_l2_weight must be a finite value >= 0, got ", o.latent_l2_weight());
  TORCH_CHECK_VALUE(finite_non_negative(o.energy_weight()), caller_,
                    ": penalties.energy_weight must be a finite value >= 0, got ", o.energy_weight());
  TORCH_CHECK_VALUE(o.energy_weight() == 0 || static_cast<bool>(o.energy()), caller_, ": penalties.energy_weight is ",
                    o.energy_weight(), " but no energy function is set (penalties.energy)");
}

Penalties Penalties::with_reference_like(const torch::Tensor& like) const {
  Penalties moved = *this;
  if (options_.l2_reference().defined())
    moved.options_.l2_reference(options_.l2_reference().to(like.device(), like.scalar_type()));
  return moved;
}

torch::Tensor Penalties::subtract_from(const torch::Tensor& scores, const torch::Tensor& image,
                                       const torch::Tensor& code) const {
  const auto& o = options_;
  const int64_t batch = image.size(0);
  torch::Tensor total = scores;
  if (o.energy_weight() > 0) {
    torch::Tensor energy = o.energy()(image);
    TORCH_CHECK_VALUE(energy.defined() && energy.dim() == 1 && energy.size(0) == batch, caller_,
                      ": the energy function must return one value per row [", batch, "], got ",
                      energy.defined() ? shape_string(energy.sizes()) : std::string("an undefined tensor"));
    total = total - o.energy_weight() * energy;
  }
  if (o.l2_weight() > 0) total = total - o.l2_weight() * penalties::l2(image, o.l2_reference());
  if (o.tv_weight() > 0) total = total - o.tv_weight() * penalties::total_variation(image);
  if (code.defined() && o.latent_l2_weight() > 0) total = total - o.latent_l2_weight() * penalties::l2(code);
  return total;
}

}  // namespace nn_interpretability
