// The CAM base's shared options (several layers, token reshape, eigen_smooth, aug_smooth) and the
// CAMs built on it (XGrad-CAM, Grad-CAM element-wise, EigenCAM, EigenGrad-CAM, Ablation-CAM), checked
// against hand computations, the identities the papers state and compositions of simpler calls.
#include "support/catch_torch.h"
#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <torch/script.h>

#include "nn_interpretability/detail/cam_steps.h"
#include "nn_interpretability/io/npy.h"
#include "nn_interpretability/model/layer.h"
#include "nn_interpretability/model/torchscript.h"
#include "nn_interpretability/nn_interpretability.h"
#include "support/all_close.h"
#include "support/model_snapshot.h"

// Last: restores Catch's CHECK over c10's.
#include "cam_support.h"

namespace nni = nn_interpretability;
using nni_cam_test::gap_model;
using nni_test::AllClose;

namespace {

/// y_c = Σ_kij M_ckij A_kij on a "feature map" input A = [N, 2, 2, 3] marked as layer "features":
/// the gradient of class c is the fixed mask M_c, varying over positions.
struct MaskedSumNetImpl : torch::nn::Module {
  explicit MaskedSumNetImpl(torch::Tensor masks) : masks(std::move(masks)) {}
  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor a = nni::mark_layer("features", x);
    return (a.unsqueeze(1) * masks.unsqueeze(0)).flatten(2).sum(2);  // [N, classes]
  }
  torch::Tensor masks;  // [classes, 2, 2, 3]
};
TORCH_MODULE(MaskedSumNet);

torch::Tensor masks_2x2x3() {
  torch::manual_seed(7);
  return torch::randn({2, 2, 2, 3}, torch::kDouble);
}

/// A patch-embedding "transformer": conv(stride = patch) → the grid [N, C, h, w] (layer "grid") →
/// tokens [N, 1 + h·w, C] with a class token first (layer "tokens"), and the same grid channels-last
/// [N, h, w, C] (layer "nhwc") → ReLU → mean over the spatial tokens → linear. Grad-CAM at "grid"
/// and at the rearranged "tokens" / "nhwc" must agree.
struct TokenNetImpl : torch::nn::Module {
  TokenNetImpl() {
    torch::manual_seed(3);
    embed = register_module("embed", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 2).stride(2)));
    head = register_module("head", torch::nn::Linear(4, 3));
    class_token = register_parameter("class_token", torch::randn({1, 1, 4}));
  }
  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor grid = nni::mark_layer("grid", embed(x));                     // [N, 4, h, w]
    torch::Tensor nhwc = nni::mark_layer("nhwc", grid.permute({0, 2, 3, 1}));  // [N, h, w, 4]
    torch::Tensor tokens = nhwc.flatten(1, 2);                                  // [N, h·w, 4]
    tokens = torch::cat({class_token.expand({x.size(0), 1, 4}), tokens}, 1);
    tokens = nni::mark_layer("tokens", tokens);
    torch::Tensor spatial = torch::relu(tokens.slice(1, 1));
    return head(spatial.mean(1) + 0.1 * tokens.select(1, 0));
  }
  torch::nn::Conv2d embed{nullptr};
  torch::nn::Linear head{nullptr};
  torch::Tensor class_token;
};
TORCH_MODULE(TokenNet);

/// Σ_k relu(...)... of the gradient-free first principal component, rank one: A_k(ij) = c_k s(ij).
torch::Tensor rank_one(const torch::Tensor& c, const torch::Tensor& s) {
  return c.view({1, -1, 1, 1}) * s.unsqueeze(0).unsqueeze(0);  // [1, K, h, w]
}

}  // namespace

TEST_CASE("XGrad-CAM equals Grad-CAM after global average pooling + linear, as the paper says", "[cam][xgrad_cam]") {
  auto model = gap_model(2, 4, 3, 5, torch::kDouble);
  torch::Tensor input = torch::randn({3, 2, 6, 5}, torch::kDouble);
  torch::Tensor labels = torch::tensor({0, 2, 1}, torch::kLong);
  nni::XGradCam xgrad(model, nni::XGradCamOptions("1").relu(false));
  nni::GradCam grad_cam(model, nni::GradCamOptions("1").relu(false));
  CHECK_THAT(xgrad.attribute(input, labels), AllClose(grad_cam.attribute(input, labels), 1e-10, 1e-12));
}

TEST_CASE("XGrad-CAM and Grad-CAM element-wise match hand computations with varying gradients",
          "[cam][xgrad_cam][grad_cam_elementwise]") {
  torch::Tensor masks = masks_2x2x3();
  MaskedSumNet net(masks);
  torch::manual_seed(11);
  torch::Tensor a = torch::rand({1, 2, 2, 3}, torch::kDouble) + 0.1;  // positive activations
  a[0][1][0][1] = -0.5;                                             // and one negative
  const torch::Tensor g = masks[1].unsqueeze(0);                    // ∂y_1/∂A
  // XGrad-CAM: α_k = Σ_ij A_kij G_kij / Σ_ij A_kij.
  torch::Tensor alpha = (a * g).sum({2, 3}, true) / a.sum({2, 3}, true);
  nni::XGradCam xgrad(net, nni::XGradCamOptions("features").relu(false));
  CHECK_THAT(xgrad.attribute(a, 1), AllClose((alpha * a).sum(1, true), 1e-10, 1e-12));
  // Element-wise: Σ_k relu(G ⊙ A); HiResCAM: Σ_k G ⊙ A.
  nni::GradCamElementwise elementwise(net, nni::GradCamElementwiseOptions("features").relu(false));
  CHECK_THAT(elementwise.attribute(a, 1), AllClose((g * a).clamp_min(0).sum(1, true), 1e-10, 1e-12));
  nni::HiResCam hires(net, nni::HiResCamOptions("features").relu(false));
  CHECK_THAT(hires.attribute(a, 1), AllClose((g * a).sum(1, true), 1e-10, 1e-12));
  // A channel summing to 0 gets weight 0 (no NaN).
  torch::Tensor flat = a.clone();
  flat[0][0] = torch::tensor({{1.0, -1.0, 0.5}, {-0.5, 0.0, 0.0}}, torch::kDouble);
  torch::Tensor map = xgrad.attribute(flat, 1);
  torch::Tensor alpha1 = (flat[0][1] * g[0][1]).sum() / flat[0][1].sum();
  CHECK_THAT(map, AllClose((alpha1 * flat[0][1]).view({1, 1, 2, 3}), 1e-10, 1e-12));
}

TEST_CASE("EigenCAM on a rank-one activation is the spatial factor, sign-corrected, centred on request",
          "[cam][eigen_cam]") {
  // A_k(ij) = c_k s(ij): O = s cᵀ, v₁ = ±c/|c|, O v₁ = ±|c| s.
  torch::Tensor c = torch::tensor({1.0, -2.0, 2.0}, torch::kDouble);                        // |c| = 3
  torch::Tensor s = torch::tensor({{0.5, -0.2, 1.0}, {0.3, -0.1, 0.0}}, torch::kDouble);  // max |·| positive
  torch::Tensor a = rank_one(c, s);
  nni::Model model(nni::ForwardFunction([](const torch::Tensor& x) {
    return nni::mark_layer("features", x).flatten(1).sum(1, true);
  }));
  nni::EigenCam raw(model, nni::EigenCamOptions("features").relu(false));
  CHECK_THAT(raw.attribute(a), AllClose((3.0 * s).view({1, 1, 2, 3}), 1e-10, 1e-12));
  // Negated s: the sign rule still makes the largest magnitude positive.
  CHECK_THAT(raw.attribute(-a), AllClose((3.0 * s).view({1, 1, 2, 3}), 1e-10, 1e-12));
  nni::EigenCam relu(model, nni::EigenCamOptions("features"));
  CHECK_THAT(relu.attribute(a), AllClose((3.0 * s).clamp_min(0).view({1, 1, 2, 3}), 1e-10, 1e-12));
  // Centred (pytorch-grad-cam): the rows of O minus their mean: (s − mean s) cᵀ.
  torch::Tensor centred = s - s.mean();
  if (centred.min().abs().item<double>() > centred.max().abs().item<double>()) centred = -centred;
  nni::EigenCam centred_method(model, nni::EigenCamOptions("features").relu(false).center(true));
  CHECK_THAT(centred_method.attribute(a), AllClose((3.0 * centred).view({1, 1, 2, 3}), 1e-10, 1e-12));
  CHECK_THROWS_WITH(nni::EigenCam(model, nni::EigenCamOptions("features").eigen_smooth(true)),
                    Catch::Contains("EigenCam: eigen_smooth does not apply"));
}

TEST_CASE("EigenGrad-CAM and eigen_smooth project the weighted activations on their first component",
          "[cam][eigen_grad_cam][eigen_smooth]") {
  // y_1 = Σ M_1 ⊙ A with M_1 = d_k t(ij) and A = c_k s(ij): G ⊙ A = (c ⊙ d)_k (s ⊙ t)(ij), rank one.
  torch::Tensor d = torch::tensor({2.0, 1.0}, torch::kDouble);
  torch::Tensor t = torch::tensor({{1.0, 2.0, -1.0}, {0.5, 1.0, 3.0}}, torch::kDouble);
  torch::Tensor masks = torch::zeros({2, 2, 2, 3}, torch::kDouble);
  masks[1] = rank_one(d, t)[0];
  masks[0] = torch::ones({2, 2, 3}, torch::kDouble);
  MaskedSumNet net(masks);
  torch::Tensor c = torch::tensor({1.5, -2.0}, torch::kDouble);
  torch::Tensor s = torch::tensor({{1.0, 0.5, 2.0}, {-1.0, 0.25, 1.0}}, torch::kDouble);
  torch::Tensor a = rank_one(c, s);
  // (c ⊙ d) = (3, −2), |·| = √13; the component is ±√13 (s ⊙ t), centred by default.
  torch::Tensor st = s * t;
  auto signed_like = [](torch::Tensor x) {
    return x.min().abs().item<double>() > x.max().abs().item<double>() ? -x : x;
  };
  torch::Tensor expected = signed_like(std::sqrt(13.0) * (st - st.mean())).view({1, 1, 2, 3});
  nni::EigenGradCam method(net, nni::EigenGradCamOptions("features").relu(false));
  CHECK_THAT(method.attribute(a, 1), AllClose(expected, 1e-10, 1e-12));
  nni::EigenGradCam uncentred(net, nni::EigenGradCamOptions("features").relu(false).center(false));
  CHECK_THAT(uncentred.attribute(a, 1), AllClose(signed_like(std::sqrt(13.0) * st).view({1, 1, 2, 3}), 1e-10, 1e-12));
  // HiResCAM with eigen_smooth projects the same G ⊙ A (centred).
  nni::HiResCam hires(net, nni::HiResCamOptions("features").relu(false).eigen_smooth(true));
  CHECK_THAT(hires.attribute(a, 1), AllClose(expected, 1e-10, 1e-12));
  // Grad-CAM with eigen_smooth: w = mean G = (c-independent) d · mean(t); w ⊙ A = (d ⊙ c) mean(t) s.
  nni::GradCam grad_cam(net, nni::GradCamOptions("features").relu(false).eigen_smooth(true));
  const double norm = std::sqrt(13.0) * std::abs(t.mean().item<double>());
  CHECK_THAT(grad_cam.attribute(a, 1), AllClose(signed_like(norm * (s - s.mean())).view({1, 1, 2, 3}), 1e-10, 1e-12));
}

TEST_CASE("The first principal component equals LAPACK's SVD projection, also near-degenerate",
          "[cam][eigen_cam][principal_component]") {
  auto lapack = [](const torch::Tensor& weighted) {
    const torch::Tensor positions = weighted.flatten(2).transpose(1, 2);
    const torch::Tensor v = std::get<2>(torch::linalg_svd(positions, false)).select(1, 0).unsqueeze(2);
    torch::Tensor projection = positions.matmul(v).squeeze(2);
    const torch::Tensor flip = std::get<0>(projection.min(1)).abs() > std::get<0>(projection.max(1)).abs();
    return torch::where(flip.unsqueeze(1), -projection, projection).view({weighted.size(0), 1, weighted.size(2),
                                                                          weighted.size(3)});
  };
  torch::manual_seed(11);
  // Gram side by positions (16 < 20), by channels (9 < 16), beyond the hand-written size (LAPACK), float.
  for (const auto& shape : std::vector<std::vector<int64_t>>{{3, 20, 4, 4}, {2, 9, 4, 4}, {2, 64, 8, 8}}) {
    const torch::Tensor a = torch::randn(shape, torch::kDouble);
    CHECK_THAT(nni::detail::first_principal_component(a, false), AllClose(lapack(a), 1e-9, 1e-10));
    CHECK_THAT(nni::detail::first_principal_component(a, true),
               AllClose(lapack(a - a.flatten(2).mean(2).unsqueeze(2).unsqueeze(3)), 1e-9, 1e-10));
    // Float input against the double reference: a float32 SVD is itself only good to ~1e-5, and
    // which OpenBLAS build Debian ships moves it by that much.
    const torch::Tensor f = a.to(torch::kFloat);
    CHECK_THAT(nni::detail::first_principal_component(f, false).to(torch::kDouble), AllClose(lapack(a), 1e-4, 1e-5));
  }
  // Top two singular values 1 and 1 − 1e-7: the squarings cannot separate them within their budget
  // and LAPACK answers; all-zero activations give a zero map.
  const torch::Tensor u = std::get<0>(torch::linalg_qr(torch::randn({16, 3}, torch::kDouble)));
  const torch::Tensor v = std::get<0>(torch::linalg_qr(torch::randn({5, 3}, torch::kDouble)));
  const torch::Tensor sigma = torch::tensor({1.0, 1.0 - 1e-7, 0.3}, torch::kDouble);
  const torch::Tensor near = (u * sigma).matmul(v.t()).t().reshape({1, 5, 4, 4});  // [1, K, h, w]
  CHECK_THAT(nni::detail::first_principal_component(near, false), AllClose(lapack(near), 1e-6, 1e-8));
  const torch::Tensor zero = torch::zeros({1, 3, 2, 2}, torch::kDouble);
  CHECK(nni::detail::first_principal_component(zero, false).abs().max().item<double>() == 0);
}

TEST_CASE("Ablation-CAM after global average pooling + linear: the weights are w_ck mean(A_k) / y_c",
          "[cam][ablation_cam]") {
  auto model = gap_model(2, 4, 3, 9, torch::kDouble);
  torch::Tensor input = torch::randn({2, 2, 5, 4}, torch::kDouble);
  torch::Tensor labels = torch::tensor({2, 0}, torch::kLong);
  torch::Tensor activation;
  torch::Tensor output;
  {
    torch::NoGradGuard no_grad;
    activation = torch::relu(model[0]->as<torch::nn::Conv2d>()->forward(input));
    output = model->forward(input);
  }
  torch::Tensor weight = model[4]->as<torch::nn::Linear>()->weight.detach();
  torch::Tensor y = output.gather(1, labels.unsqueeze(1));                            // [N, 1]
  torch::Tensor alpha = weight.index_select(0, labels) * activation.mean({2, 3}) / y;  // [N, K]
  torch::Tensor expected = (alpha.unsqueeze(2).unsqueeze(3) * activation).sum(1, true);
  auto before = nni_test::ModelSnapshot::of(*model);
  // From the second call on, the first channels ride along in the capture pass (rows_per_call 0, 8
  // and 64: all four; 3: one, then three more passes; 1: too few rows per pass for any).
  for (int64_t rows : {0, 1, 3, 8, 64}) {
    nni::AblationCam method(model, nni::AblationCamOptions("1").relu(false).rows_per_call(rows));
    CHECK_THAT(method.attribute(input, labels), AllClose(expected, 1e-9, 1e-11));
    CHECK_THAT(method.attribute(input, labels), AllClose(expected, 1e-9, 1e-11));
    // Another batch size and a predicted target on the same method: still the same definition.
    CHECK_THAT(method.attribute(input.slice(0, 1, 2), labels.slice(0, 1, 2)),
               AllClose(expected.slice(0, 1, 2), 1e-9, 1e-11));
  }
  CHECK(before.difference(nni_test::ModelSnapshot::of(*model)).empty());
  // A score of exactly 0 makes the relative drop undefined: refused.
  nni::AblationCam method(model, nni::AblationCamOptions("1"));
  nni::Target zero([](const torch::Tensor& out) { return out.select(1, 0) * 0; });
  CHECK_THROWS_WITH(method.attribute(input, zero), Catch::Contains("AblationCam: the target score is exactly 0"));
  CHECK_THROWS_WITH(nni::AblationCam(model, nni::AblationCamOptions("1").rows_per_call(-5)),
                    Catch::Contains("AblationCam"));
}

TEST_CASE("Token and channels-last layers rearranged give the maps of the equivalent grid layer",
          "[cam][layer_reshape]") {
  TokenNet net;
  torch::Tensor input = torch::randn({2, 3, 8, 6});  // grid 4 × 3: 12 spatial tokens, class token first
  torch::Tensor labels = torch::tensor({1, 2}, torch::kLong);
  const torch::Tensor grid_map = nni::GradCam(net, nni::GradCamOptions("grid")).attribute(input, labels);
  CHECK(grid_map.sizes() == torch::IntArrayRef({2, 1, 4, 3}));
  CHECK(grid_map.abs().max().item<double>() > 0);
  CHECK_THAT(nni::GradCam(net, nni::GradCamOptions("tokens").reshape(nni::LayerReshape::tokens())).attribute(input, labels),
             AllClose(grid_map));
  CHECK_THAT(nni::GradCam(net, nni::GradCamOptions("tokens").reshape(nni::LayerReshape::tokens(1, {4, 3})))
                 .attribute(input, labels),
             AllClose(grid_map));
  CHECK_THAT(nni::GradCam(net, nni::GradCamOptions("nhwc").reshape(nni::LayerReshape::channels_last()))
                 .attribute(input, labels),
             AllClose(grid_map));
  // Ablation of a token channel zeroes it at every spatial token, not the class token: as at the grid.
  // The second call's ablated channels ride along in the capture pass, the class token untouched there too.
  nni::AblationCam token_ablation(net, nni::AblationCamOptions("tokens").reshape(nni::LayerReshape::parse("vit")));
  const torch::Tensor grid_ablation = nni::AblationCam(net, nni::AblationCamOptions("grid")).attribute(input, labels);
  CHECK_THAT(token_ablation.attribute(input, labels), AllClose(grid_ablation, 1e-4, 1e-6));
  CHECK_THAT(token_ablation.attribute(input, labels), AllClose(grid_ablation, 1e-4, 1e-6));
  CHECK_THAT(nni::ScoreCam(net, nni::ScoreCamOptions("tokens").reshape(nni::LayerReshape::tokens()))
                 .attribute(input, labels),
             AllClose(nni::ScoreCam(net, nni::ScoreCamOptions("grid")).attribute(input, labels)));
  CHECK_THAT(nni::GuidedGradCam(net, nni::GuidedGradCamOptions("tokens").reshape(nni::LayerReshape::tokens()))
                 .attribute(input, labels),
             AllClose(nni::GuidedGradCam(net, nni::GuidedGradCamOptions("grid")).attribute(input, labels)));

  // Without a reshape, a token layer is refused with the fix in the message.
  CHECK_THROWS_WITH(nni::GradCam(net, nni::GradCamOptions("tokens")).attribute(input, labels),
                    Catch::Contains("GradCam: layer 'tokens' outputs shape [2, 13, 4]") &&
                        Catch::Contains("--reshape vit"));
  // A grid that does not fit is named.
  CHECK_THROWS_WITH(
      nni::GradCam(net, nni::GradCamOptions("tokens").reshape(nni::LayerReshape::tokens(1, {5, 3}))).attribute(input, labels),
      Catch::Contains("12 spatial tokens") && Catch::Contains("5 × 3"));
  CHECK_THROWS_WITH(nni::GradCam(net, nni::GradCamOptions("tokens").reshape(nni::LayerReshape::tokens(2)))
                        .attribute(input, labels),
                    Catch::Contains("11 spatial tokens, which is no grid"));
  CHECK_THROWS_WITH(nni::GradCam(net, nni::GradCamOptions("grid").reshape(nni::LayerReshape::tokens()))
                        .attribute(input, labels),
                    Catch::Contains("the tokens reshape needs [N, tokens, C]"));
}

TEST_CASE("LayerReshape parses the command line's spellings and refuses others", "[cam][layer_reshape]") {
  CHECK(nni::LayerReshape::parse("none").is_none());
  CHECK(nni::LayerReshape::parse("vit").to_string() == "tokens:1");
  CHECK(nni::LayerReshape::parse("tokens:2").to_string() == "tokens:2");
  CHECK(nni::LayerReshape::parse("tokens:1:14x14").to_string() == "tokens:1:14x14");
  CHECK(nni::LayerReshape::parse("swin").to_string() == "channels_last");
  CHECK_THROWS_WITH(nni::LayerReshape::parse("vitt"), Catch::Contains("unknown reshape 'vitt'"));
  CHECK_THROWS_WITH(nni::LayerReshape::parse("tokens:x"), Catch::Contains("'x' is not a count"));
  CHECK_THROWS_WITH(nni::LayerReshape::parse("tokens:1:14"), Catch::Contains("<h>x<w>"));
  // A custom rearrangement must return [N, C, h, w].
  TokenNet net;
  auto bad = nni::LayerReshape::custom([](const torch::Tensor& a, const torch::Tensor&) { return a.flatten(1); },
                                       "flattening");
  CHECK_THROWS_WITH(nni::GradCam(net, nni::GradCamOptions("grid").reshape(bad)).attribute(torch::randn({1, 3, 4, 4}), 0),
                    Catch::Contains("the flattening reshape returned shape [1, 16]"));
}

TEST_CASE("aug_smooth is the mean of the six augmented maps, flipped back, for the unaugmented prediction",
          "[cam][aug_smooth]") {
  auto model = gap_model(2, 4, 3, 13, torch::kDouble);
  torch::Tensor input = torch::randn({2, 2, 6, 5}, torch::kDouble);
  nni::GradCam plain(model, nni::GradCamOptions("1"));
  const torch::Tensor predicted = model->forward(input).argmax(1);
  torch::Tensor expected = torch::zeros({2, 1, 6, 5}, torch::kDouble);
  for (bool flip : {false, true}) {
    for (double factor : {1.0, 0.9, 1.1}) {
      torch::Tensor augmented = (flip ? input.flip({3}) : input) * factor;
      torch::Tensor map = plain.attribute(augmented, predicted);
      expected += flip ? map.flip({3}) : map;
    }
  }
  expected /= 6.0;
  nni::GradCam smoothed(model, nni::GradCamOptions("1").aug_smooth(true));
  CHECK_THAT(smoothed.attribute(input), AllClose(expected, 1e-10, 1e-12));
  CHECK_THAT(smoothed.attribute(input, predicted), AllClose(expected, 1e-10, 1e-12));
  // Gradient-free methods too, and with upsampling.
  nni::ScoreCam score(model, nni::ScoreCamOptions("1").aug_smooth(true).upsample(nni::Upsample::kBilinear));
  CHECK(score.attribute(input, predicted).sizes() == torch::IntArrayRef({2, 1, 6, 5}));
  CHECK_THROWS_WITH(nni::GuidedGradCam(model, nni::GuidedGradCamOptions("1").aug_smooth(true)),
                    Catch::Contains("GuidedGradCam: aug_smooth and eigen_smooth are not supported"));
  CHECK_THROWS_WITH(smoothed.attribute(torch::randn({2, 30}, torch::kDouble)),
                    Catch::Contains("aug_smooth needs an image input [N, C, H, W]"));
}

TEST_CASE("Several layers fuse into the mean of their upsampled, min-max scaled maps", "[cam][fused_layers]") {
  torch::manual_seed(17);
  torch::nn::Sequential model(torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 3, 3).padding(1)), torch::nn::ReLU(),
                              torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).stride(2).padding(1)),
                              torch::nn::ReLU(), torch::nn::AdaptiveAvgPool2d(1), torch::nn::Flatten(),
                              torch::nn::Linear(4, 3));
  model->to(torch::kDouble);
  torch::Tensor input = torch::randn({3, 2, 8, 6}, torch::kDouble);
  torch::Tensor labels = torch::tensor({0, 1, 2}, torch::kLong);
  auto scaled = [&](const std::string& layer) {
    torch::Tensor map =
        nni::LayerCam(model, nni::LayerCamOptions(layer).upsample(nni::Upsample::kBilinear)).attribute(input, labels);
    torch::Tensor rows = map.flatten(1);
    torch::Tensor low = std::get<0>(rows.min(1)).view({-1, 1, 1, 1});
    torch::Tensor high = std::get<0>(rows.max(1)).view({-1, 1, 1, 1});
    // A flat map (here example 2 at layer "3", all zeros) scales to zeros.
    return torch::where(high > low, (map - low) / (high - low), torch::zeros_like(map));
  };
  torch::Tensor expected = (scaled("1") + scaled("3")) / 2;
  nni::LayerCam fused(model, nni::LayerCamOptions("1").layers({"1", "3"}));
  torch::Tensor result = fused.attribute(input, labels);
  CHECK(result.sizes() == torch::IntArrayRef({3, 1, 8, 6}));
  CHECK_THAT(result, AllClose(expected, 1e-10, 1e-12));
  // The registry reads a comma-separated list.
  auto made = nni::make_method("layer_cam", model, nni::MethodConfig().layer("1,3"));
  CHECK_THAT(made->attribute(input, labels), AllClose(expected, 1e-10, 1e-12));
  CHECK_THROWS_WITH(nni::Cam(model, nni::CamOptions("1").layers({"1", "3"})), Catch::Contains("Cam takes one layer, got 2"));
  CHECK_THROWS_WITH(nni::GradCam(model, nni::GradCamOptions("1").layers({})), Catch::Contains("GradCam: no layer given"));
  CHECK_THROWS_WITH(nni::GradCam(model, nni::GradCamOptions("")), Catch::Contains("GradCam: a layer name is empty"));
  CHECK_THROWS_WITH(nni::GradCam(model, nni::GradCamOptions("1").layers({"1", "nope"})).attribute(input, labels),
                    Catch::Contains("nope"));
}

TEST_CASE("The new CAMs are registered with their shared options", "[cam][registry]") {
  for (const char* name : {"xgrad_cam", "grad_cam_elementwise", "eigen_cam", "eigen_grad_cam", "ablation_cam"}) {
    const nni::MethodInfo& info = nni::method_info(name);
    CHECK(info.needs_layer);
    CHECK(info.option("reshape") != nullptr);
    CHECK(info.option("aug_smooth") != nullptr);
  }
  CHECK(nni::method_info("eigen_cam").option("eigen_smooth") == nullptr);
  CHECK(nni::method_info("eigen_cam").option("center")->default_value == "off");
  CHECK(nni::method_info("eigen_grad_cam").option("center")->default_value == "on");
  CHECK(nni::method_info("ablation_cam").option("rows_per_call") != nullptr);
  CHECK(nni::method_info("guided_grad_cam").option("aug_smooth") == nullptr);
  auto model = gap_model(2, 4, 3, 1, torch::kDouble);
  CHECK_THROWS_WITH(nni::make_method("grad_cam", model, nni::MethodConfig().layer("1").set("reshape", "vitt")),
                    Catch::Contains("unknown reshape 'vitt'"));
}

TEST_CASE("The CAM family agrees with pytorch-grad-cam's raw maps on scripted and traced torchvision models",
          "[cam][real_models][pytorch_grad_cam]") {
  // Written by tests/fixtures/cam_reference/export_cam_reference.py from pytorch-grad-cam's own code
  // (and the papers' definitions where they differ, see its docstring). ResNet / VGG and their
  // inputs are ../real_models'; the ViT and Swin transformers (torchvision's classes, small) are
  // in cam_reference/ with theirs.
  const std::string real = std::string(NNI_SOURCE_DIR) + "/tests/fixtures/real_models/";
  const std::string dir = std::string(NNI_SOURCE_DIR) + "/tests/fixtures/cam_reference/";
  struct Case {
    std::string reference, method;
    nni::MethodConfig config;
  };
  const nni::MethodConfig raw = nni::MethodConfig().set("relu", false);
  const std::vector<Case> cases = {
      {"grad_cam", "grad_cam", {}},
      {"hires_cam", "hires_cam", {}},
      {"xgrad_cam_eps0", "xgrad_cam", {}},  // the paper's (no eps); pytorch-grad-cam's eps-1e-7 version below
      {"xgrad_cam", "xgrad_cam", {}},
      {"grad_cam_elementwise", "grad_cam_elementwise", {}},
      {"eigen_cam", "eigen_cam", nni::MethodConfig().set("center", true)},  // pytorch-grad-cam centres
      {"eigen_cam_uncentered", "eigen_cam", {}},                            // the paper's, our default
      {"eigen_cam_projection", "eigen_cam", nni::MethodConfig(raw).set("center", true)},  // sign rule, before ReLU
      {"eigen_cam_uncentered_projection", "eigen_cam", raw},
      {"eigen_grad_cam", "eigen_grad_cam", {}},
      {"grad_cam__eigen_smooth", "grad_cam", nni::MethodConfig().set("eigen_smooth", true)},
      {"grad_cam_elementwise__eigen_smooth", "grad_cam_elementwise", nni::MethodConfig().set("eigen_smooth", true)},
      {"ablation_cam", "ablation_cam", {}},  // the paper's zero; the gradcam_rule files differ by design
      {"grad_cam__aug_smooth", "grad_cam", nni::MethodConfig().set("aug_smooth", true)},
      {"grad_cam_fused", "grad_cam", {}},  // layer "layer3+layer4": fused
  };
  std::ifstream manifest(dir + "manifest.txt");
  REQUIRE(manifest.good());
  int64_t compared = 0;
  std::string line;
  while (std::getline(manifest, line)) {
    if (line.empty() || line[0] == '#') continue;
    const std::string file = line.substr(0, line.find(' '));
    const size_t first = file.find("__");
    const size_t second = first == std::string::npos ? std::string::npos : file.find("__", first + 2);
    if (second == std::string::npos) continue;  // inputs, models, the attention rollout
    const std::string family = file.substr(0, first);
    std::string layer = file.substr(first + 2, second - first - 2);
    const std::string name = file.substr(second + 2, file.size() - second - 2 - 4);  // without ".npy"
    const Case* match = nullptr;
    for (const Case& c : cases)
      if (c.reference == name) match = &c;
    if (match == nullptr) {
      // Not a method of ours (yet): the attention probabilities, pytorch-grad-cam's ablation rule.
      CHECK((name == "attention_probs" || name == "ablation_cam_gradcam_rule"));
      continue;
    }
    std::replace(layer.begin(), layer.end(), '+', ',');  // fused layers, as the command line lists them
    const bool transformer = family == "vit" || family == "swin";
    const std::string models = transformer ? dir : real;
    const torch::Tensor input = nni::read_npy(models + family + "_input.npy");
    const torch::Tensor target = nni::read_npy(models + family + "_target.npy");
    const torch::Tensor expected = nni::read_npy(dir + file);
    for (const char* kind : {"scripted", "traced"}) {
      torch::jit::Module module = torch::jit::load(models + family + "_" + kind + ".pt");
      module.eval();
      const nni::Model model(module);
      nni::MethodConfig config = match->config;
      config.layer(layer);
      if (family == "vit") config.set("reshape", "vit");
      if (family == "swin") config.set("reshape", "swin");
      INFO(file << " " << kind);
      const auto method = nni::make_method(match->method, model, config);
      if (family == "vit" && std::string(kind) == "traced" && match->method != "eigen_cam") {
        // torch.jit.trace under no_grad recorded MultiheadAttention's inference fast path, an op
        // without a derivative: no gradient method can run on that trace (the scripted ViT works).
        CHECK_THROWS_WITH(method->attribute(input, target),
                          Catch::Contains("derivative for aten::_native_multi_head_attention is not implemented"));
        continue;
      }
      const torch::Tensor actual = method->attribute(input, target);
      REQUIRE(actual.sizes() == expected.sizes());
      const double scale = expected.abs().max().item<double>();
      REQUIRE(scale > 0);
      CHECK((actual - expected).abs().max().item<double>() / scale <= 1e-4);
      ++compared;
    }
  }
  CHECK(compared == 2 * 49 - 1);  // 49 reference maps, scripted and traced, but the traced ViT's Grad-CAM
}
