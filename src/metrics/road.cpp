// ROAD on the perturbation engine: row (example e, order o, share j) of the work list is example e
// with the pixels of rank below k_j in order o imputed by noisy linear imputation. On the CPU each
// image's system is factored directly (banded Cholesky, all channels from one factor) when its band
// is small enough; the rest, and other devices, are solved together by one
// batched conjugate gradient.
#include "nn_interpretability/metrics/road.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

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

/// The direct solve costs about n · band² / 2 multiply-adds for n removed pixels, the band being at
/// most a row and a pixel (w + 1); above this budget (a 224x224 image with a third of its pixels gone
/// is about 1e8) the conjugate gradient is cheaper.
constexpr double kDirectBudget = 6e7;

/// The 8 neighbours' offsets and weights of the stencil in neighbour_sum: 1/6 direct, 1/12 diagonal.
struct Neighbour {
  int64_t dy, dx;
  double weight;
};
constexpr Neighbour kNeighbours[8] = {{-1, -1, 1.0 / 12}, {-1, 0, 1.0 / 6}, {-1, 1, 1.0 / 12}, {0, -1, 1.0 / 6},
                                      {0, 1, 1.0 / 6},    {1, -1, 1.0 / 12}, {1, 0, 1.0 / 6}, {1, 1, 1.0 / 12}};

/// One image's system by banded Cholesky, on the CPU. The removed pixels are numbered in row-major
/// order; A = D - W restricted to them has its non-zeros within `band` places of the diagonal (a
/// removed pixel's removed neighbours are at most a row away), and so has the factor L of A = L Lᵀ.
/// L is computed column by column, each column followed by its rank-1 update of the band ahead
/// ("right-looking"): independent multiply-adds over contiguous memory, which vectorize, where the
/// row-by-row dot products wait on each other. Each channel's right-hand side b (`rhs`, [C, H, W],
/// 0 off the removed pixels) is then solved from the one factor into `out` ([C, H, W], written on the
/// removed pixels only). Returns false, writing nothing, when the band makes this dearer than
/// kDirectBudget.
/// Each thread's buffers for solve_direct, kept between images: fresh vectors of this size come from
/// mmap and cost a page fault per 4 KiB page on every image, about as much as a small factorization.
struct DirectScratch {
  std::vector<int64_t> number, pixel_of;
  std::vector<double> column, inverse_diagonal, v;
  /// Up to this many bytes stay allocated for the next image (a 64x64 image's band at most).
  static constexpr size_t kKeepBytes = size_t{4} << 20;
  void release_if_large() {
    if (column.capacity() * sizeof(double) > kKeepBytes) std::vector<double>().swap(column);
  }
};

bool solve_direct(const bool* removed, const double* rhs, double* out, int64_t channels, int64_t height, int64_t width) {
  thread_local DirectScratch scratch;
  struct Release {  // whatever the exit
    DirectScratch& scratch;
    ~Release() { scratch.release_if_large(); }
  } release{scratch};
  const int64_t pixels = height * width;
  std::vector<int64_t>& number = scratch.number;
  std::vector<int64_t>& pixel_of = scratch.pixel_of;
  number.assign(static_cast<size_t>(pixels), -1);
  pixel_of.clear();
  for (int64_t p = 0; p < pixels; ++p)
    if (removed[p]) number[p] = static_cast<int64_t>(pixel_of.size()), pixel_of.push_back(p);
  const int64_t n = static_cast<int64_t>(pixel_of.size());
  if (n == 0) return true;
  int64_t band = 0;
  for (int64_t k = 0; k < n; ++k) {
    const int64_t y = pixel_of[k] / width, x = pixel_of[k] % width;
    for (const Neighbour& q : kNeighbours) {
      const int64_t ny = y + q.dy, nx = x + q.dx;
      if (ny < 0 || ny >= height || nx < 0 || nx >= width) continue;
      const int64_t j = number[ny * width + nx];
      if (j >= 0 && j < k) band = std::max(band, k - j);
    }
  }
  if (0.5 * static_cast<double>(n) * static_cast<double>(band) * static_cast<double>(band) > kDirectBudget) return false;
  // Column i of the lower band at column[i · stride + d] = A(i + d, i), d = 0 .. band (zero past n).
  const int64_t stride = band + 1;
  std::vector<double>& column = scratch.column;
  column.assign(static_cast<size_t>((n + band) * stride), 0.0);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t y = pixel_of[k] / width, x = pixel_of[k] % width;
    double degree = 0;
    for (const Neighbour& q : kNeighbours) {
      const int64_t ny = y + q.dy, nx = x + q.dx;
      if (ny < 0 || ny >= height || nx < 0 || nx >= width) continue;
      degree += q.weight;
      const int64_t j = number[ny * width + nx];
      if (j >= 0 && j < k) column[j * stride + (k - j)] = -q.weight;
    }
    column[k * stride] = degree;
  }
  std::vector<double>& inverse_diagonal = scratch.inverse_diagonal;
  inverse_diagonal.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double* l = column.data() + i * stride;
    if (!(l[0] > 0)) return false;  // not positive definite in floating point: leave it to CG's checks
    l[0] = std::sqrt(l[0]);
    inverse_diagonal[i] = 1 / l[0];
    const int64_t reach = std::min(band, n - 1 - i);
    for (int64_t d = 1; d <= reach; ++d) l[d] *= inverse_diagonal[i];
    // A(i + e, i + d) -= L(i + e, i) L(i + d, i) for d ≤ e ≤ reach: column i + d from its diagonal down.
    for (int64_t d = 1; d <= reach; ++d) {
      const double factor = l[d];
      if (factor == 0) continue;
      double* target = column.data() + (i + d) * stride - d;  // target[e] is A(i + e, i + d)
      for (int64_t e = d; e <= reach; ++e) target[e] -= l[e] * factor;
    }
  }
  std::vector<double>& v = scratch.v;
  v.resize(static_cast<size_t>(n));
  for (int64_t c = 0; c < channels; ++c) {
    const double* b = rhs + c * pixels;
    for (int64_t k = 0; k < n; ++k) v[k] = b[pixel_of[k]];
    for (int64_t i = 0; i < n; ++i) {  // L v = b, column by column
      const double* l = column.data() + i * stride;
      v[i] *= inverse_diagonal[i];
      const int64_t reach = std::min(band, n - 1 - i);
      for (int64_t d = 1; d <= reach; ++d) v[i + d] -= l[d] * v[i];
    }
    for (int64_t i = n - 1; i >= 0; --i) {  // Lᵀ x = v: row i of Lᵀ is column i of L
      const double* l = column.data() + i * stride;
      const int64_t reach = std::min(band, n - 1 - i);
      double sum = v[i];
      for (int64_t d = 1; d <= reach; ++d) sum -= l[d] * v[i + d];
      v[i] = sum * inverse_diagonal[i];
    }
    double* x = out + c * pixels;
    for (int64_t k = 0; k < n; ++k) x[pixel_of[k]] = v[k];
  }
  return true;
}

/// The imputed values of `image` [B, C, H, W] float64 at `removed` [B, 1, H, W] bool (every example
/// keeping a pixel): x on the removed pixels solves D_i x_i - Σ_{j removed} w_ij x_j = Σ_{j known}
/// w_ij image_j, with D_i = Σ_j w_ij over i's neighbours in the image; 0 elsewhere. The operator is
/// D - W restricted to the removed pixels, a principal submatrix of the weighted grid's Laplacian:
/// symmetric positive definite when every connected group of removed pixels touches a known one, as
/// it does whenever some pixel is known (the 8-neighbour grid is connected). One system per example
/// and channel; on the CPU the channels of one example share a direct factorization.
torch::Tensor solve(const torch::Tensor& image, const torch::Tensor& removed, const char* who) {
  const int64_t batch = image.size(0), channels = image.size(1), height = image.size(2), width = image.size(3);
  const torch::Tensor b = neighbour_sum(image.masked_fill(removed, 0.0).reshape({batch * channels, 1, height, width})) *
                          removed.expand({batch, channels, height, width}).reshape({batch * channels, 1, height, width});
  detail::refuse_rows(b.isfinite().logical_not().view({batch, -1}).any(1), who,
                      "the known pixels next to removed ones hold NaN or Inf");
  torch::Tensor result = at::zeros({batch, channels, height, width}, image.options());
  std::vector<int64_t> iterative;
  if (image.is_cpu()) {
    const torch::Tensor mask = removed.contiguous(), rhs = b.contiguous();
    const bool* mask_data = mask.data_ptr<bool>();
    const double* rhs_data = rhs.data_ptr<double>();
    double* out = result.data_ptr<double>();
    const int64_t pixels = height * width;
    std::vector<char> direct(static_cast<size_t>(batch), 0);
    // One thread: at::parallel_for is serial in code built without -fopenmp (ATen's OpenMP backend
    // inlines it), and std::thread workers measured slower here (fresh buffers, OpenMP's spinning pool).
    for (int64_t e = 0; e < batch; ++e)
      direct[e] = solve_direct(mask_data + e * pixels, rhs_data + e * channels * pixels, out + e * channels * pixels,
                               channels, height, width);
    for (int64_t e = 0; e < batch; ++e)
      if (!direct[e]) iterative.push_back(e);
    if (iterative.empty()) return result;
  } else {
    for (int64_t e = 0; e < batch; ++e) iterative.push_back(e);
  }
  const torch::Tensor rows = at::tensor(iterative, at::TensorOptions().dtype(at::kLong)).to(image.device());
  const int64_t count = rows.numel(), systems = count * channels;
  const torch::Tensor mask = removed.index_select(0, rows).expand({count, channels, height, width}).reshape({systems, 1, height, width});
  const torch::Tensor system_b = b.view({batch, channels, height, width}).index_select(0, rows).reshape({systems, 1, height, width});
  const torch::Tensor degree = neighbour_sum(at::ones({1, 1, height, width}, image.options()));
  const torch::Tensor real_mask = mask.to(at::kDouble);
  const int64_t group = image.is_cpu() ? std::max<int64_t>(1, kCpuGroupPixels / (height * width)) : systems;
  std::vector<torch::Tensor> parts;
  for (int64_t first = 0; first < systems; first += group) {
    const int64_t last = std::min(systems, first + group);
    parts.push_back(conjugate_gradient(system_b.slice(0, first, last), real_mask.slice(0, first, last), degree, who));
  }
  result.index_copy_(0, rows, at::cat(parts).view({count, channels, height, width}));
  return result;
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
