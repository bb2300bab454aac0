// Targets beyond "one class of a classifier": segmentation, detection, regression, dict/tuple
// outputs, several targets per call, several inputs. References: tests/fixtures/targets/
// (export_target_fixtures.py: pytorch-grad-cam's SemanticSegmentationTarget and
// FasterRCNNBoxScoreTarget, torch autograd).
#include "support/catch_torch.h"
#include <torch/torch.h>

#include <torch/script.h>

#include "nn_interpretability/io/npy.h"
#include "nn_interpretability/model/torchscript.h"
#include "nn_interpretability/nn_interpretability.h"
#include "support/all_close.h"
#include "support/tiny_models.h"

namespace nni = nn_interpretability;
using nni_test::AllClose;

namespace {

std::string fixture(const std::string& name) {
  return std::string(NNI_SOURCE_DIR) + "/tests/fixtures/targets/" + name;
}
torch::Tensor load(const std::string& name) { return nni::read_npy(fixture(name)); }
torch::jit::Module script(const std::string& name) { return torch::jit::load(fixture(name)); }

// Relative closeness for references computed in float64 by the fixture script.
double relative_difference(const torch::Tensor& actual, const torch::Tensor& expected) {
  return (actual.to(torch::kDouble) - expected).abs().max().item<double>() /
         std::max(1e-300, expected.abs().max().item<double>());
}

// A segmentation-shaped forward: [N, 2, 4, 4] where class 1 wins only on the left half of example 0.
nni::Model constant_segmentation() {
  return nni::Model([](const torch::Tensor& x) {
    torch::Tensor out = torch::zeros({x.size(0), 2, 4, 4}, x.options());
    out = out + x.sum({1, 2, 3}).view({-1, 1, 1, 1}) * 1e-3;
    torch::Tensor bump = torch::zeros({x.size(0), 2, 4, 4}, x.options());
    bump.index_put_({0, 1, torch::indexing::Slice(), torch::indexing::Slice(0, 2)}, 1.0);
    return out + bump;
  });
}

}  // namespace

TEST_CASE("Segmentation targets on torchvision's FCN (dict output) match pytorch-grad-cam's", "[targets]") {
  const torch::jit::Module module = script("fcn_scripted.pt");
  const torch::Tensor input = load("input.npy");
  const torch::Tensor mask = load("fcn_mask.npy");
  SECTION("without choosing the entry, the error names the dict's keys") {
    nni::VanillaGradient method{nni::Model(module)};
    CHECK_THROWS_WITH(method.attribute(input, nni::Target::segmentation(2, mask)),
                      Catch::Contains("a dict with keys out") && Catch::Contains("TorchScriptOptions().output"));
  }
  const nni::Model model(module, nni::TorchScriptOptions().output("out"));
  nni::VanillaGradient method(model);
  CHECK(relative_difference(method.attribute(input, nni::Target::segmentation(2, mask)),
                            load("fcn_gradient_class2_mask.npy")) < 1e-9);
  CHECK(relative_difference(method.attribute(input, nni::Target::predicted_pixels(1)),
                            load("fcn_gradient_class1_predicted.npy")) < 1e-9);
  // A mask shared by all examples ([1, H, W]) is the per-example one repeated.
  const torch::Tensor shared = mask.slice(0, 0, 1);
  CHECK_THAT(method.attribute(input, nni::Target::segmentation(2, shared)),
             AllClose(method.attribute(input, nni::Target::segmentation(2, shared.expand({2, 32, 32}).clone())), 1e-12,
                      1e-14));
  // Grad-CAM at a backbone layer, raw.
  nni::GradCam cam(model, nni::GradCamOptions("backbone.conv2"));
  CHECK(relative_difference(cam.attribute(input, nni::Target::segmentation(2, mask)),
                            load("fcn_grad_cam_class2_mask.npy")) < 1e-9);
  // Score-CAM and integrated gradients take the same target (resolved once, then per masked row).
  const torch::Tensor score = nni::ScoreCam(model, nni::ScoreCamOptions("backbone.conv2"))
                                  .attribute(input, nni::Target::predicted_pixels(1));
  CHECK(score.sizes() == torch::IntArrayRef({2, 1, 16, 16}));
  CHECK(torch::isfinite(score).all().item<bool>());
  const auto integrated = nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().steps(16))
                              .attribute_with_delta(input, nni::Target::segmentation(2, mask));
  CHECK(integrated.convergence_delta.abs().max().item<double>() < 1e-2 * integrated.attributions.abs().sum().item<double>());
  SECTION("a class index alone is refused, with what to use instead") {
    CHECK_THROWS_WITH(method.attribute(input, 2), Catch::Contains("needs a model output [N, classes]") &&
                                                      Catch::Contains("Target::segmentation"));
    CHECK_THROWS_WITH(method.attribute(input), Catch::Contains("predicted class"));
  }
  SECTION("bad masks and classes are refused") {
    CHECK_THROWS_WITH(method.attribute(input, nni::Target::segmentation(2, mask.slice(1, 0, 16))),
                      Catch::Contains("mask has shape [2, 16, 32]"));
    CHECK_THROWS_WITH(method.attribute(input, nni::Target::segmentation(7, mask)), Catch::Contains("out of range"));
    CHECK_THROWS_WITH(nni::Target::segmentation(1, torch::zeros({2, 32, 32})), Catch::Contains("selects no pixel"));
    CHECK_THROWS_WITH(nni::Target::segmentation(1, torch::ones({32})), Catch::Contains("batch dimension first"));
    // [H, W] reads as [N, W]: refused against the output, saying what the mask must be.
    CHECK_THROWS_WITH(method.attribute(input, nni::Target::segmentation(1, torch::ones({32, 32}))),
                      Catch::Contains("it must be [2, 32, 32] or [1, 32, 32]"));
  }
}

TEST_CASE("Predicted pixels: an example with no pixel of the class is refused", "[targets]") {
  const nni::Model model = constant_segmentation();
  const torch::Tensor input = torch::rand({2, 1, 4, 4});
  nni::VanillaGradient method(model);
  CHECK_THROWS_WITH(method.attribute(input, nni::Target::predicted_pixels(1)),
                    Catch::Contains("no pixel is predicted as class 1 in example 1"));
  const torch::Tensor one = method.attribute(input.slice(0, 0, 1), nni::Target::predicted_pixels(1));
  // score = 8 pixels of class 1 x (1e-3 * sum(x) + const): gradient 8e-3 everywhere.
  CHECK_THAT(one, AllClose(torch::full_like(one, 8e-3), 1e-5, 1e-9));
}

TEST_CASE("A box target on a detector's joined dict output matches pytorch-grad-cam's box score", "[targets]") {
  const torch::jit::Module module = script("detector_scripted.pt");
  const torch::Tensor input = load("input.npy");
  const torch::Tensor boxes = load("detector_boxes.npy");
  const torch::Tensor labels = load("detector_labels.npy");
  const nni::Model model(module, nni::TorchScriptOptions().output("boxes+scores"));
  nni::VanillaGradient method(model);
  CHECK(relative_difference(method.attribute(input, nni::Target::box(boxes, labels)), load("detector_gradient.npy")) <
        1e-9);
  // Grad-CAM on the features, and several boxes' classes at once.
  nni::GradCam cam(model, nni::GradCamOptions("features.7"));
  const torch::Tensor map = cam.attribute(input, nni::Target::box(boxes, labels));
  CHECK(map.sizes() == torch::IntArrayRef({2, 1, 8, 8}));  // features.7: the last ReLU, before the pool
  SECTION("errors") {
    CHECK_THROWS_WITH(method.attribute(input, nni::Target::box(torch::tensor({100.0, 100.0, 110.0, 110.0},
                                                                             torch::kDouble), 0)),
                      Catch::Contains("no predicted box reaches IoU 0.5"));
    CHECK_THROWS_WITH(method.attribute(input, nni::Target::box(boxes, 9)), Catch::Contains("out of range"));
    CHECK_THROWS_WITH(nni::Model(module, nni::TorchScriptOptions().output("boxes+nope")).forward(input),
                      Catch::Contains("no entry 'nope'"));
    CHECK_THROWS_WITH(nni::VanillaGradient(nni::Model(module, nni::TorchScriptOptions().output("scores")))
                          .attribute(input, nni::Target::box(boxes, labels)),
                      Catch::Contains("[N, boxes, 4 + classes]"));
  }
}

TEST_CASE("Tuple outputs are chosen by index", "[targets]") {
  const torch::jit::Module module = torch::jit::load(std::string(NNI_SOURCE_DIR) + "/tests/fixtures/tuple_output_scripted.pt");
  const nni::Model model(module, nni::TorchScriptOptions().output("0"));
  const torch::Tensor input = torch::rand({3, 1, 8, 8});
  const torch::Tensor gradient = nni::VanillaGradient(model).attribute(input, 1);
  // forward: fc(x.flatten(1)): the gradient is the class's weight row.
  const torch::Tensor weight = module.attr("fc").toModule().attr("weight").toTensor().detach();
  CHECK_THAT(gradient.flatten(1), AllClose(weight[1].expand({3, 64}), 1e-6, 1e-7));
  CHECK_THROWS_WITH(nni::Model(module, nni::TorchScriptOptions().output("2")).forward(input),
                    Catch::Contains("output index 2 is out of range"));
  CHECK_THROWS_WITH(nni::Model(module, nni::TorchScriptOptions().output("key")).forward(input),
                    Catch::Contains("chosen by index"));
}

TEST_CASE("A regression output [N] is explained as itself", "[targets]") {
  const nni::Model model(script("regression_scripted.pt"));
  const torch::Tensor input = load("input.npy");
  nni::VanillaGradient method(model);
  const torch::Tensor expected = load("regression_gradient.npy");
  CHECK(relative_difference(method.attribute(input), expected) < 1e-9);
  CHECK(relative_difference(method.attribute(input, nni::Target::regression()), expected) < 1e-9);
  CHECK_THROWS_WITH(method.attribute(input, 0), Catch::Contains("one value per example"));
  // Integrated gradients: completeness on a [N] output.
  const auto result = nni::IntegratedGradients(model).attribute_with_delta(input, nni::Target::regression());
  CHECK(result.convergence_delta.abs().max().item<double>() < 1e-6);
  // A classifier is not a regression model.
  CHECK_THROWS_WITH(nni::VanillaGradient(nni_test::linear_model(4, 3)).attribute(torch::rand({2, 4}),
                                                                                  nni::Target::regression()),
                    Catch::Contains("one value per example ([N] or [N, 1])"));
}

TEST_CASE("A forward with two inputs: the named one is explained, the other held fixed", "[targets]") {
  const torch::jit::Module module = script("two_input_scripted.pt");
  const torch::Tensor input = load("input.npy");
  const torch::Tensor mask = load("two_input_mask.npy");
  const nni::Model model(module, nni::TorchScriptOptions().input("image").fixed_inputs({{"mask", mask}}));
  CHECK(relative_difference(nni::VanillaGradient(model).attribute(input, 3), load("two_input_gradient_class3.npy")) <
        1e-9);
  // Integrated gradients run 2 x steps rows: the mask must be tiled copy by copy, or completeness fails.
  const auto result = nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().steps(32).rows_per_call(6))
                          .attribute_with_delta(input, 3);
  const torch::Tensor scale = result.attributions.flatten(1).sum(1).abs();
  CHECK((result.convergence_delta.abs() < 1e-6 * scale + 1e-9).all().item<bool>());
  // SmoothGrad stacks noisy copies the same way: with a per-example mask it agrees with explaining
  // each example alone with its own row of the mask.
  nni::SmoothGrad smooth(nni::VanillaGradient(model), nni::SmoothGradOptions().samples(4).seed(3));
  const torch::Tensor both = smooth.attribute(input, 3);
  CHECK(torch::isfinite(both).all().item<bool>());
  SECTION("errors") {
    CHECK_THROWS_WITH(nni::Model(module), Catch::Contains("argument 'mask'") && Catch::Contains("no default"));
    CHECK_THROWS_WITH(nni::Model(module, nni::TorchScriptOptions().input("picture")),
                      Catch::Contains("no argument 'picture'") && Catch::Contains("forward(image, mask)"));
    CHECK_THROWS_WITH(nni::Model(module, nni::TorchScriptOptions().fixed_inputs({{"image", mask}, {"mask", mask}})),
                      Catch::Contains("cannot also be a fixed input"));
    CHECK_THROWS_WITH(nni::ScoreCam(model, nni::ScoreCamOptions("conv")).attribute(input, 3),
                      Catch::Contains("per-example fixed inputs"));
    const nni::Model three_rows(module, nni::TorchScriptOptions().fixed_inputs({{"mask", torch::ones({3, 1, 32, 32},
                                                                                               torch::kDouble)}}));
    CHECK_THROWS_WITH(nni::VanillaGradient(three_rows).attribute(input, 3), Catch::Contains("has 3 rows"));
  }
}

TEST_CASE("A C++ forward with two inputs uses tile_rows for the fixed one", "[targets]") {
  torch::manual_seed(5);
  auto net = torch::nn::Linear(6, 3);
  net->to(torch::kDouble);
  const torch::Tensor other = torch::randn({2, 6}, torch::kDouble);
  const nni::Model model(net.ptr(), [net, other](const torch::Tensor& x) mutable {
    return net->forward(x * nni::tile_rows(other, x.size(0), "other"));
  });
  const torch::Tensor input = torch::randn({2, 6}, torch::kDouble);
  // d/dx W (x ⊙ o) = W_c ⊙ o
  const torch::Tensor expected = net->weight.detach()[1].unsqueeze(0) * other;
  CHECK_THAT(nni::VanillaGradient(model).attribute(input, 1), AllClose(expected, 1e-12, 1e-14));
  const auto result = nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().steps(8)).attribute_with_delta(input, 1);
  CHECK_THAT(result.attributions, AllClose(expected * input, 1e-10, 1e-12));
  CHECK(nni::tile_rows(other, 6).sizes() == torch::IntArrayRef({6, 6}));
  CHECK_THAT(nni::tile_rows(other, 6).slice(0, 2, 4), AllClose(other, 0, 0));
  CHECK(nni::tile_rows(other.slice(0, 0, 1), 5).sizes() == torch::IntArrayRef({5, 6}));
  CHECK_THROWS_WITH(nni::tile_rows(other, 5, "mask"), Catch::Contains("mask has 2 rows but the pass has 5"));
}

TEST_CASE("Several targets per call: [N, K, ...], equal to one call per target", "[targets]") {
  auto model = nni_test::ten_class_cnn_8x8(11);  // layer "3": ReLU [N, 6, 6, 6]
  const torch::Tensor input = torch::rand({3, 1, 8, 8});
  const std::vector<nni::Target> targets = {0, 2, nni::Target(torch::tensor({1, 0, 1}))};
  auto check_method = [&](nni::Attribution& method) {
    const torch::Tensor all = method.attribute(input, targets);
    REQUIRE(all.size(0) == 3);
    REQUIRE(all.size(1) == 3);
    for (size_t k = 0; k < targets.size(); ++k)
      CHECK_THAT(all.select(1, static_cast<int64_t>(k)), AllClose(method.attribute(input, targets[k]), 1e-5, 1e-6));
  };
  nni::VanillaGradient vanilla(model);
  check_method(vanilla);
  nni::IntegratedGradients integrated(model, nni::IntegratedGradientsOptions().steps(8));
  check_method(integrated);
  nni::GradCam grad_cam(model, nni::GradCamOptions("3").upsample(nni::Upsample::kBilinear));
  check_method(grad_cam);
  nni::ScoreCam score_cam(model, nni::ScoreCamOptions("3"));
  check_method(score_cam);
  nni::GuidedGradCam guided(model, nni::GuidedGradCamOptions("3"));
  check_method(guided);
  // Mixed kinds (a score function, the predicted class) run one call each.
  const std::vector<nni::Target> mixed = {nni::Target(), nni::Target([](const torch::Tensor& out) {
                                            return out.logsumexp(1);
                                          })};
  const torch::Tensor both = vanilla.attribute(input, mixed);
  CHECK_THAT(both.select(1, 0), AllClose(vanilla.attribute(input), 1e-6, 1e-7));
  CHECK_THROWS_WITH(vanilla.attribute(input, std::vector<nni::Target>{}), Catch::Contains("list of targets is empty"));
  CHECK_THROWS_WITH(vanilla.attribute(input, std::vector<nni::Target>{0, 99}), Catch::Contains("out of range"));
}

TEST_CASE("Target rows: select_rows and repeated keep per-example state aligned", "[targets]") {
  torch::Tensor mask = torch::zeros({3, 2, 2});
  mask.index_put_({0, 0, 0}, 1);
  mask.index_put_({1, 0, 1}, 1);
  mask.index_put_({2, 1, 1}, 1);
  const nni::Target target = nni::Target::segmentation(0, mask);
  const torch::Tensor output = torch::arange(3 * 2 * 2 * 2, torch::kFloat).view({3, 2, 2, 2});
  const torch::Tensor scores = target.scores(output);
  CHECK_THAT(scores, AllClose(torch::tensor({0.0f, 9.0f, 19.0f}), 0, 0));
  const torch::Tensor rows = torch::tensor({2, 0}, torch::kLong);
  CHECK_THAT(target.select_rows(rows).scores(output.index_select(0, rows)),
             AllClose(torch::tensor({19.0f, 0.0f}), 0, 0));
  CHECK_THAT(target.repeated(3, 2).scores(output.repeat({2, 1, 1, 1})), AllClose(scores.repeat({2}), 0, 0));
  CHECK_THROWS_WITH(nni::Target::predicted_pixels(0).repeated(3, 2), Catch::Contains("resolve this target first"));
  CHECK(nni::Target::predicted_pixels(1).describe() == "segmentation of class 1 (predicted pixels)");
}

TEST_CASE("Gradient methods on torchvision's ViT (scripted): reference gradient, IG completeness, SmoothGrad",
          "[targets][vit]") {
  const std::string cam_reference = std::string(NNI_SOURCE_DIR) + "/tests/fixtures/cam_reference/";
  const nni::Model model(torch::jit::load(cam_reference + "vit_scripted.pt"));
  const torch::Tensor input = nni::read_npy(cam_reference + "vit_input.npy");
  const torch::Tensor target = nni::read_npy(cam_reference + "vit_target.npy");
  nni::VanillaGradient vanilla(model);
  CHECK(relative_difference(vanilla.attribute(input, target), load("vit_gradient.npy")) < 1e-9);
  // Completeness converges with the steps (LayerNorm near the zero baseline makes the path sharp):
  // measured 1.4e-2 of sum |IG| at 32 steps, 4e-8 at 256.
  auto delta = [&](int64_t steps) {
    const auto result = nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().steps(steps))
                            .attribute_with_delta(input, target);
    return (result.convergence_delta.abs() / result.attributions.flatten(1).abs().sum(1)).max().item<double>();
  };
  const double coarse = delta(32), fine = delta(256);
  INFO("relative completeness error: 32 steps " << coarse << ", 256 steps " << fine);
  CHECK(fine < coarse / 4);
  CHECK(fine < 1e-6);
  const torch::Tensor smooth =
      nni::SmoothGrad(nni::VanillaGradient(model), nni::SmoothGradOptions().samples(8).seed(1)).attribute(input, target);
  CHECK(torch::isfinite(smooth).all().item<bool>());
  CHECK(smooth.sizes() == input.sizes());
  // Noise of 0 leaves the plain gradient.
  const torch::Tensor noiseless =
      nni::SmoothGrad(nni::VanillaGradient(model), nni::SmoothGradOptions().samples(2).stdev(0.0)).attribute(input, target);
  CHECK(relative_difference(noiseless, load("vit_gradient.npy")) < 1e-9);
  // Input × gradient and guided backprop run on it too.
  CHECK(relative_difference(nni::InputXGradient(model).attribute(input, target), load("vit_gradient.npy") * input) <
        1e-9);
}
