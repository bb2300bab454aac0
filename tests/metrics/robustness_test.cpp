// Sensitivity: 0 for a model whose explanation does not move, ‖δ‖ / ‖x‖ for an explanation equal
// to 2x (the gradient of Σ x²), Captum's sensitivity_max on fixed draws, and the refusals.
#include <string>

#include <torch/script.h>
#include <torch/torch.h>

#include "nn_interpretability/io/npy.h"
#include "nn_interpretability/metrics/sensitivity.h"
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

}  // namespace

TEST_CASE("Sensitivity: exact on models with known explanations, Captum's sensitivity_max on fixed draws",
          "[metrics][sensitivity]") {
  torch::manual_seed(31);
  torch::nn::Sequential linear(torch::nn::Flatten(), torch::nn::Linear(12, 3));
  linear->to(torch::kDouble);
  const torch::Tensor x = torch::rand({2, 3, 2, 2}, torch::kDouble) + 0.5;

  SECTION("a linear model's gradient does not move") {
    const auto gradient = metrics::registered_explainer("vanilla_gradient");
    const metrics::Sensitivity result = metrics::sensitivity(linear, x, nni::Target(), gradient);
    CHECK(result.samples.sizes() == torch::IntArrayRef({2, 10}));
    CHECK(result.max.abs().max().item<double>() < 1e-15);
  }
  SECTION("Φ(x) = 2x: sens = ‖δ‖ / ‖x‖, δ within the radius, draws seeded and chunk-independent") {
    const metrics::Explainer doubled = [](const nni::Model&, const torch::Tensor& input, const nni::Target&) { return 2 * input; };
    const torch::Tensor deltas = (torch::rand({2, 3, 3, 2, 2}, torch::kDouble) - 0.5) * 0.1;
    const auto given = metrics::sensitivity(linear, x, 0, doubled, metrics::SensitivityOptions().perturbations(deltas));
    const torch::Tensor by_hand = deltas.flatten(2).norm(2, 2) / x.flatten(1).norm(2, 1).unsqueeze(1);
    CHECK_THAT(given.samples, AllClose(by_hand, 1e-12, 1e-15));
    CHECK_THAT(given.max, AllClose(std::get<0>(by_hand.max(1)), 1e-12, 1e-15));
    CHECK_THAT(given.mean, AllClose(by_hand.mean(1), 1e-12, 1e-15));

    const auto options = metrics::SensitivityOptions().radius(0.05).samples(6);
    const auto drawn = metrics::sensitivity(linear, x, 0, doubled, options);
    const double bound = 0.05 * std::sqrt(12.0);  // ‖δ‖ ≤ r √d
    CHECK((drawn.samples * x.flatten(1).norm(2, 1).unsqueeze(1)).max().item<double>() <= 2 * bound);
    CHECK(drawn.samples.min().item<double>() > 0);
    CHECK(torch::equal(drawn.samples, metrics::sensitivity(linear, x, 0, doubled, metrics::SensitivityOptions(options).rows_per_call(5)).samples));
    CHECK_FALSE(torch::allclose(drawn.samples, metrics::sensitivity(linear, x, 0, doubled, metrics::SensitivityOptions(options).seed(3)).samples));
  }
  SECTION("Captum's sensitivity_max of the signed gradient on the cnn fixture") {
    torch::jit::Module module = torch::jit::load(std::string(NNI_SOURCE_DIR) +
                                                 "/tests/fixtures/perturbation_reference/cnn_scripted.pt");
    module.eval();
    const auto result = metrics::sensitivity(
        nni::Model(module), npy("perturbation_reference", "cnn_input.npy"), npy("perturbation_reference", "cnn_target.npy"),
        metrics::registered_explainer("vanilla_gradient"),
        metrics::SensitivityOptions().perturbations(npy("metrics_reference", "captum_sensitivity_perturbations.npy")).rows_per_call(3));
    CHECK_THAT(result.max, AllClose(npy("metrics_reference", "captum_sensitivity_max.npy"), 1e-10, 1e-15));
  }
  SECTION("refusals") {
    const metrics::Explainer zero = [](const nni::Model&, const torch::Tensor& input, const nni::Target&) { return input * 0; };
    CHECK_THROWS_WITH(metrics::sensitivity(linear, x, 0, zero),
                      Contains("sensitivity: the explanation of the clean input is all zero") && Contains("examples 0, 1 (of 2)"));
    const metrics::Explainer wrong = [](const nni::Model&, const torch::Tensor& input, const nni::Target&) { return input[0]; };
    CHECK_THROWS_WITH(metrics::sensitivity(linear, x, 0, wrong), Contains("one map per example"));
    CHECK_THROWS_WITH(metrics::sensitivity(linear, x, 0, metrics::registered_explainer("vanilla_gradient"),
                                           metrics::SensitivityOptions().radius(0)),
                      Contains("radius must be > 0"));
    CHECK_THROWS_WITH(metrics::registered_explainer("no_such_method"), Contains("no_such_method"));
  }
}
