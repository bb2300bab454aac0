// The gradient family against hand-computed answers, finite differences and identities.
#include "support/catch_torch.h"
#include <torch/torch.h>

#include "nn_interpretability/detail/input_gradient.h"
#include "nn_interpretability/nn_interpretability.h"
#include "support/all_close.h"
#include "support/model_snapshot.h"
#include "support/tiny_models.h"

namespace nni = nn_interpretability;
using nni_test::AllClose;

namespace {

// Copies every parameter of `from` into the same-named parameter of `to`.
void copy_parameters(const torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto source = from.named_parameters();
  for (auto& item : to.named_parameters()) item.value().copy_(source[item.key()]);
}

// Central differences of the target score, in double precision.
torch::Tensor finite_difference_gradient(const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                                         const torch::Tensor& input, int64_t target, double step = 1e-6) {
  torch::NoGradGuard no_grad;
  torch::Tensor gradient = torch::zeros_like(input);
  auto flat_input = input.flatten(1);
  auto flat_gradient = gradient.view({input.size(0), -1});
  for (int64_t j = 0; j < flat_input.size(1); ++j) {
    torch::Tensor plus = input.clone(), minus = input.clone();
    plus.view({input.size(0), -1}).select(1, j).add_(step);
    minus.view({input.size(0), -1}).select(1, j).sub_(step);
    flat_gradient.select(1, j).copy_((forward(plus).select(1, target) - forward(minus).select(1, target)) / (2 * step));
  }
  return gradient;
}

}  // namespace

TEST_CASE("Vanilla gradient of a linear model is the target's weight row", "[vanilla_gradient]") {
  auto model = nni_test::linear_model(4, 3);
  torch::Tensor input = torch::randn({5, 4});
  nni::VanillaGradient method(model);
  torch::Tensor labels = torch::tensor({0, 1, 2, 1, 0}, torch::kLong);
  torch::Tensor expected = model->weight.detach().index_select(0, labels);
  CHECK_THAT(method.attribute(input, labels), AllClose(expected));
  CHECK_THAT(method.attribute(input, 2), AllClose(model->weight.detach()[2].expand({5, 4})));
}

TEST_CASE("Vanilla gradient matches central finite differences", "[vanilla_gradient]") {
  torch::manual_seed(3);
  auto model = torch::nn::Sequential(torch::nn::Linear(6, 5), torch::nn::Tanh(), torch::nn::Linear(5, 4),
                                     torch::nn::Sigmoid(), torch::nn::Linear(4, 3));
  model->to(torch::kDouble);
  torch::Tensor input = torch::randn({3, 6}, torch::kDouble);
  nni::VanillaGradient method(model);
  for (int64_t target = 0; target < 3; ++target) {
    torch::Tensor expected =
        finite_difference_gradient([&](const torch::Tensor& x) { return model->forward(x); }, input, target);
    CHECK_THAT(method.attribute(input, target), AllClose(expected, 1e-6, 1e-8));
  }
}

TEST_CASE("Vanilla gradient of a ReLU CNN matches finite differences away from kinks", "[vanilla_gradient]") {
  torch::manual_seed(4);
  nni_test::SmallCnn model;
  model->eval();
  model->to(torch::kDouble);
  torch::Tensor input = torch::rand({2, 1, 8, 8}, torch::kDouble);
  nni::VanillaGradient method(model);
  torch::Tensor expected =
      finite_difference_gradient([&](const torch::Tensor& x) { return model->forward(x); }, input, 1, 1e-7);
  CHECK_THAT(method.attribute(input, 1), AllClose(expected, 1e-5, 1e-7));
}

TEST_CASE("Predicted target explains each example's argmax class", "[target]") {
  torch::manual_seed(5);
  auto model = nni_test::relu_mlp(4, 8, 3);
  torch::Tensor input = torch::randn({6, 4});
  torch::Tensor predicted = model->forward(input).argmax(1);
  nni::VanillaGradient method(model);
  CHECK_THAT(method.attribute(input), AllClose(method.attribute(input, predicted)));
}

TEST_CASE("A score function target is differentiated per example", "[target]") {
  torch::manual_seed(6);
  auto model = nni_test::relu_mlp(4, 8, 3);
  torch::Tensor input = torch::randn({3, 4});
  nni::VanillaGradient method(model);
  nni::Target sum_of_classes([](const torch::Tensor& output) { return output.sum(1); });
  torch::Tensor expected = method.attribute(input, 0) + method.attribute(input, 1) + method.attribute(input, 2);
  CHECK_THAT(method.attribute(input, sum_of_classes), AllClose(expected, 1e-5, 1e-6));
}

TEST_CASE("Batched attributions equal one-example attributions", "[vanilla_gradient]") {
  torch::manual_seed(7);
  nni_test::SmallCnn model;
  model->eval();
  torch::Tensor input = torch::rand({4, 1, 8, 8});
  torch::Tensor labels = torch::tensor({2, 0, 1, 2});
  nni::GuidedBackprop method(model);
  torch::Tensor batched = method.attribute(input, labels);
  for (int64_t i = 0; i < 4; ++i) {
    CHECK_THAT(batched.narrow(0, i, 1), AllClose(method.attribute(input.narrow(0, i, 1), labels[i].item<int64_t>())));
  }
}

TEST_CASE("Saliency map is the channel maximum of the absolute gradient", "[saliency]") {
  torch::manual_seed(8);
  auto model = torch::nn::Sequential(torch::nn::Flatten(), torch::nn::Linear(3 * 2 * 2, 2));
  torch::Tensor input = torch::randn({2, 3, 2, 2});
  nni::SaliencyMap method(model);
  torch::Tensor saliency = method.attribute(input, 1);
  REQUIRE(saliency.sizes() == torch::IntArrayRef({2, 1, 2, 2}));
  torch::Tensor weight_row = model[1]->as<torch::nn::Linear>()->weight.detach()[1].view({1, 3, 2, 2});
  torch::Tensor expected = std::get<0>(weight_row.abs().max(1, true)).expand({2, 1, 2, 2});
  CHECK_THAT(saliency, AllClose(expected));
}

TEST_CASE("Input x gradient is the input times the gradient", "[input_x_gradient]") {
  auto model = nni_test::linear_model(4, 3);
  torch::Tensor input = torch::randn({2, 4});
  nni::InputXGradient method(model);
  CHECK_THAT(method.attribute(input, 1), AllClose(input * model->weight.detach()[1]));
}

TEST_CASE("Guided backprop and deconvnet on a one-ReLU network match the hand-derived rules", "[guided_backprop]") {
  // f(x) = w2 · relu(W1 x): vanilla W1ᵀ(w2 ⊙ [W1x > 0]); guided W1ᵀ(max(w2, 0) ⊙ [W1x > 0]);
  // deconvnet W1ᵀ max(w2, 0).
  auto model = nni_test::relu_mlp(5, 7, 2, 11);
  torch::Tensor input = torch::randn({4, 5});
  auto first = model[0]->as<torch::nn::Linear>();
  auto second = model[2]->as<torch::nn::Linear>();
  torch::Tensor w1 = first->weight.detach(), w2 = second->weight.detach()[1];
  torch::Tensor active = (first->forward(input).detach() > 0).to(torch::kFloat);
  torch::Tensor vanilla = (active * w2).matmul(w1);
  torch::Tensor guided = (active * w2.clamp_min(0)).matmul(w1);
  torch::Tensor deconv = w2.clamp_min(0).matmul(w1).expand({4, 5});
  REQUIRE(!torch::allclose(vanilla, guided));  // the case must discriminate
  CHECK_THAT(nni::VanillaGradient(model).attribute(input, 1), AllClose(vanilla));
  CHECK_THAT(nni::GuidedBackprop(model).attribute(input, 1), AllClose(guided));
  CHECK_THAT(nni::Deconvolution(model).attribute(input, 1), AllClose(deconv));
}

TEST_CASE("Guided backprop on a ReLU-free model equals the vanilla gradient", "[guided_backprop]") {
  torch::manual_seed(12);
  auto model = torch::nn::Sequential(torch::nn::Linear(5, 6), torch::nn::Tanh(), torch::nn::Linear(6, 3));
  torch::Tensor input = torch::randn({3, 5});
  CHECK_THAT(nni::GuidedBackprop(model).attribute(input, 2), AllClose(nni::VanillaGradient(model).attribute(input, 2)));
}

TEST_CASE("Guided backprop with a functional ReLU equals the nn::ReLU model", "[guided_backprop]") {
  auto module_relu = nni_test::relu_mlp(5, 9, 3, 13);
  nni_test::FunctionalReluMlp functional_relu(5, 9, 3);
  {
    torch::NoGradGuard no_grad;
    functional_relu->first->weight.copy_(module_relu[0]->as<torch::nn::Linear>()->weight);
    functional_relu->first->bias.copy_(module_relu[0]->as<torch::nn::Linear>()->bias);
    functional_relu->second->weight.copy_(module_relu[2]->as<torch::nn::Linear>()->weight);
    functional_relu->second->bias.copy_(module_relu[2]->as<torch::nn::Linear>()->bias);
  }
  torch::Tensor input = torch::randn({4, 5});
  torch::Tensor expected = nni::GuidedBackprop(module_relu).attribute(input, 0);
  CHECK_THAT(nni::GuidedBackprop(functional_relu).attribute(input, 0), AllClose(expected));
  CHECK(!torch::allclose(expected, nni::VanillaGradient(functional_relu).attribute(input, 0)));
}

TEST_CASE("Guided backprop rewires every ReLU of a CNN, module and functional alike", "[guided_backprop]") {
  torch::manual_seed(14);
  nni_test::SmallCnn model;
  model->eval();
  torch::Tensor input = torch::rand({2, 1, 8, 8}).requires_grad_(true);
  torch::Tensor output = model->forward(input);
  CHECK(nni::detail::apply_relu_rule(output, nni::detail::ReluGradientRule::kGuided) == 3);
  // Guided gradients pass only positive signals through the last ReLU, so they differ from vanilla.
  torch::Tensor x = torch::rand({2, 1, 8, 8});
  CHECK(!torch::allclose(nni::GuidedBackprop(model).attribute(x, 0), nni::VanillaGradient(model).attribute(x, 0)));
}

TEST_CASE("A plain forward callable can be explained", "[model]") {
  torch::Tensor weight = torch::tensor({{1.0f, -2.0f, 3.0f}});
  nni::Model model([weight](const torch::Tensor& x) { return x.matmul(weight.t()); });
  torch::Tensor input = torch::randn({2, 3});
  CHECK_THAT(nni::VanillaGradient(model).attribute(input, 0), AllClose(weight.expand({2, 3})));
}

TEST_CASE("Non-contiguous and channels-last inputs give the same attributions", "[model]") {
  torch::manual_seed(15);
  nni_test::SmallCnn model;
  model->eval();
  torch::Tensor input = torch::rand({3, 1, 8, 8});
  nni::GuidedBackprop method(model);
  torch::Tensor expected = method.attribute(input, 1);
  torch::Tensor transposed = input.transpose(2, 3).contiguous().transpose(2, 3);
  REQUIRE(!transposed.is_contiguous());
  CHECK_THAT(method.attribute(transposed, 1), AllClose(expected));
  CHECK_THAT(method.attribute(input.contiguous(torch::MemoryFormat::ChannelsLast), 1), AllClose(expected, 1e-5, 1e-6));
}

TEST_CASE("Every gradient method leaves the model exactly as it was", "[invariance]") {
  torch::manual_seed(16);
  nni_test::SmallCnn model;
  model->fc1->weight.set_requires_grad(false);  // a frozen layer must stay frozen
  torch::Tensor input = torch::rand({2, 1, 8, 8});
  for (bool training : {false, true}) {
    model->train(training);
    auto before = nni_test::ModelSnapshot::of(*model);
    nni::VanillaGradient(model).attribute(input);
    nni::SaliencyMap(model).attribute(input);
    nni::InputXGradient(model).attribute(input);
    nni::GuidedBackprop(model).attribute(input);
    nni::Deconvolution(model).attribute(input);
    nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().steps(4)).attribute(input);
    nni::SmoothGrad(nni::GuidedBackprop(model), nni::SmoothGradOptions().samples(3)).attribute(input);
    CHECK(before.difference(nni_test::ModelSnapshot::of(*model)) == "");
  }
}

TEST_CASE("Explaining a train-mode model with BatchNorm leaves its running statistics unchanged", "[invariance]") {
  torch::manual_seed(17);
  torch::nn::Sequential model(torch::nn::Conv2d(1, 3, 3), torch::nn::BatchNorm2d(3), torch::nn::ReLU(),
                              torch::nn::Flatten(), torch::nn::Linear(3 * 6 * 6, 2));
  model->train();
  auto before = nni_test::ModelSnapshot::of(*model);
  torch::Tensor input = torch::rand({4, 1, 8, 8});
  nni::VanillaGradient(model).attribute(input, 1);
  nni::GuidedBackprop(model).attribute(input, 0);
  nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().steps(3)).attribute(input, 0);
  CHECK(before.difference(nni_test::ModelSnapshot::of(*model)) == "");
}

TEST_CASE("Methods work inside a NoGradGuard and leave grad mode off", "[invariance]") {
  auto model = nni_test::linear_model(4, 3);
  torch::NoGradGuard no_grad;
  torch::Tensor attributions = nni::VanillaGradient(model).attribute(torch::randn({2, 4}), 0);
  CHECK_THAT(attributions, AllClose(model->weight.detach()[0].expand({2, 4})));
  CHECK(!torch::GradMode::is_enabled());
}

TEST_CASE("Results come back on the input's device with the input's dtype", "[model]") {
  auto model = nni_test::linear_model(4, 3);
  model->to(torch::kDouble);
  torch::Tensor attributions = nni::GuidedBackprop(model).attribute(torch::randn({2, 4}, torch::kDouble), 1);
  CHECK(attributions.scalar_type() == torch::kDouble);
  CHECK(attributions.device() == torch::Device(torch::kCPU));
}

namespace {

/// A kind of model of one's own through the public extension point: y = flatten(x) · Wᵀ.
class MatrixBackend : public nni::ModelBackend {
 public:
  explicit MatrixBackend(torch::Tensor weight) : weight_(std::move(weight)) {}
  torch::Tensor forward(const torch::Tensor& input) override { return input.flatten(1).matmul(weight_.t()); }
  std::vector<torch::Tensor> tensors() const override { return {weight_}; }
  std::string describe() const override { return "matrix model"; }

 private:
  torch::Tensor weight_;
};

}  // namespace

TEST_CASE("A ModelBackend of one's own is explained like any model, with the same checks", "[backend]") {
  const torch::Tensor weight = torch::randn({3, 4}, torch::kDouble);
  const nni::Model model(std::make_shared<MatrixBackend>(weight));
  const torch::Tensor input = torch::randn({2, 1, 2, 2}, torch::kDouble);
  const torch::Tensor labels = torch::tensor({2, 0}, torch::kLong);
  // ∂y_c/∂x = W[c], reshaped like one example.
  CHECK_THAT(nni::VanillaGradient(model).attribute(input, labels),
             AllClose(weight.index_select(0, labels).view({2, 1, 2, 2}), 0, 0));
  CHECK_THAT(nni::IntegratedGradients(model).attribute(input, labels),
             AllClose(input * weight.index_select(0, labels).view({2, 1, 2, 2}), 1e-12, 1e-12));
  // The input is checked against the backend's tensors, and the error names the method.
  CHECK_THROWS_WITH(nni::VanillaGradient(model).attribute(input.to(torch::kFloat), labels),
                    Catch::Matchers::Contains("VanillaGradient: the input dtype Float differs from the model's "
                                              "parameter dtype Double"));
  // No layer access without forward_with_layers (or mark_layer): a clear refusal, not a wrong map.
  CHECK_THROWS_WITH(nni::GradCam(model, nni::GradCamOptions("0")).attribute(input, labels),
                    Catch::Matchers::Contains("GradCam: unknown layer '0'; the matrix model has these layers: (none)"));
}
