// Activation maximization: objectives, penalties and transforms, the ascent, code space, the energy prior,
// model invariance and errors.

#include "support/catch_torch.h"

#include <cmath>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "nn_interpretability/feature_visualization/activation_maximization.h"
#include "support/all_close.h"
#include "support/model_snapshot.h"
#include "support/tiny_models.h"

namespace nni = nn_interpretability;
using Catch::Matchers::Contains;
using nni_test::AllClose;
using nni_test::ModelSnapshot;

namespace {

using nni_test::ten_class_cnn_8x8;
using nni_test::tiny_generator_8x8;

/// A smooth double-precision model for finite differences: "0" conv, "1" Tanh [N,2,4,4], "2" flatten,
/// "3" linear 32→3.
torch::nn::Sequential smooth_double_cnn() {
  torch::manual_seed(1);
  torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 2, 3).padding(1)), torch::nn::Tanh(),
                            torch::nn::Flatten(), torch::nn::Linear(32, 3));
  net->to(torch::kDouble);
  net->eval();
  return net;
}

/// The gradient of Σ_i objective_i with respect to x, by central differences.
torch::Tensor finite_difference(const nni::Objective& objective, const nni::Model& model, const torch::Tensor& x,
                                double h = 1e-6) {
  torch::NoGradGuard no_grad;
  torch::Tensor gradient = torch::zeros_like(x);
  torch::Tensor flat_x = x.view(-1);
  torch::Tensor flat_g = gradient.view(-1);
  for (int64_t k = 0; k < flat_x.numel(); ++k) {
    torch::Tensor plus = x.clone(), minus = x.clone();
    plus.view(-1)[k] += h;
    minus.view(-1)[k] -= h;
    const double difference = objective(model, plus).sum().item<double>() - objective(model, minus).sum().item<double>();
    flat_g[k] = difference / (2 * h);
  }
  (void)flat_x;
  return gradient;
}

torch::Tensor autograd_gradient(const nni::Objective& objective, const nni::Model& model, const torch::Tensor& x) {
  torch::Tensor leaf = x.detach().requires_grad_(true);
  torch::Tensor scores = objective(model, leaf);
  return torch::autograd::grad({scores.sum()}, {leaf})[0];
}

torch::Tensor class_logits(torch::nn::Sequential net, const torch::Tensor& images, const torch::Tensor& classes) {
  torch::NoGradGuard no_grad;
  return net->forward(images).gather(1, classes.unsqueeze(1)).squeeze(1);
}

}  // namespace

// ------------------------------------------------------------------------------------- objectives

TEST_CASE("Every objective's gradient matches central finite differences", "[am][objective]") {
  auto net = smooth_double_cnn();
  nni::Model model(net);
  torch::manual_seed(3);
  torch::Tensor x = torch::randn({2, 1, 4, 4}, torch::kDouble);
  const std::vector<std::pair<std::string, nni::Objective>> objectives = {
      {"class_logit per row", nni::Objective::class_logit(torch::tensor({0, 2}, torch::kLong))},
      {"class_log_softmax", nni::Objective::class_log_softmax(1)},
      {"neuron flat", nni::Objective::neuron("1", 21)},
      {"neuron (c, y, x)", nni::Objective::neuron("1", 1, 2, 3)},
      {"channel", nni::Objective::channel("1", 1)},
      {"weighted sum over two layers",
       nni::Objective::class_logit(2) + 0.5 * nni::Objective::channel("1", 0) - nni::Objective::neuron("3", 1)},
  };
  for (const auto& item : objectives) {
    INFO(item.first);
    torch::Tensor analytic = autograd_gradient(item.second, model, x);
    torch::Tensor numeric = finite_difference(item.second, model, x);
    CHECK(analytic.abs().sum().item<double>() > 1e-3);  // a non-trivial gradient
    CHECK_THAT(analytic, AllClose(numeric, 1e-5, 1e-7));
  }
}

TEST_CASE("Objective values are the named outputs and activations", "[am][objective]") {
  auto net = smooth_double_cnn();
  nni::Model model(net);
  torch::manual_seed(4);
  torch::Tensor x = torch::randn({2, 1, 4, 4}, torch::kDouble);
  torch::NoGradGuard no_grad;
  torch::Tensor output = net->forward(x);
  torch::Tensor activation = net->ptr(1)->as<torch::nn::Tanh>()->forward(net->ptr(0)->as<torch::nn::Conv2d>()->forward(x));

  CHECK_THAT(nni::Objective::class_logit(torch::tensor({0, 2}, torch::kLong))(model, x),
             AllClose(torch::stack({output[0][0], output[1][2]}), 1e-12, 1e-12));
  CHECK_THAT(nni::Objective::class_log_softmax(1)(model, x), AllClose(output.log_softmax(1).select(1, 1), 1e-12, 1e-12));
  // flat index 1·16 + 2·4 + 3 = 27 names the same element as (1, 2, 3)
  CHECK_THAT(nni::Objective::neuron("1", 27)(model, x), AllClose(activation.select(1, 1).select(1, 2).select(1, 3), 1e-12, 1e-12));
  CHECK_THAT(nni::Objective::neuron("1", 1, 2, 3)(model, x), AllClose(nni::Objective::neuron("1", 27)(model, x), 0, 0));
  CHECK_THAT(nni::Objective::channel("1", 0)(model, x), AllClose(activation.select(1, 0).mean({1, 2}), 1e-12, 1e-12));
  auto combined = nni::Objective::class_logit(2) * 2.0 + 0.5 * nni::Objective::channel("1", 0);
  CHECK_THAT(combined(model, x), AllClose(2.0 * output.select(1, 2) + 0.5 * activation.select(1, 0).mean({1, 2}), 1e-12, 1e-12));
  CHECK(combined.layers() == std::vector<std::string>{"1"});
  CHECK(combined.has_class_term());
  CHECK_FALSE(nni::Objective::channel("1", 0).has_class_term());
}

// ------------------------------------------------------------------------- penalties, transforms

TEST_CASE("Total variation and L2 match hand-computed values", "[am][regularizers]") {
  // Row 0: [[1, 2], [4, 8]]; row 1: constant 3.
  torch::Tensor x = torch::tensor({1.0, 2.0, 4.0, 8.0, 3.0, 3.0, 3.0, 3.0}, torch::kDouble).view({2, 1, 2, 2});
  // vertical (4−1)² + (8−2)² = 45, horizontal (2−1)² + (8−4)² = 17
  CHECK_THAT(nni::penalties::total_variation(x), AllClose(torch::tensor({62.0, 0.0}, torch::kDouble), 0, 0));
  // 1 + 4 + 16 + 64 = 85; 4 · 9 = 36
  CHECK_THAT(nni::penalties::l2(x), AllClose(torch::tensor({85.0, 36.0}, torch::kDouble), 0, 0));
  // towards one example's reference (all ones), broadcast per row: 0 + 1 + 9 + 49 = 59; 4 · 4 = 16
  torch::Tensor ones = torch::ones({1, 2, 2}, torch::kDouble);
  CHECK_THAT(nni::penalties::l2(x, ones), AllClose(torch::tensor({59.0, 16.0}, torch::kDouble), 0, 0));
  CHECK_THAT(nni::penalties::l2(x, ones.unsqueeze(0)), AllClose(torch::tensor({59.0, 16.0}, torch::kDouble), 0, 0));
  // one reference per row: row 0 towards itself, row 1 towards zeros
  torch::Tensor per_row = torch::cat({x.narrow(0, 0, 1), torch::zeros({1, 1, 2, 2}, torch::kDouble)});
  CHECK_THAT(nni::penalties::l2(x, per_row), AllClose(torch::tensor({0.0, 36.0}, torch::kDouble), 0, 0));
  // a 1×3 row: (2−1)² + (0−2)² = 5, no vertical neighbours
  CHECK_THAT(nni::penalties::total_variation(torch::tensor({1.0, 2.0, 0.0}).view({1, 1, 1, 3})),
             AllClose(torch::tensor({5.0}), 0, 0));
  CHECK_THROWS_WITH(nni::penalties::l2(x, torch::ones({3, 2})), Contains("the reference has shape [3, 2]"));
  CHECK_THROWS_WITH(nni::penalties::total_variation(torch::ones({2, 4})), Contains("rank >= 3"));
}

TEST_CASE("Blur keeps constant images, jitter is a seeded roll, clip clamps", "[am][regularizers]") {
  torch::Tensor constant = torch::full({2, 3, 5, 6}, 0.25);
  CHECK_THAT(nni::transforms::gaussian_blur(constant, 1.0), AllClose(constant, 1e-6, 1e-7));
  torch::manual_seed(5);
  torch::Tensor x = torch::rand({2, 3, 5, 6});
  CHECK(nni::transforms::gaussian_blur(x, 0.0).equal(x));
  torch::Tensor blurred = nni::transforms::gaussian_blur(x, 1.0);
  CHECK(blurred.sizes() == x.sizes());
  CHECK(nni::penalties::total_variation(blurred).lt(nni::penalties::total_variation(x)).all().item<bool>());

  auto a = at::make_generator<at::CPUGeneratorImpl>(11);
  auto b = at::make_generator<at::CPUGeneratorImpl>(11);
  bool some_shift = false;
  for (int k = 0; k < 8; ++k) {
    torch::Tensor ja = nni::transforms::jitter(x, 2, a);
    torch::Tensor jb = nni::transforms::jitter(x, 2, b);
    CHECK(ja.equal(jb));
    // a roll: the same values, and some (dy, dx) in [−2, 2]² reproduces it
    bool found = false;
    for (int64_t dy = -2; dy <= 2; ++dy)
      for (int64_t dx = -2; dx <= 2; ++dx) found = found || x.roll({dy, dx}, {-2, -1}).equal(ja);
    CHECK(found);
    some_shift = some_shift || !ja.equal(x);
  }
  CHECK(some_shift);
  CHECK_THAT(nni::transforms::clip(torch::tensor({-1.0, 0.5, 2.0}), 0, 1), AllClose(torch::tensor({0.0, 0.5, 1.0}), 0, 0));
}

// ------------------------------------------------------------------------------------------ ascent

TEST_CASE("A few iterations raise the target score", "[am][ascent]") {
  auto net = ten_class_cnn_8x8();
  auto options = nni::activation_maximization_presets::naive();
  options.optimizer().iterations(10);
  nni::ActivationMaximization am(net, options);
  torch::Tensor classes = torch::full({2}, 4, torch::kLong);
  auto result = am.maximize(nni::Objective::class_logit(4), {2, 1, 8, 8});
  torch::Tensor before = class_logits(net, torch::zeros({2, 1, 8, 8}), classes);
  CHECK(result.iterations_run == 10);
  CHECK(result.images.sizes() == torch::IntArrayRef({2, 1, 8, 8}));
  CHECK_FALSE(result.codes.defined());
  CHECK(result.images.min().item<float>() >= 0.0f);
  CHECK(result.images.max().item<float>() <= 1.0f);
  CHECK_THAT(result.objective, AllClose(class_logits(net, result.images, classes)));
  CHECK((result.objective - before).min().item<float>() > 0.05f);
}

TEST_CASE("All ten classes optimized in one batch each raise their own class", "[am][ascent]") {
  auto net = ten_class_cnn_8x8();
  const torch::Tensor classes = torch::arange(10);
  std::vector<int64_t> reports;
  auto options = nni::ActivationMaximizationOptions().seed(1).optimizer(
      nni::OptimizerOptions().iterations(30).learning_rate(0.05).progress_every(10).progress(
          [&](const nni::ActivationMaximizationProgress& progress) {
            reports.push_back(progress.iteration);
            CHECK(progress.probabilities.sizes() == torch::IntArrayRef({10}));
            CHECK(std::isfinite(progress.mean_objective));
          }));
  nni::ActivationMaximization am(net, options);
  auto result = am.maximize(nni::Objective::class_log_softmax(classes), {10, 1, 8, 8});
  CHECK(reports == std::vector<int64_t>{10, 20, 30});

  // the same seeded start, re-created to compare: uniform noise on a private generator seeded with 1
  auto start = nni::ActivationMaximization(net, nni::ActivationMaximizationOptions().optimizer(nni::OptimizerOptions().iterations(0)).seed(1))
                   .maximize(nni::Objective::class_log_softmax(classes), {10, 1, 8, 8});
  torch::Tensor before, after;
  {
    torch::NoGradGuard no_grad;
    before = net->forward(start.images).softmax(1).gather(1, classes.unsqueeze(1)).squeeze(1);
    after = net->forward(result.images).softmax(1).gather(1, classes.unsqueeze(1)).squeeze(1);
  }
  CHECK_THAT(result.probabilities, AllClose(after));
  INFO("before " << before << "\nafter " << after);
  CHECK((after - before).min().item<float>() > 0);
  CHECK(after.mean().item<float>() > before.mean().item<float>() + 0.1f);
}

TEST_CASE("stop_probability freezes rows and ends the run when every row stopped", "[am][ascent]") {
  auto net = ten_class_cnn_8x8();
  const torch::Tensor classes = torch::arange(4);
  SECTION("a threshold reached at the start stops every row at step 0 and leaves the images as they start") {
    torch::manual_seed(6);
    torch::Tensor start = torch::rand({4, 1, 8, 8});
    nni::ActivationMaximization am(net, nni::ActivationMaximizationOptions()
                                            .parameterization(nni::ParameterizationOptions().start_image(start))
                                            .optimizer(nni::OptimizerOptions().stop_probability(1e-12)));
    auto result = am.maximize(nni::Objective::class_logit(classes));
    CHECK(result.iterations_run == 0);
    CHECK(result.stop_iteration == std::vector<int64_t>{0, 0, 0, 0});
    CHECK(result.images.equal(start));
  }
  SECTION("rows stop when their probability reaches the threshold, frozen from then on") {
    const double threshold = 0.5;
    nni::ActivationMaximization am(
        net, nni::ActivationMaximizationOptions()
                 .optimizer(nni::OptimizerOptions().iterations(400).learning_rate(0.1).stop_probability(threshold))
                 .seed(2));
    auto result = am.maximize(nni::Objective::class_log_softmax(classes), {4, 1, 8, 8});
    INFO("stop iterations " << torch::tensor(result.stop_iteration));
    CHECK(result.iterations_run < 400);
    int64_t last = 0;
    for (int64_t stop : result.stop_iteration) {
      CHECK(stop >= 0);
      last = std::max(last, stop);
    }
    CHECK(result.iterations_run == last);
    CHECK(result.probabilities.min().item<double>() >= threshold);
    // a frozen row keeps the image it had when it stopped: rerunning with iterations = its stop
    // step gives the same row
    for (int64_t row = 0; row < 4; ++row) {
      const int64_t stop = result.stop_iteration[static_cast<size_t>(row)];
      if (stop == last) continue;
      nni::ActivationMaximization shorter(
          net, nni::ActivationMaximizationOptions()
                   .optimizer(nni::OptimizerOptions().iterations(stop).learning_rate(0.1).stop_probability(threshold))
                   .seed(2));
      CHECK(shorter.maximize(nni::Objective::class_log_softmax(classes), {4, 1, 8, 8}).images[row].equal(result.images[row]));
    }
  }
  SECTION("a threshold never reached runs every iteration") {
    nni::ActivationMaximization am(
        net, nni::ActivationMaximizationOptions().optimizer(nni::OptimizerOptions().iterations(3).stop_probability(1.0)));
    auto result = am.maximize(nni::Objective::class_logit(classes), {4, 1, 8, 8});
    CHECK(result.iterations_run == 3);
    CHECK(result.stop_iteration == std::vector<int64_t>{-1, -1, -1, -1});
  }
}

TEST_CASE("Seeded runs are bit-identical and leave the global generator alone", "[am][ascent]") {
  auto net = ten_class_cnn_8x8();
  auto objective = nni::Objective::class_logit(torch::arange(3)) + 0.1 * nni::Objective::channel("3", 2);
  auto options = nni::activation_maximization_presets::regularized().seed(9);
  options.optimizer().iterations(12);
  torch::manual_seed(123);
  auto first = nni::ActivationMaximization(net, options).maximize(objective, {3, 1, 8, 8});
  torch::Tensor global_draw = torch::rand({4});
  torch::manual_seed(123);
  torch::Tensor expected_draw = torch::rand({4});
  CHECK(global_draw.equal(expected_draw));  // the run neither read nor advanced the global generator

  torch::manual_seed(999);  // a different global state changes nothing
  auto second = nni::ActivationMaximization(net, options).maximize(objective, {3, 1, 8, 8});
  CHECK(first.images.equal(second.images));
  CHECK(first.objective.equal(second.objective));
  auto other = nni::ActivationMaximization(net, options.seed(10)).maximize(objective, {3, 1, 8, 8});
  CHECK_FALSE(first.images.equal(other.images));
}

TEST_CASE("SGD with momentum also raises the target score", "[am][ascent]") {
  auto net = ten_class_cnn_8x8();
  nni::ActivationMaximization am(
      net, nni::ActivationMaximizationOptions()
               .optimizer(nni::OptimizerOptions().algorithm(nni::AmOptimizer::kSgd).momentum(0.5).learning_rate(0.01).iterations(10))
               .parameterization(nni::ParameterizationOptions().start(nni::AmStart::kZeros)));
  auto result = am.maximize(nni::Objective::class_logit(7), {1, 1, 8, 8});
  torch::Tensor before = class_logits(net, torch::zeros({1, 1, 8, 8}), torch::tensor({7}, torch::kLong));
  CHECK(result.objective.item<float>() > before.item<float>());
}

// ------------------------------------------------------------------------------ code space, prior

TEST_CASE("Code space optimizes the code, and a Sigmoid generator keeps images within 0..1", "[am][generator]") {
  auto net = ten_class_cnn_8x8();
  auto generator = tiny_generator_8x8();
  auto options = nni::ActivationMaximizationOptions()
                     .parameterization(nni::ParameterizationOptions().generator(nni::Model(generator)).latent_shape({4}))
                     .optimizer(nni::OptimizerOptions().iterations(25).learning_rate(0.1))
                     .penalties(nni::PenaltyOptions().latent_l2_weight(0.01))
                     .seed(4);
  nni::ActivationMaximization am(net, options);
  const torch::Tensor classes = torch::tensor({1, 5, 8}, torch::kLong);
  auto result = am.maximize(nni::Objective::class_logit(classes), 3);
  REQUIRE(result.codes.defined());
  CHECK(result.codes.sizes() == torch::IntArrayRef({3, 4}));
  CHECK(result.images.sizes() == torch::IntArrayRef({3, 1, 8, 8}));
  CHECK(result.images.min().item<float>() >= 0.0f);
  CHECK(result.images.max().item<float>() <= 1.0f);
  {
    torch::NoGradGuard no_grad;
    CHECK_THAT(result.images, AllClose(generator->forward(result.codes)));
  }
  auto start_options = options;
  start_options.optimizer().iterations(0);
  auto start = nni::ActivationMaximization(net, start_options).maximize(nni::Objective::class_logit(classes), 3);
  CHECK_FALSE(start.codes.equal(result.codes));
  CHECK((result.objective - start.objective).min().item<float>() > 0);

  // an explicit start code is used as given
  torch::Tensor code = torch::zeros({2, 4});
  auto code_options = start_options;
  code_options.parameterization().start_code(code);
  auto from_code = nni::ActivationMaximization(net, code_options).maximize(nni::Objective::class_logit(0));
  CHECK(from_code.codes.equal(code));
}

TEST_CASE("The energy prior lowers the final energy", "[am][prior]") {
  auto net = ten_class_cnn_8x8();
  // F(x) = Σ (x − 0.2)² per row
  nni::EnergyFunction energy = [](const torch::Tensor& x) { return (x - 0.2).square().flatten(1).sum(1); };
  auto options = nni::ActivationMaximizationOptions()
                     .optimizer(nni::OptimizerOptions().iterations(30))
                     .seed(3)
                     .penalties(nni::PenaltyOptions().energy(energy));
  auto objective = nni::Objective::class_logit(torch::arange(3));
  options.penalties().energy_weight(0.0);
  auto without = nni::ActivationMaximization(net, options).maximize(objective, {3, 1, 8, 8});
  options.penalties().energy_weight(1.0);
  auto with = nni::ActivationMaximization(net, options).maximize(objective, {3, 1, 8, 8});
  torch::Tensor e0 = energy(without.images), e1 = energy(with.images);
  INFO("energy without prior " << e0 << "\nwith prior " << e1);
  CHECK((e1 < e0).all().item<bool>());
}

// ------------------------------------------------------------------------------------ invariance

TEST_CASE("The classifier and the generator are left unchanged, also after an error", "[am][invariance]") {
  auto net = ten_class_cnn_8x8();
  auto generator = tiny_generator_8x8();
  net->ptr(0)->as<torch::nn::Conv2d>()->bias.set_requires_grad(false);
  const ModelSnapshot net_before = ModelSnapshot::of(*net);
  const ModelSnapshot generator_before = ModelSnapshot::of(*generator);
  auto check_unchanged = [&] {
    CHECK(ModelSnapshot::of(*net).difference(net_before).empty());
    CHECK(ModelSnapshot::of(*generator).difference(generator_before).empty());
  };
  auto options = nni::activation_maximization_presets::regularized();
  options.optimizer().iterations(3);
  auto objective = nni::Objective::class_logit(1) + nni::Objective::neuron("1", 3);
  nni::ActivationMaximization(net, options).maximize(objective, {2, 1, 8, 8});
  check_unchanged();
  auto code_options = nni::ActivationMaximizationOptions()
                          .parameterization(nni::ParameterizationOptions().generator(nni::Model(generator)).latent_shape({4}))
                          .optimizer(nni::OptimizerOptions().iterations(3));
  nni::ActivationMaximization(net, code_options).maximize(objective, 2);
  check_unchanged();
  CHECK_THROWS_WITH(nni::ActivationMaximization(net, options).maximize(nni::Objective::channel("nope", 0), {2, 1, 8, 8}),
                    Contains("unknown layer 'nope'"));
  check_unchanged();
  CHECK_THROWS_WITH(nni::ActivationMaximization(net, code_options).maximize(nni::Objective::channel("nope", 0), 2),
                    Contains("unknown layer 'nope'"));
  check_unchanged();
  {
    torch::NoGradGuard no_grad;  // works under an outer NoGradGuard and leaves it in place
    auto result = nni::ActivationMaximization(net, options).maximize(objective, {2, 1, 8, 8});
    CHECK_FALSE(torch::GradMode::is_enabled());
    CHECK(result.iterations_run == 3);
    CHECK_THROWS(nni::ActivationMaximization(net, options).maximize(nni::Objective::class_logit(10), {2, 1, 8, 8}));
    CHECK_FALSE(torch::GradMode::is_enabled());
  }
  CHECK(torch::GradMode::is_enabled());
}

TEST_CASE("A model in train mode is run in train mode and its buffers are restored", "[am][invariance]") {
  torch::manual_seed(7);
  torch::nn::Sequential net(torch::nn::Conv2d(1, 3, 3), torch::nn::BatchNorm2d(3), torch::nn::ReLU(),
                            torch::nn::Flatten(), torch::nn::Dropout(0.2), torch::nn::Linear(108, 4));
  torch::manual_seed(8);
  torch::nn::Sequential generator(torch::nn::Linear(4, 64), torch::nn::BatchNorm1d(64), torch::nn::Sigmoid(),
                                  torch::nn::Unflatten(torch::nn::UnflattenOptions(1, {1, 8, 8})));
  net->train();
  generator->train();
  const ModelSnapshot net_before = ModelSnapshot::of(*net);
  const ModelSnapshot generator_before = ModelSnapshot::of(*generator);
  auto result = nni::ActivationMaximization(net, nni::ActivationMaximizationOptions().optimizer(nni::OptimizerOptions().iterations(3)))
                    .maximize(nni::Objective::class_logit(2) + nni::Objective::channel("2", 1), {3, 1, 8, 8});
  CHECK(torch::isfinite(result.images).all().item<bool>());
  auto code_result =
      nni::ActivationMaximization(net, nni::ActivationMaximizationOptions()
                                           .parameterization(nni::ParameterizationOptions().generator(nni::Model(generator)).latent_shape({4}))
                                           .optimizer(nni::OptimizerOptions().iterations(3)))
          .maximize(nni::Objective::class_logit(2), 3);
  CHECK(torch::isfinite(code_result.images).all().item<bool>());
  CHECK(ModelSnapshot::of(*net).difference(net_before).empty());
  CHECK(ModelSnapshot::of(*generator).difference(generator_before).empty());
  CHECK(net->is_training());
}

// ------------------------------------------------------------------------------------------ errors

TEST_CASE("Bad inputs give clear errors", "[am][errors]") {
  auto net = ten_class_cnn_8x8();
  nni::ActivationMaximization am(net, nni::ActivationMaximizationOptions().optimizer(nni::OptimizerOptions().iterations(2)));
  const auto logit = nni::Objective::class_logit(0);
  CHECK_THROWS_WITH(am.maximize(nni::Objective::class_logit(10), {2, 1, 8, 8}),
                    Contains("target class 10 is out of range: the model has 10 classes (valid: 0..9)"));
  CHECK_THROWS_WITH(am.maximize(nni::Objective::class_logit(torch::arange(3)), {2, 1, 8, 8}),
                    Contains("got 3 class indices for a batch of 2"));
  CHECK_THROWS_WITH(nni::Objective::class_logit(torch::ones({2})), Contains("class indices must be an integer tensor, got Float"));
  CHECK_THROWS_WITH(nni::Objective::class_logit(-1), Contains("class index -1 is negative"));
  CHECK_THROWS_WITH(am.maximize(nni::Objective::channel("nope", 0), {2, 1, 8, 8}),
                    Contains("unknown layer 'nope'; the module torch::nn::SequentialImpl has these layers: 0, 1, 2, 3, 4, 5"));
  CHECK_THROWS_WITH(am.maximize(nni::Objective::neuron("1", 256), {2, 1, 8, 8}),
                    Contains("index 256 is out of range: layer '1' has 256 elements per example (shape [2, 4, 8, 8])"));
  CHECK_THROWS_WITH(am.maximize(nni::Objective::neuron("1", 0, 8, 0), {2, 1, 8, 8}),
                    Contains("index (0, 8, 0) is out of range: layer '1' outputs shape [2, 4, 8, 8]"));
  CHECK_THROWS_WITH(am.maximize(nni::Objective::channel("3", 6), {2, 1, 8, 8}),
                    Contains("channel 6 is out of range: layer '3' has 6 channels"));
  CHECK_THROWS_WITH(am.maximize(nni::Objective::channel("4", 0), {2, 1, 8, 8}),
                    Contains("layer '4' outputs shape [2, 216]; channel (channel, ...) needs a 4-D output"));
  CHECK_THROWS_WITH(am.maximize(logit, {0, 1, 8, 8}), Contains("empty batch"));
  CHECK_THROWS_WITH(am.maximize(logit, {2, 1, 7, 8}), Contains("failed on an input of shape [2, 1, 7, 8]"));
  CHECK_THROWS_WITH(am.maximize(logit, 2), Contains("give the image batch shape, e.g. maximize(objective, {2, 1, 28, 28})"));
  CHECK_THROWS_WITH(am.maximize(logit), Contains("takes its shape from start_image, which is not set"));

  // One part set, the others at their defaults.
  auto with_parameterization = [](nni::ParameterizationOptions part) {
    return nni::ActivationMaximizationOptions().parameterization(std::move(part));
  };
  auto with_penalties = [](nni::PenaltyOptions part) { return nni::ActivationMaximizationOptions().penalties(std::move(part)); };
  auto with_optimizer = [](nni::OptimizerOptions part) { return nni::ActivationMaximizationOptions().optimizer(std::move(part)); };
  torch::Tensor wrong = torch::rand({2, 1, 7, 7});
  CHECK_THROWS_WITH(nni::ActivationMaximization(net, with_parameterization(nni::ParameterizationOptions().start_image(wrong))).maximize(logit),
                    Contains("failed on an input of shape [2, 1, 7, 7]"));
  CHECK_THROWS_WITH(nni::ActivationMaximization(net, with_parameterization(nni::ParameterizationOptions().start_image(torch::rand({2, 1, 8, 8}))))
                        .maximize(logit, {3, 1, 8, 8}),
                    Contains("the start image batch has shape [2, 1, 8, 8] but the shape to optimize is [3, 1, 8, 8]"));
  torch::Tensor nan = torch::rand({2, 1, 8, 8});
  nan[1][0][3][3] = std::nan("");
  CHECK_THROWS_WITH(nni::ActivationMaximization(net, with_parameterization(nni::ParameterizationOptions().start_image(nan))).maximize(logit),
                    Contains("ActivationMaximization: the input contains NaN or Inf (1 NaN, 0 Inf values)"));
  CHECK_THROWS_WITH(nni::ActivationMaximization(
                        net, with_parameterization(nni::ParameterizationOptions().start_image(torch::rand({2, 1, 8, 8}, torch::kDouble))))
                        .maximize(logit),
                    Contains("the input dtype Double differs from the model's parameter dtype Float"));
  CHECK_THROWS_WITH(nni::ActivationMaximization(net, with_optimizer(nni::OptimizerOptions().stop_probability(0.9)))
                        .maximize(nni::Objective::channel("3", 0), {2, 1, 8, 8}),
                    Contains("stop_probability needs a class objective"));
  CHECK_THROWS_WITH(nni::ActivationMaximization(net, with_penalties(nni::PenaltyOptions().l2_weight(1).l2_reference(torch::zeros({8, 8}))))
                        .maximize(logit, {2, 1, 8, 8}),
                    Contains("the reference has shape [8, 8]"));
  CHECK_THROWS_WITH(nni::ActivationMaximization(
                        net, with_penalties(nni::PenaltyOptions().energy_weight(1).energy([](const torch::Tensor& x) { return x.sum(); })))
                        .maximize(logit, {2, 1, 8, 8}),
                    Contains("the energy function must return one value per row [2]"));
  CHECK_THROWS_WITH(nni::ActivationMaximization(net, with_penalties(nni::PenaltyOptions().energy_weight(1))),
                    Contains("no energy function is set"));
  CHECK_THROWS_WITH(nni::ActivationMaximization(net, with_optimizer(nni::OptimizerOptions().learning_rate(0))),
                    Contains("learning_rate must be a finite value > 0"));
  CHECK_THROWS_WITH(nni::ActivationMaximization(net, with_parameterization(nni::ParameterizationOptions().start_code(torch::zeros({2, 4})))),
                    Contains("start_code is set but there is no generator"));
  CHECK_THROWS_WITH(nni::ActivationMaximization(net, with_parameterization(nni::ParameterizationOptions().start(nni::AmStart::kImage)))
                        .maximize(logit, {2, 1, 8, 8}),
                    Contains("start is kImage but no start_image is set"));
  CHECK_THROWS_WITH(nni::activation_maximization_presets::by_name("fancy"), Contains("unknown preset 'fancy'"));
  CHECK_THROWS_WITH(nni::activation_maximization_presets::original(torch::Tensor()), Contains("needs the class mean image"));
  CHECK_THROWS_AS(am.maximize(nni::Objective::class_logit(10), {2, 1, 8, 8}), c10::IndexError);
  CHECK_THROWS_AS(am.maximize(nni::Objective::channel("nope", 0), {2, 1, 8, 8}), c10::ValueError);
}

TEST_CASE("Presets: the original project's setting uses the class mean", "[am][presets]") {
  auto net = ten_class_cnn_8x8();
  torch::Tensor mean = torch::full({1, 8, 8}, 0.3);
  auto options = nni::activation_maximization_presets::by_name("original", mean);
  CHECK(options.optimizer().learning_rate() == 5e-3);
  CHECK(options.optimizer().algorithm() == nni::AmOptimizer::kAdam);
  CHECK(options.parameterization().start() == nni::AmStart::kUniformNoise);
  CHECK(options.penalties().l2_reference().equal(mean));
  CHECK(options.penalties().l2_weight() > 0);
  CHECK(nni::activation_maximization_presets::names() == std::vector<std::string>{"original", "naive", "regularized"});
  // with a strong L2 pull and no class term weight to speak of, images move towards the mean
  options.optimizer().iterations(200).learning_rate(0.05);
  options.penalties().l2_weight(10.0);
  auto result = nni::ActivationMaximization(net, options)
                    .maximize(0.0 * nni::Objective::class_logit(0), {2, 1, 8, 8});
  CHECK_THAT(result.images, AllClose(mean.expand({2, 1, 8, 8}), 0, 0.05));
}

// ------------------------------------------------------------------------------------------- parts

TEST_CASE("The flat setters from before the split set the fields of the parts", "[am][options]") {
  nni::EnergyFunction energy = [](const torch::Tensor& x) { return x.flatten(1).sum(1); };
  const torch::Tensor reference = torch::ones({1, 8, 8});
  const torch::Tensor image = torch::zeros({2, 1, 8, 8});
  const torch::Tensor code = torch::zeros({2, 4});
  const auto options = nni::ActivationMaximizationOptions()
                           .iterations(7)
                           .learning_rate(0.2)
                           .optimizer(nni::AmOptimizer::kSgd)
                           .momentum(0.3)
                           .stop_probability(0.8)
                           .progress_every(2)
                           .l2_weight(0.1)
                           .l2_reference(reference)
                           .tv_weight(0.2)
                           .latent_l2_weight(0.3)
                           .energy(energy)
                           .energy_weight(0.4)
                           .jitter(2)
                           .blur_sigma(0.5)
                           .blur_every(3)
                           .start(nni::AmStart::kGaussianNoise)
                           .noise_std(0.25)
                           .clip(nni::AmRange(-1.0, 1.0))
                           .start_image(image)
                           .latent_shape({4})
                           .start_code(code)
                           .generator(nni::Model(tiny_generator_8x8()))
                           .seed(5);
  CHECK(options.optimizer().iterations() == 7);
  CHECK(options.optimizer().learning_rate() == 0.2);
  CHECK(options.optimizer().algorithm() == nni::AmOptimizer::kSgd);
  CHECK(options.optimizer().momentum() == 0.3);
  CHECK(options.optimizer().stop_probability() == 0.8);
  CHECK(options.optimizer().progress_every() == 2);
  CHECK(options.penalties().l2_weight() == 0.1);
  CHECK(options.penalties().l2_reference().is_same(reference));
  CHECK(options.penalties().tv_weight() == 0.2);
  CHECK(options.penalties().latent_l2_weight() == 0.3);
  CHECK(static_cast<bool>(options.penalties().energy()));
  CHECK(options.penalties().energy_weight() == 0.4);
  CHECK(options.transforms().jitter() == 2);
  CHECK(options.transforms().blur_sigma() == 0.5);
  CHECK(options.transforms().blur_every() == 3);
  CHECK(options.parameterization().start() == nni::AmStart::kGaussianNoise);
  CHECK(options.parameterization().noise_std() == 0.25);
  CHECK(options.parameterization().clip() == nni::AmRange(-1.0, 1.0));
  CHECK(options.parameterization().start_image().is_same(image));
  CHECK(options.parameterization().latent_shape() == std::vector<int64_t>{4});
  CHECK(options.parameterization().start_code().is_same(code));
  CHECK(options.parameterization().generator().has_value());
  CHECK(options.seed() == 5);

  // the same preset spelled both ways runs the same
  auto net = ten_class_cnn_8x8();
  auto parts = nni::activation_maximization_presets::regularized().seed(3);
  parts.optimizer().iterations(6);
  const auto flat = nni::ActivationMaximizationOptions()
                        .start(nni::AmStart::kUniformNoise)
                        .learning_rate(0.05)
                        .iterations(6)
                        .jitter(2)
                        .blur_sigma(0.5)
                        .blur_every(4)
                        .tv_weight(0.05)
                        .l2_weight(0.01)
                        .seed(3);
  const auto objective = nni::Objective::class_logit(torch::arange(2));
  CHECK(nni::ActivationMaximization(net, parts).maximize(objective, {2, 1, 8, 8}).images.equal(
      nni::ActivationMaximization(net, flat).maximize(objective, {2, 1, 8, 8}).images));
}

TEST_CASE("Option errors name the part and the option", "[am][options][errors]") {
  auto net = ten_class_cnn_8x8();
  auto build = [&](nni::ActivationMaximizationOptions options) { (void)nni::ActivationMaximization(net, std::move(options)); };
  CHECK_THROWS_WITH(build(nni::ActivationMaximizationOptions().optimizer(nni::OptimizerOptions().iterations(-1))),
                    Contains("ActivationMaximization: optimizer.iterations must be >= 0, got -1"));
  CHECK_THROWS_WITH(build(nni::ActivationMaximizationOptions().optimizer(nni::OptimizerOptions().momentum(1))),
                    Contains("optimizer.momentum must be in [0, 1)"));
  CHECK_THROWS_WITH(build(nni::ActivationMaximizationOptions().optimizer(nni::OptimizerOptions().stop_probability(0))),
                    Contains("optimizer.stop_probability must be in (0, 1]"));
  CHECK_THROWS_WITH(build(nni::ActivationMaximizationOptions().optimizer(nni::OptimizerOptions().progress_every(0))),
                    Contains("optimizer.progress_every must be >= 1"));
  CHECK_THROWS_WITH(build(nni::ActivationMaximizationOptions().transforms(nni::TransformOptions().jitter(-1))),
                    Contains("transforms.jitter must be >= 0 pixels"));
  CHECK_THROWS_WITH(build(nni::ActivationMaximizationOptions().transforms(nni::TransformOptions().blur_sigma(-1))),
                    Contains("transforms.blur_sigma must be a finite value >= 0"));
  CHECK_THROWS_WITH(build(nni::ActivationMaximizationOptions().transforms(nni::TransformOptions().blur_every(0))),
                    Contains("transforms.blur_every must be >= 1"));
  CHECK_THROWS_WITH(build(nni::ActivationMaximizationOptions().penalties(nni::PenaltyOptions().l2_weight(-1))),
                    Contains("penalties.l2_weight must be a finite value >= 0"));
  CHECK_THROWS_WITH(build(nni::ActivationMaximizationOptions().penalties(nni::PenaltyOptions().tv_weight(std::nan("")))),
                    Contains("penalties.tv_weight must be a finite value >= 0"));
  CHECK_THROWS_WITH(build(nni::ActivationMaximizationOptions().penalties(nni::PenaltyOptions().latent_l2_weight(0.1))),
                    Contains("penalties.latent_l2_weight is set but there is no generator"));
  CHECK_THROWS_WITH(build(nni::ActivationMaximizationOptions().parameterization(nni::ParameterizationOptions().clip(nni::AmRange(1, 0)))),
                    Contains("parameterization.clip must be finite with low <= high, got [1, 0]"));
  CHECK_THROWS_WITH(build(nni::ActivationMaximizationOptions().parameterization(nni::ParameterizationOptions().noise_std(-1))),
                    Contains("parameterization.noise_std must be a finite value >= 0"));
  CHECK_THROWS_WITH(build(nni::ActivationMaximizationOptions().parameterization(
                        nni::ParameterizationOptions().generator(nni::Model(tiny_generator_8x8())).start_image(torch::zeros({1, 1, 8, 8})))),
                    Contains("parameterization.start_image is set in code space"));
}
