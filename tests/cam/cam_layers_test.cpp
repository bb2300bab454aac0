// Layer access for the CAM methods (nested nn::Sequential, C++ ResNets with skip connections,
// TorchScript scripted and traced), checked against maps computed by hand on C++ twins, and the
// errors every CAM method gives.
#include <functional>
#include <string>
#include <vector>

#include "support/catch_torch.h"
#include <torch/script.h>
#include <torch/torch.h>

#include "nn_interpretability/model/layer.h"
#include "nn_interpretability/nn_interpretability.h"
#include "nn_interpretability/model/torchscript.h"
#include "support/all_close.h"
#include "support/model_snapshot.h"

#ifdef NNI_TEST_HAVE_RESNET18
#include "models/resnet.h"
#endif

// Last: restores Catch's CHECK over c10's.
#include "cam_support.h"

namespace nni = nn_interpretability;
using Catch::Matchers::Contains;
using nni_cam_test::gap_model;
using nni_test::AllClose;

namespace {

std::string fixture(const std::string& name) { return std::string(NNI_SOURCE_DIR) + "/tests/fixtures/" + name; }

// Grad-CAM computed in the test: `activation` is a tensor of the graph that produced `output`.
torch::Tensor grad_cam_by_hand(const torch::Tensor& output, const torch::Tensor& activation,
                               const torch::Tensor& labels, bool relu = true) {
  torch::Tensor scores = output.gather(1, labels.unsqueeze(1)).sum();
  torch::Tensor gradient = torch::autograd::grad({scores}, {activation}, {}, /*retain_graph=*/true)[0];
  torch::Tensor map = (gradient.mean({2, 3}, true) * activation.detach()).sum(1, true);
  return relu ? map.clamp_min(0) : map;
}

// Copies every parameter and buffer of a TorchScript module into the same-named tensor of `to`.
void copy_from_script(const torch::jit::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto parameters = to.named_parameters();
  for (const auto& item : from.named_parameters()) parameters[item.name].copy_(item.value);
  auto buffers = to.named_buffers();
  for (const auto& item : from.named_buffers())
    if (buffers.contains(item.name)) buffers[item.name].copy_(item.value);
}

// --- C++ twin of TinyVgg in tests/fixtures/export_torchscript_fixtures.py: a Sequential of two named
// Sequentials, so "features.4" is reached by running the containers child by child.
torch::nn::Sequential tiny_vgg_twin() {
  using namespace torch::nn;
  nni_cam_test::Stage features(Conv2d(Conv2dOptions(3, 8, 3).padding(1)), ReLU(), MaxPool2d(2),
                               Conv2d(Conv2dOptions(8, 16, 3).padding(1)), ReLU(), MaxPool2d(2));
  nni_cam_test::Stage classifier(Flatten(), Linear(16 * 4 * 4, 32), ReLU(), Linear(32, 4));
  Sequential model({{"features", features}, {"classifier", classifier}});
  model->eval();
  return model;
}

// --- C++ twin of TinyResNet: BasicBlocks with torchvision's names, a skip connection in each.
struct BlockImpl : torch::nn::Module {
  BlockImpl(int64_t in, int64_t out, int64_t stride) {
    using namespace torch::nn;
    conv1 = register_module("conv1", Conv2d(Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)));
    bn1 = register_module("bn1", BatchNorm2d(out));
    relu = register_module("relu", ReLU());
    conv2 = register_module("conv2", Conv2d(Conv2dOptions(out, out, 3).padding(1).bias(false)));
    bn2 = register_module("bn2", BatchNorm2d(out));
    if (stride != 1 || in != out)
      downsample = register_module(
          "downsample", Sequential(Conv2d(Conv2dOptions(in, out, 1).stride(stride).bias(false)), BatchNorm2d(out)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor identity = downsample ? downsample->forward(x) : x;
    return relu(bn2(conv2(relu(bn1(conv1(x))))) + identity);
  }
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::ReLU relu{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(Block);

struct TinyResNetImpl : torch::nn::Module {
  TinyResNetImpl() {
    using namespace torch::nn;
    conv1 = register_module("conv1", Conv2d(Conv2dOptions(3, 8, 3).padding(1).bias(false)));
    bn1 = register_module("bn1", BatchNorm2d(8));
    relu = register_module("relu", ReLU());
    layer1 = register_module("layer1", Sequential(Block(8, 8, 1), Block(8, 8, 1)));
    layer2 = register_module("layer2", Sequential(Block(8, 16, 2), Block(16, 16, 1)));
    avgpool = register_module("avgpool", AdaptiveAvgPool2d(1));
    fc = register_module("fc", Linear(16, 4));
  }
  torch::Tensor stem(const torch::Tensor& x) { return layer1->forward(relu(bn1(conv1(x)))); }
  torch::Tensor head(const torch::Tensor& x) { return fc(avgpool(x).flatten(1)); }
  torch::Tensor forward(const torch::Tensor& x) {
    // layer2 is a container in a hand-written forward: marked, so CAM methods can reach it.
    return head(nni::mark_layer("layer2", layer2->forward(stem(x))));
  }
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::ReLU relu{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr};
  torch::nn::AdaptiveAvgPool2d avgpool{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(TinyResNet);

// Parameter values and .grad state of a TorchScript module, to show it is unchanged.
struct ScriptSnapshot {
  std::vector<torch::Tensor> values;
  std::vector<bool> has_grad;
  static ScriptSnapshot of(const torch::jit::Module& module) {
    ScriptSnapshot s;
    for (const auto& p : module.parameters()) {
      s.values.push_back(p.detach().clone());
      s.has_grad.push_back(p.grad().defined());
    }
    for (const auto& b : module.buffers()) s.values.push_back(b.detach().clone());
    return s;
  }
  bool operator==(const ScriptSnapshot& other) const {
    if (values.size() != other.values.size() || has_grad != other.has_grad) return false;
    for (size_t i = 0; i < values.size(); ++i)
      if (!values[i].equal(other.values[i])) return false;
    return true;
  }
};

std::vector<std::shared_ptr<nni::Attribution>> all_methods(const nni::Model& model, const std::string& layer) {
  return {
      std::make_shared<nni::Cam>(model, nni::CamOptions(layer)),
      std::make_shared<nni::GradCam>(model, nni::GradCamOptions(layer)),
      std::make_shared<nni::GuidedGradCam>(model, nni::GuidedGradCamOptions(layer)),
      std::make_shared<nni::GradCamPlusPlus>(model, nni::GradCamPlusPlusOptions(layer)),
      std::make_shared<nni::ScoreCam>(model, nni::ScoreCamOptions(layer)),
      std::make_shared<nni::LayerCam>(model, nni::LayerCamOptions(layer)),
  };
}

}  // namespace

TEST_CASE("Grad-CAM reaches layers inside nested nn::Sequential containers", "[grad_cam][layers]") {
  torch::manual_seed(20);
  using namespace torch::nn;
  nni_cam_test::Stage inner(Conv2d(Conv2dOptions(2, 4, 3).padding(1)), ReLU());
  Sequential model(inner, AdaptiveAvgPool2d(1), Flatten(), Linear(4, 3));
  torch::Tensor input = torch::randn({2, 2, 5, 6});
  torch::Tensor labels = torch::tensor({1, 2}, torch::kLong);
  // "0.1" (the nested ReLU) and "0" (the nested container) both feed the pool: Grad-CAM = CAM / (h·w).
  torch::Tensor cam = nni::Cam(model, nni::CamOptions("0.1")).attribute(input, labels);
  for (const char* layer : {"0.1", "0"}) {
    INFO(layer);
    CHECK_THAT(nni::GradCam(model, nni::GradCamOptions(layer).relu(false)).attribute(input, labels),
               AllClose(cam / 30.0, 1e-5, 1e-6));
    CHECK_THAT(nni::Cam(model, nni::CamOptions(layer)).attribute(input, labels), AllClose(cam));
  }
  // "0.0", the convolution, by hand.
  torch::Tensor a = inner[0]->as<Conv2d>()->forward(input);
  torch::Tensor out = model[3]->as<Linear>()->forward(torch::relu(a).mean({2, 3}));
  CHECK_THAT(nni::GradCam(model, nni::GradCamOptions("0.0")).attribute(input, labels),
             AllClose(grad_cam_by_hand(out, a, labels), 1e-5, 1e-6));
}

TEST_CASE("Grad-CAM on TinyVgg TorchScript (scripted and traced) equals the map by hand on the C++ twin",
          "[grad_cam][torchscript][layers]") {
  torch::manual_seed(21);
  torch::Tensor input = torch::rand({2, 3, 16, 16});
  torch::Tensor labels = torch::tensor({3, 1}, torch::kLong);
  for (const char* file : {"tiny_vgg_scripted.pt", "tiny_vgg_traced.pt"}) {
    INFO(file);
    torch::jit::Module script = torch::jit::load(fixture(file));
    script.eval();
    torch::nn::Sequential twin = tiny_vgg_twin();
    copy_from_script(script, *twin);
    auto features = twin[0]->as<nni_cam_test::StageImpl>();
    auto classifier = twin[1]->as<nni_cam_test::StageImpl>();
    torch::Tensor features4, features_out, out;
    {
      torch::Tensor x = input;
      for (size_t i = 0; i < 5; ++i) x = features->begin()[i].forward(x);
      features4 = x;
      features_out = features->begin()[5].forward(x);
      out = features_out;
      for (auto& child : *classifier) out = child.forward(out);
    }
    torch::Tensor expected4 = grad_cam_by_hand(out, features4, labels);
    torch::Tensor expected_features = grad_cam_by_hand(out, features_out, labels);
    REQUIRE(expected4.sizes() == torch::IntArrayRef({2, 1, 8, 8}));
    REQUIRE(expected_features.sizes() == torch::IntArrayRef({2, 1, 4, 4}));
    CHECK(expected4.gt(0).any().item<bool>());

    auto before = ScriptSnapshot::of(script);
    nni::Model model(script);
    CHECK_THAT(nni::GradCam(model, nni::GradCamOptions("features.4")).attribute(input, labels),
               AllClose(expected4, 1e-4, 1e-6));
    CHECK_THAT(nni::GradCam(model, nni::GradCamOptions("features")).attribute(input, labels),
               AllClose(expected_features, 1e-4, 1e-6));
    // The C++ twin through the library gives the same.
    CHECK_THAT(nni::GradCam(twin, nni::GradCamOptions("features.4")).attribute(input, labels),
               AllClose(expected4, 1e-4, 1e-6));
    CHECK_THAT(nni::GradCam(twin, nni::GradCamOptions("features")).attribute(input, labels),
               AllClose(expected_features, 1e-4, 1e-6));
    // Every method agrees between TorchScript and the twin.
    for (const char* layer : {"features.4", "features"}) {
      auto on_script = all_methods(model, layer);
      auto on_twin = all_methods(twin, layer);
      for (size_t i = 1; i < on_script.size(); ++i) {  // CAM does not apply to a VGG
        INFO(on_script[i]->name() << " at " << layer);
        CHECK_THAT(on_script[i]->attribute(input, labels),
                   AllClose(on_twin[i]->attribute(input, labels), 1e-4, 1e-6));
      }
    }
    CHECK(before == ScriptSnapshot::of(script));
  }
}

TEST_CASE("Grad-CAM on TinyResNet TorchScript (scripted and traced) equals the map by hand on the C++ twin",
          "[grad_cam][cam][torchscript][layers]") {
  torch::manual_seed(22);
  torch::Tensor input = torch::rand({2, 3, 16, 16});
  torch::Tensor labels = torch::tensor({0, 2}, torch::kLong);
  for (const char* file : {"tiny_resnet_scripted.pt", "tiny_resnet_traced.pt"}) {
    INFO(file);
    torch::jit::Module script = torch::jit::load(fixture(file));
    script.eval();
    TinyResNet twin;
    twin->eval();
    copy_from_script(script, *twin);
    auto snapshot = nni_test::ModelSnapshot::of(*twin);

    // By hand: layer2's output, and conv2 of its second block (inside the skip connection).
    torch::Tensor stem = twin->stem(input);
    torch::Tensor block0 = twin->layer2[0]->as<BlockImpl>()->forward(stem);
    auto* block1 = twin->layer2[1]->as<BlockImpl>();
    torch::Tensor conv2 = block1->conv2(block1->relu(block1->bn1(block1->conv1(block0))));
    torch::Tensor layer2 = block1->relu(block1->bn2(conv2) + block0);
    torch::Tensor out = twin->head(layer2);
    torch::Tensor expected_layer2 = grad_cam_by_hand(out, layer2, labels, /*relu=*/false);
    out = twin->head(block1->relu(block1->bn2(conv2) + block0));
    torch::Tensor expected_conv2 = grad_cam_by_hand(out, conv2, labels);
    REQUIRE(expected_layer2.sizes() == torch::IntArrayRef({2, 1, 8, 8}));
    CHECK(expected_conv2.gt(0).any().item<bool>());

    auto before = ScriptSnapshot::of(script);
    nni::Model model(script);
    const std::vector<std::pair<std::string, nni::Model>> models{{"TorchScript", model}, {"C++ twin", twin}};
    for (const auto& item : models) {
      const nni::Model& on = item.second;
      INFO(item.first);
      CHECK_THAT(nni::GradCam(on, nni::GradCamOptions("layer2").relu(false)).attribute(input, labels),
                 AllClose(expected_layer2, 1e-4, 1e-6));
      CHECK_THAT(nni::GradCam(on, nni::GradCamOptions("layer2.1.conv2")).attribute(input, labels),
                 AllClose(expected_conv2, 1e-4, 1e-6));
      // layer2 feeds avgpool + fc: CAM finds fc and equals Grad-CAM (no ReLU) × h·w.
      CHECK_THAT(nni::Cam(on, nni::CamOptions("layer2")).attribute(input, labels),
                 AllClose(expected_layer2 * 64.0, 1e-4, 1e-5));
    }
    // The other methods agree between TorchScript and the twin at both layers.
    for (const char* layer : {"layer2", "layer2.1.conv2"}) {
      auto on_script = all_methods(model, layer);
      auto on_twin = all_methods(twin, layer);
      for (size_t i = 1; i < on_script.size(); ++i) {
        INFO(on_script[i]->name() << " at " << layer);
        CHECK_THAT(on_script[i]->attribute(input, labels),
                   AllClose(on_twin[i]->attribute(input, labels), 1e-4, 1e-6));
      }
    }
    CHECK(before == ScriptSnapshot::of(script));
    CHECK(snapshot.difference(nni_test::ModelSnapshot::of(*twin)).empty());
  }
}

#ifdef NNI_TEST_HAVE_RESNET18
TEST_CASE("Grad-CAM at layer4.1.conv2 of the C++ ResNet-18 equals the map by hand", "[grad_cam][layers]") {
  torch::manual_seed(23);
  nni_models::ResNet18 net(5);
  net->eval();
  torch::Tensor input = torch::rand({2, 3, 64, 64});
  torch::Tensor labels = torch::tensor({4, 1}, torch::kLong);
  torch::Tensor x = net->maxpool(net->relu(net->bn1(net->conv1(input))));
  x = net->layer3->forward(net->layer2->forward(net->layer1->forward(x)));
  x = net->layer4[0]->as<nni_models::BasicBlockImpl>()->forward(x);
  auto* block = net->layer4[1]->as<nni_models::BasicBlockImpl>();
  torch::Tensor conv2 = block->conv2(block->relu(block->bn1(block->conv1(x))));
  torch::Tensor layer4 = block->relu(block->bn2(conv2) + x);
  torch::Tensor out = net->fc(net->avgpool(layer4).flatten(1));
  torch::Tensor expected = grad_cam_by_hand(out, conv2, labels);  // retains the graph for layer4 below
  REQUIRE(expected.sizes() == torch::IntArrayRef({2, 1, 2, 2}));

  auto before = nni_test::ModelSnapshot::of(*net);
  CHECK_THAT(nni::GradCam(net, nni::GradCamOptions("layer4.1.conv2")).attribute(input, labels),
             AllClose(expected, 1e-4, 1e-6));
  CHECK(nni::GradCam(net, nni::GradCamOptions("layer4.1.conv2").upsample(nni::Upsample::kBilinear))
            .attribute(input, labels)
            .sizes() == torch::IntArrayRef({2, 1, 64, 64}));
  // 512 channels match fc's in_features, but bn2, the skip and the ReLU follow: CAM refuses.
  CHECK_THROWS_WITH(nni::Cam(net, nni::CamOptions("layer4.1.conv2")).attribute(input, labels),
                    Contains("the model does not end in global average pooling + one linear layer after "
                             "'layer4.1.conv2'"));
  // layer4 is a container inside a hand-written forward, reachable because models/resnet.h marks it
  // with mark_layer: Grad-CAM there is the hand computation on the block's output.
  CHECK_THAT(nni::GradCam(net, nni::GradCamOptions("layer4")).attribute(input, labels),
             AllClose(grad_cam_by_hand(out, layer4, labels), 1e-4, 1e-6));
  // layer4.1 (a BasicBlock) is not marked: the error says how to mark it.
  CHECK_THROWS_WITH(nni::GradCam(net, nni::GradCamOptions("layer4.1")).attribute(input, labels),
                    Contains("mark_layer"));
  CHECK(before.difference(nni_test::ModelSnapshot::of(*net)).empty());
}
#endif

TEST_CASE("An unknown layer gets an error listing the valid names, from every CAM method", "[errors]") {
  auto model = gap_model();
  torch::Tensor input = torch::randn({2, 2, 5, 5});
  auto before = nni_test::ModelSnapshot::of(*model);
  for (auto& method : all_methods(model, "nope")) {
    INFO(method->name());
    CHECK_THROWS_WITH(method->attribute(input, 0),
                      Contains("unknown layer 'nope'") && Contains("has these layers: 0, 1, 2, 3, 4"));
    CHECK_THROWS_AS(method->attribute(input, 0), c10::ValueError);
  }
  torch::jit::Module script = torch::jit::load(fixture("tiny_resnet_scripted.pt"));
  for (auto& method : all_methods(script, "layer9")) {
    INFO(method->name());
    CHECK_THROWS_WITH(method->attribute(torch::rand({1, 3, 16, 16}), 0),
                      Contains("unknown layer 'layer9'") && Contains("layer2.1.conv2"));
  }
  CHECK(before.difference(nni_test::ModelSnapshot::of(*model)).empty());
}

TEST_CASE("A layer whose output is not 4-D is refused by every CAM method", "[errors]") {
  auto model = gap_model();
  torch::Tensor input = torch::randn({2, 2, 5, 5});
  auto before = nni_test::ModelSnapshot::of(*model);
  for (auto& method : all_methods(model, "4")) {
    INFO(method->name());
    CHECK_THROWS_WITH(method->attribute(input, 0),
                      Contains("layer '4' outputs shape [2, 3]; CAM methods need a 4-D [N, C, h, w] activation"));
  }
  torch::jit::Module script = torch::jit::load(fixture("tiny_vgg_traced.pt"));
  for (auto& method : all_methods(script, "classifier.1")) {
    INFO(method->name());
    CHECK_THROWS_WITH(method->attribute(torch::rand({2, 3, 16, 16}), 0),
                      Contains("layer 'classifier.1' outputs shape [2, 32]"));
  }
  CHECK(before.difference(nni_test::ModelSnapshot::of(*model)).empty());
}

TEST_CASE("Out-of-range targets are refused by every CAM method", "[errors]") {
  auto model = gap_model();
  torch::Tensor input = torch::randn({2, 2, 5, 5});
  auto before = nni_test::ModelSnapshot::of(*model);
  for (auto& method : all_methods(model, "1")) {
    INFO(method->name());
    CHECK_THROWS_WITH(method->attribute(input, 7), Contains("target class 7 is out of range: the model has 3 classes"));
    CHECK_THROWS_AS(method->attribute(input, 7), c10::IndexError);
    CHECK_THROWS_WITH(method->attribute(input, -1), Contains("target class -1 is out of range"));
    CHECK_THROWS_WITH(method->attribute(input, torch::tensor({0, 3})), Contains("target class 3 is out of range"));
    CHECK_THROWS_WITH(method->attribute(input, torch::tensor({0, 1, 2})),
                      Contains("got 3 class indices for a batch of 2"));
  }
  CHECK(before.difference(nni_test::ModelSnapshot::of(*model)).empty());
}

TEST_CASE("Bad inputs are refused by every CAM method with the input checks' messages", "[errors]") {
  auto model = gap_model();
  auto before = nni_test::ModelSnapshot::of(*model);
  for (auto& method : all_methods(model, "1")) {
    INFO(method->name());
    CHECK_THROWS_WITH(method->attribute(torch::randn({2, 2, 5, 5}, torch::kDouble), 0),
                      Contains("differs from the model's parameter dtype Float"));
    CHECK_THROWS_WITH(method->attribute(torch::randn({0, 2, 5, 5}), 0), Contains("empty batch"));
    CHECK_THROWS_WITH(method->attribute(torch::full({1, 2, 5, 5}, NAN), 0), Contains("NaN"));
    CHECK_THROWS_WITH(method->attribute(torch::randn({2, 3, 5, 5}), 0), Contains("failed on an input of shape"));
  }
  CHECK(before.difference(nni_test::ModelSnapshot::of(*model)).empty());
}

TEST_CASE("CAM refuses models that do not end in global average pooling + one linear layer", "[cam][errors]") {
  torch::manual_seed(24);
  using namespace torch::nn;
  torch::Tensor input = torch::randn({2, 2, 5, 5});
  const std::string message = "the model does not end in global average pooling + one linear layer after '1'";
  SECTION("two linear layers after the pool") {
    Sequential model(Conv2d(Conv2dOptions(2, 4, 3).padding(1)), ReLU(), AdaptiveAvgPool2d(1), Flatten(),
                     Linear(4, 4), ReLU(), Linear(4, 3));
    auto before = nni_test::ModelSnapshot::of(*model);
    CHECK_THROWS_WITH(nni::Cam(model, nni::CamOptions("1")).attribute(input, 0),
                      Contains(message) && Contains("differs from GAP(activation)"));
    CHECK(before.difference(nni_test::ModelSnapshot::of(*model)).empty());
  }
  SECTION("max pooling instead of average pooling") {
    Sequential model(Conv2d(Conv2dOptions(2, 4, 3).padding(1)), ReLU(), AdaptiveMaxPool2d(1), Flatten(),
                     Linear(4, 3));
    CHECK_THROWS_WITH(nni::Cam(model, nni::CamOptions("1")).attribute(input, 0), Contains(message));
  }
  SECTION("a channel count that differs from the classifier's in_features") {
    Sequential model(Conv2d(Conv2dOptions(2, 4, 3).padding(1)), ReLU(), Flatten(), Linear(100, 3));
    CHECK_THROWS_WITH(nni::Cam(model, nni::CamOptions("1")).attribute(input, 0),
                      Contains("layer '1' has 4 channels but the classifier '3' takes 100 features; " + message));
  }
  SECTION("TorchScript VGG: the classifier does not take the layer's channels") {
    torch::jit::Module script = torch::jit::load(fixture("tiny_vgg_scripted.pt"));
    CHECK_THROWS_WITH(nni::Cam(script, nni::CamOptions("features.4")).attribute(torch::rand({2, 3, 16, 16}), 0),
                      Contains("layer 'features.4' has 16 channels but the classifier 'classifier.3' takes 32 "
                               "features; the model does not end in global average pooling + one linear layer "
                               "after 'features.4'"));
  }
  SECTION("explicit weights of the wrong shape") {
    auto model = gap_model();
    CHECK_THROWS_WITH(
        nni::Cam(model, nni::CamOptions("1").weights(torch::rand({3, 5}))).attribute(input, 0),
        Contains("has 4 channels but the classifier 'CamOptions::weights' takes 5 features"));
    CHECK_THROWS_WITH(nni::Cam(model, nni::CamOptions("1").weights(torch::rand({2, 4}))).attribute(input, 0),
                      Contains("has 2 rows but the model has 3 classes"));
  }
  SECTION("a score-function target") {
    auto model = gap_model();
    CHECK_THROWS_WITH(nni::Cam(model, nni::CamOptions("1"))
                          .attribute(input, nni::Target([](const torch::Tensor& out) { return out.sum(1); })),
                      Contains("CAM needs class indices"));
  }
}

TEST_CASE("Option errors: Guided Grad-CAM without upsampling, Score-CAM with batch size 0", "[errors]") {
  auto model = gap_model();
  CHECK_THROWS_WITH(nni::GuidedGradCam(model, nni::GuidedGradCamOptions("1").upsample(nni::Upsample::kNone)),
                    Contains("Upsample::kNone is not allowed"));
  CHECK_THROWS_WITH(nni::ScoreCam(model, nni::ScoreCamOptions("1").rows_per_call(-2)).attribute(torch::rand({1, 2, 5, 5})),
                    Contains("ScoreCam: rows_per_call must be >= 0 or kAutomaticRowsPerCall"));
}

TEST_CASE("A layer the score does not depend on is reported", "[errors]") {
  // "2" is computed from the input but never used by the output.
  struct UnusedImpl : torch::nn::Module {
    UnusedImpl() {
      conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 4, 3).padding(1)));
      side = register_module("side", torch::nn::Conv2d(2, 3, 1));
      fc = register_module("fc", torch::nn::Linear(4, 3));
    }
    torch::Tensor forward(const torch::Tensor& x) {
      side(x);
      return fc(torch::relu(conv(x)).mean({2, 3}));
    }
    torch::nn::Conv2d conv{nullptr}, side{nullptr};
    torch::nn::Linear fc{nullptr};
  };
  auto model = std::make_shared<UnusedImpl>();
  CHECK_THROWS_WITH(nni::GradCam(model, nni::GradCamOptions("side")).attribute(torch::rand({1, 2, 5, 5}), 0),
                    Contains("do not depend on the output of layer 'side'"));
}

TEST_CASE("Guided Grad-CAM refuses a model whose layer is cut off from the input, not return zeros", "[errors]") {
  // The input is detached before the layer: Grad-CAM's layer gradient exists (the head has
  // parameters) but guided backprop's input gradient does not.
  torch::manual_seed(70);
  auto body = gap_model();
  nni::Model model(body.ptr(), [body](const torch::Tensor& x) mutable { return body->forward(x.detach()); });
  CHECK_THROWS_WITH(nni::GuidedGradCam(model, nni::GuidedGradCamOptions("0")).attribute(torch::rand({2, 2, 4, 4}), 0),
                    Contains("GuidedGradCam") && Contains("do not depend on the input through autograd"));
}
