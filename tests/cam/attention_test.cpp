// The attention family on torchvision's VisionTransformer (scripted and traced, float64): attention
// rollout and gradient-weighted rollout against the references of tests/fixtures/cam_reference
// (export_cam_reference.py: per-layer probabilities and the rollout; export_attention_reference.py:
// the gradient rollout with the attention computed in Python).
#include "support/catch_torch.h"
#include <torch/torch.h>

#include <torch/script.h>

#include "nn_interpretability/detail/attention_steps.h"
#include "nn_interpretability/io/npy.h"
#include "nn_interpretability/model/torchscript.h"
#include "nn_interpretability/nn_interpretability.h"
#include "support/all_close.h"

namespace nni = nn_interpretability;

namespace {

std::string reference(const std::string& name) {
  return std::string(NNI_SOURCE_DIR) + "/tests/fixtures/cam_reference/" + name;
}

double relative_difference(const torch::Tensor& actual, const torch::Tensor& expected) {
  return (actual.to(torch::kDouble) - expected).abs().max().item<double>() / expected.abs().max().item<double>();
}

}  // namespace

TEST_CASE("Attention rollout on torchvision's ViT matches the reference, scripted and traced", "[attention]") {
  const torch::Tensor input = nni::read_npy(reference("vit_input.npy"));
  const torch::Tensor target = nni::read_npy(reference("vit_target.npy"));
  const torch::Tensor expected = nni::read_npy(reference("vit__attention_rollout.npy"));
  for (const char* file : {"vit_scripted.pt", "vit_traced.pt"}) {
    INFO(file);
    torch::jit::Module module = torch::jit::load(reference(file));
    const nni::Model model(module);
    const nni::detail::AttentionPass pass = nni::detail::attention_forward(model, input, {}, false);
    REQUIRE(pass.layers == std::vector<std::string>{"encoder.layers.encoder_layer_0.self_attention",
                                                    "encoder.layers.encoder_layer_1.self_attention"});
    for (size_t l = 0; l < 2; ++l) {
      const torch::Tensor probabilities = nni::read_npy(
          reference("vit__encoder.layers.encoder_layer_" + std::to_string(l) + ".self_attention__attention_probs.npy"));
      CHECK(relative_difference(pass.probabilities[l], probabilities) < 1e-12);
    }
    nni::AttentionRollout rollout(model);
    const torch::Tensor map = rollout.attribute(input, target);
    CHECK(map.sizes() == torch::IntArrayRef({2, 1, 4, 4}));
    CHECK(relative_difference(map, expected) < 1e-12);
    const torch::Tensor big = nni::AttentionRollout(model, nni::AttentionOptions().upsample(nni::Upsample::kBilinear))
                                  .attribute(input, target);
    CHECK(big.sizes() == torch::IntArrayRef({2, 1, 32, 32}));
    // Max fusion gives a different map, still from a row-stochastic product (entries in [0, 1]).
    const torch::Tensor max_map =
        nni::AttentionRollout(model, nni::AttentionOptions().head_fusion(nni::HeadFusion::kMax)).attribute(input, target);
    CHECK(relative_difference(max_map, expected) > 1e-3);
    CHECK(max_map.max().item<double>() <= 1.0);
  }
}

TEST_CASE("Gradient-weighted attention rollout on torchvision's ViT matches the reference", "[attention]") {
  const torch::Tensor input = nni::read_npy(reference("vit_input.npy"));
  const torch::Tensor target = nni::read_npy(reference("vit_target.npy"));
  const torch::Tensor expected = nni::read_npy(reference("vit__gradient_attention_rollout.npy"));
  for (const char* file : {"vit_scripted.pt", "vit_traced.pt"}) {
    INFO(file);
    torch::jit::Module module = torch::jit::load(reference(file));
    const nni::Model model(module);
    nni::GradientAttentionRollout method(model);
    CHECK(relative_difference(method.attribute(input, target), expected) < 1e-10);
    // Class-specific: another target gives another map.
    CHECK(relative_difference(method.attribute(input, 0), expected) > 1e-3);
    // The module itself is unchanged: its parameters keep requires_grad, no gradient is left.
    for (const auto& parameter : module.parameters()) CHECK_FALSE(parameter.grad().defined());
  }
}

TEST_CASE("Attention methods refuse a wrong query layer and models without attention", "[attention]") {
  const torch::Tensor input = nni::read_npy(reference("vit_input.npy"));
  const nni::Model vit(torch::jit::load(reference("vit_scripted.pt")));
  // Block 0's ln_1 runs before block 1's attention and has the right shape, but is not its query.
  nni::AttentionRollout wrong(vit, nni::AttentionOptions()
                                       .layers({"encoder.layers.encoder_layer_1.self_attention"})
                                       .query_layer("encoder.layers.encoder_layer_0.ln_1"));
  CHECK_THROWS_WITH(wrong.attribute(input), Catch::Contains("differs from its real output") &&
                                                Catch::Contains("set query_layer"));
  nni::AttentionRollout late(vit, nni::AttentionOptions().query_layer("ln_2"));
  CHECK_THROWS_WITH(late.attribute(input), Catch::Contains("did not run before it"));
  nni::AttentionRollout not_attention(vit, nni::AttentionOptions().layers({"encoder.layers.encoder_layer_0.ln_1"}));
  CHECK_THROWS_WITH(not_attention.attribute(input), Catch::Contains("is not a torch.nn.MultiheadAttention"));
  auto net = torch::nn::Sequential(torch::nn::Conv2d(3, 2, 3), torch::nn::Flatten(), torch::nn::Linear(2 * 30 * 30, 4));
  net->to(torch::kDouble);
  CHECK_THROWS_WITH(nni::AttentionRollout(net).attribute(input), Catch::Contains("need a TorchScript model"));
  const nni::Model resnet(torch::jit::load(std::string(NNI_SOURCE_DIR) + "/tests/fixtures/real_models/resnet_scripted.pt"));
  CHECK_THROWS_WITH(nni::GradientAttentionRollout(resnet).attribute(nni::read_npy(std::string(NNI_SOURCE_DIR) +
                                                                                  "/tests/fixtures/real_models/resnet_input.npy")),
                    Catch::Contains("no torch.nn.MultiheadAttention"));
}
