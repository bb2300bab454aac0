#include "nn_interpretability/metrics/similarity.h"

#include <algorithm>
#include <string>
#include <utility>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "metric_checks.h"

namespace nn_interpretability {
namespace metrics {
namespace {

/// `x` [N, ...] (N ≥ 1, floating point, finite) as float64, same shape; `name` names it in messages.
torch::Tensor checked_batch(const torch::Tensor& x, const char* metric, const char* name) {
  TORCH_CHECK_VALUE(x.defined() && x.dim() >= 2 && x.size(0) >= 1 && x.numel() > 0, metric, ": ", name,
                    " must be a non-empty batch [N, ...] of at least 2 dimensions, got shape ",
                    x.defined() ? x.sizes() : at::IntArrayRef{});
  TORCH_CHECK_TYPE(x.is_floating_point(), metric, ": ", name, " must be floating point, got ", x.scalar_type());
  const torch::Tensor values = x.detach().to(at::kDouble);
  detail::refuse_rows(values.isfinite().logical_not().reshape({x.size(0), -1}).any(1), metric,
                      (std::string(name) + " holds NaN or Inf").c_str());
  return values;
}

std::pair<torch::Tensor, torch::Tensor> checked_pair(const torch::Tensor& a, const torch::Tensor& b, const char* metric) {
  torch::Tensor x = checked_batch(a, metric, "a"), y = checked_batch(b, metric, "b");
  TORCH_CHECK_VALUE(x.sizes() == y.sizes() && x.device() == y.device(), metric,
                    ": a and b must have the same shape and device, got ", x.sizes(), " on ", x.device(), " and ",
                    y.sizes(), " on ", y.device());
  return {std::move(x), std::move(y)};
}

/// Maps [N, H, W], or [N, C, H, W] summed over the channels, as [N, H, W].
torch::Tensor as_maps(const torch::Tensor& values, const char* metric, const char* name) {
  TORCH_CHECK_VALUE(values.dim() == 3 || values.dim() == 4, metric, ": ", name,
                    " must be maps [N, H, W] or [N, C, H, W], got shape ", values.sizes());
  return values.dim() == 4 ? values.sum(1) : values;
}

/// Pearson's r of each row pair of x, y [N, n] (float64), clamped to [−1, 1]; rows constant in x or y
/// are refused with `x_constant` / `y_constant`.
torch::Tensor row_correlation(const torch::Tensor& x, const torch::Tensor& y, const char* metric,
                              const char* x_constant, const char* y_constant) {
  // max == min rather than a zero centred row: a constant row's mean need not round to its value.
  detail::refuse_rows(x.amax(1) == x.amin(1), metric, x_constant);
  detail::refuse_rows(y.amax(1) == y.amin(1), metric, y_constant);
  const auto centred = [](const torch::Tensor& rows) {
    const torch::Tensor c = rows - rows.mean(1, /*keepdim=*/true);
    return c / c.abs().amax(1, /*keepdim=*/true);  // scaled as scipy does, so squares cannot overflow
  };
  const torch::Tensor xc = centred(x), yc = centred(y);
  return ((xc * yc).sum(1) / (xc.square().sum(1) * yc.square().sum(1)).sqrt()).clamp(-1, 1);
}

/// 1-based ranks within each row [N, n], tied values sharing the mean of the positions they span
/// (scipy.stats.rankdata 'average').
torch::Tensor average_ranks(const torch::Tensor& rows) {
  const auto sorted = rows.sort(/*stable=*/true, /*dim=*/1);
  const torch::Tensor& values = std::get<0>(sorted);
  const torch::Tensor& order = std::get<1>(sorted);
  const int64_t n = rows.size(1);
  const torch::Tensor position = at::arange(n, order.options()).expand_as(order);
  const torch::Tensor differs = values.slice(1, 1) != values.slice(1, 0, n - 1);
  const torch::Tensor edge = at::ones({rows.size(0), 1}, differs.options());
  // A run of ties spans [first, last]: the running max of run starts, the running min from the right
  // of run ends.
  const torch::Tensor first = std::get<0>(position.masked_fill(at::cat({edge, differs}, 1).logical_not(), 0).cummax(1));
  const torch::Tensor last =
      std::get<0>(position.masked_fill(at::cat({differs, edge}, 1).logical_not(), n - 1).flip(1).cummin(1)).flip(1);
  const torch::Tensor rank = (first + last).to(at::kDouble) / 2 + 1;
  return at::empty_like(rank).scatter_(1, order, rank);
}

/// HOG features [N, F] of maps [N, H, W] (float64), following skimage 0.19's _hog.py and
/// _hoghistogram.pyx step by step.
torch::Tensor hog_of_maps(const torch::Tensor& maps, const HogOptions& options, const char* metric) {
  const int64_t bins = options.orientations(), p = options.pixels_per_cell(), c = options.cells_per_block();
  TORCH_CHECK_VALUE(bins >= 1 && p >= 1 && c >= 1, metric,
                    ": orientations, pixels_per_cell and cells_per_block must be positive, got ", bins, ", ", p, ", ", c);
  const int64_t n = maps.size(0), height = maps.size(1), width = maps.size(2);
  const int64_t cell_rows = height / p, cell_cols = width / p;
  TORCH_CHECK_VALUE(cell_rows >= c && cell_cols >= c, metric, ": ", height, " x ", width, " maps hold ", cell_rows, " x ",
                    cell_cols, " cells of ", p, " x ", p, " pixels, fewer than one block of ", c, " x ", c, " cells");

  // Central differences, 0 on the border rows and columns.
  torch::Tensor g_row = at::zeros_like(maps), g_col = at::zeros_like(maps);
  if (height > 2) g_row.slice(1, 1, height - 1).copy_(maps.slice(1, 2) - maps.slice(1, 0, height - 2));
  if (width > 2) g_col.slice(2, 1, width - 1).copy_(maps.slice(2, 2) - maps.slice(2, 0, width - 2));
  const torch::Tensor magnitude = at::hypot(g_col, g_row).unsqueeze(-1);
  const torch::Tensor orientation = at::rad2deg(at::atan2(g_row, g_col)).remainder(180.0).unsqueeze(-1);
  // Bin i holds [180/o · i, 180/o · (i + 1)), bounds computed as skimage does; an orientation that
  // rounds to 180 (a tiny negative angle) falls in no bin there either.
  const torch::Tensor bounds = at::arange(bins + 1, maps.options()) * (180.0 / bins);
  const torch::Tensor in_bin = (orientation >= bounds.slice(0, 0, bins)) & (orientation < bounds.slice(0, 1));
  const torch::Tensor votes = at::where(in_bin, magnitude, at::zeros({}, maps.options()));  // [N, H, W, o]

  // [p², N, cell rows, cell cols, o]: every cell's pixels, in the cell's row-major order.
  const torch::Tensor pixels = votes.slice(1, 0, cell_rows * p)
                                   .slice(2, 0, cell_cols * p)
                                   .reshape({n, cell_rows, p, cell_cols, p, bins})
                                   .permute({2, 4, 0, 1, 3, 5})
                                   .reshape({p * p, n, cell_rows, cell_cols, bins});
  // skimage sums a cell in a C float: each addition, done in double, is rounded to float32, in this
  // order (exact float64 sums differ from its features by ~1e-8).
  torch::Tensor sum = at::zeros({n, cell_rows, cell_cols, bins}, maps.options());
  for (int64_t k = 0; k < p * p; ++k) sum = (sum + pixels[k]).to(at::kFloat).to(at::kDouble);
  // Then divides in float32; a tensor divisor, not a scalar one, which CUDA would turn into a product
  // with a rounded reciprocal.
  const torch::Tensor area = at::full({}, static_cast<double>(p * p), sum.options().dtype(at::kFloat));
  const torch::Tensor histogram = sum.to(at::kFloat).div(area).to(at::kDouble);

  // Every c × c block of cells, [N, block rows, block cols, c² o] in [cell row, cell col, bin] order.
  const torch::Tensor blocks = histogram.unfold(1, c, 1).unfold(2, c, 1).permute({0, 1, 2, 4, 5, 3});
  const torch::Tensor flat_blocks = blocks.reshape({n, cell_rows - c + 1, cell_cols - c + 1, c * c * bins});
  constexpr double eps = 1e-5;  // skimage's; eps² is 1e-5 ** 2 as Python rounds it
  const auto l2_normalized = [](const torch::Tensor& v) { return v / (v.square().sum(-1, true) + eps * eps).sqrt(); };
  return l2_normalized(l2_normalized(flat_blocks).clamp_max(0.2)).reshape({n, -1});
}

}  // namespace

torch::Tensor spearman_correlation(const torch::Tensor& a, const torch::Tensor& b) {
  const auto [x, y] = checked_pair(a, b, "spearman_correlation");
  return row_correlation(average_ranks(x.reshape({x.size(0), -1})), average_ranks(y.reshape({y.size(0), -1})),
                         "spearman_correlation", "a is constant (the correlation is undefined)",
                         "b is constant (the correlation is undefined)");
}

torch::Tensor pearson_correlation(const torch::Tensor& a, const torch::Tensor& b) {
  const auto [x, y] = checked_pair(a, b, "pearson_correlation");
  return row_correlation(x.reshape({x.size(0), -1}), y.reshape({y.size(0), -1}), "pearson_correlation",
                         "a is constant (the correlation is undefined)", "b is constant (the correlation is undefined)");
}

torch::Tensor ssim(const torch::Tensor& a, const torch::Tensor& b, const SsimOptions& options) {
  const auto [checked_a, checked_b] = checked_pair(a, b, "ssim");
  const torch::Tensor x = as_maps(checked_a, "ssim", "a"), y = as_maps(checked_b, "ssim", "b");
  const int64_t w = options.window(), height = x.size(1), width = x.size(2);
  TORCH_CHECK_VALUE(w >= 3 && w % 2 == 1 && w <= std::min(height, width),
                    "ssim: the window must be odd, at least 3 and at most the maps' smaller side, got ", w,
                    " for maps of ", height, " x ", width);
  TORCH_CHECK_VALUE(options.k1() > 0 && options.k2() > 0 && options.data_range() >= 0,
                    "ssim: k1 and k2 must be positive and data_range non-negative, got ", options.k1(), ", ",
                    options.k2(), ", ", options.data_range());
  const torch::Tensor range = options.data_range() > 0
                                  ? at::full({x.size(0)}, options.data_range(), x.options())
                                  : at::maximum(x.amax({1, 2}), y.amax({1, 2})) - at::minimum(x.amin({1, 2}), y.amin({1, 2}));
  // R = 0 makes C1 = C2 = 0 and every window 0/0; refused here, as rounding would decide otherwise.
  detail::refuse_rows(range == 0, "ssim", "a and b are one constant (data range 0: the SSIM is 0/0)");
  const torch::Tensor c1 = (range * options.k1()).square().view({-1, 1, 1, 1});
  const torch::Tensor c2 = (range * options.k2()).square().view({-1, 1, 1, 1});
  // Only the windows inside the map: the ones skimage's cropped mean keeps, whatever its padding.
  const auto window_mean = [w](const torch::Tensor& z) { return at::avg_pool2d(z.unsqueeze(1), {w, w}, {1, 1}); };
  const double sample = static_cast<double>(w * w) / static_cast<double>(w * w - 1);
  const torch::Tensor mx = window_mean(x), my = window_mean(y);
  const torch::Tensor vx = (window_mean(x * x) - mx * mx) * sample;
  const torch::Tensor vy = (window_mean(y * y) - my * my) * sample;
  const torch::Tensor vxy = (window_mean(x * y) - mx * my) * sample;
  const torch::Tensor map = (2 * mx * my + c1) * (2 * vxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2));
  return map.mean({1, 2, 3});
}

torch::Tensor hog_features(const torch::Tensor& maps, const HogOptions& options) {
  return hog_of_maps(as_maps(checked_batch(maps, "hog_features", "maps"), "hog_features", "maps"), options, "hog_features");
}

torch::Tensor hog_similarity(const torch::Tensor& a, const torch::Tensor& b, const HogOptions& options) {
  const auto [x, y] = checked_pair(a, b, "hog_similarity");
  return row_correlation(hog_of_maps(as_maps(x, "hog_similarity", "a"), options, "hog_similarity"),
                         hog_of_maps(as_maps(y, "hog_similarity", "b"), options, "hog_similarity"), "hog_similarity",
                         "the HOG features of a are constant (a map without gradients: the correlation is undefined)",
                         "the HOG features of b are constant (a map without gradients: the correlation is undefined)");
}

}  // namespace metrics
}  // namespace nn_interpretability
