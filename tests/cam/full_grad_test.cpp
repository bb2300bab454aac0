// FullGrad: the completeness of the full-gradient decomposition (exact on piecewise-linear models),
// reused layers, and agreement with pytorch-grad-cam's map (tests/fixtures/cam_reference/
// export_full_grad_reference.py) on the scripted torchvision ResNet of real_models.
#include "support/catch_torch.h"
#include <torch/torch.h>

#include <fstream>

#include <torch/script.h>

#include "nn_interpretability/detail/cam_steps.h"
#include "nn_interpretability/io/npy.h"
#include "nn_interpretability/model/torchscript.h"
#include "nn_interpretability/nn_interpretability.h"
#include "support/all_close.h"
#include "support/model_snapshot.h"

namespace nni = nn_interpretability;
using nni_test::AllClose;

namespace {

std::string source(const std::string& path) { return std::string(NNI_SOURCE_DIR) + "/" + path; }

// Σ input term + Σ bias terms, per example.
torch::Tensor decomposition_sum(const nni::FullGradDecomposition& parts) {
  torch::Tensor total = parts.input_term.flatten(1).sum(1);
  for (const torch::Tensor& term : parts.bias_terms) total = total + term.flatten(1).sum(1);
  return total;
}

// conv-BN-ReLU-maxpool-conv-ReLU-flatten-linear on [N, 2, 8, 8] in float64, BatchNorm with non-trivial statistics.
torch::nn::Sequential bias_cnn() {
  torch::manual_seed(21);
  torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 4, 3).padding(1)),
                            torch::nn::BatchNorm2d(4), torch::nn::ReLU(), torch::nn::MaxPool2d(2),
                            torch::nn::Conv2d(4, 3, 3), torch::nn::ReLU(), torch::nn::Flatten(),
                            torch::nn::Linear(12, 5));
  net->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    auto norm = net->ptr(1)->as<torch::nn::BatchNorm2d>();
    norm->running_mean.uniform_(-0.5, 0.5);
    norm->running_var.uniform_(0.5, 2.0);
    norm->weight.uniform_(0.5, 1.5);
    norm->bias.uniform_(-0.3, 0.3);
  }
  net->eval();
  return net;
}

struct ReusedConvImpl : torch::nn::Module {
  ReusedConvImpl() : conv(register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 3, 3).padding(1)))),
                     fc(register_module("fc", torch::nn::Linear(3, 2))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = torch::relu(conv->forward(x));
    y = torch::relu(conv->forward(y));  // the same module twice
    return fc->forward(y.mean({2, 3}));
  }
  torch::nn::Conv2d conv;
  torch::nn::Linear fc;
};
TORCH_MODULE(ReusedConv);

}  // namespace

TEST_CASE("FullGrad: the decomposition adds up to the score on a ReLU CNN with BatchNorm", "[full_grad]") {
  auto net = bias_cnn();
  const auto before = nni_test::ModelSnapshot::of(*net);
  const torch::Tensor input = torch::randn({3, 2, 8, 8}, torch::kDouble);
  nni::FullGrad method(net);
  const torch::Tensor labels = torch::tensor({0, 3, 4});
  const nni::FullGradDecomposition parts = method.decompose(input, labels);
  CHECK(parts.layers == std::vector<std::string>{"0", "1", "4", "7"});
  const torch::Tensor scores = net->forward(input).gather(1, labels.unsqueeze(1)).squeeze(1).detach();
  CHECK_THAT(parts.scores, AllClose(scores, 1e-12, 1e-12));
  CHECK_THAT(decomposition_sum(parts), AllClose(scores, 1e-10, 1e-10));
  // Without the biases the input term alone does not add up (the check can fail).
  CHECK((parts.input_term.flatten(1).sum(1) - scores).abs().max().item<double>() > 1e-3);

  // The map: each spatial term |.| rescaled per example, summed over channels, resized, added.
  const torch::Tensor map = method.attribute(input, labels);
  torch::Tensor expected = nni::detail::min_max_scaled(parts.input_term.abs()).sum(1, true);
  for (size_t i = 0; i < 3; ++i)  // conv, BN, conv: spatial; the linear layer is not
    expected = expected + nni::upsample_map(nni::detail::min_max_scaled(parts.bias_terms[i].abs()).sum(1, true), {8, 8});
  CHECK_THAT(map, AllClose(expected, 1e-12, 1e-12));
  CHECK(map.sizes() == torch::IntArrayRef({3, 1, 8, 8}));
  CHECK(before.difference(nni_test::ModelSnapshot::of(*net)).empty());
}

TEST_CASE("FullGrad: a module called twice gives one term per call", "[full_grad]") {
  torch::manual_seed(4);
  ReusedConv net;
  net->to(torch::kDouble);
  const torch::Tensor input = torch::randn({2, 3, 5, 5}, torch::kDouble);
  nni::FullGrad method(net);
  const nni::FullGradDecomposition parts = method.decompose(input, 1);
  CHECK(parts.layers == std::vector<std::string>{"conv@0", "conv@1", "fc"});
  CHECK_THAT(decomposition_sum(parts), AllClose(net->forward(input).select(1, 1).detach(), 1e-10, 1e-10));
}

TEST_CASE("FullGrad on the scripted torchvision ResNet: completeness and pytorch-grad-cam's map", "[full_grad]") {
  torch::jit::Module module = torch::jit::load(source("tests/fixtures/real_models/resnet_scripted.pt"));
  const nni::Model model(module);
  const torch::Tensor input = nni::read_npy(source("tests/fixtures/real_models/resnet_input.npy"));
  const torch::Tensor target = nni::read_npy(source("tests/fixtures/real_models/resnet_target.npy"));
  const nni::FullGradDecomposition parts = nni::FullGrad(model).decompose(input, target);
  CHECK(parts.layers.size() == 18);  // 17 BatchNorms and fc; the convolutions have no bias
  CHECK_THAT(decomposition_sum(parts), AllClose(parts.scores, 1e-9, 1e-9));

  std::vector<std::string> layers;
  std::ifstream list(source("tests/fixtures/cam_reference/resnet__full_grad_layers.txt"));
  for (std::string line; std::getline(list, line);)
    if (!line.empty()) layers.push_back(line);
  REQUIRE(layers.size() == 17);
  const torch::Tensor reference = nni::read_npy(source("tests/fixtures/cam_reference/resnet__full_grad_per_channel.npy"));
  const torch::Tensor ours =
      nni::FullGrad(model, nni::FullGradOptions().layers(layers).scaling(nni::FullGradScaling::kPerChannel))
          .attribute(input, target);
  const double relative = (ours - reference).abs().max().item<double>() / reference.abs().max().item<double>();
  CHECK(relative < 1e-4);
  // The default layers add only fc, which has no spatial term: the same map.
  CHECK_THAT(nni::FullGrad(model, nni::FullGradOptions().scaling(nni::FullGradScaling::kPerChannel)).attribute(input, target),
             AllClose(ours, 1e-12, 1e-12));
}

TEST_CASE("FullGrad refuses what it cannot decompose", "[full_grad]") {
  auto net = bias_cnn();
  const torch::Tensor input = torch::randn({1, 2, 8, 8}, torch::kDouble);
  net->train();
  CHECK_THROWS_WITH(nni::FullGrad(net).attribute(input, 0), Catch::Contains("training mode") && Catch::Contains("'1'"));
  net->eval();
  CHECK_THROWS_WITH(nni::FullGrad(net, nni::FullGradOptions().layers({"2"})).attribute(input, 0),
                    Catch::Contains("layer '2' has no bias"));
  CHECK_THROWS_WITH(nni::FullGrad(net, nni::FullGradOptions().layers({"nope"})).attribute(input, 0),
                    Catch::Contains("no layer named 'nope'"));
  CHECK_THROWS_WITH(nni::FullGrad(nni::Model([](const torch::Tensor& x) { return x.flatten(1); })).attribute(input, 0),
                    Catch::Contains("shows no layers"));
  CHECK_THROWS_WITH(nni::FullGrad(net, nni::FullGradOptions().upsample(nni::Upsample::kNone)),
                    Catch::Contains("upsample kNone"));
  CHECK_THROWS_WITH(nni::FullGrad(net).attribute(input.flatten(2), 0), Catch::Contains("[N, C, H, W]"));
}

TEST_CASE("FullGrad on torchvision's ViT: the attention's out_proj (never called) is left out", "[full_grad]") {
  const nni::Model vit(torch::jit::load(source("tests/fixtures/cam_reference/vit_scripted.pt")));
  const torch::Tensor input = nni::read_npy(source("tests/fixtures/cam_reference/vit_input.npy"));
  nni::FullGrad method(vit);
  const nni::FullGradDecomposition parts = method.decompose(input, 1);
  for (const std::string& layer : parts.layers) CHECK(layer.find("out_proj") == std::string::npos);
  CHECK(std::find(parts.layers.begin(), parts.layers.end(), "conv_proj") != parts.layers.end());
  const torch::Tensor map = method.attribute(input, 1);
  CHECK(map.sizes() == torch::IntArrayRef({2, 1, 32, 32}));
  CHECK(torch::isfinite(map).all().item<bool>());
  // Listing it explicitly names the reason it cannot be captured.
  CHECK_THROWS_WITH(nni::FullGrad(vit, nni::FullGradOptions().layers({"encoder.layers.encoder_layer_0.self_attention.out_proj"}))
                        .attribute(input, 1),
                    Catch::Contains("never calls it"));
}
