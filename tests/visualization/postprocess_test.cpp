// Post-processing: channel reduction, sign, outlier capping, input product, normalization and the
// pipeline, checked against values computed by hand on tiny tensors.

#include <algorithm>
#include <limits>
#include <sstream>
#include <vector>

#include <ATen/ATen.h>
#include "support/catch_torch.h"
#include "visualization/exact_tensor.h"

#include "nn_interpretability/visualization.h"

namespace vis = nn_interpretability::visualization;
using nni_vis_test::check_equal;
using nni_vis_test::show;

namespace {

// A [N, C, H, W] float tensor from values.
at::Tensor batch(const std::vector<float>& values, at::IntArrayRef shape) {
  return at::tensor(values, at::kFloat).reshape(shape);
}

// Captum's _cumulative_sum_threshold, written out as in Python: sort, cumsum, first index whose
// cumulative sum reaches percentile% of the total.
float captum_threshold(std::vector<float> values, double percentile) {
  for (float& v : values) v = std::abs(v);
  std::sort(values.begin(), values.end());
  std::vector<double> sums(values.size());
  double running = 0;
  for (size_t i = 0; i < values.size(); ++i) sums[i] = running += values[i];
  const double target = sums.back() * 0.01 * percentile;
  for (size_t i = 0; i < values.size(); ++i) {
    if (sums[i] >= target) return values[i];
  }
  return values.back();
}

}  // namespace

TEST_CASE("Each channel reduction gives its formula's value per pixel", "[visualization][postprocess]") {
  // One example, two channels, one row of two pixels: channel 0 = (3, 0), channel 1 = (-4, 2).
  const at::Tensor x = batch({3, 0, -4, 2}, {1, 2, 1, 2});
  check_equal(vis::reduce_channels(x, vis::ChannelReduction::Sum), batch({-1, 2}, {1, 1, 1, 2}));
  check_equal(vis::reduce_channels(x, vis::ChannelReduction::AbsSum), batch({7, 2}, {1, 1, 1, 2}));
  check_equal(vis::reduce_channels(x, vis::ChannelReduction::AbsMax), batch({4, 2}, {1, 1, 1, 2}));
  check_equal(vis::reduce_channels(x, vis::ChannelReduction::L2Norm), batch({5, 2}, {1, 1, 1, 2}));
}

TEST_CASE("Sign handling keeps the selected part of the map", "[visualization][postprocess]") {
  const at::Tensor x = batch({-2, -0.5, 0, 1.5}, {1, 1, 2, 2});
  check_equal(vis::apply_sign(x, vis::Sign::Positive), batch({0, 0, 0, 1.5}, {1, 1, 2, 2}));
  check_equal(vis::apply_sign(x, vis::Sign::Negative), batch({2, 0.5, 0, 0}, {1, 1, 2, 2}));
  check_equal(vis::apply_sign(x, vis::Sign::Absolute), batch({2, 0.5, 0, 1.5}, {1, 1, 2, 2}));
  check_equal(vis::absolute(x), batch({2, 0.5, 0, 1.5}, {1, 1, 2, 2}));
  CHECK(vis::apply_sign(x, vis::Sign::All).is_same(x));
  check_equal(x, batch({-2, -0.5, 0, 1.5}, {1, 1, 2, 2}));  // untouched
}

TEST_CASE("The 99th percentile of |x| over 0..100 is 99, per example", "[visualization][postprocess]") {
  // Example 0: 0..100 with every other value negated; example 1: the same times 10.
  at::Tensor values = at::arange(101, at::kFloat);
  values.index_put_({at::indexing::Slice(0, at::indexing::None, 2)},
                    values.index({at::indexing::Slice(0, at::indexing::None, 2)}).neg());
  const at::Tensor x = at::stack({values, values.mul(10)}).reshape({2, 1, 1, 101});
  check_equal(vis::percentile_threshold(x, 99.0), at::tensor({99.0f, 990.0f}));
  check_equal(vis::percentile_threshold(x, 100.0), at::tensor({100.0f, 1000.0f}));
  check_equal(vis::percentile_threshold(x, 0.0), at::tensor({0.0f, 0.0f}));
}

TEST_CASE("Percentiles between two values interpolate linearly like numpy", "[visualization][postprocess]") {
  // Sorted |x| = 0, 1, 2, 3, 4; the 90th percentile sits at position 3.6.
  const at::Tensor x = batch({4, -1, 0, 3, -2}, {1, 1, 1, 5});
  CHECK(vis::percentile_threshold(x, 90.0).item<float>() == Approx(3.6f));
  CHECK(vis::percentile_threshold(x, 50.0).item<float>() == 2.0f);
}

TEST_CASE("Capping at a value percentile clips both signs to the threshold", "[visualization][postprocess]") {
  // Sorted |x| = 1, 2, 3, 4, 100; the 75th percentile is 4 (position 3).
  const at::Tensor x = batch({-100, 1, -2, 3, 4}, {1, 1, 1, 5});
  check_equal(vis::cap_at_percentile(x, 75.0), batch({-4, 1, -2, 3, 4}, {1, 1, 1, 5}));
  const at::Tensor positive = batch({100, 1, 2, 3, 4}, {1, 1, 1, 5});
  check_equal(vis::cap_at_percentile(positive, 75.0), batch({4, 1, 2, 3, 4}, {1, 1, 1, 5}));
  check_equal(vis::clip_to_threshold(x, at::tensor({2.5f})), batch({-2.5, 1, -2, 2.5, 2.5}, {1, 1, 1, 5}));
}

TEST_CASE("The cumulative-mass threshold follows Captum's outlier_perc convention", "[visualization][postprocess]") {
  // Sorted |x| = 1, 2, 3, 4, cumulative sums 1, 3, 6, 10.
  const at::Tensor x = batch({-3, 1, 4, -2}, {1, 1, 2, 2});
  CHECK(vis::cumulative_mass_threshold(x, 2.0).item<float>() == 4.0f);   // 9.8 reached at 10
  CHECK(vis::cumulative_mass_threshold(x, 40.0).item<float>() == 3.0f);  // 6 reached at 6
  CHECK(vis::cumulative_mass_threshold(x, 50.0).item<float>() == 3.0f);  // 5 reached at 6
  CHECK(vis::cumulative_mass_threshold(x, 80.0).item<float>() == 2.0f);  // 2 reached at 3
  check_equal(vis::cap_at_cumulative_mass(x, 50.0), batch({-3, 1, 3, -2}, {1, 1, 2, 2}));
}

TEST_CASE("The cumulative-mass threshold matches Captum's algorithm on random data, per example",
          "[visualization][postprocess]") {
  at::manual_seed(0);
  const at::Tensor x = at::randn({3, 3, 7, 5});
  const at::Tensor thresholds = vis::cumulative_mass_threshold(x, 2.0);
  for (int64_t n = 0; n < 3; ++n) {
    const at::Tensor row = x[n].contiguous();
    std::vector<float> values(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
    CHECK(thresholds[n].item<float>() == captum_threshold(values, 98.0));
  }
}

TEST_CASE("Multiplying by the input zeroes the attribution of black pixels", "[visualization][postprocess]") {
  const at::Tensor attributions = batch({2, -3, 5, 7}, {1, 1, 2, 2});
  const at::Tensor input = batch({0.5, 1, 0, 0.25}, {1, 1, 2, 2});
  check_equal(vis::multiply_by_input(attributions, input), batch({1, -3, 0, 1.75}, {1, 1, 2, 2}));
  CHECK_THROWS_WITH(vis::multiply_by_input(attributions, batch({1, 2}, {1, 1, 1, 2})),
                    Catch::Matchers::Contains("must have the attributions' shape"));
}

TEST_CASE("Min-max normalization maps each example to [0, 1]", "[visualization][postprocess]") {
  const at::Tensor x = batch({0, 1, 2, 4, /**/ -2, 2, 0, 6}, {2, 1, 2, 2});
  check_equal(vis::normalize_min_max(x), batch({0, 0.25, 0.5, 1, /**/ 0, 0.5, 0.25, 1}, {2, 1, 2, 2}));
}

TEST_CASE("Symmetric normalization divides each example by its largest magnitude", "[visualization][postprocess]") {
  const at::Tensor x = batch({-4, 2, 0, 1, /**/ 0.5, 1, 2, -1}, {2, 1, 2, 2});
  check_equal(vis::normalize_symmetric(x), batch({-1, 0.5, 0, 0.25, /**/ 0.25, 0.5, 1, -0.5}, {2, 1, 2, 2}));
}

TEST_CASE("A constant map normalizes to zeros, never NaN", "[visualization][postprocess]") {
  const at::Tensor constant = at::full({2, 1, 3, 3}, 3.5f);
  check_equal(vis::normalize_min_max(constant), at::zeros({2, 1, 3, 3}));
  const at::Tensor zeros = at::zeros({2, 3, 3, 3});
  check_equal(vis::normalize_min_max(zeros), zeros);
  check_equal(vis::normalize_symmetric(zeros), zeros);
  check_equal(vis::cap_at_percentile(zeros, 99.0), zeros);
  check_equal(vis::cap_at_cumulative_mass(zeros, 2.0), zeros);
  check_equal(vis::postprocess(zeros, vis::PostprocessOptions()
                                          .channel_reduction(vis::ChannelReduction::AbsSum)
                                          .outlier_cap(vis::OutlierCap::CumulativeMass)
                                          .normalization(vis::Normalization::MinMax)),
              at::zeros({2, 1, 3, 3}));
}

TEST_CASE("The pipeline equals the free functions composed and leaves its input untouched",
          "[visualization][postprocess]") {
  at::manual_seed(1);
  const at::Tensor attributions = at::randn({2, 3, 6, 5});
  const at::Tensor input = at::rand({2, 3, 6, 5});
  const at::Tensor original = attributions.clone();

  const at::Tensor by_hand = vis::normalize_min_max(vis::cap_at_percentile(
      vis::absolute(vis::reduce_channels(vis::multiply_by_input(attributions, input),
                                         vis::ChannelReduction::Sum)),
      99.0));
  const at::Tensor piped = vis::postprocess(attributions,
                                            vis::PostprocessOptions()
                                                .multiply_by_input(true)
                                                .channel_reduction(vis::ChannelReduction::Sum)
                                                .sign(vis::Sign::Absolute)
                                                .outlier_cap(vis::OutlierCap::ValuePercentile)
                                                .percentile(99.0)
                                                .normalization(vis::Normalization::MinMax),
                                            input);
  check_equal(piped, by_hand);
  CHECK(piped.min().item<float>() == 0.0f);
  CHECK(piped.max().item<float>() == 1.0f);

  // Every step in place after a no-op start: the caller's tensor must not change.
  const at::Tensor signed_map = vis::postprocess(attributions,
                                                 vis::PostprocessOptions()
                                                     .sign(vis::Sign::Negative)
                                                     .outlier_cap(vis::OutlierCap::CumulativeMass)
                                                     .normalization(vis::Normalization::Symmetric));
  check_equal(signed_map, vis::normalize_symmetric(vis::cap_at_cumulative_mass(
                              vis::apply_sign(attributions, vis::Sign::Negative), 2.0)));
  check_equal(attributions, original);
}

TEST_CASE("Default postprocess options return the raw attributions", "[visualization][postprocess]") {
  const at::Tensor x = batch({-1, 2, 3, 4}, {1, 1, 2, 2});
  CHECK(vis::postprocess(x, vis::PostprocessOptions()).is_same(x));
}

TEST_CASE("NaN and Inf inputs are rejected with a clear error", "[visualization][postprocess]") {
  at::Tensor x = batch({1, 2, 3, 4}, {1, 1, 2, 2});
  x[0][0][0][1] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(vis::normalize_min_max(x), c10::ValueError);
  CHECK_THROWS_WITH(vis::normalize_min_max(x), Catch::Matchers::Contains("contains NaN"));
  CHECK_THROWS_WITH(vis::postprocess(x, vis::PostprocessOptions()), Catch::Matchers::Contains("contains NaN"));
  CHECK_THROWS_WITH(vis::cap_at_percentile(x, 99.0), Catch::Matchers::Contains("contains NaN"));
  x[0][0][0][1] = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH(vis::reduce_channels(x, vis::ChannelReduction::Sum), Catch::Matchers::Contains("contains Inf"));
}

TEST_CASE("Wrong rank, empty and integer tensors are rejected naming the problem", "[visualization][postprocess]") {
  CHECK_THROWS_WITH(vis::reduce_channels(at::ones({3, 4, 4}), vis::ChannelReduction::Sum),
                    Catch::Matchers::Contains("4-D batch [N, C, H, W], got shape [3, 4, 4]"));
  CHECK_THROWS_WITH(vis::normalize_min_max(at::ones({0, 1, 4, 4})), Catch::Matchers::Contains("empty tensor"));
  CHECK_THROWS_WITH(vis::normalize_min_max(at::Tensor()), Catch::Matchers::Contains("undefined tensor"));
  CHECK_THROWS_AS(vis::absolute(at::ones({1, 1, 2, 2}, at::kLong)), c10::TypeError);
  CHECK_THROWS_WITH(vis::absolute(at::ones({1, 1, 2, 2}, at::kLong)), Catch::Matchers::Contains("floating-point"));
  CHECK_THROWS_WITH(vis::cap_at_percentile(at::ones({1, 1, 2, 2}), 101.0),
                    Catch::Matchers::Contains("percentile must be in [0, 100]"));
  CHECK_THROWS_WITH(vis::cap_at_cumulative_mass(at::ones({1, 1, 2, 2}), 100.0),
                    Catch::Matchers::Contains("outlier_perc must be in [0, 100)"));
  CHECK_THROWS_WITH(vis::postprocess(at::ones({1, 1, 2, 2}), vis::PostprocessOptions().multiply_by_input(true)),
                    Catch::Matchers::Contains("no input tensor was given"));
}

TEST_CASE("Post-processing keeps a double tensor double", "[visualization][postprocess]") {
  const at::Tensor x = at::tensor({0.0, 1.0, 2.0, 4.0}, at::kDouble).reshape({1, 1, 2, 2});
  const at::Tensor y = vis::postprocess(x, vis::PostprocessOptions()
                                               .outlier_cap(vis::OutlierCap::ValuePercentile)
                                               .normalization(vis::Normalization::MinMax));
  CHECK(y.scalar_type() == at::kDouble);
}
