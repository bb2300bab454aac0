// The sanity checks: which layers each step re-initializes (seen through the copy's parameters),
// that the user's model never changes (C++ and TorchScript), the similarities recomputed from the
// maps, the random-logit test by hand on a linear model, and the refusals.
#include <string>
#include <vector>

#include <torch/script.h>
#include <torch/torch.h>

#include "nn_interpretability/metrics/randomization.h"
#include "support/all_close.h"
#include "support/catch_torch.h"
#include "support/model_snapshot.h"

namespace nni = nn_interpretability;
namespace metrics = nn_interpretability::metrics;
using Catch::Matchers::Contains;
using nni_test::AllClose;

namespace {

/// [N, 1, 8, 8] -> conv -> batch norm -> ReLU -> flatten -> linear(192, 4), float64, eval.
torch::nn::Sequential small_cnn() {
  torch::manual_seed(41);
  torch::nn::Sequential model(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 3, 3).padding(1)), torch::nn::BatchNorm2d(3),
                              torch::nn::ReLU(), torch::nn::Flatten(), torch::nn::Linear(192, 4));
  model->to(torch::kDouble);
  torch::NoGradGuard no_grad;
  auto* norm = model[1]->as<torch::nn::BatchNorm2dImpl>();
  norm->running_mean.uniform_(-0.2, 0.2);
  norm->running_var.uniform_(0.5, 2.0);
  norm->weight.uniform_(0.5, 1.5);
  model->eval();
  return model;
}

/// A module of one's own that can be copied: Cloneable with reset().
struct TwoLayerImpl : torch::nn::Cloneable<TwoLayerImpl> {
  TwoLayerImpl() { reset(); }
  void reset() override {
    first = register_module("first", torch::nn::Linear(6, 5));
    second = register_module("second", torch::nn::Linear(5, 3));
  }
  torch::Tensor forward(const torch::Tensor& x) { return second(torch::tanh(first(x))); }
  torch::nn::Linear first{nullptr}, second{nullptr};
};

/// The same without Cloneable.
struct PlainImpl : torch::nn::Module {
  PlainImpl() : linear(register_module("linear", torch::nn::Linear(6, 3))) {}
  torch::Tensor forward(const torch::Tensor& x) { return linear(x); }
  torch::nn::Linear linear;
};

}  // namespace

TEST_CASE("Model-parameter randomization re-initializes a copy top layer first; the model is untouched",
          "[metrics][randomization]") {
  auto model = small_cnn();
  const auto before = nni_test::ModelSnapshot::of(*model);
  const torch::Tensor x = torch::rand({3, 1, 8, 8}, torch::kDouble);
  const auto gradient = metrics::registered_explainer("vanilla_gradient");
  const auto hog = metrics::HogOptions().pixels_per_cell(2).cells_per_block(2);

  // An explainer that records what the copy it is given holds, then explains with the gradient.
  std::vector<std::vector<torch::Tensor>> seen;
  const metrics::Explainer recording = [&](const nni::Model& m, const torch::Tensor& input, const nni::Target& target) {
    std::vector<torch::Tensor> state;
    for (const auto& tensor : m.backend().tensors()) state.push_back(tensor.detach().clone());
    seen.push_back(state);
    return gradient(m, input, target);
  };
  const auto options = metrics::RandomizationOptions().keep_maps(true).hog(hog);
  const metrics::RandomizationResult cascading = metrics::model_parameter_randomization(model, x, nni::Target(), recording, options);
  CHECK(before.difference(nni_test::ModelSnapshot::of(*model)).empty());
  CHECK(cascading.layers == std::vector<std::string>{"4", "1", "0"});
  REQUIRE(seen.size() == 4);
  // tensors(): conv weight, bias, norm weight, bias, linear weight, bias, then the buffers.
  auto same = [&](size_t step, size_t tensor) { return torch::equal(seen[step][tensor], seen[0][tensor]); };
  CHECK((same(1, 0) && same(1, 2) && !same(1, 4) && !same(1, 5)));  // the linear layer only
  CHECK((same(2, 0) && !same(2, 2) && !same(2, 4)));                // then the norm layer too
  CHECK((!same(3, 0) && !same(3, 1) && !same(3, 4)));               // then everything
  // reset_parameters' distributions: U(±1/√192) for the linear layer; the norm layer 1, 0, stats 0, 1.
  CHECK(seen[1][4].abs().max().item<double>() <= 1 / std::sqrt(192.0));
  CHECK(seen[1][4].std().item<double>() == Approx(1 / std::sqrt(192.0 * 3)).epsilon(0.1));
  CHECK(torch::equal(seen[2][2], torch::ones({3}, torch::kDouble)));
  CHECK(torch::equal(seen[2][3], torch::zeros({3}, torch::kDouble)));
  CHECK(torch::equal(seen[2][6], torch::zeros({3}, torch::kDouble)));  // running mean
  CHECK(torch::equal(seen[2][7], torch::ones({3}, torch::kDouble)));   // running variance

  // The similarities are those of the kept maps (|Φ| summed over the one channel).
  REQUIRE(cascading.maps.sizes() == torch::IntArrayRef({4, 3, 1, 8, 8}));
  for (int64_t step = 0; step < 3; ++step) {
    const torch::Tensor a = cascading.maps[0].abs().sum(1), b = cascading.maps[step + 1].abs().sum(1);
    CHECK_THAT(cascading.similarity.spearman[step], AllClose(metrics::spearman_correlation(a, b), 1e-12, 1e-12));
    CHECK_THAT(cascading.similarity.hog[step], AllClose(metrics::hog_similarity(a, b, hog), 1e-12, 1e-12));
    const auto by_max = [](const torch::Tensor& m) { return m / m.flatten(1).amax(1).view({-1, 1, 1}); };
    CHECK_THAT(cascading.similarity.ssim[step], AllClose(metrics::ssim(by_max(a), by_max(b)), 1e-12, 1e-12));
  }

  SECTION("independent: one layer at a time, the others as trained") {
    seen.clear();
    (void)metrics::model_parameter_randomization(model, x, nni::Target(), recording,
                                                 metrics::RandomizationOptions(options).order(metrics::RandomizationOrder::kIndependent));
    REQUIRE(seen.size() == 4);
    CHECK((same(1, 0) && same(1, 2) && !same(1, 4)));
    CHECK((same(2, 0) && !same(2, 2) && same(2, 4)));
    CHECK((!same(3, 0) && same(3, 2) && same(3, 4)));
    CHECK(before.difference(nni_test::ModelSnapshot::of(*model)).empty());
  }
  SECTION("an explanation that ignores the model is perfectly similar: the check fails it") {
    const metrics::Explainer input_only = [](const nni::Model&, const torch::Tensor& input, const nni::Target&) { return input; };
    const auto result = metrics::model_parameter_randomization(model, x, nni::Target(), input_only,
                                                               metrics::RandomizationOptions().hog(hog));
    CHECK_THAT(result.similarity.spearman, AllClose(torch::ones({3, 3}, torch::kDouble), 1e-12, 1e-12));
    CHECK_THAT(result.similarity.ssim, AllClose(torch::ones({3, 3}, torch::kDouble), 1e-12, 1e-12));
  }
  SECTION("chosen layers, seeded") {
    const auto chosen = metrics::RandomizationOptions().layers({"0"}).hog(hog);
    const auto first = metrics::model_parameter_randomization(model, x, nni::Target(), gradient, chosen);
    CHECK(first.layers == std::vector<std::string>{"0"});
    CHECK(torch::equal(first.similarity.spearman,
                       metrics::model_parameter_randomization(model, x, nni::Target(), gradient, chosen).similarity.spearman));
    CHECK_FALSE(torch::equal(first.similarity.spearman, metrics::model_parameter_randomization(
                                                            model, x, nni::Target(), gradient,
                                                            metrics::RandomizationOptions(chosen).seed(5)).similarity.spearman));
    // A randomized model whose map is constant: refused by default, NaN on request.
    const nni::Model original(model);
    const metrics::Explainer dead = [&](const nni::Model& m, const torch::Tensor& input, const nni::Target& target) {
      return m.backend().module() == original.backend().module() ? gradient(m, input, target) : torch::zeros_like(input);
    };
    CHECK_THROWS_WITH(metrics::model_parameter_randomization(original, x, nni::Target(), dead, chosen),
                      Contains("randomized down to layer '0'") && Contains("is constant"));
    const auto undefined = metrics::model_parameter_randomization(original, x, nni::Target(), dead,
                                                                  metrics::RandomizationOptions(chosen).constant_as_nan(true));
    CHECK(undefined.similarity.spearman.isnan().all().item<bool>());
    CHECK(undefined.similarity.ssim.isnan().all().item<bool>());
    CHECK_THROWS_WITH(metrics::model_parameter_randomization(model, x, nni::Target(), gradient,
                                                             metrics::RandomizationOptions().layers({"3"})),
                      Contains("no layer '3' holds parameters; the layers are 0, 1, 4"));
  }
}

TEST_CASE("Randomization copies TorchScript and Cloneable modules and refuses what it cannot copy",
          "[metrics][randomization]") {
  torch::jit::Module script = torch::jit::load(std::string(NNI_SOURCE_DIR) + "/tests/fixtures/tiny_resnet_scripted.pt");
  script.eval();
  std::vector<torch::Tensor> original;
  for (const auto& parameter : script.parameters()) original.push_back(parameter.detach().clone());
  for (const auto& buffer : script.buffers()) original.push_back(buffer.detach().clone());
  const torch::Tensor images = torch::rand({2, 3, 16, 16});
  const auto result = metrics::model_parameter_randomization(script, images, nni::Target(), metrics::registered_explainer("vanilla_gradient"),
                                                             metrics::RandomizationOptions().hog(metrics::HogOptions().pixels_per_cell(4).cells_per_block(2)));
  size_t i = 0;
  for (const auto& parameter : script.parameters()) CHECK(torch::equal(parameter, original[i++]));
  for (const auto& buffer : script.buffers()) CHECK(torch::equal(buffer, original[i++]));
  CHECK(result.layers.front() == "fc");
  CHECK(result.similarity.spearman.size(0) == static_cast<int64_t>(result.layers.size()));
  // Fully randomized, the gradient no longer ranks the pixels as the trained model's does.
  CHECK(result.similarity.spearman[-1].abs().max().item<float>() < 0.9);

  const nni::Model cloneable(std::make_shared<TwoLayerImpl>());
  const auto copy = cloneable.deep_copy();
  const torch::Tensor rows = torch::randn({4, 6});
  CHECK(torch::equal(copy.forward(rows), cloneable.forward(rows)));
  CHECK(copy.backend().module().get() != cloneable.backend().module().get());

  const nni::Model plain(std::make_shared<PlainImpl>());
  CHECK_THROWS_WITH(plain.deep_copy(), Contains("is not torch::nn::Cloneable: derive it from torch::nn::Cloneable<"));
  auto net = std::make_shared<TwoLayerImpl>();
  const nni::Model own_forward(net, [net](const torch::Tensor& input) { return net->forward(input) * 2; });
  CHECK_THROWS_WITH(own_forward.deep_copy(), Contains("its forward was given as a function of its own"));
  const nni::Model function([](const torch::Tensor& input) { return input * 2; });
  CHECK_THROWS_WITH(metrics::model_parameter_randomization(function, rows, 0, metrics::registered_explainer("vanilla_gradient")),
                    Contains("cannot copy the forward function"));
}

TEST_CASE("The random-logit test compares the maps of the class and of another one, drawn per example",
          "[metrics][random_logit]") {
  torch::manual_seed(43);
  torch::nn::Sequential linear(torch::nn::Flatten(), torch::nn::Linear(64, 5));
  linear->to(torch::kDouble);
  const torch::Tensor x = torch::rand({4, 1, 8, 8}, torch::kDouble);
  const torch::Tensor labels = torch::tensor({0, 4, 2, 2});
  const auto options = metrics::RandomLogitOptions().hog(metrics::HogOptions().pixels_per_cell(2).cells_per_block(2));
  const auto result = metrics::random_logit(linear, x, labels, metrics::registered_explainer("vanilla_gradient"), options);
  CHECK(torch::equal(result.classes, labels));
  CHECK((result.random != labels).all().item<bool>());
  CHECK(((result.random >= 0) & (result.random < 5)).all().item<bool>());
  // The gradient of class c is W[c]: the similarity of W[label] and W[random] as maps.
  const torch::Tensor weight = linear->ptr<torch::nn::LinearImpl>(1)->weight.detach();
  const torch::Tensor a = weight.index_select(0, labels).view({4, 8, 8}), b = weight.index_select(0, result.random).view({4, 8, 8});
  CHECK_THAT(result.similarity.spearman, AllClose(metrics::spearman_correlation(a, b), 1e-12, 1e-12));
  const auto by_max = [](const torch::Tensor& m) { return m / m.abs().flatten(1).amax(1).view({-1, 1, 1}); };
  CHECK_THAT(result.similarity.ssim, AllClose(metrics::ssim(by_max(a), by_max(b)), 1e-12, 1e-12));
  CHECK(torch::equal(metrics::random_logit(linear, x, labels, metrics::registered_explainer("vanilla_gradient"), options).random,
                     result.random));
  torch::nn::Sequential regression(torch::nn::Flatten(), torch::nn::Linear(64, 1));
  regression->to(torch::kDouble);
  CHECK_THROWS_WITH(metrics::random_logit(regression, x, nni::Target(), metrics::registered_explainer("vanilla_gradient")),
                    Contains("random_logit: needs a classifier"));
}
