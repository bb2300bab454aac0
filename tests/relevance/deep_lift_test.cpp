// DeepLIFT and DeepLiftShap: the linear-model identity, the closed form of the rescale rule on a
// one-hidden-layer net, summation to delta through BatchNorm and residual sums, DeepLiftShap as the
// mean of DeepLIFT runs, chunking, and the model left as it was.
#include "support/catch_torch.h"
#include <torch/torch.h>

#include <string>

#include "nn_interpretability/relevance/deep_lift.h"
#include "nn_interpretability/relevance/deep_lift_shap.h"
#include "support/all_close.h"
#include "support/model_snapshot.h"

namespace nni = nn_interpretability;
using Catch::Matchers::Contains;
using nni_test::AllClose;

namespace {

// A residual block with a hand-written forward, BatchNorm in eval mode and a reused ReLU module.
struct BlockNetImpl : torch::nn::Module {
  BlockNetImpl() {
    conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 4, 3).padding(1)));
    bn = register_module("bn", torch::nn::BatchNorm2d(4));
    conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 4, 3).padding(1)));
    relu = register_module("relu", torch::nn::ReLU());
    fc = register_module("fc", torch::nn::Linear(4, 3));
  }
  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor h = relu(bn(conv1(x)));
    h = relu(conv2(h) + h);
    return fc(torch::tanh(h.mean({2, 3})));
  }
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::ReLU relu{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(BlockNet);

BlockNet block_net() {
  torch::manual_seed(21);
  BlockNet net;
  {
    torch::NoGradGuard no_grad;
    net->bn->running_mean.normal_(0, 0.2);
    net->bn->running_var.uniform_(0.5, 1.5);
  }
  net->to(torch::kDouble);
  net->eval();
  return net;
}

}  // namespace

TEST_CASE("DeepLIFT on a linear model is (x - baseline) times the weights", "[deep_lift]") {
  torch::manual_seed(1);
  torch::nn::Linear linear(5, 3);
  linear->to(torch::kDouble);
  const torch::Tensor x = torch::randn({4, 5}, torch::kDouble);
  const torch::Tensor baseline = torch::randn({4, 5}, torch::kDouble);
  const torch::Tensor target = torch::tensor({0, 2, 1, 2}, torch::kLong);
  const torch::Tensor got = nni::DeepLift(linear, nni::DeepLiftOptions().baseline(baseline)).attribute(x, target);
  const torch::Tensor expected = (x - baseline) * linear->weight.detach().index_select(0, target);
  CHECK_THAT(got, AllClose(expected, 1e-12, 1e-12));
}

TEST_CASE("DeepLIFT's rescale rule equals its closed form on a one-hidden-layer ReLU net", "[deep_lift]") {
  torch::manual_seed(2);
  torch::nn::Sequential net(torch::nn::Linear(6, 5), torch::nn::ReLU(), torch::nn::Linear(5, 2));
  net->to(torch::kDouble);
  const torch::Tensor x = torch::randn({3, 6}, torch::kDouble);
  const torch::Tensor baseline = torch::randn({1, 6}, torch::kDouble);
  auto first = net->ptr(0)->as<torch::nn::Linear>();
  auto second = net->ptr(2)->as<torch::nn::Linear>();
  const torch::Tensor w1 = first->weight.detach(), b1 = first->bias.detach(), w2 = second->weight.detach();
  const torch::Tensor z = x.mm(w1.t()) + b1, z0 = baseline.mm(w1.t()) + b1;
  // m_z = w2[c] ⊙ Δrelu(z)/Δz; attributions = (x − x0) ⊙ W1ᵀ m_z.
  const torch::Tensor ratio = (z.relu() - z0.relu()) / (z - z0);
  const torch::Tensor expected = (x - baseline) * (w2[1] * ratio).mm(w1);
  const nni::DeepLiftResult result =
      nni::DeepLift(net, nni::DeepLiftOptions().baseline(baseline)).attribute_with_delta(x, 1);
  CHECK_THAT(result.attributions, AllClose(expected, 1e-12, 1e-12));
  CHECK(result.delta.abs().max().item<double>() < 1e-12);
}

TEST_CASE("DeepLIFT's reveal-cancel rule: the paper's worked case and its closed form", "[deep_lift]") {
  // y = relu(a1 − a2) at a = (2, 1) against 0: Δx⁺ = 2, Δx⁻ = −1, Δy⁺ = ½·2 + ½·(1 − 0) = 1.5,
  // Δy⁻ = ½·(0 − 0) + ½·(1 − 2) = −0.5, so m⁺ = 0.75, m⁻ = 0.5: attributions (1.5, −0.5), where the
  // rescale rule (m = Δy/Δx = 1) gives (2, −1).
  torch::nn::Sequential net(torch::nn::Linear(torch::nn::LinearOptions(2, 1).bias(false)), torch::nn::ReLU());
  net->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    net->ptr(0)->as<torch::nn::Linear>()->weight.copy_(torch::tensor({{1.0, -1.0}}, torch::kDouble));
  }
  const torch::Tensor a = torch::tensor({{2.0, 1.0}}, torch::kDouble);
  const nni::DeepLiftResult revealed =
      nni::DeepLift(net, nni::DeepLiftOptions().rule(nni::DeepLiftRule::kRevealCancel)).attribute_with_delta(a, 0);
  CHECK_THAT(revealed.attributions, AllClose(torch::tensor({{1.5, -0.5}}, torch::kDouble), 1e-12, 1e-12));
  CHECK(revealed.delta.abs().max().item<double>() < 1e-12);
  const torch::Tensor rescaled = nni::DeepLift(net).attribute(a, 0);
  CHECK_THAT(rescaled, AllClose(torch::tensor({{2.0, -1.0}}, torch::kDouble), 1e-12, 1e-12));

  // A hidden layer of tanh units: the closed form per unit, written out here.
  torch::manual_seed(3);
  torch::nn::Sequential deep(torch::nn::Linear(6, 5), torch::nn::Tanh(), torch::nn::Linear(5, 2));
  deep->to(torch::kDouble);
  const torch::Tensor x = torch::randn({3, 6}, torch::kDouble);
  const torch::Tensor baseline = torch::randn({1, 6}, torch::kDouble);
  const torch::Tensor w1 = deep->ptr(0)->as<torch::nn::Linear>()->weight.detach();
  const torch::Tensor b1 = deep->ptr(0)->as<torch::nn::Linear>()->bias.detach();
  const torch::Tensor w2 = deep->ptr(2)->as<torch::nn::Linear>()->weight.detach();
  const torch::Tensor da = x - baseline;                                  // [3, 6]
  const torch::Tensor terms = da.unsqueeze(1) * w1.unsqueeze(0);          // [3, 5, 6]: W_ij Δa_j
  const torch::Tensor dx_pos = terms.clamp_min(0).sum(2), dx_neg = terms.clamp_max(0).sum(2);
  const torch::Tensor z0 = baseline.mm(w1.t()) + b1, z = x.mm(w1.t()) + b1;
  const torch::Tensor dy_pos = 0.5 * ((z0 + dx_pos).tanh() - z0.tanh()) + 0.5 * (z.tanh() - (z0 + dx_neg).tanh());
  const torch::Tensor dy_neg = 0.5 * ((z0 + dx_neg).tanh() - z0.tanh()) + 0.5 * (z.tanh() - (z0 + dx_pos).tanh());
  const torch::Tensor m_pos = w2[1] * dy_pos / dx_pos, m_neg = w2[1] * dy_neg / dx_neg;  // [3, 5]
  const torch::Tensor expected =
      (terms.clamp_min(0) * m_pos.unsqueeze(2) + terms.clamp_max(0) * m_neg.unsqueeze(2)).sum(1);
  const nni::DeepLiftResult result =
      nni::DeepLift(deep, nni::DeepLiftOptions().baseline(baseline).rule(nni::DeepLiftRule::kRevealCancel))
          .attribute_with_delta(x, 1);
  CHECK_THAT(result.attributions, AllClose(expected, 1e-10, 1e-12));
  CHECK(result.delta.abs().max().item<double>() < 1e-10);
}

TEST_CASE("DeepLIFT's reveal-cancel rule sums to delta through convolutions, pooling and in-place ReLUs",
          "[deep_lift]") {
  torch::manual_seed(5);
  torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 4, 3).padding(1)), torch::nn::ReLU(),
                            torch::nn::MaxPool2d(2),
                            torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 4, 3).padding(1)),
                            torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)), torch::nn::Flatten(),
                            torch::nn::Linear(36, 3), torch::nn::Tanh());
  net->to(torch::kDouble);
  const auto before = nni_test::ModelSnapshot::of(*net);
  const torch::Tensor x = torch::randn({2, 2, 6, 6}, torch::kDouble);
  const torch::Tensor target = torch::tensor({2, 0}, torch::kLong);
  const nni::DeepLiftOptions options = nni::DeepLiftOptions().baseline(0.1).rule(nni::DeepLiftRule::kRevealCancel);
  const nni::DeepLiftResult revealed = nni::DeepLift(net, options).attribute_with_delta(x, target);
  CHECK(revealed.delta.abs().max().item<double>() < 1e-10);
  const torch::Tensor rescaled = nni::DeepLift(net, nni::DeepLiftOptions().baseline(0.1)).attribute(x, target);
  CHECK((revealed.attributions - rescaled).abs().max().item<double>() > 1e-6);  // a different rule
  const nni::DeepLiftResult shap =
      nni::DeepLiftShap(net, nni::DeepLiftShapOptions()
                                 .baselines(torch::full({1, 2, 6, 6}, 0.1, torch::kDouble))
                                 .rule(nni::DeepLiftRule::kRevealCancel))
          .attribute_with_delta(x, target);
  CHECK_THAT(shap.attributions, AllClose(revealed.attributions, 1e-12, 1e-12));
  CHECK(before.difference(nni_test::ModelSnapshot::of(*net)) == "");

  // Nonlinearities fed by something other than an affine layer alone (BatchNorm, a residual sum,
  // a mean) keep the rescale rule: on BlockNet, which has no other kind, the two rules agree.
  BlockNet block = block_net();
  const torch::Tensor y = torch::randn({2, 2, 6, 6}, torch::kDouble);
  CHECK_THAT(nni::DeepLift(block, options).attribute(y, target),
             AllClose(nni::DeepLift(block, nni::DeepLiftOptions().baseline(0.1)).attribute(y, target), 1e-12, 1e-12));
}

TEST_CASE("DeepLIFT attributions sum to f(x) - f(baseline) through BatchNorm, residual sums and tanh",
          "[deep_lift]") {
  BlockNet net = block_net();
  const auto before = nni_test::ModelSnapshot::of(*net);
  torch::manual_seed(4);
  const torch::Tensor x = torch::randn({3, 2, 6, 6}, torch::kDouble);
  const torch::Tensor baseline = torch::randn({3, 2, 6, 6}, torch::kDouble) * 0.1;
  const torch::Tensor target = torch::tensor({0, 1, 2}, torch::kLong);
  const nni::DeepLiftResult result =
      nni::DeepLift(net, nni::DeepLiftOptions().baseline(baseline)).attribute_with_delta(x, target);
  CHECK(result.delta.abs().max().item<double>() < 1e-10);
  const torch::Tensor difference = (net->forward(x) - net->forward(baseline)).gather(1, target.view({-1, 1})).view(-1);
  CHECK_THAT(result.attributions.flatten(1).sum(1), AllClose(difference.detach(), 1e-9, 1e-10));
  CHECK(before.difference(nni_test::ModelSnapshot::of(*net)) == "");
  CHECK_THROWS_WITH(nni::DeepLift(net, nni::DeepLiftOptions().baseline(torch::zeros({2, 7}, torch::kDouble)))
                        .attribute(x, target),
                    Contains("DeepLift") && Contains("baseline"));
  CHECK(before.difference(nni_test::ModelSnapshot::of(*net)) == "");
}

TEST_CASE("DeepLiftShap is the mean of DeepLIFT over the baselines, in any chunking", "[deep_lift_shap]") {
  BlockNet net = block_net();
  torch::manual_seed(6);
  const torch::Tensor x = torch::randn({3, 2, 6, 6}, torch::kDouble);
  const torch::Tensor baselines = torch::randn({4, 2, 6, 6}, torch::kDouble);
  const torch::Tensor target = torch::tensor({2, 0, 1}, torch::kLong);
  torch::Tensor expected = torch::zeros_like(x);
  for (int64_t k = 0; k < 4; ++k)
    expected += nni::DeepLift(net, nni::DeepLiftOptions().baseline(baselines[k])).attribute(x, target) / 4;
  for (int64_t rows : {int64_t{0}, int64_t{1}, int64_t{8}, nni::kAutomaticRowsPerCall}) {
    INFO(rows);
    const nni::DeepLiftResult result =
        nni::DeepLiftShap(net, nni::DeepLiftShapOptions().baselines(baselines).rows_per_call(rows))
            .attribute_with_delta(x, target);
    CHECK_THAT(result.attributions, AllClose(expected, 1e-10, 1e-12));
    CHECK(result.delta.abs().max().item<double>() < 1e-10);
  }
  CHECK_THROWS_WITH(nni::DeepLiftShap(net, nni::DeepLiftShapOptions()), Contains("baseline distribution is required"));
  CHECK_THROWS_WITH(nni::DeepLiftShap(net, nni::DeepLiftShapOptions().baselines(torch::zeros({2, 3, 3, 3, 3}, torch::kDouble)))
                        .attribute(x, target),
                    Contains("rows shaped like the input"));
  // A number is a distribution of one baseline: DeepLIFT against it.
  CHECK_THAT(nni::DeepLiftShap(net, nni::DeepLiftShapOptions().baselines(torch::full({1}, 0.5, torch::kDouble))).attribute(x, target),
             AllClose(nni::DeepLift(net, nni::DeepLiftOptions().baseline(0.5)).attribute(x, target), 1e-12, 1e-12));
}
