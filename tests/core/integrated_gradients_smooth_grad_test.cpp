// Integrated gradients and SmoothGrad: exact answers on polynomials, completeness, identities and
// reproducibility.
#include "support/catch_torch.h"
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "nn_interpretability/detail/quadrature.h"
#include "nn_interpretability/nn_interpretability.h"
#include "support/all_close.h"
#include "support/tiny_models.h"

namespace nni = nn_interpretability;
using Catch::Matchers::Contains;
using nni_test::AllClose;

namespace {

/// An attribution that returns the (noisy) input itself: SmoothGrad over it exposes the noise.
class InputItself : public nni::ModelAttribution {
 public:
  explicit InputItself(nni::Model model) : ModelAttribution(std::move(model)) {}
  std::string name() const override { return "input_itself"; }
  std::string class_name() const override { return "InputItself"; }

 protected:
  torch::Tensor compute(const torch::Tensor& input, const nni::Target&) override { return input.clone(); }
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
      nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().steps(10).rows_per_call(7)).attribute(input);
  CHECK_THAT(chunked, AllClose(all_at_once, 1e-5, 1e-6));
}

TEST_CASE("SmoothGrad with zero noise equals its base method", "[smooth_grad]") {
  torch::manual_seed(23);
  nni_test::SmallCnn model;
  model->eval();
  torch::Tensor input = torch::rand({3, 1, 8, 8});
  torch::Tensor labels = torch::tensor({0, 2, 1});
  auto zero_noise = nni::SmoothGradOptions().samples(5).noise_level(0).rows_per_call(6);
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
  auto options = nni::SmoothGradOptions().samples(20).rows_per_call(12).seed(1);
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
  auto options = nni::SmoothGradOptions().samples(4000).rows_per_call(600).noise_level(0.2).seed(7);
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
  auto options = nni::SmoothGradOptions().samples(3000).rows_per_call(128).stdev(0.1).seed(3);
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
  auto options = nni::SmoothGradOptions().samples(6).rows_per_call(8).seed(42);
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
  auto options = nni::SmoothGradOptions().samples(8).rows_per_call(9).seed(5).noise_level(0.5);
  nni::SmoothGrad method(nni::VanillaGradient(model), options);
  CHECK(method.attribute(input).equal(method.attribute(input, predicted)));
}

// ----------------------------------------------------------------------------- the quadrature rule

namespace {

// The rule as it was computed before it was made fast (Newton's method on P_n for every node in
// turn): the reference the new computation must reproduce.
void reference_gauss_legendre_node(int64_t n, int64_t i, double& alpha, double& weight) {
  const double pi = 3.14159265358979323846;
  double x = std::cos(pi * (static_cast<double>(i) - 0.25) / (static_cast<double>(n) + 0.5));
  double derivative = 1.0;
  for (int iteration = 0; iteration < 100; ++iteration) {
    double p_previous = 1.0;
    double p = x;
    for (int64_t j = 2; j <= n; ++j) {
      const double p_next = ((2.0 * j - 1.0) * x * p - (j - 1.0) * p_previous) / static_cast<double>(j);
      p_previous = p;
      p = p_next;
    }
    derivative = static_cast<double>(n) * (x * p - p_previous) / (x * x - 1.0);
    const double step = p / derivative;
    x -= step;
    if (std::abs(step) < 1e-15) break;
  }
  alpha = (x + 1.0) / 2.0;
  weight = 1.0 / ((1.0 - x * x) * derivative * derivative);
}

// Σ w_k α_k^d, which is ∫₀¹ α^d dα = 1 / (d + 1) when the rule is exact for degree d.
double integrate_power(const nni::detail::Quadrature& q, int64_t degree) {
  double sum = 0;
  for (std::size_t k = 0; k < q.alphas.size(); ++k) sum += q.weights[k] * std::pow(q.alphas[k], static_cast<double>(degree));
  return sum;
}

}  // namespace

TEST_CASE("Gauss-Legendre nodes and weights equal the former per-node Newton rule to 1e-12", "[integrated_gradients][quadrature]") {
  for (int64_t n : {1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33, 50, 63, 64, 65, 100, 257}) {
    const nni::detail::Quadrature q = nni::detail::integration_rule(nni::IntegrationRule::kGaussLegendre, n);
    REQUIRE(q.alphas.size() == static_cast<std::size_t>(n));
    for (int64_t i = 1; i <= n; ++i) {
      double alpha = 0, weight = 0;
      reference_gauss_legendre_node(n, i, alpha, weight);
      INFO("n = " << n << ", node " << i);
      CHECK(std::abs(q.alphas[static_cast<std::size_t>(i - 1)] - alpha) <= 1e-12);
      CHECK(std::abs(q.weights[static_cast<std::size_t>(i - 1)] - weight) <= 1e-12);
    }
  }
}

TEST_CASE("Gauss-Legendre with n points integrates polynomials of degree <= 2n - 1 exactly", "[integrated_gradients][quadrature]") {
  for (int64_t n : {1, 2, 3, 5, 10, 50, 333}) {
    const nni::detail::Quadrature q = nni::detail::integration_rule(nni::IntegrationRule::kGaussLegendre, n);
    for (int64_t degree = 0; degree <= 2 * n - 1; ++degree) {
      INFO("n = " << n << ", degree " << degree);
      CHECK(std::abs(integrate_power(q, degree) - 1.0 / static_cast<double>(degree + 1)) <= 1e-13);
    }
    // And not one degree more (for small n, where the error is visible): the test has teeth.
    if (n <= 5) CHECK(std::abs(integrate_power(q, 2 * n) - 1.0 / static_cast<double>(2 * n + 1)) > 1e-6);
  }
}

TEST_CASE("A Gauss-Legendre rule of 20000 points is computed and still right", "[integrated_gradients][quadrature]") {
  const int64_t n = 20000;
  const nni::detail::Quadrature q = nni::detail::integration_rule(nni::IntegrationRule::kGaussLegendre, n);
  REQUIRE(q.alphas.size() == static_cast<std::size_t>(n));
  double total = 0;
  bool descending = true, inside = true, symmetric = true;
  for (std::size_t k = 0; k < q.alphas.size(); ++k) {
    total += q.weights[k];
    if (k > 0 && !(q.alphas[k] < q.alphas[k - 1])) descending = false;
    if (!(q.alphas[k] > 0 && q.alphas[k] < 1 && q.weights[k] > 0)) inside = false;
    const std::size_t mirror = q.alphas.size() - 1 - k;
    if (std::abs(q.alphas[k] + q.alphas[mirror] - 1) > 1e-15 || q.weights[k] != q.weights[mirror]) symmetric = false;
  }
  CHECK(std::abs(total - 1) <= 1e-12);
  CHECK(descending);
  CHECK(inside);
  CHECK(symmetric);
  for (int64_t degree : {1, 2, 3, 10, 101, 1000}) CHECK(std::abs(integrate_power(q, degree) - 1.0 / (degree + 1)) <= 1e-12);
  for (int64_t i : {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{777}, n / 2, n - 1, n}) {
    double alpha = 0, weight = 0;
    reference_gauss_legendre_node(n, i, alpha, weight);
    INFO("node " << i);
    CHECK(std::abs(q.alphas[static_cast<std::size_t>(i - 1)] - alpha) <= 1e-12);
    // Absolute: next to the ends 1 - x² is about 1e-8, so one ulp of x moves a weight by ~1e-8 of
    // itself, in the former rule as much as in this one.
    CHECK(std::abs(q.weights[static_cast<std::size_t>(i - 1)] - weight) <= 1e-12);
    CHECK(std::abs(q.weights[static_cast<std::size_t>(i - 1)] - weight) <= 1e-6 * weight);
  }
  // Integrated gradients with that many steps: exact on x² (a 1-pixel model), in one call.
  const torch::Tensor input = torch::tensor({0.5, -2.0}, torch::kDouble).view({2, 1});
  nni::Model square([](const torch::Tensor& x) { return x.square().repeat({1, 2}); });
  const torch::Tensor attributions =
      nni::IntegratedGradients(square, nni::IntegratedGradientsOptions().steps(n)).attribute(input, 0);
  CHECK_THAT(attributions, AllClose(input.square(), 1e-12, 1e-12));
}

TEST_CASE("Integrated gradients refuses more steps than kMaxSteps when it is built", "[integrated_gradients][quadrature]") {
  auto model = nni_test::linear_model(4, 3);
  const int64_t too_many = nni::IntegratedGradients::kMaxSteps + 1;
  CHECK_THROWS_AS(nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().steps(too_many)), c10::ValueError);
  CHECK_THROWS_WITH(nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().steps(too_many)),
                    Contains("IntegratedGradients: steps must be at most 100000, got 100001") && Contains("--steps"));
  // A billion steps used to run forever; now it is an immediate error.
  CHECK_THROWS_WITH(nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().steps(1000000000)),
                    Contains("steps must be at most 100000, got 1000000000"));
  CHECK_THROWS_WITH(nni::detail::integration_rule(nni::IntegrationRule::kRiemannMiddle, too_many),
                    Contains("steps must be in 1..100000"));
  // The other rules are unchanged: the midpoint rule of 4 points.
  const nni::detail::Quadrature middle = nni::detail::integration_rule(nni::IntegrationRule::kRiemannMiddle, 4);
  CHECK(middle.alphas == std::vector<double>({0.125, 0.375, 0.625, 0.875}));
  CHECK(middle.weights == std::vector<double>({0.25, 0.25, 0.25, 0.25}));
}

TEST_CASE("The O(n) Gauss-Legendre rule (Taylor series from root to root) equals per-node Newton for large n",
          "[integrated_gradients][quadrature]") {
  for (int64_t n : {129, 130, 1000, 1001, 5000, 100000}) {
    const nni::detail::Quadrature q = nni::detail::integration_rule(nni::IntegrationRule::kGaussLegendre, n);
    REQUIRE(q.alphas.size() == static_cast<std::size_t>(n));
    double total = 0;
    for (double w : q.weights) total += w;
    INFO("n = " << n);
    CHECK(std::abs(total - 1) <= 1e-13);
    // Nodes near both ends (the recurrence's), the switch-over region and the middle (the series').
    std::vector<int64_t> nodes{1, 2, 5, 9, 10, 11, 12, 15, 20, 40, n / 4, n / 2, n / 2 + 1, n - 9, n};
    // Next to the ends a weight is ill-conditioned (1 - x² ~ 1/n²: one ulp of x moves it by ~n²·ulp
    // of itself, in the reference as much as here); in the middle it is not.
    const double nd = static_cast<double>(n);
    const double end_tolerance = std::max(1e-12, 4e-16 * nd * nd);
    for (int64_t i : nodes) {
      double alpha = 0, weight = 0;
      reference_gauss_legendre_node(n, i, alpha, weight);
      INFO("node " << i);
      const bool middle = i == n / 4 || i == n / 2 || i == n / 2 + 1;
      CHECK(std::abs(q.alphas[static_cast<std::size_t>(i - 1)] - alpha) <= 1e-14);
      CHECK(std::abs(q.weights[static_cast<std::size_t>(i - 1)] - weight) <= (middle ? 1e-11 : end_tolerance) * weight);
    }
    for (int64_t degree : {1, 2, 7, 100}) CHECK(std::abs(integrate_power(q, degree) - 1.0 / (degree + 1)) <= 1e-13);
  }
}

TEST_CASE("The automatic rows per call: about 320 rows in whole copies of the batch, within the budget",
          "[rows_per_call]") {
  using nni::automatic_copies_per_call;
  CHECK(automatic_copies_per_call(50, 1, 4 * 784) == 50);     // MNIST, batch 1: all 50 rows in one call
  CHECK(automatic_copies_per_call(500, 1, 4 * 784) == 320);   // 320 rows
  CHECK(automatic_copies_per_call(50, 32, 4 * 3072) == 10);   // CIFAR, batch 32: 320 rows
  CHECK(automatic_copies_per_call(50, 400, 4 * 3072) == 1);   // never less than one copy of the batch
  CHECK(automatic_copies_per_call(50, 1, 4 * 3 * 224 * 224) == 27);            // 16 MiB of 224x224 RGB rows
  CHECK(automatic_copies_per_call(50, 1, 4 * 3 * 224 * 224, 1 << 20) == 1);    // a smaller budget
  CHECK(automatic_copies_per_call(50, 32, 4 * 3 * 64 * 64) == 10);             // ResNet-18 at 64x64
  CHECK(automatic_copies_per_call(0, 4, 16) == 1);
}

TEST_CASE("Integrated gradients and SmoothGrad give the same result in automatic chunks as in one call",
          "[rows_per_call]") {
  auto model = nni_test::relu_mlp(6, 16, 4, 3);
  torch::manual_seed(8);
  const torch::Tensor input = torch::randn({40, 6});
  const torch::Tensor labels = torch::arange(40) % 4;
  // 50 steps x 40 rows: the automatic choice takes 8 steps (320 rows) per call, 7 calls.
  CHECK(nni::automatic_copies_per_call(50, 40, 6 * 4) == 8);
  const torch::Tensor one_call =
      nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().rows_per_call(0)).attribute(input, labels);
  const torch::Tensor automatic = nni::IntegratedGradients(model).attribute(input, labels);
  CHECK_THAT(automatic, AllClose(one_call, 1e-5, 1e-7));
  CHECK_THAT(nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().rows_per_call(320))
                 .attribute(input, labels),
             AllClose(automatic, 0, 0));
  // SmoothGrad: the automatic choice is 8 copies per call here too, so the same noise and result.
  const auto smooth = nni::SmoothGradOptions().samples(12).seed(4);
  const torch::Tensor smooth_automatic =
      nni::SmoothGrad(nni::VanillaGradient(model), smooth).attribute(input, labels);
  const torch::Tensor smooth_three =
      nni::SmoothGrad(nni::VanillaGradient(model), nni::SmoothGradOptions(smooth).rows_per_call(320))
          .attribute(input, labels);
  CHECK(smooth_automatic.equal(smooth_three));
  CHECK_THROWS_WITH(nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().rows_per_call(-2)),
                    Contains("IntegratedGradients: rows_per_call must be >= 0 or kAutomaticRowsPerCall"));
  CHECK_THROWS_WITH(nni::SmoothGrad(nni::VanillaGradient(model), nni::SmoothGradOptions().memory_budget(-1)),
                    Contains("memory_budget must be >= 0"));
}

TEST_CASE("Integrated gradients runs the end points only for the delta or a predicted class", "[rows_per_call]") {
  auto net = nni_test::relu_mlp(5, 8, 3, 2);
  int calls = 0;
  const nni::Model counting([&](const torch::Tensor& x) {
    ++calls;
    return net->forward(x);
  });
  const torch::Tensor input = torch::randn({2, 5});
  nni::IntegratedGradients method(counting, nni::IntegratedGradientsOptions().steps(10).rows_per_call(0));
  calls = 0;
  const torch::Tensor given = method.attribute(input, torch::tensor({0, 2}));
  CHECK(calls == 1);  // the 20 path rows only
  calls = 0;
  method.attribute(input);
  CHECK(calls == 2);  // + the input, for the predicted class
  calls = 0;
  const auto with_delta = method.attribute_with_delta(input, torch::tensor({0, 2}));
  CHECK(calls == 3);  // + the input and the baseline
  CHECK(with_delta.attributions.equal(given));
  CHECK(with_delta.convergence_delta.defined());
}
