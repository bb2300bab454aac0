// Agreement with the Python references on committed fixtures
// (tests/fixtures/relevance_reference/export_relevance_reference.py): Zennit's composites and rules
// with its canonizers on a small CNN with BatchNorm and a small torchvision ResNet, Captum's LRP,
// DeepLift and DeepLiftShap. Zennit starts from a unit relevance at the logit, we from the logit
// itself: its maps times the score are ours.
#include "support/catch_torch.h"
#include <torch/script.h>
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "nn_interpretability/io/npy.h"
#include "nn_interpretability/relevance/deep_lift.h"
#include "nn_interpretability/relevance/deep_lift_shap.h"
#include "nn_interpretability/relevance/lrp.h"
#include "support/all_close.h"

namespace nni = nn_interpretability;
using nni_test::AllClose;

namespace {

const std::string kFolder = std::string(NNI_SOURCE_DIR) + "/tests/fixtures/relevance_reference/";

torch::Tensor fixture(const std::string& name) { return nni::read_npy(kFolder + name + ".npy"); }

nni::Model fixture_model(const std::string& name) {
  torch::jit::Module module = torch::jit::load(kFolder + name + "_scripted.pt");
  module.eval();
  return nni::Model(module);
}

nni::Composite every_layer(const nni::LrpRule& rule) {
  return nni::Composite().rule(nni::LayerKind::kConvolution, rule).rule(nni::LayerKind::kLinear, rule);
}

// Within 1e-4 of the reference's largest value per example.
void check_close(const torch::Tensor& got, const torch::Tensor& expected) {
  REQUIRE(got.sizes() == expected.sizes());
  const torch::Tensor scale = expected.flatten(1).abs().amax(1);
  const torch::Tensor error = (got - expected).flatten(1).abs().amax(1);
  INFO("max error / max |reference| per example: " << (error / scale));
  CHECK(((error / scale) < 1e-4).all().item<bool>());
}

}  // namespace

TEST_CASE("LRP equals Zennit's composites and rules, canonized, on a CNN with BatchNorm and a torchvision ResNet",
          "[lrp][zennit]") {
  const std::vector<std::pair<std::string, nni::Composite>> composites = {
      {"epsilon_plus", nni::Composite::epsilon_plus()},
      {"epsilon_plus_flat", nni::Composite::epsilon_plus_flat()},
      {"epsilon_gamma_box", nni::Composite::epsilon_gamma_box(-3, 3)},
      {"epsilon_alpha2_beta1", nni::Composite::epsilon_alpha2_beta1()},
      {"rule_epsilon", every_layer(nni::LrpRule::epsilon(0.25))},
      {"rule_zero", every_layer(nni::LrpRule::zero())},
      {"rule_z_plus", every_layer(nni::LrpRule::z_plus())},
      {"rule_alpha2_beta1", every_layer(nni::LrpRule::alpha_beta(2, 1))},
      {"rule_alpha1_beta0", every_layer(nni::LrpRule::alpha_beta(1, 0))},
      {"rule_gamma", every_layer(nni::LrpRule::gamma(0.25))},
      {"rule_flat", every_layer(nni::LrpRule::flat())},
      {"rule_w_square", every_layer(nni::LrpRule::w_square())},
  };
  for (const std::string model_name : {"cnn", "resnet"}) {
    const nni::Model model = fixture_model(model_name);
    const torch::Tensor input = fixture(model_name + "_input");
    const torch::Tensor target = fixture(model_name + "_target");
    const torch::Tensor scores = fixture(model_name + "__scores");
    for (const auto& [name, composite] : composites) {
      INFO(model_name << " " << name);
      const nni::LrpResult result = nni::Lrp(model, nni::LrpOptions().composite(composite)).attribute_with_delta(input, target);
      CHECK_THAT(result.scores, AllClose(scores, 1e-10, 1e-12));
      check_close(result.attributions, fixture(model_name + "__" + name) * scores.view({-1, 1, 1, 1}));
      CHECK(result.gradient_nodes.empty());
    }
  }
  // Without the canonizer, BatchNorm passes relevance on (Zennit's layer_map_base).
  const nni::Model cnn = fixture_model("cnn");
  const torch::Tensor scores = fixture("cnn__scores");
  const torch::Tensor plain = nni::Lrp(cnn, nni::LrpOptions().composite(nni::Composite::epsilon_plus().merge_batch_norm(false)))
                                  .attribute(fixture("cnn_input"), fixture("cnn_target"));
  check_close(plain, fixture("cnn__no_canonizer__epsilon_plus") * scores.view({-1, 1, 1, 1}));
}

TEST_CASE("LRP with epsilon 1e-9 everywhere equals Captum's LRP with its default rules", "[lrp][captum]") {
  const nni::Model model = fixture_model("plain_cnn");
  nni::Composite composite = every_layer(nni::LrpRule::epsilon(1e-9));
  composite.rule(nni::LayerKind::kAveragePool, nni::LrpRule::norm(1e-9));
  const torch::Tensor got =
      nni::Lrp(model, nni::LrpOptions().composite(composite)).attribute(fixture("cnn_input"), fixture("cnn_target"));
  check_close(got, fixture("plain_cnn__captum_lrp_epsilon"));
}

TEST_CASE("DeepLIFT and DeepLiftShap equal Captum's where Captum applies its max-pool rule", "[deep_lift][captum]") {
  // Captum drops its max-pool rule when a ReLU module directly precedes the pool (its issue #1104);
  // the *_pool_rule references are Captum on the same network with the rule in force.
  const nni::Model cnn = fixture_model("cnn");
  const torch::Tensor input = fixture("cnn_input");
  const torch::Tensor target = fixture("cnn_target");
  const nni::DeepLiftResult one =
      nni::DeepLift(cnn, nni::DeepLiftOptions().baseline(fixture("cnn__deep_lift_baseline_input")))
          .attribute_with_delta(input, target);
  check_close(one.attributions, fixture("cnn__deep_lift_baseline_pool_rule"));
  CHECK(one.delta.abs().max().item<double>() < 1e-10);
  const nni::DeepLiftResult shap =
      nni::DeepLiftShap(cnn, nni::DeepLiftShapOptions().baselines(fixture("cnn__deep_lift_shap_baselines")))
          .attribute_with_delta(input, target);
  check_close(shap.attributions, fixture("cnn__deep_lift_shap_pool_rule"));
  CHECK(shap.delta.abs().max().item<double>() < 1e-10);
}

TEST_CASE("DeepLIFT sums to the score difference on a torchvision ResNet with overlapping max-pool windows",
          "[deep_lift]") {
  // Captum's max_unpool2d overwrites where the stem's 3x3 stride-2 windows overlap, so its own sums
  // miss by up to 2e-3 there; adding, as the pooling's backward does, keeps the sum exact.
  const nni::Model resnet = fixture_model("resnet");
  const torch::Tensor input = fixture("resnet_input");
  const torch::Tensor target = fixture("resnet_target");
  const nni::DeepLiftResult result =
      nni::DeepLift(resnet, nni::DeepLiftOptions().baseline(fixture("resnet__deep_lift_baseline_input")))
          .attribute_with_delta(input, target);
  CHECK(result.delta.abs().max().item<double>() < 1e-10);
  const nni::DeepLiftResult zero = nni::DeepLift(resnet).attribute_with_delta(input, target);
  CHECK(zero.delta.abs().max().item<double>() < 1e-10);
}
