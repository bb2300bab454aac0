// Infidelity and faithfulness correlation: exact answers on a linear model (its gradient predicts
// every perturbation's effect), Captum's infidelity on fixed draws, direct recomputation of the
// correlation from its definition, seeding, and the refusals.
#include <string>

#include <torch/script.h>
#include <torch/torch.h>

#include "nn_interpretability/io/npy.h"
#include "nn_interpretability/metrics/faithfulness_correlation.h"
#include "nn_interpretability/metrics/infidelity.h"
#include "support/all_close.h"
#include "support/catch_torch.h"

namespace nni = nn_interpretability;
namespace metrics = nn_interpretability::metrics;
using Catch::Matchers::Contains;
using nni_test::AllClose;

namespace {

torch::Tensor npy(const std::string& folder, const std::string& name) {
  return nni::read_npy(std::string(NNI_SOURCE_DIR) + "/tests/fixtures/" + folder + "/" + name);
}

/// y = W x + b on [N, 2, 3, 3] flattened, float64, 4 classes.
torch::nn::Sequential linear_model() {
  torch::manual_seed(21);
  torch::nn::Sequential model(torch::nn::Flatten(), torch::nn::Linear(18, 4));
  model->to(torch::kDouble);
  return model;
}

/// W[t] shaped like one input row, for each example's target t.
torch::Tensor class_weights(const torch::nn::Sequential& model, const torch::Tensor& classes) {
  auto linear = model->ptr<torch::nn::LinearImpl>(1);
  return linear->weight.detach().index_select(0, classes).view({classes.size(0), 2, 3, 3});
}

}  // namespace

TEST_CASE("Infidelity is 0 for a linear model's gradient, agrees with Captum on fixed draws, is seeded",
          "[metrics][infidelity]") {
  auto model = linear_model();
  const torch::Tensor x = torch::rand({3, 2, 3, 3}, torch::kDouble);
  const torch::Tensor classes = torch::tensor({0, 3, 1});
  const torch::Tensor gradient = class_weights(model, classes);
  // f(x) − f(x − I) = W[t]·I exactly, so Iᵀ∇f predicts every draw.
  for (const auto kind : {metrics::InfidelityPerturbation::kGaussian, metrics::InfidelityPerturbation::kSquareRemoval}) {
    const auto options = metrics::InfidelityOptions().perturbation(kind).samples(7).baseline(0.25);
    CHECK(metrics::infidelity(model, x, classes, gradient, options).abs().max().item<double>() < 1e-24);
    // Twice the gradient: off by I·W per draw; normalize's β = 1/2 makes it exact again.
    CHECK(metrics::infidelity(model, x, classes, 2 * gradient, options).min().item<double>() > 1e-6);
    CHECK(metrics::infidelity(model, x, classes, 2 * gradient, metrics::InfidelityOptions(options).normalize(true)).abs().max().item<double>() < 1e-24);
  }
  SECTION("by hand with given perturbations: (I·Φ − I·W)² averaged") {
    const torch::Tensor draws = torch::randn({3, 2, 2, 3, 3}, torch::kDouble);
    const torch::Tensor phi = gradient + 0.5;  // Iᵀ Φ − Δf = 0.5 Σ I
    const torch::Tensor by_hand = (0.5 * draws.flatten(2).sum(2)).pow(2).mean(1);
    CHECK_THAT(metrics::infidelity(model, x, classes, phi, metrics::InfidelityOptions().perturbations(draws)),
               AllClose(by_hand, 1e-12, 1e-15));
    // [S, ...]: the same draws for every example.
    const torch::Tensor shared = draws[0];
    CHECK_THAT(metrics::infidelity(model, x, classes, phi, metrics::InfidelityOptions().perturbations(shared)),
               AllClose((0.5 * shared.flatten(1).sum(1)).pow(2).mean().expand({3}), 1e-12, 1e-15));
  }
  SECTION("Captum's infidelity on the cnn fixture, with and without normalize") {
    torch::jit::Module module = torch::jit::load(std::string(NNI_SOURCE_DIR) +
                                                 "/tests/fixtures/perturbation_reference/cnn_scripted.pt");
    module.eval();
    const nni::Model cnn(module);
    const torch::Tensor input = npy("perturbation_reference", "cnn_input.npy");
    const torch::Tensor target = npy("perturbation_reference", "cnn_target.npy");
    const torch::Tensor phi = npy("metrics_reference", "captum_input_x_gradient.npy");
    const auto options = metrics::InfidelityOptions().perturbations(npy("metrics_reference", "captum_infidelity_perturbations.npy"));
    CHECK_THAT(metrics::infidelity(cnn, input, target, phi, options),
               AllClose(npy("metrics_reference", "captum_infidelity.npy"), 1e-10, 1e-15));
    CHECK_THAT(metrics::infidelity(cnn, input, target, phi, metrics::InfidelityOptions(options).normalize(true)),
               AllClose(npy("metrics_reference", "captum_infidelity_normalized.npy"), 1e-10, 1e-15));
  }
  SECTION("seeded: the same draws whatever the chunking; another seed, other draws") {
    const torch::Tensor phi = gradient * torch::rand_like(gradient);
    const auto options = metrics::InfidelityOptions().samples(5);
    const torch::Tensor all_at_once = metrics::infidelity(model, x, classes, phi, options);
    CHECK(torch::equal(all_at_once, metrics::infidelity(model, x, classes, phi,
                                                        metrics::InfidelityOptions(options).engine(
                                                            nni::PerturbationEngineOptions().rows_per_call(4)))));
    CHECK_FALSE(torch::allclose(all_at_once, metrics::infidelity(model, x, classes, phi, metrics::InfidelityOptions(options).seed(1))));
  }
  SECTION("refusals") {
    torch::Tensor nan = gradient.clone();
    nan[2][0][1][1] = std::nan("");
    CHECK_THROWS_WITH(metrics::infidelity(model, x, classes, nan), Contains("infidelity: the attributions hold NaN or Inf in example 2"));
    CHECK_THROWS_WITH(metrics::infidelity(model, x, classes, gradient.slice(2, 0, 2)), Contains("do not match the input"));
    CHECK_THROWS_WITH(metrics::infidelity(model, x, classes, gradient, metrics::InfidelityOptions().noise_std(0)),
                      Contains("noise_std must be > 0"));
    CHECK_THROWS_WITH(metrics::infidelity(model, x, classes, gradient,
                                          metrics::InfidelityOptions().perturbation(metrics::InfidelityPerturbation::kSquareRemoval).square(4)),
                      Contains("square must be in [0, 3]"));
    CHECK_THROWS_WITH(metrics::infidelity(model, x, classes, gradient, metrics::InfidelityOptions().perturbations(torch::zeros({3, 2, 3}))),
                      Contains("perturbations must be [N, S, ...] or [S, ...]"));
  }
}

TEST_CASE("Faithfulness correlation is 1 for a linear model's exact contributions, -1 for their negation, and its definition",
          "[metrics][faithfulness_correlation]") {
  auto model = linear_model();
  const torch::Tensor x = torch::rand({3, 2, 3, 3}, torch::kDouble);
  const torch::Tensor classes = torch::tensor({2, 0, 1});
  // With a zero baseline, f(x) − f(x_S) = Σ_{pixels in S} Σ_c W x: the contributions' sum over S.
  const torch::Tensor contributions = class_weights(model, classes) * x;
  const auto options = metrics::FaithfulnessCorrelationOptions().runs(20).subset_size(3);
  CHECK_THAT(metrics::faithfulness_correlation(model, x, classes, contributions, options),
             AllClose(torch::ones({3}, torch::kDouble), 1e-12, 1e-12));
  CHECK_THAT(metrics::faithfulness_correlation(model, x, classes, -3 * contributions, options),
             AllClose(-torch::ones({3}, torch::kDouble), 1e-12, 1e-12));
  // One channel (a CAM-like map) of the pixel sums is the same map.
  CHECK_THAT(metrics::faithfulness_correlation(model, x, classes, contributions.sum(1, true), options),
             AllClose(torch::ones({3}, torch::kDouble), 1e-12, 1e-12));

  SECTION("given subsets: Pearson of the subset sums and the score drops, recomputed directly") {
    torch::manual_seed(5);
    const torch::Tensor phi = torch::randn({3, 2, 3, 3}, torch::kDouble);
    const torch::Tensor subsets = torch::rand({3, 6, 9}) < 0.4;
    const torch::Tensor got = metrics::faithfulness_correlation(
        model, x, classes, phi, metrics::FaithfulnessCorrelationOptions().subsets(subsets).baseline(0.5));
    for (int64_t e = 0; e < 3; ++e) {
      std::vector<double> sums, drops;
      torch::NoGradGuard no_grad;
      const double clean = model->forward(x.slice(0, e, e + 1))[0][classes[e].item<int64_t>()].item<double>();
      for (int64_t r = 0; r < 6; ++r) {
        const torch::Tensor in_subset = subsets[e][r].view({1, 1, 3, 3});
        const torch::Tensor moved = torch::where(in_subset, torch::full({}, 0.5, torch::kDouble), x.slice(0, e, e + 1));
        drops.push_back(clean - model->forward(moved)[0][classes[e].item<int64_t>()].item<double>());
        sums.push_back((phi[e].sum(0) * subsets[e][r].view({3, 3})).sum().item<double>());
      }
      const torch::Tensor a = torch::tensor(sums, torch::kDouble), b = torch::tensor(drops, torch::kDouble);
      const torch::Tensor ac = a - a.mean(), bc = b - b.mean();
      CHECK(got[e].item<double>() == Approx(((ac * bc).sum() / (ac.norm() * bc.norm())).item<double>()).epsilon(1e-12));
    }
  }
  SECTION("seeded and chunk-independent") {
    const torch::Tensor phi = torch::randn({3, 2, 3, 3}, torch::kDouble);
    const torch::Tensor first = metrics::faithfulness_correlation(model, x, classes, phi, options);
    CHECK(torch::equal(first, metrics::faithfulness_correlation(
                                  model, x, classes, phi,
                                  metrics::FaithfulnessCorrelationOptions(options).engine(nni::PerturbationEngineOptions().rows_per_call(7)))));
    CHECK_FALSE(torch::allclose(first, metrics::faithfulness_correlation(model, x, classes, phi,
                                                                         metrics::FaithfulnessCorrelationOptions(options).seed(9))));
  }
  SECTION("refusals: a score that does not depend on the pixels, a constant map, too few runs") {
    const nni::Model constant([](const torch::Tensor& input) { return input.flatten(1).narrow(1, 0, 4) * 0 + 1; });
    CHECK_THROWS_WITH(metrics::faithfulness_correlation(constant, x, classes, contributions, options),
                      Contains("the score drops are the same for every subset") && Contains("examples 0, 1, 2 (of 3)"));
    CHECK_THROWS_WITH(metrics::faithfulness_correlation(model, x, classes, torch::ones_like(x), options),
                      Contains("the attribution sums are the same for every subset (a constant map)"));
    CHECK_THROWS_WITH(metrics::faithfulness_correlation(model, x, classes, contributions,
                                                        metrics::FaithfulnessCorrelationOptions().runs(1)),
                      Contains("runs >= 2"));
    CHECK_THROWS_WITH(metrics::faithfulness_correlation(model, x, classes, contributions,
                                                        metrics::FaithfulnessCorrelationOptions().subsets(torch::ones({4, 8}, torch::kBool))),
                      Contains("subsets must be bool [N, R, P] or [R, P] over the input's 9 pixels"));
  }
}
