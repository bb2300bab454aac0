// TorchScript models exported from Python give the same attributions as the same network in C++,
// on the first, second and tenth call, even after the user's module has run optimized plans.
#include "support/catch_torch.h"
#include <torch/script.h>
#include <torch/torch.h>

#include "nn_interpretability/detail/input_gradient.h"
#include "nn_interpretability/nn_interpretability.h"
#include "nn_interpretability/torchscript.h"
#include "support/all_close.h"

namespace nni = nn_interpretability;
using nni_test::AllClose;

namespace {

std::string fixture(const std::string& name) { return std::string(NNI_SOURCE_DIR) + "/tests/fixtures/" + name; }

// The C++ twin of relu_cnn() in tests/fixtures/export_torchscript_fixtures.py.
torch::nn::Sequential relu_cnn_in_cpp(const torch::jit::Module& scripted) {
  torch::nn::Sequential model(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3).padding(1)), torch::nn::ReLU(),
                              torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 4, 3).stride(2)), torch::nn::ReLU(),
                              torch::nn::Flatten(), torch::nn::Linear(4 * 3 * 3, 8), torch::nn::ReLU(),
                              torch::nn::Linear(8, 3));
  torch::NoGradGuard no_grad;
  auto params = model->named_parameters();
  for (const auto& item : scripted.named_parameters()) params[item.name].copy_(item.value);
  model->eval();
  return model;
}

int relu_nodes_seen(const nni::Model& model, const torch::Tensor& input) {
  torch::Tensor output = model.forward(input.clone().requires_grad_(true));
  return nni::detail::apply_relu_rule(output, nni::detail::ReluGradientRule::kGuided);
}

}  // namespace

TEST_CASE("TorchScript models keep every ReLU visible on the 1st, 2nd and 10th call", "[torchscript]") {
  for (const char* file : {"relu_cnn_scripted.pt", "relu_cnn_traced.pt"}) {
    INFO(file);
    torch::jit::Module module = torch::jit::load(fixture(file));
    torch::Tensor input = torch::rand({2, 1, 8, 8});
    // The user has already run the module a lot: its own executor holds an optimized plan.
    {
      torch::NoGradGuard no_grad;
      for (int i = 0; i < 5; ++i) module.forward({input});
    }
    for (int i = 0; i < 5; ++i) module.forward({input.clone().requires_grad_(true)}).toTensor().sum().backward();
    nni::Model model(module);
    for (int call = 1; call <= 10; ++call) {
      const int seen = relu_nodes_seen(model, input);
      if (call == 1 || call == 2 || call == 10) CHECK(seen == 3);
    }
    CHECK(torch::jit::getGraphExecutorOptimize());
  }
}

TEST_CASE("A TorchScript model gives the same attributions as the same network in C++", "[torchscript]") {
  torch::manual_seed(31);
  torch::Tensor input = torch::rand({3, 1, 8, 8});
  torch::Tensor labels = torch::tensor({0, 1, 2});
  for (const char* file : {"relu_cnn_scripted.pt", "relu_cnn_traced.pt"}) {
    INFO(file);
    torch::jit::Module module = torch::jit::load(fixture(file));
    auto cpp_model = relu_cnn_in_cpp(module);
    nni::GuidedBackprop scripted_method(module);
    nni::GuidedBackprop cpp_method(cpp_model);
    torch::Tensor expected = cpp_method.attribute(input, labels);
    CHECK(!torch::allclose(expected, nni::VanillaGradient(cpp_model).attribute(input, labels)));
    for (int call = 1; call <= 10; ++call) {
      torch::Tensor actual = scripted_method.attribute(input, labels);
      if (call == 1 || call == 2 || call == 10) CHECK_THAT(actual, AllClose(expected, 1e-5, 1e-6));
    }
    CHECK_THAT(nni::VanillaGradient(module).attribute(input, labels),
               AllClose(nni::VanillaGradient(cpp_model).attribute(input, labels), 1e-5, 1e-6));
    CHECK_THAT(nni::Deconvolution(module).attribute(input, labels),
               AllClose(nni::Deconvolution(cpp_model).attribute(input, labels), 1e-5, 1e-6));
    CHECK_THAT(nni::IntegratedGradients(module, nni::IntegratedGradientsOptions().steps(8)).attribute(input, labels),
               AllClose(nni::IntegratedGradients(cpp_model, nni::IntegratedGradientsOptions().steps(8))
                            .attribute(input, labels),
                        1e-5, 1e-6));
  }
}

TEST_CASE("A scripted model with functional ReLUs gets guided gradients", "[torchscript]") {
  torch::jit::Module module = torch::jit::load(fixture("functional_relu_scripted.pt"));
  nni::Model model(module);
  torch::Tensor input = torch::rand({2, 1, 8, 8});
  CHECK(relu_nodes_seen(model, input) == 1);
  // Hand-derived: fc(relu(conv(x))) → guided = conv-backward of max(w_fc, 0) ⊙ [conv(x) > 0].
  torch::Tensor conv_weight, conv_bias, fc_weight;
  for (const auto& item : module.named_parameters()) {
    if (item.name == "conv.weight") conv_weight = item.value;
    if (item.name == "conv.bias") conv_bias = item.value;
    if (item.name == "fc.weight") fc_weight = item.value;
  }
  torch::Tensor leaf = input.clone().requires_grad_(true);
  torch::Tensor pre_activation = torch::conv2d(leaf, conv_weight, conv_bias, 1, 1);
  torch::Tensor mask = (pre_activation.detach() > 0).to(torch::kFloat);
  torch::Tensor upstream = fc_weight[1].clamp_min(0).view({1, 4, 8, 8}) * mask;
  torch::Tensor expected = torch::autograd::grad({pre_activation}, {leaf}, {upstream})[0];
  CHECK_THAT(nni::GuidedBackprop(module).attribute(input, 1), AllClose(expected, 1e-5, 1e-6));
}

TEST_CASE("Explaining a TorchScript model leaves it unchanged", "[torchscript][invariance]") {
  torch::jit::Module module = torch::jit::load(fixture("relu_cnn_scripted.pt"));
  module.train();
  std::vector<torch::Tensor> before;
  for (const auto& p : module.parameters()) before.push_back(p.detach().clone());
  nni::GuidedBackprop(module).attribute(torch::rand({2, 1, 8, 8}));
  nni::SmoothGrad(nni::VanillaGradient(module), nni::SmoothGradOptions().samples(2)).attribute(torch::rand({2, 1, 8, 8}));
  CHECK(module.is_training());
  size_t i = 0;
  for (const auto& p : module.parameters()) {
    CHECK(p.equal(before[i++]));
    CHECK(!p.grad().defined());
  }
  CHECK(torch::jit::getGraphExecutorOptimize());
}

TEST_CASE("A TorchScript model follows the user's later train/eval switch", "[torchscript]") {
  torch::jit::Module module = torch::jit::load(fixture("relu_cnn_scripted.pt"));
  nni::Model model(module);
  torch::Tensor input = torch::rand({1, 1, 8, 8});
  module.eval();
  model.forward(input);
  module.train();
  model.forward(input);
  CHECK(module.is_training());
}

TEST_CASE("A TorchScript model that returns a tuple gets a clear error", "[torchscript][errors]") {
  torch::jit::Module module = torch::jit::load(fixture("tuple_output_scripted.pt"));
  CHECK_THROWS_WITH(nni::VanillaGradient(module).attribute(torch::rand({2, 1, 8, 8})),
                    Catch::Matchers::Contains("must return one tensor [N, classes], got Tuple"));
}

TEST_CASE("A TorchScript Model follows later in-place changes of the user's weights", "[torchscript]") {
  torch::jit::Module module = torch::jit::load(fixture("relu_cnn_scripted.pt"));
  nni::Model model(module);
  nni::VanillaGradient method(model);
  torch::Tensor input = torch::rand({2, 1, 8, 8});
  torch::Tensor before = method.attribute(input, 1);
  {
    torch::NoGradGuard no_grad;
    for (const auto& p : module.parameters()) p.mul_(2);
  }
  torch::Tensor after = method.attribute(input, 1);
  CHECK(!torch::allclose(before, after));
  CHECK_THAT(model.forward(input), AllClose(module.forward({input}).toTensor()));
  CHECK_THAT(after, AllClose(nni::VanillaGradient(relu_cnn_in_cpp(module)).attribute(input, 1), 1e-5, 1e-6));
}
