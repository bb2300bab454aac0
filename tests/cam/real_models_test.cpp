// torchvision's own architectures (ResNet with Bottleneck, DenseNet, MobileNetV3, EfficientNet,
// ConvNeXt, VGG; built small), scripted and traced, against reference outputs computed in Python by
// tests/fixtures/real_models/export_real_models.py (Captum's hook semantics: the layer's own output
// at its last call, protected from later in-place operations). Every layer method at the
// conventional CAM layer, a reused module and layers followed by in-place operations.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/catch_torch.h"
#include <torch/script.h>
#include <torch/torch.h>

#include "nn_interpretability/cam/grad_cam.h"
#include "nn_interpretability/cam/grad_cam_plus_plus.h"
#include "nn_interpretability/gradient/deconvolution.h"
#include "nn_interpretability/gradient/gradient_shap.h"
#include "nn_interpretability/gradient/guided_backprop.h"
#include "nn_interpretability/gradient/input_x_gradient.h"
#include "nn_interpretability/relevance/deep_lift.h"
#include "nn_interpretability/relevance/lrp.h"
#include "nn_interpretability/gradient/integrated_gradients.h"
#include "nn_interpretability/model/layer.h"
#include "nn_interpretability/cam/layer_cam.h"
#include "nn_interpretability/io/npy.h"
#include "nn_interpretability/model/torchscript.h"

// Last: restores Catch's CHECK over c10's.
#include "cam_support.h"

namespace nni = nn_interpretability;
using Catch::Matchers::Contains;

namespace {

const std::string kDir = std::string(NNI_SOURCE_DIR) + "/tests/fixtures/real_models/";

struct ManifestLayer {
  std::string family, kind, layer;
  int64_t calls = 0;
};

std::vector<ManifestLayer> manifest() {
  std::ifstream in(kDir + "manifest.txt");
  REQUIRE(in.good());
  std::vector<ManifestLayer> layers;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    ManifestLayer entry;
    fields >> entry.family >> entry.kind >> entry.layer >> entry.calls;
    layers.push_back(entry);
  }
  return layers;
}

std::vector<std::string> families() {
  std::vector<std::string> names;
  for (const auto& entry : manifest())
    if (std::find(names.begin(), names.end(), entry.family) == names.end()) names.push_back(entry.family);
  return names;
}

// max |actual − expected| / max |expected|.
double relative_error(const torch::Tensor& actual, const torch::Tensor& expected) {
  const double scale = expected.abs().max().item<double>();
  return (actual.to(torch::kDouble) - expected).abs().max().item<double>() / (scale > 0 ? scale : 1.0);
}

torch::Tensor reference(const std::string& name) { return nni::read_npy(kDir + name + ".npy"); }

// Parameters, buffers, requires_grad and the train flag of a TorchScript module, for "unchanged".
std::string jit_state(const torch::jit::Module& module) {
  std::ostringstream state;
  for (const auto& item : module.named_parameters())
    state << item.name << ' ' << item.value.sum().item<double>() << ' ' << item.value.requires_grad() << ' '
          << item.value.grad().defined() << '\n';
  for (const auto& item : module.named_buffers()) state << item.name << ' ' << item.value.sum().item<double>() << '\n';
  for (const auto& item : module.named_modules()) state << item.name << ' ' << item.value.is_training() << '\n';
  return state.str();
}

}  // namespace

TEST_CASE("Every layer method on torchvision architectures, scripted and traced, equals the Python reference",
          "[real_models][layers]") {
  const auto layers = manifest();
  REQUIRE(families().size() >= 6);
  for (const std::string variant : {"scripted", "traced"}) {
    for (const std::string& family : families()) {
      torch::jit::Module module = torch::jit::load(kDir + family + "_" + variant + ".pt");
      module.eval();
      const std::string before = jit_state(module);
      const torch::Tensor input = reference(family + "_input");
      const torch::Tensor target = reference(family + "_target");
      nni::Model model(module);
      for (const ManifestLayer& entry : layers) {
        if (entry.family != family) continue;
        INFO(family << " " << variant << " layer " << entry.layer << " (" << entry.kind << ")");
        const std::string prefix = family + "__" + entry.layer + "__";
        if (variant == "traced" && entry.layer == "features.1.0.stochastic_depth") {
          // Traced, this identity-in-eval module left no trace (its call takes and returns nothing).
          CHECK_THROWS_WITH(nni::GradCam(model, entry.layer).attribute(input, target),
                            Contains("tracing recorded nothing") && Contains("torch.jit.script"));
          continue;
        }
        CHECK(relative_error(nni::GradCam(model, entry.layer).attribute(input, target),
                             reference(prefix + "grad_cam")) <= 1e-4);
        CHECK(relative_error(nni::GradCamPlusPlus(model, entry.layer).attribute(input, target),
                             reference(prefix + "grad_cam_plus_plus")) <= 1e-4);
        CHECK(relative_error(nni::LayerCam(model, entry.layer).attribute(input, target),
                             reference(prefix + "layer_cam")) <= 1e-4);
        // The capture reports how often the module ran.
        const nni::LayersForward forward =
            nni::forward_with_layers(model, input, {nni::LayerRequest(entry.layer).call(nni::LayerCall::all())});
        CHECK(forward.layers.front().calls == entry.calls);
      }
      INFO(family << " " << variant);
      CHECK(relative_error(nni::GuidedBackprop(model).attribute(input, target), reference(family + "__guided_backprop")) <=
            1e-4);
      CHECK(relative_error(nni::IntegratedGradients(model, {}).attribute(input, target),
                           reference(family + "__integrated_gradients")) <= 1e-4);
      CHECK(jit_state(module) == before);
    }
  }
}

TEST_CASE("describe_layers reaches every module of the scripted and traced torchvision models in one forward",
          "[real_models][layers]") {
  for (const std::string variant : {"scripted", "traced"}) {
    for (const std::string& family : families()) {
      INFO(family << " " << variant);
      torch::jit::Module module = torch::jit::load(kDir + family + "_" + variant + ".pt");
      module.eval();
      const torch::Tensor input = reference(family + "_input");
      const auto descriptions = nni::describe_layers(module, input);
      REQUIRE(descriptions.size() == nni::layer_names(module).size());
      std::string unreachable;
      for (const auto& layer : descriptions) {
        CHECK(!layer.type.empty());
        // Tracing records nothing of a module that returned its input unchanged (StochasticDepth
        // in eval mode): the one kind of module a traced graph loses, said so in the reason.
        if (!layer.reachable && layer.reason.find("tracing recorded nothing") != std::string::npos) {
          CHECK(variant == "traced");
          continue;
        }
        // Tracing keeps only the calls that ran: an MBConv without residual never calls its
        // StochasticDepth (a scripted model has the call, in a branch not taken: "did not run").
        const bool traced_stochastic_depth =
            variant == "traced" && layer.name.size() > 17 &&
            layer.name.compare(layer.name.size() - 17, 17, ".stochastic_depth") == 0;
        if (!layer.reachable && traced_stochastic_depth && layer.reason.find("never calls it") != std::string::npos)
          continue;
        if (!layer.reachable) unreachable += layer.name + " (" + layer.reason + "); ";
        // A call inside a branch not taken for this input (an MBConv without residual) runs 0 times.
        if (layer.calls == 0) {
          INFO(layer.name << ": " << layer.reason);
          CHECK(layer.reason.find("did not run") != std::string::npos);
          continue;
        }
        REQUIRE(layer.output_shape.size() >= 2);
        CHECK(layer.output_shape[0] == 2);
      }
      CHECK(unreachable == "");
      for (const ManifestLayer& entry : manifest()) {
        if (entry.family != family) continue;
        auto found = std::find_if(descriptions.begin(), descriptions.end(),
                                  [&](const nni::LayerDescription& d) { return d.name == entry.layer; });
        REQUIRE(found != descriptions.end());
        if (variant == "traced" && entry.layer == "features.1.0.stochastic_depth") continue;  // see above
        CHECK(found->calls == entry.calls);
      }
    }
  }
}

TEST_CASE("A reused module: every call, the first, an index and the last are selectable; out of range is refused",
          "[real_models][layers]") {
  for (const std::string variant : {"scripted", "traced"}) {
    INFO(variant);
    torch::jit::Module module = torch::jit::load(kDir + "resnet_" + variant + ".pt");
    module.eval();
    nni::Model model(module);
    const torch::Tensor input = reference("resnet_input");
    const auto all = nni::forward_with_layers(model, input, {nni::LayerRequest("layer4.0.relu").call(nni::LayerCall::all())});
    const auto& calls = all.layers.front();
    REQUIRE(calls.calls == 3);
    REQUIRE(calls.values.size() == 3);
    // The third call is the block's output: ReLU(bn3 + identity); the first follows bn1.
    const auto block = nni::forward_with_layer(model, input, "layer4.0").activation;
    CHECK(torch::equal(calls.values[2], block));
    const auto bn1 = nni::forward_with_layer(model, input, "layer4.0.bn1").activation;
    CHECK(torch::equal(calls.values[0], bn1.clamp_min(0)));
    CHECK(torch::equal(nni::forward_with_layer(model, input, "layer4.0.relu@first").activation, calls.values[0]));
    CHECK(torch::equal(nni::forward_with_layer(model, input, "layer4.0.relu@1").activation, calls.values[1]));
    CHECK(torch::equal(nni::forward_with_layer(model, input, "layer4.0.relu@-2").activation, calls.values[1]));
    CHECK(torch::equal(nni::forward_with_layer(model, input, "layer4.0.relu").activation, calls.values[2]));
    CHECK_THROWS_WITH(nni::forward_with_layer(model, input, "layer4.0.relu@3"),
                      Contains("ran 3 times") && Contains("@3 does not exist"));
    CHECK_THROWS_WITH(nni::forward_with_layer(model, input, "layer4.0.relu@all"), Contains("choose one call"));
    CHECK_THROWS_WITH(nni::forward_with_layer(model, input, "layer4.0.relu@second"), Contains("first, last, all"));
    // The CAM methods take the selection in the layer name; the first call (after bn1) comes before
    // the block's stride-2 convolution.
    CHECK(nni::GradCam(model, "layer4.0.relu@first").attribute(input, 1).sizes() == torch::IntArrayRef({2, 1, 4, 4}));
  }
}

TEST_CASE("The captured output is the layer's own, not what a later in-place operation made of it",
          "[real_models][layers]") {
  // DenseNet applies F.relu(inplace=True) to norm5's output; ResNet's bn3 output gets += identity.
  for (const std::string variant : {"scripted", "traced"}) {
    INFO(variant);
    torch::jit::Module module = torch::jit::load(kDir + "densenet_" + variant + ".pt");
    module.eval();
    const torch::Tensor input = reference("densenet_input");
    const auto norm5 = nni::forward_with_layer(module, input, "features.norm5").activation;
    CHECK(norm5.min().item<double>() < 0);  // not the ReLU's result
    torch::jit::Module resnet = torch::jit::load(kDir + "resnet_" + variant + ".pt");
    resnet.eval();
    const auto captured = nni::forward_with_layers(resnet, reference("resnet_input"),
                                                   {nni::LayerRequest("layer4.0.bn3"), nni::LayerRequest("layer4.0")});
    // bn3 + identity, then ReLU, is the block's output: the captured bn3 must still differ from it.
    CHECK(!torch::equal(captured.layers[0].value().clamp_min(0), captured.layers[1].value()));
  }
}

TEST_CASE("Several layers in one forward pass, and a layer's output replaced", "[real_models][layers]") {
  for (const std::string variant : {"scripted", "traced"}) {
    INFO(variant);
    torch::jit::Module module = torch::jit::load(kDir + "vgg_" + variant + ".pt");
    module.eval();
    nni::Model model(module);
    const torch::Tensor input = reference("vgg_input");
    const auto plain = model.forward(input);
    const auto both = nni::forward_with_layers(model, input, {"features.4", "features.10"});
    // Both the plain graph here (a no-grad model.forward would run the inference copy: rounding only).
    CHECK(torch::allclose(both.output, plain, 1e-12, 1e-14));
    CHECK(torch::equal(both.output, nni::Model(module, nni::TorchScriptOptions().optimize(false)).forward(input)));
    CHECK(torch::equal(both.layers[0].value(), nni::forward_with_layer(model, input, "features.4").activation));
    CHECK(torch::equal(both.layers[1].value(), nni::forward_with_layer(model, input, "features.10").activation));
    // Zeroing the last feature map leaves only the classifier's biases: the output is the same for
    // both rows, and the captured value is still the layer's own output.
    const auto zeroed = nni::forward_with_layers(
        model, input, {nni::LayerRequest("features.10").replace_with(torch::zeros({1}, torch::kDouble))});
    CHECK(torch::allclose(zeroed.output[0], zeroed.output[1]));
    CHECK(torch::equal(zeroed.layers[0].value(), both.layers[1].value()));
    // Replacing a layer by its own value (as a function of it) gives the plain output back.
    const auto identity = nni::forward_with_layers(
        model, input, {nni::LayerRequest("features.4").replace([](const torch::Tensor& x) { return x * 1.0; })});
    CHECK(torch::allclose(identity.output, plain, 1e-12, 1e-12));
    // Scaling the last feature map by 2 changes the output.
    const auto doubled = nni::forward_with_layers(
        model, input, {nni::LayerRequest("features.10").replace([](const torch::Tensor& x) { return 2 * x; })});
    CHECK(!torch::allclose(doubled.output, plain));
  }
  // The reused module's last call replaced (the calls are counted first), in the traced ResNet.
  torch::jit::Module resnet = torch::jit::load(kDir + "resnet_traced.pt");
  resnet.eval();
  const torch::Tensor input = reference("resnet_input");
  const auto replaced = nni::forward_with_layers(
      resnet, input, {nni::LayerRequest("layer4.0.relu").replace_with(torch::zeros({1}, torch::kDouble)),
                      nni::LayerRequest("layer4").call(nni::LayerCall::all())});
  CHECK(replaced.layers[1].value().abs().max().item<double>() == 0.0);  // layer4 = its one block's output
}

TEST_CASE("The relevance family and GradientSHAP on torchvision architectures, scripted and traced",
          "[real_models][relevance]") {
  for (const std::string& family : families()) {
    const torch::Tensor input = reference(family + "_input");
    const torch::Tensor target = reference(family + "_target");
    torch::Tensor scripted_relevance;
    for (const std::string variant : {"scripted", "traced"}) {
      INFO(family << " " << variant);
      torch::jit::Module module = torch::jit::load(kDir + family + "_" + variant + ".pt");
      module.eval();
      const std::string before = jit_state(module);
      nni::Model model(module);
      // Guided backprop as a composite of the relevance pass: equal to the Python reference.
      const torch::Tensor guided =
          nni::Lrp(model, nni::LrpOptions().composite(nni::Composite::guided_backprop())).attribute(input, target);
      CHECK(relative_error(guided, reference(family + "__guided_backprop")) <= 1e-4);
      CHECK(relative_error(nni::Lrp(model, nni::LrpOptions().composite(nni::Composite::deconvnet())).attribute(input, target),
                           nni::Deconvolution(model).attribute(input, target).to(torch::kDouble)) <= 1e-4);

      // Every node of the ReLU, BatchNorm, pooling and residual networks has a rule; the nodes without
      // one are named elsewhere (LayerNorm in ConvNeXt, squeeze-and-excitation gates in EfficientNet
      // and MobileNetV3). Biases and units with no positive input absorb relevance here, so the
      // delta is not zero (conservation is tested on nets built for it, tests/relevance/).
      const nni::LrpResult lrp =
          nni::Lrp(model, nni::LrpOptions().composite(nni::Composite::epsilon_plus())).attribute_with_delta(input, target);
      CHECK(lrp.attributions.sizes() == input.sizes());
      CHECK(lrp.attributions.isfinite().all().item<bool>());
      CHECK(lrp.delta.isfinite().all().item<bool>());
      const bool relu_network = family == "resnet" || family == "vgg" || family == "densenet";
      CHECK(lrp.gradient_nodes.empty() == relu_network);
      const torch::Tensor relevance = nni::Lrp(model).attribute(input, target);
      if (variant == std::string("scripted")) scripted_relevance = relevance;
      else CHECK(relative_error(relevance, scripted_relevance.to(torch::kDouble)) <= 1e-4);

      // DeepLIFT sums to f(x) − f(x₀) where every nonlinearity is a ReLU or max pooling.
      if (relu_network) {
        const double score_scale = lrp.scores.abs().max().item<double>();
        const nni::DeepLiftResult deep_lift = nni::DeepLift(model).attribute_with_delta(input, target);
        CHECK(deep_lift.delta.abs().max().item<double>() <= 1e-4 * score_scale);
      }

      // GradientSHAP with a zero baseline and α = ½ is 2 · input×gradient at x/2, exactly.
      const torch::Tensor half = torch::full({input.size(0), 1}, 0.5, torch::kDouble);
      const torch::Tensor shap =
          nni::GradientShap(model, nni::GradientShapOptions().samples(1).alphas(half)).attribute(input, target);
      CHECK(relative_error(shap, 2.0 * nni::InputXGradient(model).attribute(input * 0.5, target).to(torch::kDouble)) <=
            1e-5);
      CHECK(jit_state(module) == before);
    }
  }
}
