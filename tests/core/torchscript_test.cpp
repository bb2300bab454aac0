// TorchScript models exported from Python give the same attributions as the same network in C++,
// on the first, second and tenth call, even after the user's module has run optimized plans.
#include "support/catch_torch.h"
#include <torch/script.h>
#include <torch/torch.h>

#include "nn_interpretability/detail/batch_one_convolution.h"
#include "nn_interpretability/detail/input_gradient.h"
#include "nn_interpretability/nn_interpretability.h"
#include "nn_interpretability/model/torchscript.h"
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
                    Catch::Matchers::Contains("returns a tuple of 2 entries, not one tensor") &&
                        Catch::Matchers::Contains("TorchScriptOptions().output(\"0\")"));
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

namespace {

// A scripted module built in C++: two 3x3 convolutions large enough for the batch-1 copy (64 -> 64
// channels at 16x16: 9.4 M multiply-adds per row), one through aten::conv2d as torch.jit.script
// writes it, one through aten::_convolution as torch.jit.trace writes it, then a small one below the
// threshold, and a linear read-out.
torch::jit::Module batch_one_convolution_module() {
  torch::jit::Module module("BatchOneConvolutions");
  torch::manual_seed(5);
  module.register_parameter("w1", torch::randn({64, 3, 3, 3}) * 0.2, false);
  module.register_parameter("b1", torch::randn({64}) * 0.1, false);
  module.register_parameter("w2", torch::randn({64, 64, 3, 3}) * 0.05, false);
  module.register_parameter("b2", torch::randn({64}) * 0.1, false);
  module.register_parameter("w3", torch::randn({4, 64, 3, 3}) * 0.05, false);
  module.register_parameter("fc", torch::randn({10, 4 * 8 * 8}) * 0.1, false);
  module.define(R"(
    def forward(self, x):
        h = torch.relu(torch.conv2d(x, self.w1, self.b1, [1, 1], [1, 1], [1, 1], 1))
        h = torch.relu_(torch._convolution(h, self.w2, self.b2, [1, 1], [1, 1], [1, 1], False, [0, 0], 1,
                                           False, False, True, True))
        h = torch.relu(torch.conv2d(h, self.w3, None, [2, 2], [1, 1], [1, 1], 1))
        return torch.matmul(h.flatten(1), self.fc.t())
  )");
  module.eval();
  return module;
}

}  // namespace

TEST_CASE("Batch-1 convolutions of a TorchScript model run on the fast backend with the same result",
          "[torchscript][batch_one_convolution]") {
  torch::jit::Module module = batch_one_convolution_module();
  const auto graph = torch::jit::toGraphFunction(module.get_method("forward").function()).graph()->copy();
  CHECK(nni::detail::use_batch_one_convolutions(*graph) == 3);

  const torch::Tensor x = torch::rand({1, 3, 16, 16});
  const torch::Tensor h1 = torch::rand({1, 64, 16, 16});
  const torch::Tensor w2 = module.attr("w2").toTensor(), w3 = module.attr("w3").toTensor();
  // Which convolutions take the copy: the 64 -> 64 one only (the first and last are too small).
  CHECK(nni::detail::runs_batch_one_copy(h1, w2, {1, 1}, {1, 1}, 1) == at::hasMKLDNN());
  CHECK(!nni::detail::runs_batch_one_copy(x, module.attr("w1").toTensor(), {1, 1}, {1, 1}, 1));
  CHECK(!nni::detail::runs_batch_one_copy(h1, w3, {2, 2}, {1, 1}, 1));
  CHECK(!nni::detail::runs_batch_one_copy(torch::rand({2, 64, 16, 16}), w2, {1, 1}, {1, 1}, 1));
  CHECK(!nni::detail::runs_batch_one_copy(h1.to(torch::kDouble), w2.to(torch::kDouble), {1, 1}, {1, 1}, 1));

  // Forward and input gradient of the library's graph against the user's own module, at batch 1 (the
  // copy: oneDNN against the slow kernel, equal to float32 rounding) and batch 3 (aten unchanged).
  for (int64_t batch : {1, 3}) {
    INFO("batch " << batch);
    const torch::Tensor input = torch::rand({batch, 3, 16, 16});
    const torch::Tensor labels = torch::arange(batch) % 10;
    torch::Tensor leaf = input.clone().requires_grad_(true);
    const torch::Tensor output = module.forward({leaf}).toTensor();
    const torch::Tensor expected =
        torch::autograd::grad({output.gather(1, labels.unsqueeze(1)).sum()}, {leaf})[0];
    CHECK_THAT(nni::Model(module).forward(input), AllClose(output.detach(), 1e-5, 1e-6));
    const torch::Tensor actual = nni::VanillaGradient(module).attribute(input, labels);
    CHECK_THAT(actual, AllClose(expected, 1e-5, 1e-6));
    if (batch == 3) CHECK(actual.equal(expected));
    // Every ReLU stays visible to the guided rule, the in-place one after the copied convolution too
    // (a view of the copy would hide it in a CopySlices node).
    CHECK(relu_nodes_seen(nni::Model(module), input) == 3);
    CHECK(relu_nodes_seen(nni::Model(module, nni::TorchScriptOptions().optimize(false)), input) == 3);
  }
}

TEST_CASE("The frozen copy of a TorchScript model gives the plain graph's attributions", "[torchscript][frozen]") {
  // BatchNorm folded into the convolutions: the same function, rounded differently (float32: 1e-5
  // relative here); float64 and the untouched graph elsewhere agree to the last bits allowed.
  torch::manual_seed(12);
  const torch::Tensor input = torch::rand({3, 3, 16, 16});
  const torch::Tensor labels = torch::tensor({0, 1, 2});
  for (const char* file : {"tiny_resnet_scripted.pt", "tiny_resnet_traced.pt"}) {
    INFO(file);
    torch::jit::Module module = torch::jit::load(fixture(file));
    module.eval();
    const nni::Model optimized(module, nni::TorchScriptOptions().fold_batch_norm(true));
    const nni::Model plain(module, nni::TorchScriptOptions().optimize(false));
    {
      torch::NoGradGuard no_grad;
      CHECK_THAT(optimized.forward(input), AllClose(module.forward({input}).toTensor(), 1e-5, 1e-6));
    }
    CHECK_THAT(optimized.forward(input), AllClose(plain.forward(input), 1e-5, 1e-6));
    CHECK(plain.forward(input).equal(module.forward({input}).toTensor()));
    // By default gradients come from the plain graph: the user's own operators, bit for bit.
    CHECK(nni::VanillaGradient(nni::Model(module)).attribute(input, labels)
              .equal(nni::VanillaGradient(plain).attribute(input, labels)));
    for (int batch : {1, 3}) {
      const torch::Tensor x = input.slice(0, 0, batch), y = labels.slice(0, 0, batch);
      CHECK_THAT(nni::VanillaGradient(optimized).attribute(x, y),
                 AllClose(nni::VanillaGradient(plain).attribute(x, y), 1e-4, 1e-6));
      CHECK_THAT(nni::GuidedBackprop(optimized).attribute(x, y),
                 AllClose(nni::GuidedBackprop(plain).attribute(x, y), 1e-4, 1e-6));
      const auto ig = nni::IntegratedGradientsOptions().steps(6);
      CHECK_THAT(nni::IntegratedGradients(optimized, ig).attribute(x, y),
                 AllClose(nni::IntegratedGradients(plain, ig).attribute(x, y), 1e-4, 1e-6));
    }
    // The CAM family reads a layer: always the plain graph, so bit for bit.
    CHECK(nni::GradCam(optimized, nni::GradCamOptions("layer1")).attribute(input, labels)
              .equal(nni::GradCam(plain, nni::GradCamOptions("layer1")).attribute(input, labels)));
  }
}

TEST_CASE("The frozen copy follows the user's module and leaves it unchanged", "[torchscript][frozen][invariance]") {
  torch::jit::Module module = torch::jit::load(fixture("tiny_resnet_scripted.pt"));
  module.eval();
  const std::string graph_before = module.get_method("forward").graph()->toString();
  const nni::Model model(module, nni::TorchScriptOptions().fold_batch_norm(true));
  const torch::Tensor input = torch::rand({2, 3, 16, 16});
  auto expected = [&] {
    torch::NoGradGuard no_grad;
    return module.forward({input}).toTensor();
  };
  CHECK_THAT(model.forward(input), AllClose(expected(), 1e-5, 1e-6));

  // In-place change of a weight and of a BatchNorm buffer: the copy is rebuilt.
  {
    torch::NoGradGuard no_grad;
    for (const auto& item : module.named_parameters())
      if (item.name == "conv1.weight") item.value.mul_(-1.5);
  }
  CHECK_THAT(model.forward(input), AllClose(expected(), 1e-5, 1e-6));
  {
    torch::NoGradGuard no_grad;
    for (const auto& item : module.named_buffers())
      if (item.name == "bn1.running_var") item.value.mul_(4);
  }
  CHECK_THAT(model.forward(input), AllClose(expected(), 1e-5, 1e-6));
  // Train mode (BatchNorm on batch statistics): the plain graph, the user's semantics exactly.
  module.train();
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor ours = model.forward(input);
    module.train();
    CHECK(ours.equal(module.forward({input}).toTensor()));
  }
  module.eval();
  CHECK_THAT(model.forward(input), AllClose(expected(), 1e-5, 1e-6));

  // Nothing the library did is left on the module (the train-mode forwards above did update the
  // BatchNorm statistics, as they would for the user: the snapshot is taken after them).
  std::vector<torch::Tensor> snapshot;
  for (const auto& t : module.parameters()) snapshot.push_back(t.detach().clone());
  for (const auto& t : module.buffers()) snapshot.push_back(t.detach().clone());
  nni::VanillaGradient(model).attribute(input, 0);
  nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().steps(4)).attribute(input, 0);
  size_t i = 0;
  for (const auto& t : module.parameters()) {
    CHECK(t.equal(snapshot[i++]));
    CHECK(t.requires_grad());
    CHECK(!t.grad().defined());
  }
  for (const auto& t : module.buffers()) CHECK(t.equal(snapshot[i++]));
  CHECK(!module.is_training());
  CHECK(module.get_method("forward").graph()->toString() == graph_before);
}
