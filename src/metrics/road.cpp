// ROAD on the perturbation engine: row (example e, order o, share j) of the work list is example e
// with the pixels of rank below k_j in order o imputed by noisy linear imputation; each chunk's
// imputations are solved together by one batched conjugate gradient (in cache-sized groups on the CPU).
#include "nn_interpretability/metrics/road.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/Exception.h>

#include "metric_checks.h"

namespace nn_interpretability {
namespace metrics {
namespace {

/// CG stops a system when its recurrence residual is below kTolerance ||b||, and accepts the answer
/// when the true residual ||b - A x|| is too (else it restarts from x).
constexpr double kTolerance = 1e-12;
/// Iterations between two checks for converged systems (a device synchronization each); the
/// converged ones then leave the batch.
constexpr int64_t kCheckEvery = 4;
/// On the CPU the systems are solved in groups of about this many pixels (2 MiB per float64 vector):
/// CG is memory-bound, and small groups stay in cache (road_combined on one 3x224x224 image, 54
/// systems: 15.8 s in groups of 5, 21.5 s all at once, 2 cores). Other devices solve all at once.
constexpr int64_t kCpuGroupPixels = int64_t{1} << 18;

/// (W v)_i = Σ_j w_ij v_j over the 8 neighbours j of i inside the image, for v [S, 1, H, W]: the 3x3
/// stencil 1/12 · [1 2 1]ᵀ[1 2 1] less 1/3 at the centre (1/6 direct, 1/12 diagonal, 0 centre) with
/// zero padding, applied separably with shifted slices: the same as conv2d with that kernel up to
/// rounding (4e-16), and 3x (54 images of 224x224) to 30x (3 images) faster on the CPU, where
/// float64 conv2d goes through im2col.
torch::Tensor neighbour_sum(const torch::Tensor& v) {
  const int64_t height = v.size(2), width = v.size(3);
  const torch::Tensor padded = at::constant_pad_nd(v, {1, 1, 1, 1}, 0.0);
  const torch::Tensor rows =
      padded.slice(3, 0, width) + padded.slice(3, 1, width + 1) * 2 + padded.slice(3, 2, width + 2);  // [S, 1, H + 2, W]
  const torch::Tensor both = rows.slice(2, 0, height) + rows.slice(2, 1, height + 1) * 2 + rows.slice(2, 2, height + 2);
  return both / 12.0 - v / 3.0;
}

/// Σ_i a_i b_i per system, a and b [S, 1, H, W] contiguous: [S, 1, 1, 1].
torch::Tensor pixel_dot(const torch::Tensor& a, const torch::Tensor& b) {
  const int64_t systems = a.size(0), pixels = a.size(2) * a.size(3);
  return at::bmm(a.view({systems, 1, pixels}), b.view({systems, pixels, 1})).view({systems, 1, 1, 1});
}

/// A v = (D v - W v) · mask = ((D + 1/3) v - [1 2 1]ᵀ[1 2 1] v / 12) · mask for v [S, 1, H, W], into
/// `out`, through buffers allocated once: CG is memory-bound, and fresh tensors of an image's size
/// cost a page fault per page on every call.
class LaplacianOperator {
 public:
  LaplacianOperator(const torch::Tensor& degree, int64_t systems)
      : centre_(degree + 1.0 / 3),
        padded_(at::zeros({systems, 1, degree.size(2) + 2, degree.size(3) + 2}, degree.options())),
        rows_(at::empty({systems, 1, degree.size(2) + 2, degree.size(3)}, degree.options())) {}

  /// For the first v.size(0) systems' buffers; `on` [S, 1, H, W] is the mask.
  void apply(const torch::Tensor& v, const torch::Tensor& on, torch::Tensor& out) {
    const int64_t systems = v.size(0), height = v.size(2), width = v.size(3);
    torch::Tensor padded = padded_.slice(0, 0, systems), rows = rows_.slice(0, 0, systems);
    padded.slice(2, 1, height + 1).slice(3, 1, width + 1).copy_(v);  // the zero border stays
    at::add_out(rows, padded.slice(3, 0, width), padded.slice(3, 2, width + 2));
    rows.add_(padded.slice(3, 1, width + 1), 2);
    at::add_out(out, rows.slice(2, 0, height), rows.slice(2, 2, height + 2));
    out.add_(rows.slice(2, 1, height + 1), 2);
    out.mul_(-1.0 / 12).addcmul_(centre_, v).mul_(on);
  }

 private:
  torch::Tensor centre_, padded_, rows_;
};

/// Jacobi-preconditioned conjugate gradient for the systems A_s x_s = b_s, b and mask [S, 1, H, W]
/// (mask 1 on the unknowns, b 0 elsewhere), A = (D - W) restricted to the mask; `degree` [1, 1, H, W]
/// is D. Each system is iterated until it converges; the converged ones leave the batch.
torch::Tensor conjugate_gradient(const torch::Tensor& b, const torch::Tensor& mask, const torch::Tensor& degree,
                                 const char* who) {
  const int64_t height = b.size(2), width = b.size(3);
  // A 1x1 image has no neighbour (and then no removed pixel).
  const torch::Tensor inverse_degree = at::where(degree > 0, degree.reciprocal(), at::zeros_like(degree));
  LaplacianOperator laplacian(degree, b.size(0));
  const torch::Tensor all_thresholds = pixel_dot(b, b) * (kTolerance * kTolerance);  // [S, 1, 1, 1]
  const int64_t cap = std::max<int64_t>(100, 4 * height * width);
  torch::Tensor solution = at::zeros_like(b);
  int64_t iterations = 0;
  while (true) {
    torch::Tensor residual = at::empty_like(b);
    laplacian.apply(solution, mask, residual);
    residual.neg_().add_(b);  // the true residual: b at first, then at a restart
    const torch::Tensor rr = pixel_dot(residual, residual);
    const torch::Tensor open = (rr > all_thresholds).flatten().nonzero().flatten();
    if (open.numel() == 0) break;
    if (iterations >= cap) {
      const double worst = (rr / pixel_dot(b, b)).sqrt().index_select(0, open).max().item<double>();
      TORCH_CHECK(false, who, ": the linear imputation's conjugate gradient did not converge in ", cap,
                  " iterations (relative residual ", worst, ", wanted ", kTolerance, ")");
    }
    torch::Tensor ids = open;
    torch::Tensor x = solution.index_select(0, ids), r = residual.index_select(0, ids);
    torch::Tensor on = mask.index_select(0, ids), threshold = all_thresholds.index_select(0, ids);
    torch::Tensor z = r * inverse_degree, q = at::empty_like(r);
    torch::Tensor p = z.clone();
    torch::Tensor rz = pixel_dot(r, z);
    while (iterations < cap) {
      laplacian.apply(p, on, q);
      const torch::Tensor pq = pixel_dot(p, q);
      const torch::Tensor alpha = (rz / pq).masked_fill(pq <= 0, 0.0);  // pq = 0 once a system is solved exactly
      x.addcmul_(alpha, p);
      r.addcmul_(alpha, q, -1.0);
      ++iterations;
      if (iterations % kCheckEvery == 0) {
        const torch::Tensor active = (pixel_dot(r, r) > threshold).flatten();
        const int64_t left = active.sum().item<int64_t>();
        if (left < ids.numel()) {
          solution.index_copy_(0, ids, x);
          if (left == 0) break;
          const torch::Tensor keep = active.nonzero().flatten();
          ids = ids.index_select(0, keep);
          for (torch::Tensor* state : {&x, &r, &p, &on, &threshold, &rz}) *state = state->index_select(0, keep);
          z = z.slice(0, 0, left), q = q.slice(0, 0, left);  // contiguous prefixes: scratch space
        }
      }
      at::mul_out(z, r, inverse_degree);
      const torch::Tensor rz_next = pixel_dot(r, z);
      p.mul_((rz_next / rz).masked_fill(rz <= 0, 0.0)).add_(z);
      rz = rz_next;
    }
    solution.index_copy_(0, ids, x);
  }
  return solution;
}

/// The imputed values of `image` [B, C, H, W] float64 at `removed` [B, 1, H, W] bool (every example
/// keeping a pixel): x on the removed pixels solves D_i x_i - Σ_{j removed} w_ij x_j = Σ_{j known}
/// w_ij image_j, with D_i = Σ_j w_ij over i's neighbours in the image; 0 elsewhere. The operator is
/// D - W restricted to the removed pixels, a principal submatrix of the weighted grid's Laplacian:
/// symmetric positive definite when every connected group of removed pixels touches a known one, as
/// it does whenever some pixel is known (the 8-neighbour grid is connected). One system per example
/// and channel.
torch::Tensor solve(const torch::Tensor& image, const torch::Tensor& removed, const char* who) {
  const int64_t batch = image.size(0), channels = image.size(1), height = image.size(2), width = image.size(3);
  const int64_t systems = batch * channels;
  const torch::Tensor mask = removed.expand({batch, channels, height, width}).reshape({systems, 1, height, width});
  const torch::Tensor b = neighbour_sum(image.masked_fill(removed, 0.0).reshape({systems, 1, height, width})) * mask;
  detail::refuse_rows(b.isfinite().logical_not().view({batch, -1}).any(1), who,
                      "the known pixels next to removed ones hold NaN or Inf");
  const torch::Tensor degree = neighbour_sum(at::ones({1, 1, height, width}, image.options()));
  const torch::Tensor real_mask = mask.to(at::kDouble);
  const int64_t group = image.is_cpu() ? std::max<int64_t>(1, kCpuGroupPixels / (height * width)) : systems;
  std::vector<torch::Tensor> parts;
  for (int64_t first = 0; first < systems; first += group) {
    const int64_t last = std::min(systems, first + group);
    parts.push_back(conjugate_gradient(b.slice(0, first, last), real_mask.slice(0, first, last), degree, who));
  }
  return at::cat(parts).view({batch, channels, height, width});
}

/// The input [B, C, H, W] with `removed` [B, 1, H, W] bool imputed, plus `noise` [B, C, H, W] float64
/// (undefined: none) on the imputed pixels, in the input's dtype.
torch::Tensor impute(const torch::Tensor& input, const torch::Tensor& removed, const torch::Tensor& noise,
                     const char* who) {
  const torch::Tensor image = input.detach().to(at::kDouble);
  torch::Tensor values = solve(image, removed, who);
  if (noise.defined()) values = values + noise;
  return at::where(removed, values, image).to(input.scalar_type());
}

void check_images(const torch::Tensor& input, const char* who) {
  TORCH_CHECK_VALUE(input.defined() && input.dim() == 4 && input.numel() > 0, who,
                    ": the input must be a non-empty batch of images [N, C, H, W], got shape ",
                    input.defined() ? input.sizes() : at::IntArrayRef{});
  TORCH_CHECK_TYPE(input.is_floating_point(), who, ": the input must be floating point, got ", input.scalar_type());
}

void check_noise(double noise, const char* who) {
  TORCH_CHECK_VALUE(std::isfinite(noise) && noise >= 0, who, ": noise must be finite and >= 0, got ", noise);
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// The seed of one perturbed image's noise.
uint64_t row_seed(uint64_t seed, int64_t example, RelevanceOrder order, int64_t fraction) {
  uint64_t h = splitmix64(seed);
  h = splitmix64(h ^ static_cast<uint64_t>(example));
  h = splitmix64(h ^ (order == RelevanceOrder::kMostRelevantFirst ? 1u : 2u));
  return splitmix64(h ^ static_cast<uint64_t>(fraction));
}

/// Scores [N, orders, S] float64 after each share is removed in each order, and the clean scores [N].
struct RoadScores {
  torch::Tensor perturbed;
  torch::Tensor clean;
};

RoadScores run_road(const Model& model, const torch::Tensor& input, const Target& target,
                    const torch::Tensor& attributions, const RoadOptions& options,
                    const std::vector<RelevanceOrder>& orders, const char* metric) {
  model.check_input(input, metric);
  check_images(input, metric);
  check_noise(options.noise(), metric);
  PerturbationEngine::check_options(metric, options.engine());
  const std::vector<double>& fractions = options.fractions();
  TORCH_CHECK_VALUE(!fractions.empty(), metric, ": fractions must hold at least one share of pixels to remove");
  for (size_t j = 0; j < fractions.size(); ++j) {
    TORCH_CHECK_VALUE(std::isfinite(fractions[j]) && fractions[j] > 0 && fractions[j] < 1, metric,
                      ": fractions must be in (0, 1), got ", fractions[j]);
    if (j > 0)
      TORCH_CHECK_VALUE(fractions[j] > fractions[j - 1], metric, ": fractions must be strictly increasing, got ",
                        fractions[j - 1], " then ", fractions[j]);
  }
  const int64_t batch = input.size(0), channels = input.size(1), height = input.size(2), width = input.size(3);
  const int64_t pixels = height * width;
  std::vector<int64_t> counts;
  for (const double fraction : fractions) {
    counts.push_back(static_cast<int64_t>(std::round(fraction * static_cast<double>(pixels))));
    TORCH_CHECK_VALUE(counts.back() < pixels, metric, ": fraction ", fraction, " removes all ", pixels, " pixels of a ",
                      height, "x", width, " image; the imputation needs a known pixel");
  }
  // Pixel relevance [N, P], and each order's ranks: rank[e · O + o, p] is pixel p's place in order o.
  const torch::Tensor relevance = detail::pixel_relevance(attributions, input, metric);
  std::vector<torch::Tensor> order_ranks;
  for (const RelevanceOrder order : orders)
    order_ranks.push_back(detail::ranks(relevance, /*descending=*/order == RelevanceOrder::kMostRelevantFirst));
  const int64_t order_count = static_cast<int64_t>(orders.size());
  const torch::Tensor rank = at::stack(order_ranks, 1).reshape({batch * order_count, pixels}).to(input.device());

  const int64_t shares = static_cast<int64_t>(fractions.size());
  const torch::Tensor count_of_share = at::tensor(counts, at::TensorOptions().dtype(at::kLong)).to(input.device());
  const auto long_options = input.options().dtype(at::kLong);
  const PerturbationEngine engine(model, PerturbationEngineOptions(options.engine()).class_probabilities(options.probabilities()));
  // Row r = (e · O + o) · S + j.
  const PerturbationRun run =
      engine.run(input, target, batch * order_count * shares, [&](int64_t first, int64_t count) {
        const torch::Tensor rows = at::arange(first, first + count, long_options);
        const torch::Tensor examples = rows.div(order_count * shares, "floor");
        const torch::Tensor j = rows.remainder(shares);
        const torch::Tensor removed =
            (rank.index_select(0, rows.div(shares, "floor")) < count_of_share.index_select(0, j).unsqueeze(1))
                .view({count, 1, height, width});
        torch::Tensor noise;
        if (options.noise() > 0) {
          std::vector<torch::Tensor> draws;
          for (int64_t row = first; row < first + count; ++row) {
            const int64_t e = row / (order_count * shares), o = row / shares % order_count, share = row % shares;
            draws.push_back(at::randn({channels, height, width},
                                      at::make_generator<at::CPUGeneratorImpl>(row_seed(options.seed(), e, orders[o], share)),
                                      at::TensorOptions().dtype(at::kDouble)));
          }
          noise = at::stack(draws).to(input.device()).mul_(options.noise());
        }
        return PerturbedRows{impute(input.index_select(0, examples), removed, noise, metric), examples};
      });
  return RoadScores{run.scores.to(at::kDouble).view({batch, order_count, shares}), run.clean.scores.to(at::kDouble)};
}

}  // namespace

torch::Tensor linear_imputation(const torch::Tensor& input, const torch::Tensor& removed, double noise,
                                c10::optional<at::Generator> generator) {
  const char* who = "linear_imputation";
  check_images(input, who);
  check_noise(noise, who);
  const int64_t batch = input.size(0), height = input.size(2), width = input.size(3);
  TORCH_CHECK_VALUE(removed.defined() && ((removed.dim() == 3 && removed.sizes() == at::IntArrayRef({batch, height, width})) ||
                                          (removed.dim() == 4 && removed.sizes() == at::IntArrayRef({batch, 1, height, width}))),
                    who, ": the removed mask must be [N, H, W] or [N, 1, H, W] = [", batch, ", 1, ", height, ", ", width,
                    "] for the input ", input.sizes(), ", got shape ", removed.defined() ? removed.sizes() : at::IntArrayRef{});
  torch::Tensor mask = removed.detach().to(input.device()).reshape({batch, 1, height, width});
  if (mask.scalar_type() != at::kBool) {
    detail::refuse_rows(((mask != 0) & (mask != 1)).flatten(1).any(1), who, "the removed mask holds values other than 0 and 1");
    mask = mask != 0;
  }
  detail::refuse_rows(mask.flatten(1).all(1), who, "every pixel is removed (the imputation needs a known pixel)");
  torch::Tensor draws;
  if (noise > 0) {
    const at::Device device = generator.has_value() ? generator->device() : input.device();
    draws = at::randn(input.sizes(), generator, at::TensorOptions().dtype(at::kDouble).device(device))
                .to(input.device())
                .mul_(noise);
  }
  return impute(input, mask, draws, who);
}

Curve road_curve(const Model& model, const torch::Tensor& input, const Target& target,
                 const torch::Tensor& attributions, const RoadOptions& options) {
  const RoadScores road = run_road(model, input, target, attributions, options, {options.order()}, "road_curve");
  const auto real = at::TensorOptions().dtype(at::kDouble).device(input.device());
  std::vector<double> fractions{0.0};
  fractions.insert(fractions.end(), options.fractions().begin(), options.fractions().end());
  const int64_t shares = static_cast<int64_t>(options.fractions().size());
  Curve curve;
  curve.fractions = at::tensor(fractions, real);
  curve.scores = at::cat({road.clean.unsqueeze(1), road.perturbed.select(1, 0)}, 1);
  const torch::Tensor widths = curve.fractions.slice(0, 1) - curve.fractions.slice(0, 0, shares);
  curve.auc = ((curve.scores.slice(1, 1) + curve.scores.slice(1, 0, shares)) * 0.5 * widths).sum(1);
  return curve;
}

torch::Tensor road_combined(const Model& model, const torch::Tensor& input, const Target& target,
                            const torch::Tensor& attributions, const RoadOptions& options) {
  const RoadScores road =
      run_road(model, input, target, attributions, options,
               {RelevanceOrder::kLeastRelevantFirst, RelevanceOrder::kMostRelevantFirst}, "road_combined");
  const torch::Tensor change = road.perturbed - road.clean.view({-1, 1, 1});  // [N, 2, S]
  return (change.select(1, 0).mean(1) - change.select(1, 1).mean(1)) / 2;
}

}  // namespace metrics
}  // namespace nn_interpretability
