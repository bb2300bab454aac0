// ROAD: the linear imputation against pytorch-grad-cam's NoisyLinearImputer and by hand, its seeded
// noise, and ROAD curves against pytorch-grad-cam's ROAD scores and on a linear model whose
// explanation is known.
#include <cmath>
#include <string>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "nn_interpretability/io/npy.h"
#include "nn_interpretability/metrics/road.h"
#include "support/all_close.h"
#include "support/catch_torch.h"

namespace nni = nn_interpretability;
namespace metrics = nn_interpretability::metrics;
using Catch::Matchers::Contains;
using nni_test::AllClose;

namespace {

torch::Tensor reference(const std::string& name) {
  return nni::read_npy(std::string(NNI_SOURCE_DIR) + "/tests/fixtures/metrics_reference/" + name);
}

torch::Tensor doubles(std::vector<double> values, std::vector<int64_t> shape) {
  return torch::tensor(values, torch::kDouble).view(shape);
}

/// A bool mask [1, H, W] with the listed (row, column) pixels set.
torch::Tensor pixels(int64_t height, int64_t width, const std::vector<std::pair<int64_t, int64_t>>& where) {
  torch::Tensor mask = torch::zeros({1, height, width}, torch::kBool);
  for (const auto& p : where) mask[0][p.first][p.second] = true;
  return mask;
}

/// pytorch-grad-cam's scores in export_road_reference.py: Flatten -> Linear(300, 16) -> Tanh -> Linear(16, 4).
torch::nn::Sequential reference_mlp() {
  torch::nn::Sequential model(torch::nn::Flatten(), torch::nn::Linear(300, 16), torch::nn::Tanh(), torch::nn::Linear(16, 4));
  model->to(torch::kDouble);
  torch::NoGradGuard no_grad;
  model->ptr<torch::nn::LinearImpl>(1)->weight.copy_(reference("road_mlp_fc1_weight.npy"));
  model->ptr<torch::nn::LinearImpl>(1)->bias.copy_(reference("road_mlp_fc1_bias.npy"));
  model->ptr<torch::nn::LinearImpl>(3)->weight.copy_(reference("road_mlp_fc2_weight.npy"));
  model->ptr<torch::nn::LinearImpl>(3)->bias.copy_(reference("road_mlp_fc2_bias.npy"));
  model->eval();
  return model;
}

}  // namespace

TEST_CASE("Linear imputation equals pytorch-grad-cam's NoisyLinearImputer on borders, corners, big holes and one known pixel",
          "[metrics][road]") {
  for (const std::string name : {"a_border", "a_random", "b_one_known", "b_holes"}) {
    INFO(name);
    const torch::Tensor image = reference(std::string("road_image_") + name[0] + ".npy");
    const torch::Tensor removed = reference("road_removed_" + name + ".npy");
    const torch::Tensor expected = reference("road_imputed_" + name + ".npy");
    REQUIRE(removed.scalar_type() == torch::kBool);
    CHECK_THAT(metrics::linear_imputation(image, removed), AllClose(expected, 1e-10, 1e-10));
    // [N, 1, H, W] and 0/1 masks of any dtype; removed pixels' values are never read.
    const torch::Tensor holes = image.masked_fill(removed.unsqueeze(1), std::nan(""));
    CHECK_THAT(metrics::linear_imputation(holes, removed.unsqueeze(1).to(torch::kFloat)), AllClose(expected, 1e-10, 1e-10));
    // float32 in, float32 out.
    const torch::Tensor single = metrics::linear_imputation(image.to(torch::kFloat), removed);
    CHECK(single.scalar_type() == torch::kFloat);
    CHECK_THAT(single, AllClose(expected, 1e-6, 1e-6));
  }
}

TEST_CASE("Linear imputation by hand: one hole is the renormalized weighted mean of its neighbours, linear ramps stay exact",
          "[metrics][road]") {
  // 1 2 3 / 4 5 6 / 7 8 9 (+ 10 in the second channel). The centre: (2 + 4 + 6 + 8) / 6 + (1 + 3 + 7 + 9) / 12 = 5;
  // corner (0, 0): (2 + 4) / 6 + 5 / 12 over 5/12 = 3.4; edge (0, 1): ((1 + 3 + 5) / 6 + (4 + 6) / 12) / (2/3) = 3.5.
  const torch::Tensor grid = torch::stack({torch::arange(1, 10, torch::kDouble), torch::arange(11, 20, torch::kDouble)}).view({1, 2, 3, 3});
  CHECK_THAT(metrics::linear_imputation(grid, pixels(3, 3, {{1, 1}}))[0].select(1, 1).select(1, 1),
             AllClose(doubles({5, 15}, {2}), 1e-14, 1e-14));
  CHECK(metrics::linear_imputation(grid, pixels(3, 3, {{0, 0}}))[0][0][0][0].item<double>() == Approx(3.4).epsilon(1e-14));
  CHECK(metrics::linear_imputation(grid, pixels(3, 3, {{0, 1}}))[0][0][0][1].item<double>() == Approx(3.5).epsilon(1e-14));
  // A non-linear one: 0 except a 1 at (0, 0); removing the centre gives 1/12, removing (0, 1) gives (1/6) / (2/3) = 1/4.
  const torch::Tensor spike = torch::zeros({1, 1, 3, 3}, torch::kDouble).index_put_({0, 0, 0, 0}, 1.0);
  CHECK(metrics::linear_imputation(spike, pixels(3, 3, {{1, 1}}))[0][0][1][1].item<double>() == Approx(1.0 / 12).epsilon(1e-14));
  CHECK(metrics::linear_imputation(spike, pixels(3, 3, {{0, 1}}))[0][0][0][1].item<double>() == Approx(0.25).epsilon(1e-14));
  // Two adjacent holes couple: (1, 1) and (1, 2) of the spike solve x = 1/12 + y / 6, y (3 neighbours
  // of weight 1/6 + 2 of 1/12: 2/3) = x / 6 / (2/3): x = 1/12 / (1 - 1/24) = 2/23, y = x / 4.
  const torch::Tensor pair = metrics::linear_imputation(spike, pixels(3, 3, {{1, 1}, {1, 2}}));
  CHECK(pair[0][0][1][1].item<double>() == Approx(2.0 / 23).epsilon(1e-13));
  CHECK(pair[0][0][1][2].item<double>() == Approx(0.5 / 23).epsilon(1e-13));

  // x_ij = a i + b j + c is the weighted mean of any symmetric neighbourhood: interior holes of any
  // shape are filled exactly. At a corner the neighbours are one-sided: c + (a + b)(1/6 + 1/12)/(5/12) there.
  torch::manual_seed(1);
  const double a = 0.7, b = -1.3, c = 2.0;
  const torch::Tensor i = torch::arange(9, torch::kDouble).view({9, 1}), j = torch::arange(11, torch::kDouble).view({1, 11});
  const torch::Tensor ramp = (a * i + b * j + c).view({1, 1, 9, 11}).repeat({2, 3, 1, 1});
  torch::Tensor interior = torch::zeros({2, 9, 11}, torch::kBool);
  interior[0].slice(0, 2, 7).slice(1, 1, 9) = true;                      // a 5x8 block
  interior[1].slice(0, 1, 8).slice(1, 1, 10) = torch::rand({7, 9}) < 0.7;  // scattered, every interior hole shape
  CHECK_THAT(metrics::linear_imputation(ramp, interior), AllClose(ramp, 1e-10, 1e-10));
  const torch::Tensor corner = metrics::linear_imputation(ramp, pixels(9, 11, {{0, 0}}).repeat({2, 1, 1}));
  CHECK(corner[1][2][0][0].item<double>() == Approx(c + 0.6 * (a + b)).epsilon(1e-14));
}

TEST_CASE("Linear imputation: the direct (banded) and the iterative (conjugate gradient) solves agree",
          "[metrics][road]") {
  // The stencil is symmetric, so imputing the transposed image gives the transposed answer. Removing
  // 6 whole rows of an 8 x 400 image puts the removed neighbours 401 places apart in row order:
  // 2400 x 401² / 2 ≈ 1.9e8 multiply-adds, over the direct solve's budget, so it goes to conjugate
  // gradient; the 400 x 8 transpose has a band of 9 and is factored directly.
  torch::manual_seed(5);
  const torch::Tensor wide = torch::rand({2, 2, 8, 400}, torch::kDouble);
  torch::Tensor rows_out = torch::zeros({2, 8, 400}, torch::kBool);
  rows_out.slice(1, 1, 7) = true;
  rows_out[1][0].slice(0, 100, 300) = true;  // a second example with a different pattern
  const torch::Tensor iterative = metrics::linear_imputation(wide, rows_out);
  const torch::Tensor direct =
      metrics::linear_imputation(wide.transpose(2, 3).contiguous(), rows_out.transpose(1, 2).contiguous()).transpose(2, 3);
  CHECK_THAT(direct, AllClose(iterative, 1e-9, 1e-10));
  CHECK(torch::equal(direct.masked_select(rows_out.unsqueeze(1).logical_not().expand_as(wide)),
                     wide.masked_select(rows_out.unsqueeze(1).logical_not().expand_as(wide))));
}

TEST_CASE("Noisy imputation adds N(0, noise²) to the imputed pixels only, the same for the same seed",
          "[metrics][road]") {
  torch::manual_seed(3);
  const torch::Tensor image = torch::rand({2, 3, 40, 40}, torch::kDouble);
  const torch::Tensor removed = torch::rand({2, 40, 40}) < 0.5;
  const torch::Tensor plain = metrics::linear_imputation(image, removed);
  const auto noisy = [&](uint64_t seed) {
    return metrics::linear_imputation(image, removed, 0.25, at::make_generator<at::CPUGeneratorImpl>(seed));
  };
  const torch::Tensor first = noisy(7);
  CHECK(torch::equal(first, noisy(7)));
  CHECK_FALSE(torch::equal(first, noisy(8)));
  const torch::Tensor holes = removed.unsqueeze(1).expand_as(image);
  CHECK(torch::equal(first.masked_select(holes.logical_not()), image.masked_select(holes.logical_not())));
  const torch::Tensor drawn = (first - plain).masked_select(holes);  // ~4800 draws
  CHECK(drawn.std().item<double>() == Approx(0.25).epsilon(0.05));
  CHECK(std::abs(drawn.mean().item<double>()) < 0.02);
  CHECK(torch::equal(metrics::linear_imputation(image, removed, 0.0, at::make_generator<at::CPUGeneratorImpl>(7)), plain));

  // ROAD: the same seed, the same curve, whatever the chunking; road_combined uses the same draws.
  torch::nn::Sequential model(torch::nn::Flatten(), torch::nn::Linear(3 * 40 * 40, 3));
  model->to(torch::kDouble);
  const torch::Tensor map = torch::randn({2, 1, 40, 40}, torch::kDouble);
  const auto options = metrics::RoadOptions().noise(0.05).seed(11).fractions({0.2, 0.5, 0.8});
  const metrics::Curve morf = metrics::road_curve(model.ptr(), image, 1, map, options);
  CHECK_THAT(metrics::road_curve(model.ptr(), image, 1, map, options).scores, AllClose(morf.scores, 0, 0));
  const auto one_row = metrics::RoadOptions(options).engine(nni::PerturbationEngineOptions().rows_per_call(1));
  CHECK_THAT(metrics::road_curve(model.ptr(), image, 1, map, one_row).scores, AllClose(morf.scores, 1e-13, 1e-13));
  CHECK_FALSE(torch::allclose(metrics::road_curve(model.ptr(), image, 1, map, metrics::RoadOptions(options).seed(12)).scores,
                              morf.scores, 1e-9, 1e-9));
  const metrics::Curve lerf =
      metrics::road_curve(model.ptr(), image, 1, map, metrics::RoadOptions(options).order(metrics::RelevanceOrder::kLeastRelevantFirst));
  const torch::Tensor clean = morf.scores.select(1, 0).unsqueeze(1);
  const torch::Tensor by_hand = ((lerf.scores.slice(1, 1) - clean).mean(1) - (morf.scores.slice(1, 1) - clean).mean(1)) / 2;
  CHECK_THAT(metrics::road_combined(model.ptr(), image, 1, map, options), AllClose(by_hand, 1e-13, 1e-13));
}

TEST_CASE("ROAD curves and ROADCombined equal pytorch-grad-cam's on a small MLP", "[metrics][road]") {
  auto model = reference_mlp();
  const torch::Tensor input = reference("road_input.npy");
  const torch::Tensor cam = reference("road_cam.npy");
  const torch::Tensor target = reference("road_target.npy");
  for (const int64_t rows : {int64_t{0}, int64_t{4}}) {
    const auto options = metrics::RoadOptions().noise(0.0).engine(nni::PerturbationEngineOptions().rows_per_call(rows));
    const metrics::Curve morf = metrics::road_curve(model.ptr(), input, target, cam, options);
    CHECK_THAT(morf.fractions, AllClose(doubles({0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}, {10}), 0, 0));
    CHECK_THAT(morf.scores, AllClose(reference("road_morf_scores.npy"), 1e-10, 1e-10));
    const metrics::Curve lerf =
        metrics::road_curve(model.ptr(), input, target, cam, metrics::RoadOptions(options).order(metrics::RelevanceOrder::kLeastRelevantFirst));
    CHECK_THAT(lerf.scores, AllClose(reference("road_lerf_scores.npy"), 1e-10, 1e-10));
    CHECK_THAT(metrics::road_combined(model.ptr(), input, target, cam, options), AllClose(reference("road_combined.npy"), 1e-10, 1e-10));
    // A three-channel map is summed over the channels.
    CHECK_THAT(metrics::road_curve(model.ptr(), input, target, cam.expand({2, 3, 10, 10}) / 3, options).scores,
               AllClose(morf.scores, 1e-12, 1e-12));
    const torch::Tensor widths = morf.fractions.slice(0, 1) - morf.fractions.slice(0, 0, 9);
    CHECK_THAT(morf.auc, AllClose(((morf.scores.slice(1, 1) + morf.scores.slice(1, 0, 9)) * 0.5 * widths).sum(1), 1e-15, 1e-15));
  }
}

TEST_CASE("ROAD on a linear model: the clean point is the model's score, and the exact contributions fall faster MoRF than LeRF",
          "[metrics][road]") {
  // Class 0 sums the pixels with positive weights; the image is a dim background with 4 bright spots.
  torch::nn::Sequential model(torch::nn::Flatten(), torch::nn::Linear(36, 2));
  model->to(torch::kDouble);
  torch::manual_seed(5);
  const torch::Tensor weight = 1 + 0.1 * torch::rand({36}, torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    model->ptr<torch::nn::LinearImpl>(1)->weight.copy_(torch::stack({weight, torch::zeros_like(weight)}));
    model->ptr<torch::nn::LinearImpl>(1)->bias.copy_(doubles({0.5, 0}, {2}));
  }
  torch::Tensor x = 0.1 * torch::rand({2, 1, 6, 6}, torch::kDouble);
  x.view({2, 36}).index_put_({0, torch::tensor({7, 15, 22, 33})}, doubles({1.5, 2, 1.2, 1.8}, {4}));
  x.view({2, 36}).index_put_({1, torch::tensor({0, 14, 20, 28})}, doubles({1.1, 1.7, 2.2, 1.4}, {4}));
  const torch::Tensor contribution = x * weight.view({1, 1, 6, 6});
  const auto raw = metrics::RoadOptions().noise(0.0).probabilities(false);
  const metrics::Curve morf = metrics::road_curve(model.ptr(), x, 0, contribution, raw);
  const metrics::Curve lerf =
      metrics::road_curve(model.ptr(), x, 0, contribution, metrics::RoadOptions(raw).order(metrics::RelevanceOrder::kLeastRelevantFirst));
  REQUIRE(morf.scores.sizes() == torch::IntArrayRef({2, 10}));
  const torch::Tensor logit = model->forward(x).select(1, 0);
  CHECK_THAT(morf.scores.select(1, 0), AllClose(logit, 1e-12, 1e-12));
  CHECK_THAT(lerf.scores.select(1, 0), AllClose(logit, 1e-12, 1e-12));
  CHECK((morf.scores.slice(1, 1) < lerf.scores.slice(1, 1)).all().item<bool>());
  CHECK((morf.auc < lerf.auc).all().item<bool>());
  CHECK((metrics::road_combined(model.ptr(), x, 0, contribution, raw) > 0).all().item<bool>());
  // At 10 % (round(3.6) = 4 pixels) MoRF imputes exactly the 4 spots.
  torch::Tensor spots = torch::zeros({2, 36}, torch::kBool);
  spots.index_put_({0, torch::tensor({7, 15, 22, 33})}, true);
  spots.index_put_({1, torch::tensor({0, 14, 20, 28})}, true);
  const torch::Tensor imputed = metrics::linear_imputation(x, spots.view({2, 6, 6}));
  CHECK_THAT(morf.scores.select(1, 1), AllClose(model->forward(imputed).select(1, 0), 1e-12, 1e-12));
  // The default scores class probabilities.
  const metrics::Curve probabilities = metrics::road_curve(model.ptr(), x, 0, contribution, metrics::RoadOptions().noise(0.0));
  CHECK_THAT(probabilities.scores.select(1, 0), AllClose(torch::softmax(model->forward(x), 1).select(1, 0), 1e-12, 1e-12));
  CHECK_THAT(probabilities.scores.select(1, 1), AllClose(torch::softmax(model->forward(imputed), 1).select(1, 0), 1e-12, 1e-12));
}

TEST_CASE("Linear imputation and ROAD refuse images with no known pixel, bad fractions and bad maps", "[metrics][road]") {
  torch::manual_seed(6);
  const torch::Tensor image = torch::rand({2, 1, 3, 4}, torch::kDouble);
  torch::Tensor all = torch::zeros({2, 3, 4}, torch::kBool);
  all[1].fill_(true);
  CHECK_THROWS_WITH(metrics::linear_imputation(image, all),
                    Contains("linear_imputation: every pixel is removed") && Contains("in example 1 (of 2)"));
  CHECK_THROWS_WITH(metrics::linear_imputation(image, torch::zeros({2, 4, 3}, torch::kBool)),
                    Contains("the removed mask must be [N, H, W] or [N, 1, H, W] = [2, 1, 3, 4]"));
  CHECK_THROWS_WITH(metrics::linear_imputation(image, torch::full({2, 3, 4}, 2.0)), Contains("values other than 0 and 1"));
  CHECK_THROWS_WITH(metrics::linear_imputation(image.view({2, 12}), all), Contains("must be a non-empty batch of images [N, C, H, W]"));
  CHECK_THROWS_WITH(metrics::linear_imputation(image, all.logical_not(), -1.0), Contains("noise must be finite and >= 0"));
  torch::Tensor nan = image.clone();
  nan[0][0][0][0] = std::nan("");
  CHECK_THROWS_WITH(metrics::linear_imputation(nan, pixels(3, 4, {{0, 1}}).repeat({2, 1, 1})),
                    Contains("the known pixels next to removed ones hold NaN or Inf in example 0"));

  torch::nn::Sequential model(torch::nn::Flatten(), torch::nn::Linear(12, 3));
  model->to(torch::kDouble);
  const torch::Tensor map = torch::randn({2, 1, 3, 4}, torch::kDouble);
  const auto fractions = [](std::vector<double> f) { return metrics::RoadOptions().fractions(std::move(f)); };
  CHECK_THROWS_WITH(metrics::road_curve(model.ptr(), image, 0, map, fractions({0.5, 1.0})),
                    Contains("road_curve: fractions must be in (0, 1), got 1"));
  CHECK_THROWS_WITH(metrics::road_combined(model.ptr(), image, 0, map, fractions({0.0})),
                    Contains("road_combined: fractions must be in (0, 1), got 0"));
  CHECK_THROWS_WITH(metrics::road_curve(model.ptr(), image, 0, map, fractions({0.5, 0.3})),
                    Contains("fractions must be strictly increasing, got 0.5 then 0.3"));
  CHECK_THROWS_WITH(metrics::road_curve(model.ptr(), image, 0, map, fractions({0.97})),
                    Contains("road_curve: fraction 0.97 removes all 12 pixels of a 3x4 image"));
  CHECK_THROWS_WITH(metrics::road_curve(model.ptr(), image, 0, torch::randn({2, 1, 4, 3}, torch::kDouble)),
                    Contains("road_curve: attributions of shape [2, 1, 4, 3] do not match the input [2, 1, 3, 4]"));
  torch::Tensor bad_map = map.clone();
  bad_map[1][0][2][2] = std::nan("");
  CHECK_THROWS_WITH(metrics::road_curve(model.ptr(), image, 0, bad_map), Contains("NaN or Inf in example 1"));
  CHECK_THROWS_WITH(metrics::road_curve(model.ptr(), image, 0, map, metrics::RoadOptions().noise(std::nan(""))),
                    Contains("road_curve: noise must be finite and >= 0"));
  CHECK_THROWS_WITH(metrics::road_curve(model.ptr(), image, 7, map), Contains("target class 7 is out of range"));
}
