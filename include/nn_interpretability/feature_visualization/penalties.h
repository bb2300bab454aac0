#pragma once
// The penalties part of feature visualization: per-row terms subtracted from the objective, so the
// ascent prefers plausible images: L2 decay (towards a reference), total variation, the code's
// norm in code space, and a density prior's energy (e.g. an RBM's free energy).

#include <functional>
#include <string>

#include <torch/arg.h>
#include <torch/types.h>

namespace nn_interpretability {
namespace penalties {

/// Squared L2 distance per row: l2(x, r)_i = Σ_j (x_ij − r_ij)², summed over every element of row i
/// (not averaged, no square root). `reference` undefined = zeros; otherwise one example's shape
/// (e.g. [C, H, W], the class mean), [1, ...] (the same for every row) or [N, ...] (one per row).
///
/// Example:
///   torch::Tensor penalty = nni::penalties::l2(images, class_mean);  // [N]
torch::Tensor l2(const torch::Tensor& x, const torch::Tensor& reference = torch::Tensor());

/// Total variation per row, as the sum of squared differences between vertical and horizontal
/// neighbours (the anisotropic, squared form; Mahendran & Vedaldi's TV with β = 2):
///   tv(x)_i = Σ_{c,y,x} (x[i,c,y+1,x] − x[i,c,y,x])² + Σ_{c,y,x} (x[i,c,y,x+1] − x[i,c,y,x])².
/// Needs rank >= 3 ([N, H, W] or [N, C, H, W], ...).
///
/// Example:
///   torch::Tensor penalty = nni::penalties::total_variation(images);  // [N]
torch::Tensor total_variation(const torch::Tensor& x);

}  // namespace penalties

// The spelling from before the parts were split (issue #14): these lived in nni::regularizers.
namespace regularizers {
using penalties::l2;
using penalties::total_variation;
}  // namespace regularizers

/// A per-row energy F(x) [N] of an image batch, e.g. an RBM's free energy (low = likely).
using EnergyFunction = std::function<torch::Tensor(const torch::Tensor&)>;

/// The weights of the penalties (0 = off). Per row i, the ascent maximizes
///   objective(x_i) − energy_weight·F(x_i) − l2_weight·‖x_i − r‖² − tv_weight·TV(x_i)
///   − latent_l2_weight·‖z_i‖²   (code space, x = G(z)).
struct PenaltyOptions {
  /// Weight of the squared L2 distance of the image to `l2_reference`.
  TORCH_ARG(double, l2_weight) = 0.0;
  /// Reference image of the L2 term (e.g. the class mean): one example's shape, [1, ...] or [N, ...];
  /// undefined = zeros.
  TORCH_ARG(torch::Tensor, l2_reference);
  /// Weight of the total variation (sum of squared neighbour differences) of the image.
  TORCH_ARG(double, tv_weight) = 0.0;
  /// Code space: weight of ‖z‖² (keeps codes where the generator was trained).
  TORCH_ARG(double, latent_l2_weight) = 0.0;
  /// Per-row energy F(x) [N] of the image (a density prior); unset = no prior.
  TORCH_ARG(EnergyFunction, energy);
  /// λ: the weight of the energy term.
  TORCH_ARG(double, energy_weight) = 0.0;
};

/// Applies PenaltyOptions. Options are checked once, at construction; `caller` names the method in
/// every error message.
class Penalties {
 public:
  Penalties(PenaltyOptions options, std::string caller);

  const PenaltyOptions& options() const { return options_; }
  /// A copy whose L2 reference is on `like`'s device and dtype: converted once per run, not once
  /// per step.
  Penalties with_reference_like(const torch::Tensor& like) const;
  /// scores − energy_weight·F(image) − l2_weight·l2(image, reference) − tv_weight·TV(image)
  /// − latent_l2_weight·l2(code), each term only when its weight is > 0, in this order. `code` is
  /// the optimized code (code space) or undefined (input space: no latent term).
  torch::Tensor subtract_from(const torch::Tensor& scores, const torch::Tensor& image, const torch::Tensor& code) const;

 private:
  PenaltyOptions options_;
  std::string caller_;
};

}  // namespace nn_interpretability
