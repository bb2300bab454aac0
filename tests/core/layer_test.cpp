// Reaching named layers: nn::Sequential (nested), C++ modules with hand-written forwards and skip
// connections, TorchScript (scripted and traced), and the mark_layer opt-in.
#include "support/catch_torch.h"
#include <torch/script.h>
#include <torch/torch.h>

#include "nn_interpretability/layer.h"
#include "nn_interpretability/nn_interpretability.h"
#include "nn_interpretability/torchscript.h"
#include "support/all_close.h"
#include "support/model_snapshot.h"

namespace nni = nn_interpretability;
using Catch::Matchers::Contains;
using nni_test::AllClose;

namespace {

std::string fixture(const std::string& name) { return std::string(NNI_SOURCE_DIR) + "/tests/fixtures/" + name; }

// A residual block whose forward calls its submodules and adds a skip connection.
struct ResidualBlockImpl : torch::nn::Module {
  ResidualBlockImpl() {
    conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 4, 3).padding(1)));
    conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 4, 3).padding(1)));
  }
  torch::Tensor forward(const torch::Tensor& x) { return torch::relu(conv2(torch::relu(conv1(x))) + x); }
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
};
TORCH_MODULE(ResidualBlock);

struct ResidualNetImpl : torch::nn::Module {
  explicit ResidualNetImpl(bool mark) : mark_(mark) {
    stem = register_module("stem", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3).padding(1)));
    block = register_module("block", ResidualBlock());
    fc = register_module("fc", torch::nn::Linear(4, 3));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor features = block(torch::relu(stem(x)));
    if (mark_) features = nni::mark_layer("block", features);
    return fc(features.mean({2, 3}));
  }
  torch::nn::Conv2d stem{nullptr};
  ResidualBlock block{nullptr};
  torch::nn::Linear fc{nullptr};
  bool mark_;
};
TORCH_MODULE(ResidualNet);

// nn::Sequential cannot hold an nn::Sequential in LibTorch (its forward is a template): nesting needs
// a subclass with a plain forward, as torchvision's C++ models do.
struct StageImpl : torch::nn::SequentialImpl {
  using SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor x) { return SequentialImpl::forward(x); }
};
TORCH_MODULE(Stage);

// VGG's layout: a hand-written forward over two nn::Sequential members.
struct VggLikeImpl : torch::nn::Module {
  VggLikeImpl() {
    features = register_module(
        "features", torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3).padding(1)),
                                          torch::nn::ReLU(), torch::nn::MaxPool2d(2), torch::nn::Dropout(0.2)));
    classifier = register_module("classifier", torch::nn::Sequential(torch::nn::Flatten(), torch::nn::Linear(4 * 4 * 4, 3)));
  }
  torch::Tensor forward(const torch::Tensor& x) { return classifier->forward(features->forward(x)); }
  torch::nn::Sequential features{nullptr}, classifier{nullptr};
};
TORCH_MODULE(VggLike);

}  // namespace

TEST_CASE("Parameterless layers inside an nn::Sequential member of a hand-written forward are reached", "[layer]") {
  torch::manual_seed(54);
  VggLike model;
  model->eval();
  torch::Tensor input = torch::rand({2, 1, 8, 8});
  torch::Tensor conv = model->features[0]->as<torch::nn::Conv2d>()->forward(input);
  torch::Tensor relu = torch::relu(conv);
  torch::Tensor pool = torch::max_pool2d(relu, 2);
  CHECK_THAT(nni::forward_with_layer(model, input, "features.0").activation, AllClose(conv));
  CHECK_THAT(nni::forward_with_layer(model, input, "features.1").activation, AllClose(relu));
  CHECK_THAT(nni::forward_with_layer(model, input, "features.2").activation, AllClose(pool));
  CHECK_THAT(nni::forward_with_layer(model, input, "features").activation, AllClose(pool));  // ends in dropout (eval)
  auto linear = nni::forward_with_layer(model, input, "classifier.1");
  CHECK_THAT(linear.activation, AllClose(linear.output));
  // The first child of a Sequential called from a hand-written forward has no earlier sibling to
  // follow: the error says what to do instead.
  CHECK_THROWS_WITH(nni::forward_with_layer(model, input, "classifier.0"),
                    Contains("cannot be reached automatically") && Contains("mark_layer(\"classifier.0\", x)"));
}

TEST_CASE("Identity and unknown parameterless modules in a Sequential do not shift the captured layer", "[layer]") {
  torch::manual_seed(55);
  struct NetImpl : torch::nn::Module {
    NetImpl() {
      body = register_module("body", torch::nn::Sequential(torch::nn::Conv2d(1, 2, 3), torch::nn::Identity(),
                                                           torch::nn::ReLU(), torch::nn::Flatten()));
      fc = register_module("fc", torch::nn::Linear(2 * 4 * 4, 2));
    }
    torch::Tensor forward(const torch::Tensor& x) { return fc(body->forward(x)); }
    torch::nn::Sequential body{nullptr};
    torch::nn::Linear fc{nullptr};
  };
  auto net = std::make_shared<NetImpl>();
  torch::Tensor input = torch::rand({2, 1, 6, 6});
  torch::Tensor conv = net->body[0]->as<torch::nn::Conv2d>()->forward(input);
  CHECK_THAT(nni::forward_with_layer(net, input, "body.1").activation, AllClose(conv));
  CHECK_THAT(nni::forward_with_layer(net, input, "body.2").activation, AllClose(torch::relu(conv)));
  CHECK_THAT(nni::forward_with_layer(net, input, "body.3").activation, AllClose(torch::relu(conv).flatten(1)));
}

TEST_CASE("A layer inside nested nn::Sequential containers is reached, parameters or not", "[layer]") {
  torch::manual_seed(51);
  torch::nn::Sequential model(Stage(torch::nn::Conv2d(1, 3, 3), torch::nn::ReLU()),
                              Stage(torch::nn::Conv2d(3, 5, 3), torch::nn::ReLU(), torch::nn::MaxPool2d(2)),
                              torch::nn::Flatten(), torch::nn::Linear(5 * 2 * 2, 4));
  torch::Tensor input = torch::rand({2, 1, 8, 8});
  auto first = model[0]->as<StageImpl>();
  auto second = model[1]->as<StageImpl>();
  torch::Tensor expected_relu = (*second)[1]->as<torch::nn::ReLU>()->forward(
      (*second)[0]->as<torch::nn::Conv2d>()->forward(first->forward(input)));
  auto captured = nni::forward_with_layer(model, input, "1.1");
  CHECK_THAT(captured.activation, AllClose(expected_relu));
  CHECK_THAT(captured.output, AllClose(model->forward(input)));
  // The activation is part of the output's graph: its gradient is the suffix's gradient.
  torch::Tensor gradient = torch::autograd::grad({captured.output.select(1, 2).sum()}, {captured.activation})[0];
  torch::Tensor alias = expected_relu.detach().requires_grad_(true);
  torch::Tensor suffix = model[3]->as<torch::nn::Linear>()->forward((*second)[2]->as<torch::nn::MaxPool2d>()->forward(alias).flatten(1));
  CHECK_THAT(gradient, AllClose(torch::autograd::grad({suffix.select(1, 2).sum()}, {alias})[0]));
  CHECK(nni::forward_with_layer(model, input, "2").activation.sizes() == torch::IntArrayRef({2, 20}));
}

TEST_CASE("A layer with parameters is reached inside a hand-written forward with a skip connection", "[layer]") {
  torch::manual_seed(52);
  ResidualNet model(false);
  torch::Tensor input = torch::rand({2, 1, 6, 6});
  torch::Tensor stem = torch::relu(model->stem(input));
  torch::Tensor expected = model->block->conv2(torch::relu(model->block->conv1(stem)));
  auto captured = nni::forward_with_layer(model, input, "block.conv2");
  CHECK_THAT(captured.activation, AllClose(expected));
  torch::Tensor gradient = torch::autograd::grad({captured.output.select(1, 0).sum()}, {captured.activation})[0];
  CHECK(gradient.sizes() == expected.sizes());
  CHECK(gradient.abs().sum().item<double>() > 0);
}

TEST_CASE("A parameterless container in a hand-written forward needs mark_layer, and says so", "[layer][errors]") {
  ResidualNet unmarked(false);
  torch::Tensor input = torch::rand({2, 1, 6, 6});
  auto before = nni_test::ModelSnapshot::of(*unmarked);
  CHECK_THROWS_WITH(nni::forward_with_layer(unmarked, input, "block"),
                    Contains("layer 'block' of the module") && Contains("cannot be reached automatically") &&
                        Contains("nn_interpretability::mark_layer(\"block\", x)"));
  CHECK(before.difference(nni_test::ModelSnapshot::of(*unmarked)) == "");
  ResidualNet marked(true);
  torch::Tensor stem = torch::relu(marked->stem(input));
  CHECK_THAT(nni::forward_with_layer(marked, input, "block").activation, AllClose(marked->block(stem)));
}

TEST_CASE("mark_layer works for a plain forward function", "[layer]") {
  torch::Tensor weight = torch::randn({3, 4});
  nni::Model model([weight](const torch::Tensor& x) {
    torch::Tensor hidden = nni::mark_layer("hidden", torch::tanh(x));
    return hidden.matmul(weight.t());
  });
  torch::Tensor input = torch::randn({2, 4});
  CHECK_THAT(nni::forward_with_layer(model, input, "hidden").activation, AllClose(torch::tanh(input)));
  CHECK_THROWS_WITH(nni::forward_with_layer(model, input, "other"),
                    Contains("unknown layer 'other'; the forward function has these layers: (none)"));
}

TEST_CASE("An unknown layer name lists the valid names", "[layer][errors]") {
  ResidualNet model(false);
  CHECK_THROWS_WITH(nni::forward_with_layer(model, torch::rand({1, 1, 6, 6}), "block.conv3"),
                    Contains("unknown layer 'block.conv3'") && Contains("stem, block, block.conv1, block.conv2, fc"));
}

TEST_CASE("TorchScript layers are reached by name, containers included", "[layer][torchscript]") {
  torch::manual_seed(53);
  torch::Tensor input = torch::rand({2, 3, 16, 16});
  for (const char* file : {"tiny_vgg_scripted.pt", "tiny_vgg_traced.pt"}) {
    INFO(file);
    torch::jit::Module module = torch::jit::load(fixture(file));
    torch::jit::Module features = module.attr("features").toModule();
    torch::Tensor x = input;
    std::vector<torch::Tensor> expected;
    for (const auto& child : features.named_children()) {
      torch::jit::Module layer = child.value;
      x = layer.forward({x}).toTensor();
      expected.push_back(x);
    }
    CHECK_THAT(nni::forward_with_layer(module, input, "features.4").activation, AllClose(expected[4]));
    auto whole = nni::forward_with_layer(module, input, "features");
    CHECK_THAT(whole.activation, AllClose(expected[5]));
    CHECK_THAT(whole.output, AllClose(module.forward({input}).toTensor()));
    torch::Tensor gradient = torch::autograd::grad({whole.output.select(1, 1).sum()}, {whole.activation})[0];
    CHECK(gradient.sizes() == torch::IntArrayRef({2, 16, 4, 4}));
  }
  for (const char* file : {"tiny_resnet_scripted.pt", "tiny_resnet_traced.pt"}) {
    INFO(file);
    torch::jit::Module module = torch::jit::load(fixture(file));
    auto sub = [&](const char* name) { return module.attr(name).toModule(); };
    torch::Tensor stem = sub("relu").forward({sub("bn1").forward({sub("conv1").forward({input}).toTensor()}).toTensor()}).toTensor();
    torch::Tensor layer2 = sub("layer2").forward({sub("layer1").forward({stem}).toTensor()}).toTensor();
    CHECK_THAT(nni::forward_with_layer(module, input, "layer2").activation, AllClose(layer2));
    auto conv = nni::forward_with_layer(module, input, "layer2.1.conv2");
    CHECK(conv.activation.sizes() == torch::IntArrayRef({2, 16, 8, 8}));
    CHECK(torch::autograd::grad({conv.output.sum()}, {conv.activation})[0].abs().sum().item<double>() > 0);
    CHECK_THROWS_WITH(nni::forward_with_layer(module, input, "layer3"),
                      Contains("unknown layer 'layer3'") && Contains("layer2.1.conv2"));
  }
}

TEST_CASE("layer_names lists dotted paths in named_modules order", "[layer]") {
  ResidualNet model(false);
  CHECK((nni::layer_names(model) == std::vector<std::string>{"stem", "block", "block.conv1", "block.conv2", "fc"}));
  torch::jit::Module module = torch::jit::load(fixture("tiny_vgg_scripted.pt"));
  auto names = nni::layer_names(module);
  CHECK(std::find(names.begin(), names.end(), "features.4") != names.end());
  CHECK(std::find(names.begin(), names.end(), "classifier.3") != names.end());
}
