// Similarity measures (model-randomization sanity checks): rank correlation by hand with ties, the
// identities that define each measure, and agreement with scipy / scikit-image 0.19 on the maps of
// tests/fixtures/metrics_reference/export_similarity_reference.py.
#include <cmath>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "nn_interpretability/io/npy.h"
#include "nn_interpretability/metrics/similarity.h"
#include "support/all_close.h"
#include "support/catch_torch.h"

namespace nni = nn_interpretability;
namespace metrics = nn_interpretability::metrics;
using Catch::Matchers::Contains;
using nni_test::AllClose;

namespace {

torch::Tensor doubles(std::vector<double> values, std::vector<int64_t> shape) {
  return torch::tensor(values, torch::kDouble).view(shape);
}

torch::Tensor reference(const std::string& name) {
  return nni::read_npy(std::string(NNI_SOURCE_DIR) + "/tests/fixtures/metrics_reference/similarity_" + name + ".npy");
}

}  // namespace

TEST_CASE("Spearman correlation gives ties the mean of their positions: -15/19 and sqrt(3)/2 by hand",
          "[metrics][similarity]") {
  // Row 0: a = 3 1 4 1 5 ranks 3 1.5 4 1.5 5; b = 2 7 1 8 2 ranks 2.5 4 1 5 2.5. Both mean 3, centred
  // 0 −1.5 1 −1.5 2 and −0.5 1 −2 2 −0.5: Σ products −7.5, Σ squares 9.5 and 9.5, so −7.5 / 9.5.
  // Row 1: a = 0 0 0 1 1 ranks 2 2 2 4.5 4.5, centred −1 −1 −1 1.5 1.5; b = 1..5 centred −2..2:
  // Σ products 7.5, Σ squares 7.5 and 10, so 7.5 / sqrt(75) = sqrt(3) / 2.
  const torch::Tensor a = doubles({3, 1, 4, 1, 5, 0, 0, 0, 1, 1}, {2, 5});
  const torch::Tensor b = doubles({2, 7, 1, 8, 2, 1, 2, 3, 4, 5}, {2, 5});
  CHECK_THAT(metrics::spearman_correlation(a, b), AllClose(doubles({-15.0 / 19, std::sqrt(3.0) / 2}, {2}), 1e-15, 1e-15));
  CHECK_THAT(metrics::spearman_correlation(a.to(torch::kFloat), b), AllClose(doubles({-15.0 / 19, std::sqrt(3.0) / 2}, {2}), 1e-15, 1e-15));

  torch::manual_seed(3);
  const torch::Tensor maps = torch::randn({3, 1, 6, 5}, torch::kDouble);
  const torch::Tensor ones = torch::ones({3}, torch::kDouble);
  CHECK_THAT(metrics::spearman_correlation(maps, 2 * maps + 1), AllClose(ones, 0, 1e-15));
  CHECK_THAT(metrics::spearman_correlation(maps, maps.exp()), AllClose(ones, 0, 1e-15));  // any increasing map
  CHECK_THAT(metrics::spearman_correlation(maps, -maps), AllClose(-ones, 0, 1e-15));
  CHECK_THAT(metrics::pearson_correlation(maps, 2 * maps + 1), AllClose(ones, 0, 1e-15));
  CHECK_THAT(metrics::pearson_correlation(maps, -3 * maps), AllClose(-ones, 0, 1e-15));
}

TEST_CASE("SSIM and HOG similarity are 1 for identical maps, and read [N, C, H, W] maps summed over channels",
          "[metrics][similarity]") {
  torch::manual_seed(5);
  const torch::Tensor maps = torch::rand({2, 3, 24, 20}, torch::kDouble);
  const torch::Tensor other = torch::rand({2, 3, 24, 20}, torch::kDouble);
  const torch::Tensor ones = torch::ones({2}, torch::kDouble);
  CHECK_THAT(metrics::ssim(maps, maps), AllClose(ones, 0, 1e-15));
  CHECK_THAT(metrics::ssim(maps.to(torch::kFloat), maps.to(torch::kFloat)), AllClose(ones, 0, 1e-15));
  CHECK_THAT(metrics::ssim(maps, other), AllClose(metrics::ssim(maps.sum(1), other.sum(1)), 0, 0));
  CHECK(metrics::ssim(maps, other).lt(0.5).all().item<bool>());
  // 24 x 20 in 4-pixel cells: 6 x 5 cells, 4 x 3 blocks of 3 x 3 cells of 9 bins.
  const auto small_cells = metrics::HogOptions().pixels_per_cell(4);
  CHECK_THAT(metrics::hog_similarity(maps, maps, small_cells), AllClose(ones, 0, 1e-15));
  CHECK_THAT(metrics::hog_features(maps, small_cells),
             AllClose(metrics::hog_features(maps.sum(1, /*keepdim=*/true), small_cells), 0, 0));
  CHECK(metrics::hog_features(maps, small_cells).sizes() == torch::IntArrayRef({2, 4 * 3 * 9 * 9}));
  CHECK_THAT(metrics::hog_similarity(maps, 2 * maps + 1, small_cells), AllClose(ones, 0, 1e-15));
}

TEST_CASE("Spearman, Pearson, SSIM and HOG equal scipy and scikit-image 0.19 on the reference maps",
          "[metrics][similarity]") {
  struct Case {
    const char* name;
    metrics::SsimOptions ssim;
    metrics::HogOptions hog;
  };
  for (const Case& c : {Case{"random", {}, {}}, Case{"ties", {}, {}}, Case{"pair32", {}, {}},
                        Case{"small", metrics::SsimOptions().window(5),
                             metrics::HogOptions().orientations(6).pixels_per_cell(4).cells_per_block(2)}}) {
    INFO(c.name);
    const std::string name = c.name;
    const torch::Tensor a = reference(name + "_a"), b = reference(name + "_b");
    CHECK_THAT(metrics::spearman_correlation(a, b), AllClose(reference(name + "_spearman"), 1e-13, 1e-13));
    CHECK_THAT(metrics::pearson_correlation(a, b), AllClose(reference(name + "_pearson"), 1e-13, 1e-13));
    CHECK_THAT(metrics::ssim(a, b, c.ssim), AllClose(reference(name + "_ssim"), 1e-13, 1e-13));
    // The float32 cell sums are reproduced: the features agree far below their float32 rounding.
    CHECK_THAT(metrics::hog_features(a, c.hog), AllClose(reference(name + "_hog_a"), 1e-13, 1e-13));
    CHECK_THAT(metrics::hog_features(b.unsqueeze(1), c.hog), AllClose(reference(name + "_hog_b"), 1e-13, 1e-13));
    CHECK_THAT(metrics::hog_similarity(a, b, c.hog), AllClose(reference(name + "_hog_similarity"), 1e-13, 1e-13));
  }
  CHECK_THAT(metrics::ssim(reference("random_a"), reference("random_b"), metrics::SsimOptions().data_range(1)),
             AllClose(reference("random_ssim_range1"), 1e-13, 1e-13));
}

TEST_CASE("Similarity measures refuse mismatched shapes, NaN, constant rows and windows or cells that do not fit",
          "[metrics][similarity]") {
  torch::manual_seed(7);
  const torch::Tensor maps = torch::rand({3, 16, 16}, torch::kDouble);
  CHECK_THROWS_AS(metrics::spearman_correlation(maps, maps.slice(2, 1)), c10::ValueError);
  CHECK_THROWS_WITH(metrics::spearman_correlation(maps, maps.slice(2, 1)),
                    Contains("spearman_correlation: a and b must have the same shape and device, got [3, 16, 16]") &&
                        Contains("and [3, 16, 15]"));
  CHECK_THROWS_WITH(metrics::pearson_correlation(maps.view({-1}), maps.view({-1})), Contains("a must be a non-empty batch"));
  CHECK_THROWS_WITH(metrics::hog_similarity(maps, maps.to(torch::kInt)), Contains("hog_similarity: b must be floating point"));

  torch::Tensor nan = maps.clone();
  nan[1][4][2] = std::nan("");
  CHECK_THROWS_WITH(metrics::pearson_correlation(maps, nan), Contains("pearson_correlation: b holds NaN or Inf in example 1 (of 3)"));
  CHECK_THROWS_WITH(metrics::ssim(nan, maps), Contains("ssim: a holds NaN or Inf in example 1 (of 3)"));
  CHECK_THROWS_WITH(metrics::hog_features(nan), Contains("hog_features: maps holds NaN or Inf in example 1 (of 3)"));

  torch::Tensor flat = maps.clone();
  flat[0].fill_(0.1);
  flat[2].fill_(-4);
  CHECK_THROWS_WITH(metrics::spearman_correlation(flat, maps),
                    Contains("spearman_correlation: a is constant (the correlation is undefined) in examples 0, 2 (of 3)"));
  CHECK_THROWS_WITH(metrics::pearson_correlation(maps, flat), Contains("b is constant") && Contains("examples 0, 2"));
  const auto cells4 = metrics::HogOptions().pixels_per_cell(4);
  CHECK_THROWS_WITH(metrics::hog_similarity(maps, flat, cells4),
                    Contains("hog_similarity: the HOG features of b are constant (a map without gradients") &&
                        Contains("examples 0, 2 (of 3)"));
  // A constant map against another one: the data range is 0, and so are C1 and C2.
  CHECK_THROWS_WITH(metrics::ssim(flat, flat), Contains("ssim: a and b are one constant (data range 0: the SSIM is 0/0) in examples 0, 2 (of 3)"));
  CHECK(metrics::ssim(flat, flat, metrics::SsimOptions().data_range(1))[0].item<double>() == Approx(1.0).epsilon(1e-12));

  CHECK_THROWS_WITH(metrics::ssim(maps.slice(1, 0, 6), maps.slice(1, 0, 6)),
                    Contains("ssim: the window must be odd, at least 3 and at most the maps' smaller side, got 7 for maps of 6 x 16"));
  CHECK_THROWS_WITH(metrics::ssim(maps, maps, metrics::SsimOptions().window(4)), Contains("got 4 for maps of 16 x 16"));
  CHECK_THROWS_WITH(metrics::ssim(maps, maps, metrics::SsimOptions().k2(-1)), Contains("ssim: k1 and k2 must be positive and data_range non-negative"));
  CHECK_THROWS_WITH(metrics::ssim(maps.view({3, 256}), maps.view({3, 256})), Contains("ssim: a must be maps [N, H, W] or [N, C, H, W]"));
  CHECK_THROWS_WITH(metrics::hog_features(maps),
                    Contains("hog_features: 16 x 16 maps hold 2 x 2 cells of 8 x 8 pixels, fewer than one block of 3 x 3 cells"));
  CHECK_THROWS_WITH(metrics::hog_features(maps, metrics::HogOptions().orientations(0)), Contains("must be positive"));
}
