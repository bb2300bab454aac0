// Integrated gradients and SmoothGrad: exact answers on polynomials, completeness, identities and
// reproducibility.
#include "support/catch_torch.h"
#include <torch/torch.h>

#include "nn_interpretability/nn_interpretability.h"
#include "support/all_close.h"
#include "support/tiny_models.h"

namespace nni = nn_interpretability;
using nni_test::AllClose;

namespace {

/// An attribution that returns the (noisy) input itself: SmoothGrad over it exposes the noise.
class InputItself : public nni::Attribution {
 public:
  explicit InputItself(nni::Model model) : model_(std::move(model)) {}
  torch::Tensor attribute(const torch::Tensor& input, const nni::Target&) override { return input.clone(); }
  std::string name() const override { return "input_itself"; }
  const nni::Model& model() const override { return model_; }

 private:
  nni::Model model_;
};

nni::Model sum_of_squares_model() { return nni::Model(nni::ForwardFunction(nni_test::sum_of_squares)); }

}  // namespace

TEST_CASE("Integrated gradients of a linear model is (x - baseline) times the weights", "[integrated_gradients]") {
  auto model = nni_test::linear_model(4, 3);
  torch::Tensor input = torch::randn({3, 4});
  torch::Tensor baseline = torch::randn({1, 4});
  for (auto rule : {nni::IntegrationRule::kGaussLegendre, nni::IntegrationRule::kRiemannLeft,
                    nni::IntegrationRule::kRiemannRight, nni::IntegrationRule::kRiemannMiddle,
                    nni::IntegrationRule::kRiemannTrapezoid}) {
    nni::IntegratedGradients method(model, nni::IntegratedGradientsOptions().steps(7).rule(rule).baseline(baseline));
    auto result = method.attribute_with_delta(input, 2);
    CHECK_THAT(result.attributions, AllClose((input - baseline) * model->weight.detach()[2], 1e-5, 1e-6));
    CHECK(result.convergence_delta.abs().max().item<double>() < 1e-5);
  }
}

TEST_CASE("Integrated gradients of a sum of squares is exactly x squared", "[integrated_gradients]") {
  // ∫₀¹ 2αx · x dα = x²; Gauss–Legendre with n ≥ 2 integrates the linear integrand exactly, and so
  // do the midpoint and trapezoid rules.
  torch::Tensor input = torch::randn({2, 3, 2, 2}, torch::kDouble);
  for (auto rule : {nni::IntegrationRule::kGaussLegendre, nni::IntegrationRule::kRiemannMiddle,
                    nni::IntegrationRule::kRiemannTrapezoid}) {
    nni::IntegratedGradients method(sum_of_squares_model(), nni::IntegratedGradientsOptions().steps(3).rule(rule));
    CHECK_THAT(method.attribute(input, 0), AllClose(input.square(), 1e-12, 1e-12));
  }
  // The left rule underestimates by a known amount: Σ 2(k/n)/n = (n − 1)/n.
  nni::IntegratedGradients left(sum_of_squares_model(),
                                nni::IntegratedGradientsOptions().steps(4).rule(nni::IntegrationRule::kRiemannLeft));
  CHECK_THAT(left.attribute(input, 0), AllClose(input.square() * 0.75, 1e-12, 1e-12));
}

TEST_CASE("Integrated gradients is complete on a ReLU CNN", "[integrated_gradients]") {
  torch::manual_seed(21);
  nni_test::SmallCnn model;
  model->eval();
  model->to(torch::kDouble);
  torch::Tensor input = torch::rand({3, 1, 8, 8}, torch::kDouble);
  nni::IntegratedGradients method(model, nni::IntegratedGradientsOptions().steps(400));
  auto result = method.attribute_with_delta(input, 0);
  torch::Tensor scores = model->forward(input).select(1, 0) - model->forward(torch::zeros_like(input)).select(1, 0);
  CHECK_THAT(result.attributions.flatten(1).sum(1), AllClose(scores.detach(), 1e-2, 1e-3));
  CHECK_THAT(result.convergence_delta, AllClose(result.attributions.flatten(1).sum(1) - scores.detach(), 1e-9, 1e-9));
  CHECK(result.convergence_delta.abs().max().item<double>() < 1e-2 * scores.abs().max().item<double>());
}

TEST_CASE("Integrated gradients gives the same result whatever the internal batch size", "[integrated_gradients]") {
  torch::manual_seed(22);
  nni_test::SmallCnn model;
  model->eval();
  torch::Tensor input = torch::rand({3, 1, 8, 8});
  torch::Tensor all_at_once = nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().steps(10)).attribute(input);
  torch::Tensor chunked =
      nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().steps(10).internal_batch_size(7)).attribute(input);
  CHECK_THAT(chunked, AllClose(all_at_once, 1e-5, 1e-6));
}

TEST_CASE("SmoothGrad with zero noise equals its base method", "[smooth_grad]") {
  torch::manual_seed(23);
  nni_test::SmallCnn model;
  model->eval();
  torch::Tensor input = torch::rand({3, 1, 8, 8});
  torch::Tensor labels = torch::tensor({0, 2, 1});
  auto zero_noise = nni::SmoothGradOptions().samples(5).noise_level(0).samples_per_batch(2);
  CHECK_THAT(nni::SmoothGrad(nni::VanillaGradient(model), zero_noise).attribute(input, labels),
             AllClose(nni::VanillaGradient(model).attribute(input, labels)));
  CHECK_THAT(nni::SmoothGrad(nni::GuidedBackprop(model), zero_noise).attribute(input, labels),
             AllClose(nni::GuidedBackprop(model).attribute(input, labels)));
  CHECK_THAT(nni::SmoothGrad(nni::SaliencyMap(model), zero_noise.stdev(0.0)).attribute(input, labels),
             AllClose(nni::SaliencyMap(model).attribute(input, labels)));
  CHECK_THAT(nni::SmoothGrad(nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().steps(5)), zero_noise)
                 .attribute(input, labels),
             AllClose(nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().steps(5)).attribute(input, labels)));
}

TEST_CASE("SmoothGrad variants on a linear model: mean w, square w squared, variance zero", "[smooth_grad]") {
  auto model = nni_test::linear_model(4, 3);
  torch::Tensor input = torch::randn({2, 4});
  torch::Tensor w = model->weight.detach()[1].expand({2, 4});
  auto options = nni::SmoothGradOptions().samples(20).samples_per_batch(6).seed(1);
  CHECK_THAT(nni::SmoothGrad(nni::VanillaGradient(model), options).attribute(input, 1), AllClose(w));
  CHECK_THAT(nni::SmoothGrad(nni::VanillaGradient(model), options.variant(nni::SmoothGradVariant::kSquare))
                 .attribute(input, 1),
             AllClose(w.square()));
  CHECK_THAT(nni::SmoothGrad(nni::VanillaGradient(model), options.variant(nni::SmoothGradVariant::kVariance))
                 .attribute(input, 1),
             AllClose(torch::zeros({2, 4}), 0, 1e-10));
}

TEST_CASE("SmoothGrad noise has the paper's scale: noise_level times each example's range", "[smooth_grad]") {
  // Over the identity attribution SmoothGrad's mean is the input and VarGrad is σ², σ = 0.2 · (max − min).
  torch::Tensor input = torch::stack({torch::linspace(0, 1, 64), torch::linspace(-3, 1, 64)}).view({2, 1, 8, 8});
  auto model = sum_of_squares_model();
  auto options = nni::SmoothGradOptions().samples(4000).samples_per_batch(300).noise_level(0.2).seed(7);
  torch::Tensor variance =
      nni::SmoothGrad(InputItself(model), options.variant(nni::SmoothGradVariant::kVariance)).attribute(input, 0);
  CHECK(variance[0].mean().item<double>() == Approx(0.04).epsilon(0.02));
  CHECK(variance[1].mean().item<double>() == Approx(0.64).epsilon(0.02));
  torch::Tensor mean = nni::SmoothGrad(InputItself(model), options.variant(nni::SmoothGradVariant::kMean)).attribute(input, 0);
  CHECK(nni_test::max_abs_difference(mean[0], input[0]) < 5 * 0.2 / std::sqrt(4000.0));
  // An absolute standard deviation replaces the relative one.
  torch::Tensor absolute = nni::SmoothGrad(InputItself(model), options.stdev(0.5).variant(nni::SmoothGradVariant::kVariance))
                               .attribute(input, 0);
  CHECK(absolute.mean().item<double>() == Approx(0.25).epsilon(0.02));
}

TEST_CASE("SmoothGrad squared and variance variants agree with the analytic moments", "[smooth_grad]") {
  // d/dx Σx² = 2(x + ε): mean 2x, mean of squares 4x² + 4σ², variance 4σ².
  torch::Tensor input = torch::full({1, 1, 4, 4}, 0.5, torch::kDouble);
  auto options = nni::SmoothGradOptions().samples(3000).samples_per_batch(128).stdev(0.1).seed(3);
  nni::VanillaGradient base(sum_of_squares_model());
  CHECK(nni::SmoothGrad(base, options).attribute(input, 0).mean().item<double>() == Approx(1.0).epsilon(0.01));
  CHECK(nni::SmoothGrad(base, options.variant(nni::SmoothGradVariant::kSquare)).attribute(input, 0).mean().item<double>() ==
        Approx(1.04).epsilon(0.01));
  CHECK(nni::SmoothGrad(base, options.variant(nni::SmoothGradVariant::kVariance)).attribute(input, 0).mean().item<double>() ==
        Approx(0.04).epsilon(0.03));
}

TEST_CASE("Seeded SmoothGrad is bit-reproducible and leaves the global generator alone", "[smooth_grad]") {
  torch::manual_seed(24);
  nni_test::SmallCnn model;
  model->eval();
  torch::Tensor input = torch::rand({2, 1, 8, 8});
  auto options = nni::SmoothGradOptions().samples(6).samples_per_batch(4).seed(42);
  nni::SmoothGrad method(nni::GuidedBackprop(model), options);
  torch::manual_seed(100);
  torch::Tensor expected_draw = torch::rand({3});
  torch::manual_seed(100);
  torch::Tensor first = method.attribute(input, 1);
  CHECK(torch::rand({3}).equal(expected_draw));
  CHECK(method.attribute(input, 1).equal(first));
  CHECK(!nni::SmoothGrad(nni::GuidedBackprop(model), options.seed(43)).attribute(input, 1).equal(first));
}

TEST_CASE("SmoothGrad explains the clean input's predicted class for every noisy copy", "[smooth_grad]") {
  torch::manual_seed(25);
  nni_test::SmallCnn model;
  model->eval();
  torch::Tensor input = torch::rand({3, 1, 8, 8});
  torch::Tensor predicted = model->forward(input).argmax(1);
  auto options = nni::SmoothGradOptions().samples(8).samples_per_batch(3).seed(5).noise_level(0.5);
  nni::SmoothGrad method(nni::VanillaGradient(model), options);
  CHECK(method.attribute(input).equal(method.attribute(input, predicted)));
}
