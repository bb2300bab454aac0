// Reaching named layers: nn::Sequential (nested), C++ modules with hand-written forwards and skip
// connections, TorchScript (scripted and traced), and the mark_layer opt-in.
#include <thread>

#include "support/catch_torch.h"
#include <torch/script.h>
#include <torch/torch.h>

#include "nn_interpretability/model/layer.h"
#include "nn_interpretability/nn_interpretability.h"
#include "nn_interpretability/model/torchscript.h"
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

// ------------------------------------------------------------------ layer access v2: semantics

namespace {

// A hand-written forward that calls one conv twice and applies an in-place ReLU after its BatchNorm.
struct ReuseInPlaceNetImpl : torch::nn::Module {
  explicit ReuseInPlaceNetImpl(bool mark_bn) : mark_bn_(mark_bn) {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 2, 3).padding(1)));
    bn = register_module("bn", torch::nn::BatchNorm2d(2));
    fc = register_module("fc", torch::nn::Linear(2, 3));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = conv(conv(x));  // the same module, called twice
    y = bn(y);
    if (mark_bn_) y = nni::mark_layer("bn", y);
    y.relu_();  // in place: modifies the BatchNorm's output
    return fc(y.mean({2, 3}));
  }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::Linear fc{nullptr};
  bool mark_bn_;
};
TORCH_MODULE(ReuseInPlaceNet);

}  // namespace

TEST_CASE("A C++ module called twice: the last call by default, the first or every call on request", "[layer]") {
  torch::manual_seed(60);
  ReuseInPlaceNet model(false);
  model->eval();
  torch::Tensor input = torch::rand({2, 2, 5, 5});
  torch::Tensor first = model->conv(input);
  torch::Tensor second = model->conv(first);
  CHECK_THAT(nni::forward_with_layer(model, input, "conv").activation, AllClose(second));
  CHECK_THAT(nni::forward_with_layer(model, input, "conv@first").activation, AllClose(first));
  const auto all = nni::forward_with_layers(model, input, {nni::LayerRequest("conv").call(nni::LayerCall::all())});
  REQUIRE(all.layers.front().calls == 2);
  CHECK_THAT(all.layers.front().values[0], AllClose(first));
  CHECK_THAT(all.layers.front().values[1], AllClose(second));
  // The gradient with respect to the first call flows through the second one.
  auto captured = nni::forward_with_layer(model, input, "conv@0");
  CHECK(torch::autograd::grad({captured.output.select(1, 0).sum()}, {captured.activation})[0].abs().sum().item<double>() >
        0);
}

TEST_CASE("A Linear layer in a hand-written C++ forward is one call: F::linear's t(weight) is not one", "[layer]") {
  // LibTorch's C++ F::linear runs t(weight), then addmm(bias, input, weight.t()), both at top level.
  struct HeadImpl : torch::nn::Module {
    HeadImpl() : fc(register_module("fc", torch::nn::Linear(4, 3))) {}
    torch::Tensor forward(const torch::Tensor& x) { return torch::tanh(fc->forward(x)) * 2; }
    torch::nn::Linear fc;
  };
  torch::manual_seed(61);
  auto model = std::make_shared<HeadImpl>();
  const torch::Tensor input = torch::rand({2, 4});
  const torch::Tensor expected = model->fc->forward(input).detach();
  const auto all = nni::forward_with_layers(model, input, {nni::LayerRequest("fc").call(nni::LayerCall::all())});
  REQUIRE(all.layers.front().calls == 1);
  CHECK_THAT(all.layers.front().values[0], AllClose(expected));
  CHECK_THAT(nni::forward_with_layer(model, input, "fc@first").activation, AllClose(expected));
}

TEST_CASE("A one-operator layer of a root nn::Sequential explained through a forward function is reached",
          "[layer]") {
  torch::manual_seed(62);
  torch::nn::Sequential net(torch::nn::Conv2d(2, 3, 3), torch::nn::ReLU(), torch::nn::Flatten(), torch::nn::Linear(27, 2));
  const nni::Model model(net.ptr(), [net](const torch::Tensor& x) mutable { return net->forward(x); });
  const torch::Tensor input = torch::randn({2, 2, 5, 5});
  const torch::Tensor expected = torch::relu(net[0]->as<torch::nn::Conv2d>()->forward(input)).detach();
  CHECK_THAT(nni::forward_with_layer(model, input, "1").activation, AllClose(expected));
  CHECK_THAT(nni::forward_with_layer(model, input, "2").activation, AllClose(expected.flatten(1)));
}

TEST_CASE("An in-place operation after an observed layer is an error, never the modified value", "[layer][errors]") {
  torch::manual_seed(61);
  ReuseInPlaceNet model(false);
  model->eval();
  torch::Tensor input = torch::rand({2, 2, 5, 5});
  auto before = nni_test::ModelSnapshot::of(*model);
  CHECK_THROWS_WITH(nni::forward_with_layer(model, input, "bn"),
                    Contains("layer 'bn'") && Contains("modified in place") && Contains("mark_layer(\"bn\", x)"));
  CHECK_THROWS_WITH(nni::GradCam(model, "bn").attribute(input, 0), Contains("modified in place"));
  CHECK(before.difference(nni_test::ModelSnapshot::of(*model)) == "");
  // describe_layers says the same instead of reporting a shape.
  for (const auto& layer : nni::describe_layers(model, input)) {
    INFO(layer.name);
    CHECK(layer.reachable == (layer.name != "bn"));
    if (layer.name == "bn") CHECK_THAT(layer.reason, Contains("modified in place"));
    if (layer.name == "conv") CHECK(layer.calls == 2);
  }
}

TEST_CASE("mark_layer protects the marked value from later in-place operations", "[layer]") {
  torch::manual_seed(62);
  ReuseInPlaceNet model(true);
  model->eval();
  torch::Tensor input = torch::rand({2, 2, 5, 5});
  torch::Tensor expected = model->bn(model->conv(model->conv(input)));
  REQUIRE(expected.min().item<double>() < 0);
  auto captured = nni::forward_with_layer(model, input, "bn");
  CHECK_THAT(captured.activation, AllClose(expected));  // before the ReLU
  CHECK_THAT(captured.output, AllClose(model->forward(input)));
  // The gradient is with respect to the BatchNorm's output: zero where the ReLU cut it.
  torch::Tensor gradient = torch::autograd::grad({captured.output.select(1, 1).sum()}, {captured.activation})[0];
  CHECK(gradient.masked_select(expected < 0).abs().max().item<double>() == 0.0);
  CHECK(gradient.masked_select(expected > 0).abs().max().item<double>() > 0.0);
}

TEST_CASE("An nn::Sequential layer before ReLU(inplace) is captured before the ReLU", "[layer]") {
  torch::manual_seed(63);
  torch::nn::Sequential model(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 3, 3).padding(1)),
                              torch::nn::ReLU(torch::nn::ReLUOptions(true)), torch::nn::AdaptiveAvgPool2d(1),
                              torch::nn::Flatten(), torch::nn::Linear(3, 2));
  torch::Tensor input = torch::randn({2, 1, 6, 6});
  torch::Tensor conv = model[0]->as<torch::nn::Conv2d>()->forward(input);
  REQUIRE(conv.min().item<double>() < 0);
  CHECK_THAT(nni::forward_with_layer(model, input, "0").activation, AllClose(conv));
  CHECK_THAT(nni::forward_with_layer(model, input, "1").activation, AllClose(conv.clamp_min(0)));
}

TEST_CASE("Replacing a layer's output: nn::Sequential, mark_layer, and a clear refusal for an observed layer",
          "[layer]") {
  torch::manual_seed(64);
  torch::nn::Sequential model(torch::nn::Linear(3, 4), torch::nn::ReLU(), torch::nn::Linear(4, 2));
  torch::Tensor input = torch::randn({2, 3});
  auto* last = model[2]->as<torch::nn::Linear>();
  auto replaced = nni::forward_with_layers(model, input, {nni::LayerRequest("1").replace_with(torch::ones({4}))});
  CHECK_THAT(replaced.output, AllClose(last->forward(torch::ones({2, 4}))));
  CHECK_THAT(replaced.layers.front().value(), AllClose(torch::relu(model[0]->as<torch::nn::Linear>()->forward(input))));
  auto doubled = nni::forward_with_layers(
      model, input, {nni::LayerRequest("1").replace([](const torch::Tensor& x) { return 2 * x; })});
  CHECK_THAT(doubled.output, AllClose(last->forward(2 * replaced.layers.front().value())));

  ReuseInPlaceNet marked(true);
  marked->eval();
  torch::Tensor image = torch::rand({2, 2, 5, 5});
  auto zero = nni::forward_with_layers(marked, image, {nni::LayerRequest("bn").replace_with(torch::zeros({1}))});
  CHECK_THAT(zero.output, AllClose(marked->fc(torch::zeros({2, 2}))));
  // A layer only observed in a hand-written C++ forward (no mark) cannot be replaced, and says so.
  ReuseInPlaceNet observed(false);
  observed->eval();
  CHECK_THROWS_WITH(nni::forward_with_layers(observed, image, {nni::LayerRequest("conv").replace_with(torch::zeros({1}))}),
                    Contains("can be observed") && Contains("not replaced") && Contains("mark_layer(\"conv\", x)"));
}

TEST_CASE("Several layers of a C++ module in one forward pass equal one pass each", "[layer]") {
  torch::manual_seed(65);
  ResidualNet model(true);
  torch::Tensor input = torch::rand({2, 1, 6, 6});
  auto all = nni::forward_with_layers(model, input, {"stem", "block.conv1", "block", "fc"});
  for (size_t i = 0; i < all.layers.size(); ++i) {
    INFO(all.layers[i].layer);
    CHECK(torch::equal(all.layers[i].value(), nni::forward_with_layer(model, input, all.layers[i].layer).activation));
  }
  CHECK_THROWS_WITH(nni::forward_with_layers(model, input, {"stem", "stem@first"}), Contains("requested twice"));
}

TEST_CASE("Two threads capturing layers of one TorchScript model get their own results", "[layer][threads]") {
  torch::jit::Module module = torch::jit::load(fixture("tiny_resnet_scripted.pt"));
  module.eval();
  nni::Model model(module);
  torch::manual_seed(66);
  torch::Tensor a = torch::rand({2, 3, 16, 16});
  torch::Tensor b = torch::rand({3, 3, 16, 16});
  const auto names = nni::layer_names(model);
  REQUIRE(!names.empty());
  const std::string layer = names.back() == "fc" ? names[names.size() - 2] : names.back();
  torch::Tensor expected_a = nni::forward_with_layer(model, a, layer).activation;
  torch::Tensor expected_b = nni::forward_with_layer(model, b, layer).activation;
  bool same_a = true, same_b = true;
  std::thread first([&] {
    for (int i = 0; i < 20; ++i) same_a &= torch::equal(nni::forward_with_layer(model, a, layer).activation, expected_a);
  });
  std::thread second([&] {
    for (int i = 0; i < 20; ++i) same_b &= torch::equal(nni::forward_with_layer(model, b, layer).activation, expected_b);
  });
  first.join();
  second.join();
  CHECK(same_a);
  CHECK(same_b);
}

TEST_CASE("describe_layers on a C++ ResNet-style model: shapes, call counts and reasons", "[layer]") {
  ResidualNet model(false);
  const auto layers = nni::describe_layers(model, torch::rand({2, 1, 6, 6}));
  REQUIRE(layers.size() == 5);
  CHECK(layers[0].name == "stem");
  CHECK(layers[0].reachable);
  CHECK(layers[0].output_shape == std::vector<int64_t>({2, 4, 6, 6}));
  CHECK(layers[1].name == "block");
  CHECK_FALSE(layers[1].reachable);
  CHECK_THAT(layers[1].reason, Contains("mark_layer"));
  CHECK(layers[1].type.find("ResidualBlockImpl") != std::string::npos);
  CHECK(layers[4].output_shape == std::vector<int64_t>({2, 3}));
  CHECK_THROWS_WITH(nni::describe_layers(model, torch::rand({0, 1, 6, 6})), Contains("empty batch"));
}
