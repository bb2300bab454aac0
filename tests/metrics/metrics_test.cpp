// Evaluation metrics: hand-computed values on tiny maps, the identities that define them, and
// deletion / insertion curves on a linear model where every point is known in closed form.
#include <cmath>
#include <string>

#include <torch/torch.h>

#include "nn_interpretability/metrics/complexity.h"
#include "nn_interpretability/metrics/deletion_insertion.h"
#include "nn_interpretability/metrics/localization.h"
#include "support/all_close.h"
#include "support/catch_torch.h"
#include "support/model_snapshot.h"

namespace nni = nn_interpretability;
namespace metrics = nn_interpretability::metrics;
using Catch::Matchers::Contains;
using nni_test::AllClose;

namespace {

torch::Tensor doubles(std::vector<double> values, std::vector<int64_t> shape) {
  return torch::tensor(values, torch::kDouble).view(shape);
}

/// y = W x + b on [N, 1, 2, 3] flattened, float64, 3 classes.
torch::nn::Sequential linear_model() {
  torch::manual_seed(11);
  torch::nn::Sequential model(torch::nn::Flatten(), torch::nn::Linear(6, 3));
  model->to(torch::kDouble);
  return model;
}

}  // namespace

TEST_CASE("Sparseness is the Gini index: 0 for a constant map, (n - 1) / n one-hot, 1/4 for 1, 2, 3, 4 by hand",
          "[metrics][complexity]") {
  const torch::Tensor maps = torch::stack({torch::full({4}, 2.5, torch::kDouble), doubles({0, 0, -3, 0}, {4}),
                                           doubles({4, -1, 3, 2}, {4})})
                                 .view({3, 1, 2, 2});
  // Sorted |a| = 1, 2, 3, 4: Σ (2i − 5) a_i = −3 − 2 + 3 + 12 = 10, over n Σ a = 40.
  CHECK_THAT(metrics::sparseness(maps), AllClose(doubles({0.0, 0.75, 0.25}, {3}), 1e-15, 1e-15));
  CHECK_THAT(metrics::sparseness(maps.to(torch::kFloat)), AllClose(doubles({0.0, 0.75, 0.25}, {3}), 1e-7, 1e-7));
  CHECK_THROWS_WITH(metrics::sparseness(torch::zeros({2, 3})), Contains("sparseness: the attributions are all zero") &&
                                                                   Contains("examples 0, 1 (of 2)"));
  torch::Tensor nan = maps.clone();
  nan[1][0][0][0] = std::nan("");
  CHECK_THROWS_WITH(metrics::sparseness(nan), Contains("NaN or Inf in example 1 (of 3)"));
  CHECK_THROWS_WITH(metrics::sparseness(torch::ones({4})), Contains("at least 2 dimensions"));
}

TEST_CASE("Complexity is the entropy of |a| / sum |a|: ln n for a constant map, 0 one-hot, by hand otherwise",
          "[metrics][complexity]") {
  const torch::Tensor maps = torch::stack({torch::full({4}, -1.0, torch::kDouble), doubles({0, 7, 0, 0}, {4}),
                                           doubles({1, -1, 2, 0}, {4})});
  const double by_hand = -(2 * 0.25 * std::log(0.25) + 0.5 * std::log(0.5));
  CHECK_THAT(metrics::complexity(maps), AllClose(doubles({std::log(4.0), 0.0, by_hand}, {3}), 1e-15, 1e-15));
  CHECK_THROWS_WITH(metrics::complexity(torch::zeros({1, 3})), Contains("complexity: the attributions are all zero"));
}

TEST_CASE("Pointing game, relevance mass and relevance rank on a hand-made map and mask", "[metrics][localization]") {
  // Example 0: the largest value (9) lies in the mask; example 1: it lies outside, tied values not.
  const torch::Tensor maps = torch::stack({doubles({9, 1, -4, 2, 0, 3}, {1, 2, 3}), doubles({1, 5, 5, -2, 2, 0}, {1, 2, 3})});
  const torch::Tensor mask = torch::stack({doubles({1, 0, 1, 0, 0, 1}, {1, 2, 3}), doubles({1, 0, 0, 1, 1, 0}, {1, 2, 3})});
  CHECK_THAT(metrics::pointing_game(maps, mask), AllClose(doubles({1, 0}, {2}), 0, 0));
  CHECK_THAT(metrics::pointing_game(maps, mask.to(torch::kBool)), AllClose(doubles({1, 0}, {2}), 0, 0));
  // Positive mass: (9 + 3) / (9 + 1 + 2 + 3) = 12 / 15; (1 + 2) / (1 + 5 + 5 + 2) = 3 / 13.
  CHECK_THAT(metrics::relevance_mass(maps, mask), AllClose(doubles({12.0 / 15, 3.0 / 13}, {2}), 1e-15, 1e-15));
  // K = 3. Example 0's top 3: 9 (in), 3 (in), 2 (out) → 2/3. Example 1's: 5, 5, 2 → only 2 is in → 1/3.
  CHECK_THAT(metrics::relevance_rank(maps, mask), AllClose(doubles({2.0 / 3, 1.0 / 3}, {2}), 1e-15, 1e-15));
  // A one-channel mask broadcasts over channels.
  const torch::Tensor two_channels = torch::cat({maps, maps}, 1);  // [2, 2, 3]
  CHECK_THAT(metrics::relevance_mass(two_channels.unsqueeze(1), mask.unsqueeze(1)),
             AllClose(doubles({12.0 / 15, 3.0 / 13}, {2}), 1e-15, 1e-15));
  CHECK_THROWS_WITH(metrics::pointing_game(maps, torch::zeros_like(mask)), Contains("pointing_game: the mask is empty in examples 0, 1"));
  CHECK_THROWS_WITH(metrics::relevance_mass(maps, mask * 2), Contains("values other than 0 and 1"));
  CHECK_THROWS_WITH(metrics::relevance_rank(maps, mask.view({2, 6})), Contains("must have the attributions' 4 dimensions"));
  CHECK_THROWS_WITH(metrics::relevance_mass(-maps.abs(), mask), Contains("no attribution is positive"));
}

TEST_CASE("Deletion and insertion curves on a linear model equal the closed-form sums of the contributions left",
          "[metrics][deletion]") {
  auto model = linear_model();
  const auto before = nni_test::ModelSnapshot::of(*model);
  torch::manual_seed(2);
  const torch::Tensor x = torch::randn({2, 1, 2, 3}, torch::kDouble);
  const torch::Tensor target = torch::tensor({1, 2});
  const torch::Tensor weight = model->ptr<torch::nn::LinearImpl>(1)->weight.detach();
  const torch::Tensor bias = model->ptr<torch::nn::LinearImpl>(1)->bias.detach();
  const torch::Tensor contribution = (x.view({2, 6}) * weight.index_select(0, target)).view({2, 1, 2, 3});
  const torch::Tensor logit = contribution.view({2, 6}).sum(1) + bias.index_select(0, target);

  for (const int64_t step : {1, 2, 4}) {
    const auto options = metrics::CurveOptions().step(step).probabilities(false).engine(nni::PerturbationEngineOptions().rows_per_call(3));
    const metrics::Curve deletion = metrics::deletion_curve(model.ptr(), x, target, contribution, options);
    const metrics::Curve insertion = metrics::insertion_curve(model.ptr(), x, target, contribution, options);
    const int64_t steps = (6 + step - 1) / step;
    REQUIRE(deletion.scores.sizes() == torch::IntArrayRef({2, steps + 1}));
    // By hand: after k pixels the deletion score is the logit less the k largest contributions; the
    // insertion score is the bias plus them.
    const torch::Tensor sorted = std::get<0>(contribution.view({2, 6}).sort(1, /*descending=*/true));
    const torch::Tensor prefix = torch::cat({torch::zeros({2, 1}, torch::kDouble), sorted.cumsum(1)}, 1);  // [2, 7]
    std::vector<int64_t> ks;
    for (int64_t j = 0; j <= steps; ++j) ks.push_back(std::min<int64_t>(j * step, 6));
    const torch::Tensor k = torch::tensor(ks);
    const torch::Tensor removed = prefix.index_select(1, k);
    CHECK_THAT(deletion.fractions, AllClose(k.to(torch::kDouble) / 6.0, 1e-15, 1e-15));
    CHECK_THAT(deletion.scores, AllClose(logit.unsqueeze(1) - removed, 1e-12, 1e-12));
    CHECK_THAT(insertion.scores, AllClose(bias.index_select(0, target).unsqueeze(1) + removed, 1e-12, 1e-12));
    // The trapezoid rule, by hand.
    const torch::Tensor widths = deletion.fractions.slice(0, 1) - deletion.fractions.slice(0, 0, steps);
    const torch::Tensor auc =
        ((deletion.scores.slice(1, 1) + deletion.scores.slice(1, 0, steps)) * 0.5 * widths).sum(1);
    CHECK_THAT(deletion.auc, AllClose(auc, 1e-15, 1e-15));
  }

  // The exact contributions give the smallest deletion AUC and the largest insertion AUC of any map
  // (after k removals the k largest contributions are gone); random maps never beat them.
  const auto options = metrics::CurveOptions().step(1).probabilities(false);
  const torch::Tensor best_deletion = metrics::deletion_curve(model.ptr(), x, target, contribution, options).auc;
  const torch::Tensor best_insertion = metrics::insertion_curve(model.ptr(), x, target, contribution, options).auc;
  for (int trial = 0; trial < 20; ++trial) {
    const torch::Tensor random_map = torch::randn_like(x);
    CHECK((metrics::deletion_curve(model.ptr(), x, target, random_map, options).auc >= best_deletion - 1e-12).all().item<bool>());
    CHECK((metrics::insertion_curve(model.ptr(), x, target, random_map, options).auc <= best_insertion + 1e-12).all().item<bool>());
  }
  // Least relevant first reverses the order: its deletion curve removes the smallest contributions.
  const metrics::Curve lerf = metrics::deletion_curve(model.ptr(), x, target, contribution,
                                                      metrics::CurveOptions(options).order(metrics::RelevanceOrder::kLeastRelevantFirst));
  const torch::Tensor ascending = std::get<0>(contribution.view({2, 6}).sort(1));
  CHECK_THAT(lerf.scores.select(1, 1), AllClose(logit - ascending.select(1, 0), 1e-12, 1e-12));
  CHECK(before.difference(nni_test::ModelSnapshot::of(*model)).empty());
}

TEST_CASE("Deletion curves score probabilities by default, share one-channel maps across channels, and refuse bad input",
          "[metrics][deletion]") {
  auto model = linear_model();
  torch::manual_seed(4);
  const torch::Tensor x = torch::randn({1, 1, 2, 3}, torch::kDouble);
  const torch::Tensor map = torch::randn({1, 1, 2, 3}, torch::kDouble);
  const metrics::Curve curve = metrics::deletion_curve(model.ptr(), x, 0, map, metrics::CurveOptions().step(3));
  const torch::Tensor clean = torch::softmax(model->forward(x), 1)[0][0];
  CHECK(curve.scores[0][0].item<double>() == Approx(clean.item<double>()).epsilon(1e-12));
  // All pixels removed: the model's probability on the all-zero input.
  const torch::Tensor empty = torch::softmax(model->forward(torch::zeros_like(x)), 1)[0][0];
  CHECK(curve.scores[0][2].item<double>() == Approx(empty.item<double>()).epsilon(1e-12));
  // The default 5 % of 6 pixels rounds to 0: one pixel per step, 7 points.
  CHECK(metrics::deletion_curve(model.ptr(), x, 0, map).scores.size(1) == 7);
  // step_fraction 0.5 of 6 pixels is 3 per step.
  CHECK_THAT(metrics::deletion_curve(model.ptr(), x, 0, map, metrics::CurveOptions().step_fraction(0.5)).scores,
             AllClose(curve.scores, 1e-15, 1e-15));

  // A one-channel map on a three-channel input: a pixel's three channels go together.
  torch::manual_seed(5);
  torch::nn::Sequential rgb(torch::nn::Flatten(), torch::nn::Linear(12, 2));
  rgb->to(torch::kDouble);
  const torch::Tensor image = torch::randn({1, 3, 2, 2}, torch::kDouble);
  const torch::Tensor pixel_map = doubles({4, 1, 3, 2}, {1, 1, 2, 2});
  const metrics::Curve shared = metrics::deletion_curve(rgb.ptr(), image, 1, pixel_map,
                                                        metrics::CurveOptions().step(1).probabilities(false));
  torch::Tensor first_removed = image.clone();
  first_removed.select(2, 0).select(2, 0).zero_();  // pixel (0, 0), the most relevant, in every channel
  CHECK(shared.scores[0][1].item<double>() == Approx(rgb->forward(first_removed)[0][1].item<double>()).epsilon(1e-12));

  CHECK_THROWS_WITH(metrics::deletion_curve(model.ptr(), x, 0, torch::randn({1, 1, 3, 2}, torch::kDouble)),
                    Contains("deletion_curve: attributions of shape [1, 1, 3, 2] do not match the input [1, 1, 2, 3]"));
  CHECK_THROWS_WITH(metrics::insertion_curve(model.ptr(), x, 0, map, metrics::CurveOptions().step_fraction(0)),
                    Contains("insertion_curve: step_fraction must be in (0, 1]"));
  torch::Tensor bad_map = map.clone();
  bad_map[0][0][1][1] = std::nan("");
  CHECK_THROWS_WITH(metrics::deletion_curve(model.ptr(), x, 0, bad_map), Contains("NaN or Inf in example 0"));
  CHECK_THROWS_WITH(metrics::deletion_curve(model.ptr(), x, 7, map), Contains("target class 7 is out of range"));
}
