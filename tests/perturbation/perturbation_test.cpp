// The perturbation family: hand-computed answers on tiny models, Shapley identities, convergence of
// the sampling methods, and Captum's outputs on the fixtures of tests/fixtures/perturbation_reference.
#include <string>

#include <torch/script.h>
#include <torch/torch.h>

#include "nn_interpretability/io/npy.h"
#include "nn_interpretability/perturbation/feature_ablation.h"
#include "nn_interpretability/perturbation/feature_permutation.h"
#include "nn_interpretability/perturbation/kernel_shap.h"
#include "nn_interpretability/perturbation/lime.h"
#include "nn_interpretability/perturbation/rise.h"
#include "nn_interpretability/perturbation/occlusion.h"
#include "nn_interpretability/perturbation/shapley_value_sampling.h"
#include "support/all_close.h"
#include "support/catch_torch.h"
#include "support/model_snapshot.h"

namespace nni = nn_interpretability;
using nni_test::AllClose;

namespace {

std::string reference(const std::string& name) {
  return std::string(NNI_SOURCE_DIR) + "/tests/fixtures/perturbation_reference/" + name;
}

torch::Tensor npy(const std::string& name) { return nni::read_npy(reference(name)); }

nni::Model scripted(const std::string& name) {
  torch::jit::Module module = torch::jit::load(reference(name + "_scripted.pt"));
  module.eval();
  return nni::Model(module);
}

/// y = W x + b on [N, 1, 2, 3] flattened, float64.
torch::nn::Sequential linear_model(int64_t classes = 3) {
  torch::manual_seed(3);
  torch::nn::Sequential model(torch::nn::Flatten(), torch::nn::Linear(6, classes));
  model->to(torch::kDouble);
  return model;
}

/// A non-linear model of 5 inputs: tanh layer then a linear head, float64.
torch::nn::Sequential small_mlp() {
  torch::manual_seed(5);
  torch::nn::Sequential model(torch::nn::Linear(5, 7), torch::nn::Tanh(), torch::nn::Linear(7, 2));
  model->to(torch::kDouble);
  return model;
}

torch::Tensor linear_weight(const torch::nn::Sequential& model) {
  return model->ptr<torch::nn::LinearImpl>(1)->weight.detach();
}

}  // namespace

TEST_CASE("Occlusion with a one-element window and a zero baseline is input times weight on a linear model",
          "[perturbation][occlusion]") {
  auto model = linear_model();
  const torch::Tensor x = torch::randn({2, 1, 2, 3}, torch::kDouble);
  const torch::Tensor target = torch::tensor({2, 0});
  nni::Occlusion occlusion(model.ptr(), nni::OcclusionOptions().window({1, 1, 1}));
  const torch::Tensor w = linear_weight(model).index_select(0, target).view({2, 1, 2, 3});
  CHECK_THAT(occlusion.attribute(x, target), AllClose(x * w, 1e-12, 1e-12));
  CHECK(occlusion.windows(x) == 6);
}

TEST_CASE("Occlusion averages the drops of every window covering an element, the last window clipped",
          "[perturbation][occlusion]") {
  // Width 5, window 2, stride 2: windows start at 0, 2, 4 (the last covers column 4 only).
  auto model = linear_model();
  const torch::Tensor x = torch::randn({1, 1, 1, 6}, torch::kDouble).view({1, 1, 2, 3});
  nni::Occlusion occlusion(model.ptr(), nni::OcclusionOptions().window({1, 2, 2}).strides({1, 1, 1}).baseline(0.5));
  // By hand: for a linear model the drop of a window is Σ_{e ∈ window} w_e (x_e − 0.5).
  const torch::Tensor contribution = (x - 0.5) * linear_weight(model).select(0, 1).view({1, 1, 2, 3});
  torch::Tensor expected = torch::zeros_like(x);
  torch::Tensor count = torch::zeros_like(x);
  for (int64_t c = 0; c < 2; ++c) {  // window columns c, c + 1 over both rows
    const torch::Tensor drop = contribution.slice(3, c, c + 2).sum();
    expected.slice(3, c, c + 2) += drop;
    count.slice(3, c, c + 2) += 1;
  }
  CHECK_THAT(occlusion.attribute(x, 1), AllClose(expected / count, 1e-12, 1e-12));
}

TEST_CASE("Occlusion and feature ablation agree with Captum on the fixtures", "[perturbation][occlusion][captum]") {
  const nni::Model linear = scripted("linear");
  const nni::Model cnn = scripted("cnn");
  const nni::Model mlp = scripted("mlp");
  const torch::Tensor cnn_x = npy("cnn_input.npy"), cnn_t = npy("cnn_target.npy");
  SECTION("occlusion") {
    nni::Occlusion one(linear, nni::OcclusionOptions().window({1, 1, 1}));
    CHECK_THAT(one.attribute(npy("linear_input.npy"), npy("linear_target.npy")),
               AllClose(npy("linear__occlusion.npy"), 1e-10, 1e-12));
    nni::Occlusion w3(cnn, nni::OcclusionOptions().window({1, 3, 3}).strides({1, 2, 2}).rows_per_call(7));
    CHECK_THAT(w3.attribute(cnn_x, cnn_t), AllClose(npy("cnn__occlusion_w3_s2.npy"), 1e-10, 1e-12));
    nni::Occlusion w3_half(cnn, nni::OcclusionOptions().window({1, 3, 3}).strides({1, 2, 2}).baseline(0.5));
    CHECK_THAT(w3_half.attribute(cnn_x, cnn_t), AllClose(npy("cnn__occlusion_w3_s2_b0.5.npy"), 1e-10, 1e-12));
    nni::Occlusion w4(cnn, nni::OcclusionOptions().window({1, 4, 4}).strides({1, 3, 3}));
    CHECK_THAT(w4.attribute(cnn_x, cnn_t), AllClose(npy("cnn__occlusion_w4_s3.npy"), 1e-10, 1e-12));
  }
  SECTION("feature ablation") {
    nni::FeatureAblation elements(cnn, nni::FeatureAblationOptions().rows_per_call(5));
    CHECK_THAT(elements.attribute(cnn_x, cnn_t), AllClose(npy("cnn__feature_ablation.npy"), 1e-10, 1e-12));
    nni::FeatureAblation grid(cnn, nni::FeatureAblationOptions()
                                       .feature_mask(nni::FeatureMask::custom(npy("cnn_mask_grid2.npy")))
                                       .baseline(0.25));
    CHECK_THAT(grid.attribute(cnn_x, cnn_t), AllClose(npy("cnn__feature_ablation_grid2_b0.25.npy"), 1e-10, 1e-12));
    // The grid mask built in C++ is the same as the fixture's.
    nni::FeatureAblation built(cnn, nni::FeatureAblationOptions().feature_mask(nni::FeatureMask::grid(2, 2)).baseline(0.25));
    CHECK_THAT(built.attribute(cnn_x, cnn_t), AllClose(npy("cnn__feature_ablation_grid2_b0.25.npy"), 1e-10, 1e-12));
    nni::FeatureAblation per_example(
        cnn, nni::FeatureAblationOptions().feature_mask(nni::FeatureMask::custom(npy("cnn_mask_per_example.npy"))));
    CHECK_THAT(per_example.attribute(cnn_x, cnn_t), AllClose(npy("cnn__feature_ablation_per_example.npy"), 1e-10, 1e-12));
    const torch::Tensor mlp_x = npy("mlp_input.npy"), mlp_t = npy("mlp_target.npy");
    nni::FeatureAblation mlp_ablation(mlp, nni::FeatureAblationOptions());
    CHECK_THAT(mlp_ablation.attribute(mlp_x, mlp_t), AllClose(npy("mlp__feature_ablation.npy"), 1e-10, 1e-12));
    nni::FeatureAblation with_baseline(mlp, nni::FeatureAblationOptions().baseline(npy("mlp_baseline.npy")));
    CHECK_THAT(with_baseline.attribute(mlp_x, mlp_t), AllClose(npy("mlp__feature_ablation_baseline.npy"), 1e-10, 1e-12));
  }
}

TEST_CASE("Shapley values of a linear model equal the ablation values; exact values sum to f(x) - f(baseline)",
          "[perturbation][shapley]") {
  auto model = linear_model();
  const torch::Tensor x = torch::randn({2, 1, 2, 3}, torch::kDouble);
  const torch::Tensor target = torch::tensor({0, 2});
  const torch::Tensor ablation = nni::FeatureAblation(model.ptr()).attribute(x, target);
  CHECK_THAT(nni::ShapleyValues(model.ptr()).attribute(x, target), AllClose(ablation, 1e-10, 1e-12));
  // Any permutation of an additive model gives each feature its own term: sampling is exact too.
  CHECK_THAT(nni::ShapleyValueSampling(model.ptr(), nni::ShapleyValueSamplingOptions().samples(3)).attribute(x, target),
             AllClose(ablation, 1e-10, 1e-12));

  auto mlp = small_mlp();
  const torch::Tensor z = torch::randn({3, 5}, torch::kDouble);
  const torch::Tensor baseline = torch::randn({5}, torch::kDouble);
  const torch::Tensor classes = torch::tensor({1, 0, 1});
  const torch::Tensor phi = nni::ShapleyValues(mlp.ptr(), nni::ShapleyValuesOptions().baseline(baseline)).attribute(z, classes);
  torch::NoGradGuard no_grad;
  const torch::Tensor gap = mlp->forward(z).gather(1, classes.view({3, 1})).squeeze(1) -
                            mlp->forward(baseline.expand({3, 5})).gather(1, classes.view({3, 1})).squeeze(1);
  CHECK_THAT(phi.sum(1), AllClose(gap, 1e-10, 1e-12));
  // Sampling: every permutation's gains telescope, so the efficiency holds at any sample count.
  const torch::Tensor sampled = nni::ShapleyValueSampling(mlp.ptr(), nni::ShapleyValueSamplingOptions().samples(4).baseline(baseline))
                                    .attribute(z, classes);
  CHECK_THAT(sampled.sum(1), AllClose(gap, 1e-10, 1e-12));
}

TEST_CASE("Exact Shapley values agree with Captum's; sampling and KernelSHAP converge to them",
          "[perturbation][shapley][kernel_shap][captum]") {
  const nni::Model mlp = scripted("mlp");
  const torch::Tensor x = npy("mlp_input.npy"), t = npy("mlp_target.npy");
  const torch::Tensor exact = npy("mlp__shapley_values.npy");
  CHECK_THAT(nni::ShapleyValues(mlp).attribute(x, t), AllClose(exact, 1e-10, 1e-12));
  const nni::Model cnn = scripted("cnn");
  nni::ShapleyValues grid(cnn, nni::ShapleyValuesOptions().feature_mask(nni::FeatureMask::custom(npy("cnn_mask_grid4.npy"))));
  CHECK_THAT(grid.attribute(npy("cnn_input.npy"), npy("cnn_target.npy")),
             AllClose(npy("cnn__shapley_values_grid4.npy"), 1e-10, 1e-12));

  // The error against the exact values falls as samples grow (Captum's, same n: 0.020 / 0.0031 / 0.0021).
  auto sampling_error = [&](int64_t samples) {
    nni::ShapleyValueSampling method(mlp, nni::ShapleyValueSamplingOptions().samples(samples).seed(1));
    return (method.attribute(x, t) - exact).abs().max().item<double>();
  };
  const double e10 = sampling_error(10), e1000 = sampling_error(1000);
  INFO("sampling error at 10: " << e10 << ", at 1000: " << e1000);
  CHECK(e1000 < e10);
  CHECK(e1000 < 0.01);
  // KernelSHAP likewise (Captum's: 0.0079 / 0.0037 / 0.0010 at 50 / 500 / 5000).
  auto kernel_error = [&](int64_t samples) {
    nni::KernelShap method(mlp, nni::KernelShapOptions().samples(samples).seed(2));
    return (method.attribute(x, t) - exact).abs().max().item<double>();
  };
  const double k50 = kernel_error(50), k5000 = kernel_error(5000);
  INFO("KernelSHAP error at 50: " << k50 << ", at 5000: " << k5000);
  CHECK(k5000 < k50);
  CHECK(k5000 < 0.01);
  // Captum's estimates are as far from the exact values as ours at the same n (same distribution).
  CHECK((npy("mlp__kernel_shap_n5000.npy") - exact).abs().max().item<double>() < 0.01);
}

TEST_CASE("KernelSHAP recovers an additive model's values exactly once every coalition size is seen",
          "[perturbation][kernel_shap]") {
  auto model = linear_model();
  const torch::Tensor x = torch::randn({2, 1, 2, 3}, torch::kDouble);
  const torch::Tensor target = torch::tensor({1, 2});
  const torch::Tensor ablation = nni::FeatureAblation(model.ptr()).attribute(x, target);
  CHECK_THAT(nni::KernelShap(model.ptr(), nni::KernelShapOptions().samples(64)).attribute(x, target),
             AllClose(ablation, 1e-6, 1e-8));
}

TEST_CASE("Perturbation methods refuse bad options and inputs with messages that name the problem",
          "[perturbation][errors]") {
  auto model = linear_model();
  const torch::Tensor x = torch::randn({2, 1, 2, 3}, torch::kDouble);
  CHECK_THROWS_WITH(nni::Occlusion(model.ptr(), nni::OcclusionOptions()), Catch::Contains("window is empty"));
  CHECK_THROWS_WITH(nni::Occlusion(model.ptr(), nni::OcclusionOptions().window({1, 3, 3})).attribute(x, 0),
                    Catch::Contains("larger than the input"));
  CHECK_THROWS_WITH(nni::Occlusion(model.ptr(), nni::OcclusionOptions().window({1, 1, 1}).strides({1, 2, 2})).attribute(x, 0),
                    Catch::Contains("exceeds the window"));
  CHECK_THROWS_WITH(nni::ShapleyValueSampling(model.ptr(), nni::ShapleyValueSamplingOptions().samples(0)),
                    Catch::Contains("samples must be >= 1"));
  CHECK_THROWS_WITH(nni::FeatureAblation(model.ptr(), nni::FeatureAblationOptions().feature_mask(
                                                          nni::FeatureMask::custom(torch::zeros({1, 1, 3, 3}, torch::kLong))))
                        .attribute(x, 0),
                    Catch::Contains("does not fit the input"));
  CHECK_THROWS_WITH(nni::FeatureAblation(model.ptr(), nni::FeatureAblationOptions().feature_mask(
                                                          nni::FeatureMask::custom(-torch::ones({1, 1, 2, 3}, torch::kLong))))
                        .attribute(x, 0),
                    Catch::Contains("negative id"));
  CHECK_THROWS_WITH(nni::FeatureAblation(model.ptr(), nni::FeatureAblationOptions().baseline(torch::zeros({3, 3}, torch::kDouble)))
                        .attribute(x, 0),
                    Catch::Contains("baseline of shape"));
  CHECK_THROWS_WITH(nni::ShapleyValues(model.ptr(), nni::ShapleyValuesOptions().feature_mask(nni::FeatureMask::elements()))
                        .attribute(torch::randn({1, 1, 5, 4}, torch::kDouble), 0),
                    Catch::Contains("has 20 features"));
  // A NaN score from the perturbed rows is named, not returned.
  torch::nn::Sequential log_model(torch::nn::Flatten(), torch::nn::Functional([](torch::Tensor v) { return v.log(); }));
  const torch::Tensor positive = torch::rand({1, 1, 2, 3}, torch::kDouble) + 0.5;
  CHECK_THROWS_WITH(nni::Occlusion(log_model.ptr(), nni::OcclusionOptions().window({1, 1, 1}).baseline(-1.0)).attribute(positive, 0),
                    Catch::Contains("returned NaN or Inf scores"));
}

TEST_CASE("Perturbation methods leave the model as it was and give the same answer in every chunking",
          "[perturbation][invariants]") {
  auto model = small_mlp();
  const torch::Tensor z = torch::randn({3, 5}, torch::kDouble);
  const auto before = nni_test::ModelSnapshot::of(*model);
  const torch::Tensor whole = nni::KernelShap(model.ptr(), nni::KernelShapOptions().samples(40).rows_per_call(0)).attribute(z, 1);
  const torch::Tensor chunked = nni::KernelShap(model.ptr(), nni::KernelShapOptions().samples(40).rows_per_call(7)).attribute(z, 1);
  CHECK_THAT(chunked, AllClose(whole, 1e-12, 1e-12));
  int64_t reports = 0, last = 0;
  nni::ShapleyValueSampling(model.ptr(), nni::ShapleyValueSamplingOptions().samples(3).rows_per_call(4).progress(
                                             [&](int64_t done, int64_t total) {
                                               ++reports;
                                               last = done;
                                               CHECK(total == 3 * (3 * 5 + 1));
                                             }))
      .attribute(z, 0);
  CHECK(last == 48);
  CHECK(reports == 12);
  CHECK(before.difference(nni_test::ModelSnapshot::of(*model)).empty());
}

TEST_CASE("Linear surrogates: least squares, ridge and lasso against closed forms", "[perturbation][lime][surrogate]") {
  // Centred orthogonal columns with xᵀx / n = 1: the lasso is the soft-thresholded least squares.
  const torch::Tensor x = torch::tensor({{1.0, 1.0}, {1.0, -1.0}, {-1.0, 1.0}, {-1.0, -1.0}}, torch::kDouble);
  const torch::Tensor y = (3 * x.select(1, 0) - 0.5 * x.select(1, 1) + 2).unsqueeze(1);
  const torch::Tensor w = torch::ones({4}, torch::kDouble);
  const auto ls = nni::fit_linear_surrogate(x, y, w, nni::SurrogateFit::kLeastSquares, 0);
  CHECK_THAT(ls.coefficients.squeeze(1), AllClose(torch::tensor({3.0, -0.5}, torch::kDouble), 1e-12, 1e-12));
  CHECK(std::abs(ls.intercepts.item<double>() - 2) < 1e-12);
  const auto lasso = nni::fit_linear_surrogate(x, y, w, nni::SurrogateFit::kLasso, 1.0);
  CHECK_THAT(lasso.coefficients.squeeze(1), AllClose(torch::tensor({2.0, 0.0}, torch::kDouble), 1e-9, 1e-9));
  CHECK(std::abs(lasso.intercepts.item<double>() - 2) < 1e-12);
  // Ridge: (XᵀX + α I) β = Xᵀy with XᵀX = 4 I: β = 4 β_ls / (4 + α).
  const auto ridge = nni::fit_linear_surrogate(x, y, w, nni::SurrogateFit::kRidge, 4.0);
  CHECK_THAT(ridge.coefficients.squeeze(1), AllClose(torch::tensor({1.5, -0.25}, torch::kDouble), 1e-12, 1e-12));
  // Weights: a row of weight 0 is ignored, however far off.
  const torch::Tensor x5 = torch::cat({x, torch::tensor({{0.5, 0.5}}, torch::kDouble)});
  const torch::Tensor y5 = torch::cat({y, torch::tensor({{100.0}}, torch::kDouble)});
  const torch::Tensor w5 = torch::tensor({1.0, 1.0, 1.0, 1.0, 0.0}, torch::kDouble);
  CHECK_THAT(nni::fit_linear_surrogate(x5, y5, w5, nni::SurrogateFit::kLeastSquares, 0).coefficients.squeeze(1),
             AllClose(torch::tensor({3.0, -0.5}, torch::kDouble), 1e-10, 1e-10));
}

TEST_CASE("LIME's least-squares surrogate recovers a linear model's input times weight, as Captum's does",
          "[perturbation][lime][captum]") {
  const nni::Model linear = scripted("linear");
  const torch::Tensor x = npy("linear_input.npy"), t = npy("linear_target.npy");
  nni::Lime lime(linear, nni::LimeOptions().samples(300).fit(nni::SurrogateFit::kLeastSquares));
  const torch::Tensor ours = lime.attribute(x, t);
  // Captum's (2000 samples, its own draws) recovered input × W[target] to 5e-10: the same answer.
  CHECK_THAT(ours, AllClose(npy("linear__lime.npy"), 1e-7, 1e-8));
  auto model = linear_model();
  const torch::Tensor z = torch::randn({2, 1, 2, 3}, torch::kDouble);
  const torch::Tensor target = torch::tensor({1, 2});
  const torch::Tensor expected = z * linear_weight(model).index_select(0, target).view({2, 1, 2, 3});
  CHECK_THAT(nni::Lime(model.ptr(), nni::LimeOptions().samples(50).fit(nni::SurrogateFit::kLeastSquares)).attribute(z, target),
             AllClose(expected, 1e-9, 1e-10));
  // The lasso (Captum's default) shrinks each coefficient towards zero, never past it.
  const torch::Tensor shrunk = nni::Lime(model.ptr(), nni::LimeOptions().samples(200)).attribute(z, target);
  CHECK((shrunk.abs() <= expected.abs() + 1e-9).all().item<bool>());
  CHECK((shrunk * expected >= -1e-12).all().item<bool>());
}

TEST_CASE("Feature permutation on a linear model: each feature's drop is w_k (x_i,k - x_j,k) of the swapped pair",
          "[perturbation][feature_permutation]") {
  auto model = linear_model();
  const torch::Tensor x = torch::randn({2, 1, 2, 3}, torch::kDouble);
  const torch::Tensor w = linear_weight(model).select(0, 1).view({1, 1, 2, 3});
  // With two examples the only derangement swaps them.
  const torch::Tensor expected = w * (x - x.flip(0));
  CHECK_THAT(nni::FeaturePermutation(model.ptr()).attribute(x, 1), AllClose(expected, 1e-12, 1e-12));
  CHECK_THROWS_WITH(nni::FeaturePermutation(model.ptr()).attribute(x.slice(0, 0, 1), 1), Catch::Contains("at least 2 examples"));
  // Larger batches: every example gets another's values (no fixed point), whatever the seed.
  const torch::Tensor five = torch::randn({5, 1, 2, 3}, torch::kDouble) + 10;
  for (int64_t seed : {0, 1, 2}) {
    const torch::Tensor a = nni::FeaturePermutation(model.ptr(), nni::FeaturePermutationOptions().seed(seed)).attribute(five, 0);
    CHECK((a.abs() > 0).all().item<bool>());
  }
}

TEST_CASE("RISE: masks that keep everything give f(x) everywhere; the saliency follows what the model reads",
          "[perturbation][rise]") {
  // Score = sum of the top-left 8 x 8 pixels of a 16 x 16 image.
  torch::nn::Sequential reader(torch::nn::Functional([](torch::Tensor v) {
    return v.slice(2, 0, 8).slice(3, 0, 8).sum({1, 2, 3}).unsqueeze(1).repeat({1, 2});
  }));
  nni::Model model(nni::ForwardFunction([reader](const torch::Tensor& v) mutable { return reader->forward(v); }));
  const torch::Tensor x = torch::ones({1, 1, 16, 16}, torch::kDouble);
  const torch::Tensor all = nni::Rise(model, nni::RiseOptions().masks(20).probability(1.0).cells(4)).attribute(x, 0);
  CHECK_THAT(all, AllClose(torch::full({1, 1, 16, 16}, 64.0, torch::kDouble), 1e-12, 1e-12));
  const torch::Tensor saliency = nni::Rise(model, nni::RiseOptions().masks(400).cells(4).seed(3)).attribute(x, 0);
  const double inside = saliency.slice(2, 0, 8).slice(3, 0, 8).mean().item<double>();
  const double outside = saliency.slice(2, 8).slice(3, 8).mean().item<double>();
  INFO("mean saliency where the model reads: " << inside << ", far corner: " << outside);
  // Away from the region the expected saliency is E[f] / p · p = E[f] ≈ 32 (half the 64 pixels kept);
  // inside it adds Cov(f, M_e) / p, about one cell's 16 pixels × 0.25 / 0.5 = 8.
  CHECK(std::abs(outside - 32.0) < 3.0);
  CHECK(inside - outside > 4.0);
  // Chunking changes nothing.
  const torch::Tensor chunked = nni::Rise(model, nni::RiseOptions().masks(400).cells(4).seed(3).rows_per_call(7)).attribute(x, 0);
  CHECK_THAT(chunked, AllClose(saliency, 1e-12, 1e-12));
}

TEST_CASE("Computed and registered feature masks resolve per batch and are checked like custom masks",
          "[perturbation][feature_mask]") {
  auto model = linear_model();
  const torch::Tensor x = torch::randn({2, 1, 2, 3}, torch::kDouble);
  // Columns as features, computed from the input's shape.
  const nni::FeatureMask columns = nni::FeatureMask::computed(
      [](const torch::Tensor& input) { return torch::arange(input.size(3)).view({1, 1, 1, -1}).expand({1, 1, input.size(2), -1}).clone(); },
      "columns");
  const torch::Tensor by_column = nni::FeatureAblation(model.ptr(), nni::FeatureAblationOptions().feature_mask(columns)).attribute(x, 1);
  const torch::Tensor w = linear_weight(model).select(0, 1).view({1, 1, 2, 3});
  const torch::Tensor expected = (x * w).sum(2, true).expand_as(x);  // a column's drop, on both of its elements
  CHECK_THAT(by_column, AllClose(expected, 1e-12, 1e-12));
  nni::FeatureMask::register_kind("test_columns", [columns](const std::string&) { return columns; });
  CHECK(nni::FeatureMask::parse("test_columns:any").describe() == "columns");
  const nni::FeatureMask bad = nni::FeatureMask::computed([](const torch::Tensor& input) { return torch::rand_like(input); }, "noise");
  CHECK_THROWS_WITH(nni::FeatureAblation(model.ptr(), nni::FeatureAblationOptions().feature_mask(bad)).attribute(x, 1),
                    Catch::Contains("must give integer ids"));
  CHECK(nni::FeatureMask::blocks(2, 3).resolve(torch::zeros({1, 1, 4, 6})).ids.equal(
      torch::tensor({0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 3, 3, 4, 4, 5, 5}).view({1, 1, 4, 6})));
}

TEST_CASE("LIME's similarity and KernelSHAP's fit are configurable", "[perturbation][lime][kernel_shap]") {
  auto mlp = small_mlp();
  const torch::Tensor z = torch::randn({2, 5}, torch::kDouble);
  const auto constant = [](const torch::Tensor&, const torch::Tensor& perturbed, const torch::Tensor&) {
    return torch::ones({perturbed.size(0)}, torch::kDouble);
  };
  const auto base = nni::LimeOptions().samples(60).fit(nni::SurrogateFit::kLeastSquares);
  const torch::Tensor flat = nni::Lime(mlp.ptr(), nni::LimeOptions(base).kernel_width(0)).attribute(z, 1);
  CHECK_THAT(nni::Lime(mlp.ptr(), nni::LimeOptions(base).similarity(constant)).attribute(z, 1), AllClose(flat, 1e-10, 1e-12));
  const auto negative = [](const torch::Tensor&, const torch::Tensor& perturbed, const torch::Tensor&) {
    return -torch::ones({perturbed.size(0)}, torch::kDouble);
  };
  CHECK_THROWS_WITH(nni::Lime(mlp.ptr(), nni::LimeOptions(base).similarity(negative)).attribute(z, 1),
                    Catch::Contains("negative, NaN or infinite weight"));
  const torch::Tensor ls = nni::KernelShap(mlp.ptr(), nni::KernelShapOptions().samples(80)).attribute(z, 0);
  CHECK_THAT(nni::KernelShap(mlp.ptr(), nni::KernelShapOptions().samples(80).fit(nni::SurrogateFit::kRidge)).attribute(z, 0),
             AllClose(ls, 1e-6, 1e-9));
  const torch::Tensor ridge =
      nni::KernelShap(mlp.ptr(), nni::KernelShapOptions().samples(80).fit(nni::SurrogateFit::kRidge).alpha(100.0)).attribute(z, 0);
  CHECK(ridge.abs().sum().item<double>() < ls.abs().sum().item<double>());
}
