// The CAM family against hand computations and the identities that tie the methods together.
#include "support/catch_torch.h"
#include <torch/torch.h>

#include "nn_interpretability/detail/cam_steps.h"
#include "nn_interpretability/model/layer.h"
#include "nn_interpretability/nn_interpretability.h"
#include "support/all_close.h"
#include "support/model_snapshot.h"
#include "support/tiny_models.h"

// Last: restores Catch's CHECK over c10's.
#include "cam_support.h"

namespace nni = nn_interpretability;
using nni_cam_test::gap_model;
using nni_test::AllClose;

namespace {

/// y = GAP(x) · Wᵀ + b on a "feature map" input [N, 2, 2, 2], with the input marked as layer "features".
struct HandCamNetImpl : torch::nn::Module {
  HandCamNetImpl() {
    fc = register_module("fc", torch::nn::Linear(2, 2));
    torch::NoGradGuard no_grad;
    fc->weight.copy_(torch::tensor({{1.0, 2.0}, {-1.0, 0.5}}));
    fc->bias.copy_(torch::tensor({0.5, -1.0}));
  }
  torch::Tensor forward(torch::Tensor x) { return fc(nni::mark_layer("features", x).mean({2, 3})); }
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(HandCamNet);

torch::Tensor hand_feature_map() {
  // One example, two channels of 2×2.
  return torch::tensor({{{1.0, 2.0}, {3.0, 4.0}}, {{0.0, -1.0}, {2.0, 1.0}}}).unsqueeze(0);
}

torch::Tensor linear_weight(torch::nn::Sequential model) {
  return model[4]->as<torch::nn::Linear>()->weight.detach();
}

// The ReLU'd activation of gap_model's layer "1", computed directly.
torch::Tensor gap_activation(torch::nn::Sequential model, const torch::Tensor& input) {
  torch::NoGradGuard no_grad;
  return torch::relu(model[0]->as<torch::nn::Conv2d>()->forward(input));
}

}  // namespace

TEST_CASE("CAM on a hand-built 2x2 feature map equals the hand-computed weighted sum", "[cam]") {
  HandCamNet net;
  nni::Cam method(net, nni::CamOptions("features"));
  torch::Tensor input = hand_feature_map();
  // Class 0: 1·A0 + 2·A1; class 1: −1·A0 + 0.5·A1.
  CHECK_THAT(method.attribute(input, 0), AllClose(torch::tensor({{1.0, 0.0}, {7.0, 6.0}}).view({1, 1, 2, 2})));
  CHECK_THAT(method.attribute(input, 1), AllClose(torch::tensor({{-1.0, -2.5}, {-2.0, -3.5}}).view({1, 1, 2, 2})));
  // Outputs are 4 and −3.25: the predicted class is 0.
  CHECK_THAT(method.attribute(input), AllClose(torch::tensor({{1.0, 0.0}, {7.0, 6.0}}).view({1, 1, 2, 2})));
  // The paper's CAM is raw; relu(true) keeps the positive part.
  nni::Cam relu_method(net, nni::CamOptions("features").relu(true));
  CHECK_THAT(relu_method.attribute(input, 1), AllClose(torch::zeros({1, 1, 2, 2})));
}

TEST_CASE("CAM with explicit weights works on a plain forward function", "[cam]") {
  torch::Tensor weight = torch::tensor({{1.0, 2.0}, {-1.0, 0.5}});
  nni::Model model(nni::ForwardFunction([weight](const torch::Tensor& x) {
    return nni::mark_layer("features", x).mean({2, 3}).matmul(weight.t());
  }));
  nni::Cam method(model, nni::CamOptions("features").weights(weight));
  CHECK_THAT(method.attribute(hand_feature_map(), 0),
             AllClose(torch::tensor({{1.0, 0.0}, {7.0, 6.0}}).view({1, 1, 2, 2})));
  nni::Cam found(model, nni::CamOptions("features"));
  CHECK_THROWS_WITH(found.attribute(hand_feature_map(), 0), Catch::Contains("give the classifier weights"));
}

TEST_CASE("CAM sums to h*w times the score without bias", "[cam]") {
  auto model = gap_model(2, 4, 3, 1);
  torch::Tensor input = torch::randn({3, 2, 6, 5});
  torch::Tensor labels = torch::tensor({0, 2, 1}, torch::kLong);
  torch::Tensor map = nni::Cam(model, nni::CamOptions("1")).attribute(input, labels);
  REQUIRE(map.sizes() == torch::IntArrayRef({3, 1, 6, 5}));
  torch::NoGradGuard no_grad;
  torch::Tensor scores = model->forward(input).gather(1, labels.unsqueeze(1)).squeeze(1);
  torch::Tensor bias = model[4]->as<torch::nn::Linear>()->bias.index_select(0, labels);
  CHECK_THAT(map.sum({1, 2, 3}), AllClose((scores - bias) * 30, 1e-4, 1e-4));
}

TEST_CASE("Grad-CAM without ReLU at the layer feeding the pool equals CAM divided by h*w", "[grad_cam][cam]") {
  auto model = gap_model(2, 4, 3, 2);
  torch::Tensor input = torch::randn({3, 2, 6, 5});
  torch::Tensor labels = torch::tensor({0, 2, 1}, torch::kLong);
  torch::Tensor cam = nni::Cam(model, nni::CamOptions("1")).attribute(input, labels);
  torch::Tensor grad_cam = nni::GradCam(model, nni::GradCamOptions("1").relu(false)).attribute(input, labels);
  REQUIRE(grad_cam.sizes() == torch::IntArrayRef({3, 1, 6, 5}));
  CHECK_THAT(grad_cam, AllClose(cam / 30.0, 1e-5, 1e-6));
  // With the ReLU, Grad-CAM is the positive part.
  CHECK_THAT(nni::GradCam(model, nni::GradCamOptions("1")).attribute(input, labels),
             AllClose((cam / 30.0).clamp_min(0), 1e-5, 1e-6));
}

TEST_CASE("Grad-CAM of a batch with per-example targets equals example-by-example calls", "[grad_cam]") {
  auto model = gap_model(2, 4, 3, 3);
  torch::Tensor input = torch::randn({4, 2, 5, 5});
  torch::Tensor labels = torch::tensor({2, 0, 1, 2}, torch::kLong);
  std::vector<std::shared_ptr<nni::Attribution>> methods{
      std::make_shared<nni::Cam>(model, nni::CamOptions("1")),
      std::make_shared<nni::GradCam>(model, nni::GradCamOptions("0")),
      std::make_shared<nni::GradCamPlusPlus>(model, nni::GradCamPlusPlusOptions("0")),
      std::make_shared<nni::LayerCam>(model, nni::LayerCamOptions("0")),
      std::make_shared<nni::HiResCam>(model, nni::HiResCamOptions("0")),
      std::make_shared<nni::ScoreCam>(model, nni::ScoreCamOptions("1").rows_per_call(3)),
      std::make_shared<nni::GuidedGradCam>(model, nni::GuidedGradCamOptions("0")),
  };
  for (auto& method : methods) {
    INFO(method->name());
    torch::Tensor batch = method->attribute(input, labels);
    for (int64_t i = 0; i < 4; ++i) {
      torch::Tensor single = method->attribute(input.slice(0, i, i + 1), labels[i].item<int64_t>());
      CHECK_THAT(batch.slice(0, i, i + 1), AllClose(single, 1e-5, 1e-6));
    }
  }
}

TEST_CASE("LayerCAM equals Grad-CAM where gradients are positive and constant over space", "[layer_cam]") {
  auto model = gap_model(2, 4, 3, 4);
  {
    torch::NoGradGuard no_grad;
    auto& weight = model[4]->as<torch::nn::Linear>()->weight;
    weight.abs_().add_(0.1);  // ∂y_c/∂A_kij = w_ck / (h·w) > 0 everywhere
  }
  torch::Tensor input = torch::randn({3, 2, 6, 6});
  torch::Tensor labels = torch::tensor({1, 0, 2}, torch::kLong);
  torch::Tensor layer_cam = nni::LayerCam(model, nni::LayerCamOptions("1")).attribute(input, labels);
  torch::Tensor grad_cam = nni::GradCam(model, nni::GradCamOptions("1")).attribute(input, labels);
  CHECK_THAT(layer_cam, AllClose(grad_cam, 1e-5, 1e-7));
  CHECK(layer_cam.gt(0).any().item<bool>());
  // And by hand: Σ_k (w_ck / 36) A_k.
  torch::Tensor expected = (linear_weight(model).index_select(0, labels).view({3, 4, 1, 1}) / 36.0 *
                            gap_activation(model, input))
                               .sum(1, true);
  CHECK_THAT(layer_cam, AllClose(expected, 1e-5, 1e-7));
}

TEST_CASE("LayerCAM keeps only positive gradients, elementwise", "[layer_cam]") {
  auto model = gap_model(2, 4, 3, 5);
  torch::Tensor input = torch::randn({2, 2, 5, 5});
  torch::Tensor map = nni::LayerCam(model, nni::LayerCamOptions("1").relu(false)).attribute(input, 1);
  torch::Tensor w = linear_weight(model)[1].clamp_min(0).view({1, 4, 1, 1}) / 25.0;
  CHECK_THAT(map, AllClose((w * gap_activation(model, input)).sum(1, true), 1e-5, 1e-7));
}

TEST_CASE("HiResCAM equals Grad-CAM on a layer feeding global average pooling", "[hires_cam]") {
  auto model = gap_model(2, 4, 3, 9);
  torch::Tensor input = torch::randn({3, 2, 6, 5});
  torch::Tensor labels = torch::tensor({2, 1, 0}, torch::kLong);
  torch::Tensor hires = nni::HiResCam(model, nni::HiResCamOptions("1").relu(false)).attribute(input, labels);
  torch::Tensor grad_cam = nni::GradCam(model, nni::GradCamOptions("1").relu(false)).attribute(input, labels);
  REQUIRE(hires.sizes() == torch::IntArrayRef({3, 1, 6, 5}));
  CHECK_THAT(hires, AllClose(grad_cam, 1e-5, 1e-7));
}

TEST_CASE("HiResCAM on a flatten + linear head is Σ_k W_c,k ⊙ A_k and sums to the score minus the bias",
          "[hires_cam]") {
  // y = W · flatten(A) + b with A = ReLU(conv(x)) [N, 3, 5, 5]: ∂y_c/∂A = W[c] reshaped, varying over space.
  torch::manual_seed(31);
  torch::nn::Sequential model(torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 3, 3).padding(1)), torch::nn::ReLU(),
                              torch::nn::Flatten(), torch::nn::Linear(3 * 5 * 5, 4));
  model->to(torch::kDouble);
  model->eval();
  torch::Tensor input = torch::randn({2, 2, 5, 5}, torch::kDouble);
  torch::Tensor labels = torch::tensor({3, 1}, torch::kLong);
  torch::Tensor map = nni::HiResCam(model, nni::HiResCamOptions("1").relu(false)).attribute(input, labels);
  torch::Tensor activation, scores;
  {
    torch::NoGradGuard no_grad;
    activation = model[1]->as<torch::nn::ReLU>()->forward(model[0]->as<torch::nn::Conv2d>()->forward(input));
    scores = model->forward(input).gather(1, labels.unsqueeze(1)).squeeze(1);
  }
  auto linear = model[3]->as<torch::nn::Linear>();
  torch::Tensor weights = linear->weight.detach().index_select(0, labels).view({2, 3, 5, 5});
  CHECK_THAT(map, AllClose((weights * activation).sum(1, true), 1e-12, 1e-12));
  CHECK_THAT(map.sum({1, 2, 3}), AllClose(scores - linear->bias.detach().index_select(0, labels), 1e-10, 1e-12));
  // With the ReLU, the positive part.
  CHECK_THAT(nni::HiResCam(model, nni::HiResCamOptions("1")).attribute(input, labels),
             AllClose(map.clamp_min(0), 0, 0));
}

TEST_CASE("Grad-CAM++ on the GAP model equals the closed form computed by hand", "[grad_cam_pp]") {
  auto model = gap_model(2, 4, 3, 6, torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    model[4]->as<torch::nn::Linear>()->weight[1][2] = 0.0;  // a channel with zero gradient: α must be 0
  }
  torch::Tensor input = torch::randn({2, 2, 5, 4}, torch::kDouble);
  const double hw = 20.0;
  for (int64_t c = 0; c < 3; ++c) {
    INFO("class " << c);
    torch::Tensor a = gap_activation(model, input);                      // [2, 4, 5, 4]
    torch::Tensor g = (linear_weight(model)[c] / hw).view({1, 4, 1, 1});  // constant over space
    torch::Tensor s = a.sum({2, 3}, true);                                // Σ_ab A_kab
    torch::Tensor den = 2 * g.pow(2) + s * g.pow(3);
    torch::Tensor alpha = torch::where(den != 0, g.pow(2) / den, torch::zeros_like(den));
    torch::Tensor weights = (alpha * g.clamp_min(0)).expand_as(a).sum({2, 3}, true);  // Σ_ij α ReLU(g)
    torch::Tensor expected = (weights * a).sum(1, true).clamp_min(0);
    torch::Tensor actual = nni::GradCamPlusPlus(model, nni::GradCamPlusPlusOptions("1")).attribute(input, c);
    CHECK(actual.isfinite().all().item<bool>());
    CHECK_THAT(actual, AllClose(expected, 1e-10, 1e-12));
  }
}

TEST_CASE("Grad-CAM++ on a 1x2 map with one zero gradient equals the hand-computed closed form", "[grad_cam_pp]") {
  // One channel, 1×2 map, y = 2·A00 + 0·A01 (no GAP): g = (2, 0), Σ A = A00 + A01.
  torch::Tensor activation = torch::tensor({{{{1.0, 3.0}}}});
  torch::Tensor gradient = torch::tensor({{{{2.0, 0.0}}}});
  // α00 = 4 / (8 + 4·8) = 0.1, α01 = 0; w = 0.1·2 = 0.2; map = 0.2·A.
  torch::Tensor map =
      nni::detail::weighted_channel_sum(nni::detail::grad_cam_plus_plus_weights(activation, gradient), activation)
          .clamp_min(0);
  CHECK_THAT(map, AllClose(torch::tensor({{{{0.2, 0.6}}}}), 1e-12, 1e-12));
}

TEST_CASE("Guided Grad-CAM equals upsampled Grad-CAM times guided backprop", "[guided_grad_cam]") {
  torch::manual_seed(7);
  nni_test::SmallCnn model;
  model->eval();
  torch::Tensor input = torch::rand({3, 1, 8, 8});
  torch::Tensor labels = torch::tensor({0, 2, 1}, torch::kLong);
  auto before = nni_test::ModelSnapshot::of(*model);
  nni::GuidedGradCam method(model, nni::GuidedGradCamOptions("conv2"));
  torch::Tensor combined = method.attribute(input, labels);
  torch::Tensor cam = nni::GradCam(model, nni::GradCamOptions("conv2").upsample(nni::Upsample::kBilinear))
                          .attribute(input, labels);
  torch::Tensor guided = nni::GuidedBackprop(model).attribute(input, labels);
  REQUIRE(combined.sizes() == input.sizes());
  REQUIRE(cam.sizes() == torch::IntArrayRef({3, 1, 8, 8}));
  CHECK(cam.gt(0).any().item<bool>());
  CHECK_THAT(combined, AllClose(cam * guided, 1e-5, 1e-7));
  // Its parts, used on their own, agree too.
  CHECK_THAT(method.grad_cam().attribute(input, labels), AllClose(cam));
  CHECK_THAT(method.guided_backprop().attribute(input, labels), AllClose(guided));
  CHECK(before.difference(nni_test::ModelSnapshot::of(*model)).empty());
}

TEST_CASE("Score-CAM equals a direct loop over channels, and batch size does not matter", "[score_cam]") {
  auto model = gap_model(2, 5, 3, 8, torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    auto conv = model[0]->as<torch::nn::Conv2d>();
    conv->weight[3].zero_();  // channel 3 is constant (its bias): an all-zero mask
    conv->bias[3] = 0.7;
  }
  torch::Tensor input = torch::randn({2, 2, 6, 7}, torch::kDouble);
  torch::Tensor labels = torch::tensor({2, 0}, torch::kLong);

  torch::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    torch::Tensor a = gap_activation(model, input);  // [2, 5, 6, 7]
    torch::Tensor weights = torch::zeros({2, 5}, torch::kDouble);
    for (int64_t n = 0; n < 2; ++n) {
      for (int64_t k = 0; k < 5; ++k) {
        torch::Tensor up = torch::nn::functional::interpolate(
            a.slice(0, n, n + 1).slice(1, k, k + 1),
            torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{6, 7}).mode(torch::kBilinear).align_corners(false));
        const double low = up.min().item<double>(), high = up.max().item<double>();
        torch::Tensor mask = high > low ? (up - low) / (high - low) : torch::zeros_like(up);
        torch::Tensor probabilities = torch::softmax(model->forward(input.slice(0, n, n + 1) * mask), 1);
        weights[n][k] = probabilities[0][labels[n].item<int64_t>()];
      }
    }
    expected = (weights.view({2, 5, 1, 1}) * a).sum(1, true).clamp_min(0);
  }
  for (int64_t batch_size : {1, 3, 64}) {
    INFO("batch_size " << batch_size);
    torch::Tensor actual = nni::ScoreCam(model, nni::ScoreCamOptions("1").rows_per_call(batch_size)).attribute(input, labels);
    CHECK(actual.isfinite().all().item<bool>());
    CHECK_THAT(actual, AllClose(expected, 1e-10, 1e-12));
  }
}

TEST_CASE("Flat maps are all zeros, never NaN", "[cam][grad_cam][grad_cam_pp][layer_cam][score_cam]") {
  auto model = gap_model(2, 4, 3, 9);
  {
    torch::NoGradGuard no_grad;
    model[0]->as<torch::nn::Conv2d>()->bias.zero_();
  }
  torch::Tensor input = torch::zeros({2, 2, 5, 5});  // every activation is 0
  std::vector<std::shared_ptr<nni::Attribution>> methods{
      std::make_shared<nni::Cam>(model, nni::CamOptions("1").upsample(nni::Upsample::kBilinear)),
      std::make_shared<nni::GradCam>(model, nni::GradCamOptions("1")),
      std::make_shared<nni::GradCamPlusPlus>(model, nni::GradCamPlusPlusOptions("1")),
      std::make_shared<nni::LayerCam>(model, nni::LayerCamOptions("1")),
      std::make_shared<nni::HiResCam>(model, nni::HiResCamOptions("1")),
      std::make_shared<nni::ScoreCam>(model, nni::ScoreCamOptions("1")),
      std::make_shared<nni::GuidedGradCam>(model, nni::GuidedGradCamOptions("1")),
  };
  for (auto& method : methods) {
    INFO(method->name());
    torch::Tensor map = method->attribute(input, 1);
    CHECK_THAT(map, AllClose(torch::zeros_like(map)));
  }
}

TEST_CASE("CAM methods need no requires_grad input and work with frozen parameters and under NoGradGuard",
          "[grad_cam]") {
  auto model = gap_model(2, 4, 3, 10);
  torch::Tensor input = torch::randn({2, 2, 5, 5});
  nni::GradCam grad_cam(model, nni::GradCamOptions("1").relu(false));
  nni::GuidedGradCam guided(model, nni::GuidedGradCamOptions("1"));
  torch::Tensor expected = grad_cam.attribute(input, 1);
  torch::Tensor expected_guided = guided.attribute(input, 1);
  CHECK_FALSE(input.requires_grad());
  CHECK_FALSE(expected.requires_grad());
  {
    torch::NoGradGuard no_grad;
    CHECK_THAT(grad_cam.attribute(input, 1), AllClose(expected));
    CHECK_THAT(guided.attribute(input, 1), AllClose(expected_guided));
  }
  for (auto& parameter : model->parameters()) parameter.requires_grad_(false);
  auto before = nni_test::ModelSnapshot::of(*model);
  CHECK_THAT(grad_cam.attribute(input, 1), AllClose(expected));
  CHECK(nni::GradCamPlusPlus(model, nni::GradCamPlusPlusOptions("1")).attribute(input, 1).sizes() ==
        expected.sizes());
  CHECK_THAT(guided.attribute(input, 1), AllClose(expected_guided));
  CHECK(before.difference(nni_test::ModelSnapshot::of(*model)).empty());
  // An input that requires grad gets no .grad either.
  torch::Tensor leaf = input.clone().requires_grad_(true);
  CHECK_THAT(grad_cam.attribute(leaf, 1), AllClose(expected));
  CHECK_FALSE(leaf.grad().defined());
}

TEST_CASE("Every CAM method leaves the model unchanged and returns a detached result on the input's device",
          "[cam][grad_cam][grad_cam_pp][layer_cam][hires_cam][score_cam][guided_grad_cam]") {
  auto model = gap_model(2, 4, 3, 11);
  model->train();  // the mode must stay as the user set it
  torch::Tensor input = torch::randn({2, 2, 6, 6});
  auto before = nni_test::ModelSnapshot::of(*model);
  std::vector<std::shared_ptr<nni::Attribution>> methods{
      std::make_shared<nni::Cam>(model, nni::CamOptions("1")),
      std::make_shared<nni::GradCam>(model, nni::GradCamOptions("1")),
      std::make_shared<nni::GradCamPlusPlus>(model, nni::GradCamPlusPlusOptions("1")),
      std::make_shared<nni::LayerCam>(model, nni::LayerCamOptions("1")),
      std::make_shared<nni::HiResCam>(model, nni::HiResCamOptions("1")),
      std::make_shared<nni::ScoreCam>(model, nni::ScoreCamOptions("1")),
      std::make_shared<nni::GuidedGradCam>(model, nni::GuidedGradCamOptions("1")),
  };
  const std::vector<std::string> names{"cam",       "grad_cam",  "grad_cam_pp",    "layer_cam",
                                       "hires_cam", "score_cam", "guided_grad_cam"};
  for (size_t i = 0; i < methods.size(); ++i) {
    auto& method = methods[i];
    INFO(method->name());
    CHECK(method->name() == names[i]);
    torch::Tensor map = method->attribute(input);
    CHECK(map.device() == input.device());
    CHECK_FALSE(map.requires_grad());
    CHECK(map.size(0) == 2);
    CHECK(before.difference(nni_test::ModelSnapshot::of(*model)).empty());
  }
}

TEST_CASE("Upsampled CAM maps equal upsample_map of the raw map", "[upsample]") {
  auto model = gap_model(2, 4, 3, 12);
  torch::Tensor input = torch::randn({2, 2, 6, 6});
  // A strided layer gives a map smaller than the input.
  torch::nn::Sequential strided(torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 4, 3).stride(2).padding(1)),
                                torch::nn::ReLU(), torch::nn::AdaptiveAvgPool2d(1), torch::nn::Flatten(),
                                torch::nn::Linear(4, 3));
  for (auto mode : {nni::Upsample::kBilinear, nni::Upsample::kNearest, nni::Upsample::kBicubic}) {
    torch::Tensor raw = nni::GradCam(strided, nni::GradCamOptions("1")).attribute(input, 0);
    REQUIRE(raw.sizes() == torch::IntArrayRef({2, 1, 3, 3}));
    torch::Tensor big = nni::GradCam(strided, nni::GradCamOptions("1").upsample(mode)).attribute(input, 0);
    REQUIRE(big.sizes() == torch::IntArrayRef({2, 1, 6, 6}));
    CHECK_THAT(big, AllClose(nni::upsample_map(raw, {6, 6}, mode)));
    torch::Tensor cam = nni::Cam(strided, nni::CamOptions("1").upsample(mode)).attribute(input, 0);
    CHECK(cam.sizes() == torch::IntArrayRef({2, 1, 6, 6}));
  }
  (void)model;
}

TEST_CASE("upsample_map: nearest repeats, bilinear keeps constants and uses align_corners=false", "[upsample]") {
  torch::Tensor map = torch::tensor({{1.0, 2.0}, {3.0, 4.0}}).view({1, 1, 2, 2});
  torch::Tensor nearest = nni::upsample_map(map, {4, 4}, nni::Upsample::kNearest);
  CHECK_THAT(nearest, AllClose(torch::tensor({{1.0, 1.0, 2.0, 2.0},
                                              {1.0, 1.0, 2.0, 2.0},
                                              {3.0, 3.0, 4.0, 4.0},
                                              {3.0, 3.0, 4.0, 4.0}})
                                   .view({1, 1, 4, 4})));
  // align_corners=false: output pixel 0 samples input coordinate −0.25, clamped to 0; pixel 1 samples
  // 0.25: row 0 is 1, 1.25, 1.75, 2.
  torch::Tensor bilinear = nni::upsample_map(map, {4, 4});
  CHECK_THAT(bilinear[0][0][0], AllClose(torch::tensor({1.0, 1.25, 1.75, 2.0})));
  CHECK_THAT(nni::upsample_map(torch::full({2, 1, 3, 3}, 0.5), {7, 5}), AllClose(torch::full({2, 1, 7, 5}, 0.5)));
  CHECK(nni::upsample_map(map, {4, 4}, nni::Upsample::kNone).equal(map));
  CHECK_THROWS_WITH(nni::upsample_map(torch::rand({2, 2}), {4, 4}), Catch::Contains("must be [N, C, h, w]"));
}

TEST_CASE("Guided Grad-CAM, Grad-CAM and CAM run the model once; Score-CAM once plus one per batch of masks",
          "[guided_grad_cam][grad_cam][cam][score_cam]") {
  auto net = gap_model(2, 4, 3, 13);
  int calls = 0;
  nni::Model model(net.ptr(), [&calls, raw = net.ptr()](const torch::Tensor& x) {
    ++calls;
    return raw->forward(x);
  });
  torch::Tensor input = torch::randn({2, 2, 5, 5});
  auto count = [&](nni::Attribution&& method) {
    calls = 0;
    method.attribute(input, 1);
    return calls;
  };
  CHECK(count(nni::GuidedGradCam(model, nni::GuidedGradCamOptions("0"))) == 1);
  CHECK(count(nni::GradCam(model, nni::GradCamOptions("0"))) == 1);
  CHECK(count(nni::GradCamPlusPlus(model, nni::GradCamPlusPlusOptions("0"))) == 1);
  CHECK(count(nni::LayerCam(model, nni::LayerCamOptions("0"))) == 1);
  CHECK(count(nni::Cam(model, nni::CamOptions("0").weights(torch::rand({3, 4})))) == 1);
  CHECK(count(nni::ScoreCam(model, nni::ScoreCamOptions("0").rows_per_call(3))) == 1 + 3);  // 8 masks in 3 batches
}
