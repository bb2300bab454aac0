// LRP: hand-computed rules on a 2-layer ReLU net, conservation through merged BatchNorm and
// residual sums, LRP-0 = gradient × input, layer naming, in-place and functional calls, TorchScript,
// threads, and the model left as it was.
#include "support/catch_torch.h"
#include <torch/script.h>
#include <torch/torch.h>

#include <string>
#include <thread>

#include "nn_interpretability/gradient/deconvolution.h"
#include "nn_interpretability/gradient/guided_backprop.h"
#include "nn_interpretability/gradient/input_x_gradient.h"
#include "nn_interpretability/relevance/lrp.h"
#include "support/all_close.h"
#include "support/model_snapshot.h"

namespace nni = nn_interpretability;
using Catch::Matchers::Contains;
using nni_test::AllClose;

namespace {

// x = [1, 2] → z1 = W1 x + b1 = [-0.5, 3] → ReLU → h = [0, 3] → out = W2 h + b2 = 6.5.
torch::nn::Sequential two_layer_net() {
  torch::NoGradGuard no_grad;
  torch::nn::Sequential net(torch::nn::Linear(2, 2), torch::nn::ReLU(), torch::nn::Linear(2, 1));
  auto first = net->ptr(0)->as<torch::nn::Linear>();
  auto second = net->ptr(2)->as<torch::nn::Linear>();
  first->weight.copy_(torch::tensor({{1.0, -1.0}, {2.0, 1.0}}));
  first->bias.copy_(torch::tensor({0.5, -1.0}));
  second->weight.copy_(torch::tensor({{1.0, 2.0}}));
  second->bias.copy_(torch::tensor({0.5}));
  net->to(torch::kDouble);
  return net;
}

torch::Tensor hand_input() { return torch::tensor({{1.0, 2.0}}, torch::kDouble); }

torch::Tensor lrp_of(const nni::Model& model, const nni::Composite& composite, const torch::Tensor& x,
                     const nni::Target& target = 0) {
  return nni::Lrp(model, nni::LrpOptions().composite(composite)).attribute(x, target);
}

// conv-BN-ReLU, a residual block with a hand-written forward (conv-BN-ReLU-conv-BN + identity, ReLU),
// max pooling, global average pooling and a linear head: the shape of a ResNet.
struct ResidualNetImpl : torch::nn::Module {
  ResidualNetImpl() {
    stem = register_module("stem", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 6, 3).padding(1).bias(false)));
    stem_bn = register_module("stem_bn", torch::nn::BatchNorm2d(6));
    conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(6, 6, 3).padding(1).bias(false)));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(6));
    conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(6, 6, 3).padding(1)));
    bn2 = register_module("bn2", torch::nn::BatchNorm2d(6));
    fc = register_module("fc", torch::nn::Linear(6, 4));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(stem_bn(stem(x)));
    x = torch::max_pool2d(x, 2);
    torch::Tensor out = torch::relu(bn1(conv1(x)));
    out = bn2(conv2(out));
    out += x;  // in place, as torchvision's blocks do
    out = torch::relu_(out);
    return fc(torch::adaptive_avg_pool2d(out, {1, 1}).flatten(1));
  }
  torch::nn::Conv2d stem{nullptr}, conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d stem_bn{nullptr}, bn1{nullptr}, bn2{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(ResidualNet);

ResidualNet residual_net(uint64_t seed = 3) {
  torch::manual_seed(seed);
  ResidualNet net;
  torch::NoGradGuard no_grad;
  for (auto* bn : {net->stem_bn.get(), net->bn1.get(), net->bn2.get()}) {
    bn->running_mean.normal_(0, 0.1);
    bn->running_var.uniform_(0.5, 1.5);
    bn->weight.uniform_(0.5, 1.5);
    bn->bias.normal_(0, 0.1);
  }
  net->to(torch::kDouble);
  net->eval();
  return net;
}

}  // namespace

TEST_CASE("LRP epsilon on a 2-layer ReLU net equals the hand computation", "[lrp]") {
  // ε = 0.5: R_h = [0, 3·2·6.5/7], then q = [0, (39/7)/3.5]; R_x = x ⊙ W1ᵀq = [156/49, 156/49].
  const torch::Tensor relevance =
      lrp_of(two_layer_net(), nni::Composite::uniform(nni::LrpRule::epsilon(0.5)), hand_input());
  CHECK_THAT(relevance, AllClose(torch::tensor({{156.0 / 49, 156.0 / 49}}, torch::kDouble), 1e-12, 1e-12));
}

TEST_CASE("LRP z-plus on a 2-layer ReLU net equals the hand computation", "[lrp]") {
  // Layer 2: R_h = [0, 6·6.5/6.5]; layer 1: W1⁺x + b1⁺ = [1.5, 4], q = [0, 6/4], R_x = x ⊙ W1⁺ᵀq = [3, 3]
  // (up to the stabilizer 1e-6 in both denominators).
  const torch::Tensor relevance =
      lrp_of(two_layer_net(), nni::Composite::uniform(nni::LrpRule::z_plus()), hand_input());
  CHECK_THAT(relevance, AllClose(torch::tensor({{3.0, 3.0}}, torch::kDouble), 1e-6, 0));
}

TEST_CASE("LRP alpha2-beta1 on a 2-layer ReLU net equals the hand computation", "[lrp]") {
  // Layer 2: positive share [0, 6], no negative weights: R_h = 2·[0, 6]. Layer 1: positive share
  // x ⊙ W1⁺ᵀ[0, 12/4] = [6, 6]; the negative share goes through W1⁻ᵀ = [[0, 0], [-1, 0]]ᵀ from unit 0,
  // whose relevance is 0: R_x = 2·[6, 6] − 0.
  const torch::Tensor relevance =
      lrp_of(two_layer_net(), nni::Composite::uniform(nni::LrpRule::alpha_beta(2, 1)), hand_input());
  CHECK_THAT(relevance, AllClose(torch::tensor({{12.0, 12.0}}, torch::kDouble), 1e-6, 0));
}

TEST_CASE("LRP with the bias left out conserves the score through merged BatchNorm and residual sums",
          "[lrp][conservation]") {
  ResidualNet net = residual_net();
  torch::manual_seed(7);
  const torch::Tensor x = torch::rand({3, 3, 8, 8}, torch::kDouble) * 2 - 1;
  const torch::Tensor target = torch::tensor({0, 2, 3}, torch::kLong);
  for (const auto& composite :
       {nni::Composite::epsilon_plus(1e-12, 1e-12), nni::Composite::epsilon_plus_flat(1e-12, 1e-12),
        nni::Composite::uniform(nni::LrpRule::z_plus(1e-12)),
        nni::Composite::uniform(nni::LrpRule::alpha_beta(1, 0, 1e-12)),
        nni::Composite::uniform(nni::LrpRule::epsilon(1e-12))}) {
    nni::Composite conserving = composite;
    conserving.ignore_bias(true);
    nni::Lrp lrp(net, nni::LrpOptions().composite(conserving));
    const nni::LrpResult result = lrp.attribute_with_delta(x, target);
    INFO(composite.label());
    CHECK((result.delta.abs() / result.scores.abs()).max().item<double>() < 1e-5);
    // Every BatchNorm was merged into its convolution; the residual sum got the norm rule.
    int merged = 0, sums = 0;
    for (const nni::LrpLayer& layer : result.layers) {
      merged += !layer.merged_batch_norm.empty();
      sums += layer.kind == nni::LayerKind::kSum;
    }
    CHECK(merged == 3);
    CHECK(sums == 1);
    CHECK(result.gradient_nodes.empty());
  }
}

TEST_CASE("LRP names the layers, merged BatchNorms and the rules they got", "[lrp]") {
  ResidualNet net = residual_net();
  const torch::Tensor x = torch::rand({1, 3, 8, 8}, torch::kDouble);
  nni::Lrp lrp(net, nni::LrpOptions().composite(nni::Composite::epsilon_gamma_box(-1, 1).layer_rule(
                        "conv2", nni::LrpRule::epsilon(0.25))));
  const nni::LrpResult result = lrp.attribute_with_delta(x, 1);
  std::map<std::string, nni::LrpLayer> by_name;
  for (const nni::LrpLayer& layer : result.layers) by_name[layer.name] = layer;
  REQUIRE(by_name.count("stem"));
  CHECK(by_name["stem"].first_layer);
  CHECK(by_name["stem"].rule == "z_box(-1, 1)");
  CHECK(by_name["stem"].merged_batch_norm == "stem_bn");
  CHECK(by_name["conv1"].rule == "gamma(0.25)");
  CHECK(by_name["conv1"].merged_batch_norm == "bn1");
  CHECK(by_name["conv2"].rule == "epsilon(0.25)");
  CHECK(by_name["fc"].rule == "epsilon(1e-06)");
  CHECK_FALSE(by_name["fc"].first_layer);

  nni::Lrp unknown(net, nni::LrpOptions().composite(
                            nni::Composite::epsilon_plus().layer_rule("layer9", nni::LrpRule::flat())));
  CHECK_THROWS_WITH(unknown.attribute(x, 1), Contains("layer9") && Contains("no convolution or linear layer"));
}

TEST_CASE("LRP-0 equals gradient times input on a ReLU network without biases", "[lrp]") {
  torch::manual_seed(11);
  torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3).bias(false)), torch::nn::ReLU(),
                            torch::nn::MaxPool2d(2), torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 5, 3).bias(false)),
                            torch::nn::ReLU(), torch::nn::Flatten(), torch::nn::Linear(torch::nn::LinearOptions(20, 3).bias(false)));
  net->to(torch::kDouble);
  const torch::Tensor x = torch::rand({4, 1, 10, 10}, torch::kDouble);
  const torch::Tensor target = torch::tensor({0, 1, 2, 1}, torch::kLong);
  const torch::Tensor relevance = lrp_of(net, nni::Composite::uniform(nni::LrpRule::epsilon(1e-300)), x, target);
  const torch::Tensor expected = nni::InputXGradient(net).attribute(x, target);
  CHECK_THAT(relevance, AllClose(expected, 1e-9, 1e-12));
}

TEST_CASE("LRP sees the value a convolution returned even when a ReLU then overwrites it in place", "[lrp]") {
  struct InPlaceImpl : torch::nn::Module {
    InPlaceImpl() {
      conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 3, 3).padding(1)));
      fc = register_module("fc", torch::nn::Linear(3 * 16, 2));
    }
    torch::Tensor forward(torch::Tensor x) {
      torch::Tensor y = conv(x);
      if (in_place) {
        y.relu_();
      } else {
        y = torch::relu(y);
      }
      return fc(y.flatten(1));
    }
    bool in_place = true;
    torch::nn::Conv2d conv{nullptr};
    torch::nn::Linear fc{nullptr};
  };
  torch::manual_seed(5);
  auto net = std::make_shared<InPlaceImpl>();
  net->to(torch::kDouble);
  const torch::Tensor x = torch::randn({2, 1, 4, 4}, torch::kDouble);
  const nni::Composite composite = nni::Composite::uniform(nni::LrpRule::epsilon(0.1));
  const torch::Tensor in_place = lrp_of(nni::Model(net), composite, x, 1);
  net->in_place = false;
  const torch::Tensor functional = lrp_of(nni::Model(net), composite, x, 1);
  CHECK_THAT(in_place, AllClose(functional, 1e-12, 1e-12));
}

TEST_CASE("LRP leaves the model bit-identical, also after an error and from two threads", "[lrp][unchanged]") {
  ResidualNet net = residual_net();
  const auto before = nni_test::ModelSnapshot::of(*net);
  const torch::Tensor x = torch::rand({2, 3, 8, 8}, torch::kDouble);
  nni::Lrp lrp(net);
  const torch::Tensor alone = lrp.attribute(x, 1);
  CHECK(before.difference(nni_test::ModelSnapshot::of(*net)) == "");
  CHECK_THROWS_WITH(lrp.attribute(x, 9), Contains("Lrp") && Contains("out of range"));
  CHECK(before.difference(nni_test::ModelSnapshot::of(*net)) == "");
  torch::Tensor first, second;
  std::thread one([&] { first = nni::Lrp(net).attribute(x, 1); });
  std::thread two([&] { second = nni::Lrp(net).attribute(x, 1); });
  one.join();
  two.join();
  CHECK(first.equal(alone));
  CHECK(second.equal(alone));
  CHECK(before.difference(nni_test::ModelSnapshot::of(*net)) == "");
}

TEST_CASE("LRP gives a scripted and a traced model the same relevance", "[lrp][torchscript]") {
  const std::string fixtures = std::string(NNI_SOURCE_DIR) + "/tests/fixtures/";
  for (const auto& [name, size] : std::vector<std::pair<std::string, int64_t>>{{"tiny_resnet", 16}, {"relu_cnn", 8}}) {
    torch::jit::Module scripted = torch::jit::load(fixtures + name + "_scripted.pt");
    torch::jit::Module traced = torch::jit::load(fixtures + name + "_traced.pt");
    scripted.eval();
    traced.eval();
    torch::manual_seed(2);
    const auto parameter = *scripted.parameters().begin();
    const int64_t channels = parameter.size(1);
    const torch::Tensor x = torch::rand({2, channels, size, size}, parameter.options());
    INFO(name);
    const nni::LrpResult from_script = nni::Lrp(scripted).attribute_with_delta(x, 0);
    const nni::LrpResult from_trace = nni::Lrp(traced).attribute_with_delta(x, 0);
    CHECK_THAT(from_script.attributions, AllClose(from_trace.attributions, 1e-5, 1e-6));
    CHECK(from_script.layers.size() == from_trace.layers.size());
    CHECK(from_script.gradient_nodes.empty());
  }
}

TEST_CASE("LRP reports the nodes it has no rule for and refuses bad composites", "[lrp][errors]") {
  // A product of two branches (a gate) has no LRP rule: it keeps its gradient, and says so.
  nni::Model gated(nni::ForwardFunction([](const torch::Tensor& x) {
    const torch::Tensor h = x.flatten(1);
    return (h * h.sin()).sum(1, true);
  }));
  const nni::LrpResult result =
      nni::Lrp(gated).attribute_with_delta(torch::rand({2, 3}, torch::kDouble) + 0.5, 0);
  CHECK_FALSE(result.gradient_nodes.empty());
  CHECK_THROWS_WITH(nni::Composite().rule(nni::LayerKind::kSum, nni::LrpRule::gamma()),
                    Contains("needs a layer with weights"));
  CHECK_THROWS_WITH(nni::LrpRule::alpha_beta(2, 2), Contains("alpha - beta must be 1"));
  CHECK_THROWS_WITH(nni::Composite::named("epsilon"), Contains("unknown composite"));
}

TEST_CASE("LRP's kept weights follow in-place edits of the model's weights and BatchNorm statistics",
          "[lrp][cache]") {
  ResidualNet net = residual_net();
  const torch::Tensor x = torch::rand({2, 3, 8, 8}, torch::kDouble);
  nni::Lrp kept(net, nni::LrpOptions().composite(nni::Composite::epsilon_gamma_box(0, 1)));
  const torch::Tensor before = kept.attribute(x, 1);
  CHECK(kept.attribute(x, 1).equal(before));
  {
    torch::NoGradGuard no_grad;
    net->conv1->weight.mul_(-1.5);
    net->bn2->running_var.mul_(2.0);
  }
  const torch::Tensor after = kept.attribute(x, 1);
  const torch::Tensor fresh =
      nni::Lrp(net, nni::LrpOptions().composite(nni::Composite::epsilon_gamma_box(0, 1))).attribute(x, 1);
  CHECK(after.equal(fresh));
  CHECK_FALSE(after.equal(before));
}

TEST_CASE("Guided backprop and deconvnet as composites of the relevance pass equal GuidedBackprop and Deconvolution",
          "[lrp][guided]") {
  ResidualNet net = residual_net(11);
  torch::manual_seed(12);
  const torch::Tensor x = torch::randn({3, 3, 8, 8}, torch::kDouble);
  const torch::Tensor target = torch::tensor({0, 3, 1}, torch::kLong);
  torch::jit::Module resnet = torch::jit::load(std::string(NNI_SOURCE_DIR) +
                                               "/tests/fixtures/relevance_reference/resnet_scripted.pt");
  resnet.to(torch::kDouble);
  resnet.eval();
  const nni::Model models[] = {nni::Model(net), nni::Model(resnet)};
  for (int scripted = 0; scripted < 2; ++scripted) {
    const nni::Model& model = models[scripted];
    const torch::Tensor input = scripted ? torch::randn({2, 3, 16, 16}, torch::kDouble) : x;
    const torch::Tensor labels = target.narrow(0, 0, input.size(0));
    const nni::LrpResult guided =
        nni::Lrp(model, nni::LrpOptions().composite(nni::Composite::guided_backprop())).attribute_with_delta(input, labels);
    CHECK_THAT(guided.attributions, AllClose(nni::GuidedBackprop(model).attribute(input, labels), 1e-10, 1e-12));
    CHECK_FALSE(guided.delta.defined());
    const torch::Tensor deconvnet =
        nni::Lrp(model, nni::LrpOptions().composite(nni::Composite::named("deconvnet"))).attribute(input, labels);
    CHECK_THAT(deconvnet, AllClose(nni::Deconvolution(model).attribute(input, labels), 1e-10, 1e-12));
    // The two rules differ from each other and from the plain gradient.
    CHECK((guided.attributions - deconvnet).abs().max().item<double>() > 1e-6);
  }
  CHECK_THROWS_WITH(nni::Composite().rule(nni::LayerKind::kConvolution, nni::LrpRule::guided_backprop()),
                    Contains("guided_backprop") && Contains("activations"));
}
