// Bad input gets a clear exception naming the problem, and the model is unchanged afterwards.
#include "support/catch_torch.h"
#include <torch/csrc/jit/api/module.h>
#include <torch/torch.h>

#include <limits>

#include "nn_interpretability/nn_interpretability.h"
#include "nn_interpretability/model/torchscript.h"
#include "support/model_snapshot.h"
#include "support/tiny_models.h"

namespace nni = nn_interpretability;
using Catch::Matchers::Contains;

namespace {

struct BadCase {
  std::string description;
  std::function<void(nni::Attribution&)> call;
  std::string expected_message;
};

std::vector<BadCase> bad_cases() {
  torch::Tensor good = torch::rand({2, 1, 8, 8});
  return {
      {"rank 1 input", [](nni::Attribution& m) { m.attribute(torch::rand({8})); }, "got shape [8]"},
      {"wrong channel count", [](nni::Attribution& m) { m.attribute(torch::rand({2, 3, 8, 8})); },
       "failed on an input of shape [2, 3, 8, 8]"},
      {"wrong spatial size", [](nni::Attribution& m) { m.attribute(torch::rand({2, 1, 5, 5})); },
       "failed on an input of shape [2, 1, 5, 5]"},
      {"integer input", [](nni::Attribution& m) { m.attribute(torch::ones({2, 1, 8, 8}, torch::kInt)); },
       "must be a floating-point tensor, got Int"},
      {"double input on a float model",
       [](nni::Attribution& m) { m.attribute(torch::rand({2, 1, 8, 8}, torch::kDouble)); },
       "differs from the model's parameter dtype Float"},
      {"half input on a float model", [](nni::Attribution& m) { m.attribute(torch::rand({2, 1, 8, 8}).to(torch::kHalf)); },
       "differs from the model's parameter dtype Float"},
      {"empty batch", [](nni::Attribution& m) { m.attribute(torch::rand({0, 1, 8, 8})); }, "empty batch"},
      {"undefined input", [](nni::Attribution& m) { m.attribute(torch::Tensor()); }, "undefined"},
      {"NaN input",
       [good](nni::Attribution& m) {
         torch::Tensor x = good.clone();
         x[1][0][3][3] = std::numeric_limits<float>::quiet_NaN();
         m.attribute(x);
       },
       "contains NaN or Inf (1 NaN, 0 Inf values)"},
      {"Inf input",
       [good](nni::Attribution& m) {
         torch::Tensor x = good.clone();
         x[0][0][0][0] = std::numeric_limits<float>::infinity();
         m.attribute(x);
       },
       "contains NaN or Inf (0 NaN, 1 Inf values)"},
      {"target out of range", [good](nni::Attribution& m) { m.attribute(good, 3); },
       "target class 3 is out of range: the model has 3 classes"},
      {"negative target", [good](nni::Attribution& m) { m.attribute(good, -1); }, "target class -1 is out of range"},
      {"target tensor out of range", [good](nni::Attribution& m) { m.attribute(good, torch::tensor({0, 7})); },
       "target class 7 is out of range"},
      {"target tensor of the wrong length", [good](nni::Attribution& m) { m.attribute(good, torch::tensor({0, 1, 2})); },
       "got 3 class indices for a batch of 2"},
      {"floating-point target tensor", [good](nni::Attribution& m) { m.attribute(good, torch::tensor({0.0, 1.0}, torch::kDouble)); },
       "class indices must be an integer tensor, got Double"},
      {"score function of the wrong shape",
       [good](nni::Attribution& m) { m.attribute(good, nni::Target([](const torch::Tensor& out) { return out; })); },
       "score function must return a tensor of shape ["},
  };
}

std::vector<std::shared_ptr<nni::Attribution>> all_methods(const nni::Model& model) {
  return {std::make_shared<nni::VanillaGradient>(model),
          std::make_shared<nni::SaliencyMap>(model),
          std::make_shared<nni::InputXGradient>(model),
          std::make_shared<nni::GuidedBackprop>(model),
          std::make_shared<nni::Deconvolution>(model),
          std::make_shared<nni::IntegratedGradients>(model, nni::IntegratedGradientsOptions().steps(3)),
          std::make_shared<nni::SmoothGrad>(nni::GuidedBackprop(model), nni::SmoothGradOptions().samples(2))};
}

}  // namespace

TEST_CASE("Every method rejects each bad input with a message naming the problem", "[errors]") {
  torch::manual_seed(41);
  nni_test::SmallCnn model;
  model->eval();
  auto before = nni_test::ModelSnapshot::of(*model);
  int cases = 0;
  for (const auto& method : all_methods(model)) {
    for (const auto& bad : bad_cases()) {
      INFO(method->name() << ": " << bad.description);
      CHECK_THROWS_WITH(bad.call(*method), Contains(bad.expected_message));
      CHECK(before.difference(nni_test::ModelSnapshot::of(*model)) == "");
      ++cases;
    }
  }
  CHECK(cases == 7 * 16);
}

TEST_CASE("Error types follow LibTorch: ValueError, TypeError, IndexError", "[errors]") {
  nni_test::SmallCnn model;
  model->eval();
  nni::VanillaGradient method(model);
  torch::Tensor good = torch::rand({2, 1, 8, 8});
  CHECK_THROWS_AS(method.attribute(torch::rand({0, 1, 8, 8})), c10::ValueError);
  CHECK_THROWS_AS(method.attribute(torch::ones({2, 1, 8, 8}, torch::kLong)), c10::TypeError);
  CHECK_THROWS_AS(method.attribute(good, 5), c10::IndexError);
  CHECK_THROWS_AS(method.attribute(good, torch::tensor({0, 1, 2})), c10::ValueError);
}

TEST_CASE("A model output that does not fit the target is rejected", "[errors]") {
  torch::Tensor input = torch::rand({2, 4});
  nni::Model flat([](const torch::Tensor& x) { return x.sum(1); });
  CHECK_THROWS_WITH(nni::VanillaGradient(flat).attribute(input, 0), Contains("so there are no classes to pick"));
  nni::Model scalar([](const torch::Tensor& x) { return x.sum(); });
  CHECK_THROWS_WITH(nni::VanillaGradient(scalar).attribute(input), Contains("got a 0-d tensor"));
  nni::Model empty([](const torch::Tensor& x) { return x.narrow(1, 0, 0); });
  CHECK_THROWS_WITH(nni::VanillaGradient(empty).attribute(input), Contains("returned an empty output"));
  nni::Model wrong_rows([](const torch::Tensor& x) { return x.narrow(0, 0, 1); });
  CHECK_THROWS_WITH(nni::VanillaGradient(wrong_rows).attribute(input, 0), Contains("returned 1 rows for a batch of 2"));
  nni::Model detached([](const torch::Tensor& x) { return x.detach() * 2; });
  CHECK_THROWS_WITH(nni::VanillaGradient(detached).attribute(input, 0), Contains("does not depend on the input"));
}

TEST_CASE("Bad options are rejected when the method is built", "[errors]") {
  auto model = nni_test::linear_model(4, 3);
  CHECK_THROWS_WITH(nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().steps(0)),
                    Contains("steps must be >= 1"));
  CHECK_THROWS_WITH(nni::SmoothGrad(nni::VanillaGradient(model), nni::SmoothGradOptions().samples(0)),
                    Contains("samples must be >= 1"));
  CHECK_THROWS_WITH(nni::SmoothGrad(nni::VanillaGradient(model), nni::SmoothGradOptions().noise_level(-1)),
                    Contains("noise_level must be a finite value >= 0"));
  CHECK_THROWS_WITH(nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().baseline(torch::zeros({3})))
                        .attribute(torch::rand({2, 4}), 0),
                    Contains("does not broadcast to the input shape [2, 4]"));
}

TEST_CASE("An exception thrown mid-call leaves the model and grad mode unchanged", "[errors][invariance]") {
  nni_test::SmallCnn model;
  model->train();
  auto before = nni_test::ModelSnapshot::of(*model);
  nni::Target failing([](const torch::Tensor&) -> torch::Tensor { throw std::runtime_error("user score failed"); });
  {
    torch::NoGradGuard no_grad;
    CHECK_THROWS_WITH(nni::GuidedBackprop(model).attribute(torch::rand({2, 1, 8, 8}), failing),
                      Contains("user score failed"));
    CHECK(!torch::GradMode::is_enabled());
  }
  CHECK(before.difference(nni_test::ModelSnapshot::of(*model)) == "");
}

// ----------------------------------------------------------------------------- no silent wrong answers

namespace {

// A backbone cut off from autograd (under NoGradGuard, or detached) with a trainable head: the
// scores require grad through the head's parameters, but no gradient reaches the input.
struct CutBackboneImpl : torch::nn::Module {
  explicit CutBackboneImpl(bool use_guard) : use_guard(use_guard) {
    backbone = register_module("backbone", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 2, 3).padding(1)));
    head = register_module("head", torch::nn::Linear(2 * 8 * 8, 3));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor features;
    if (use_guard) {
      torch::NoGradGuard no_grad;
      features = torch::relu(backbone->forward(x));
    } else {
      features = torch::relu(backbone->forward(x)).detach();
    }
    return head->forward(features.flatten(1));
  }
  bool use_guard;
  torch::nn::Conv2d backbone{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(CutBackbone);

// The class name each method puts in front of its messages.
std::string class_name(const nni::Attribution& method) {
  const std::string name = method.name();
  if (name == "vanilla_gradient") return "VanillaGradient";
  if (name == "saliency") return "SaliencyMap";
  if (name == "input_x_gradient") return "InputXGradient";
  if (name == "guided_backprop") return "GuidedBackprop";
  if (name == "deconvolution") return "Deconvolution";
  if (name == "integrated_gradients") return "IntegratedGradients";
  return "GuidedBackprop";  // SmoothGrad's base (all_methods smooths guided backprop) reports it
}

}  // namespace

TEST_CASE("Gradient methods refuse scores that reach the input through no autograd path, not return zeros",
          "[errors][silent]") {
  const torch::Tensor input = torch::rand({2, 1, 8, 8});
  auto check_all = [&](const nni::Model& model, const std::string& what) {
    for (const auto& method : all_methods(model)) {
      INFO(what << ": " << method->name());
      CHECK_THROWS_AS(method->attribute(input), c10::ValueError);
      CHECK_THROWS_WITH(method->attribute(input),
                        Contains(class_name(*method) + ": the target's scores do not depend on the input through "
                                                       "autograd (does the forward detach it or run under "
                                                       "NoGradGuard?)"));
    }
  };
  SECTION("a C++ module whose backbone runs under NoGradGuard") {
    CutBackbone model(true);
    model->eval();
    check_all(model, "NoGradGuard");
  }
  SECTION("a C++ module whose forward detaches the features") {
    CutBackbone model(false);
    model->eval();
    check_all(model, "detach");
  }
  SECTION("a TorchScript module that detaches its input") {
    torch::jit::Module module("DetachedBackbone");
    torch::manual_seed(3);
    module.register_parameter("weight", torch::randn({3, 64}).requires_grad_(true), false);  // as exported
    module.define(R"JIT(
def forward(self, x):
    features = torch.relu(x.flatten(1)).detach()
    return torch.matmul(features, self.weight.t())
)JIT");
    module.eval();
    check_all(nni::Model(module), "TorchScript");
  }
  SECTION("a model that does reach the input still works, even where the gradient is zero") {
    nni::Model zero_gradient([](const torch::Tensor& x) { return torch::zeros({x.size(0), 3}) + 0 * x.flatten(1).narrow(1, 0, 3); });
    CHECK(nni::VanillaGradient(zero_gradient).attribute(input, 0).abs().sum().item<double>() == 0);
  }
}

TEST_CASE("A model returning NaN or Inf scores is refused, naming the rows", "[errors][silent]") {
  // Scores NaN (or Inf) in the rows whose first input value is above 0.5: rows 0 and 3 of 4.
  auto scores_of = [](double bad_value) {
    return nni::Model([bad_value](const torch::Tensor& x) {
      const torch::Tensor flat = x.flatten(1);
      const torch::Tensor scores = flat.narrow(1, 0, 3) * 2;
      const torch::Tensor bad = flat.narrow(1, 0, 1) > 0.5;
      return torch::where(bad, torch::full_like(scores, bad_value), scores);
    });
  };
  torch::Tensor input = torch::full({4, 1, 2, 2}, 0.25);
  input[0][0][0][0] = 0.75;
  input[3][0][0][0] = 0.75;
  const nni::Model nan_model = scores_of(std::numeric_limits<double>::quiet_NaN());
  for (const auto& method : all_methods(nan_model)) {
    INFO(method->name());
    CHECK_THROWS_AS(method->attribute(input, 0), c10::ValueError);
    CHECK_THROWS_WITH(method->attribute(input, 0),
                      Contains("the forward function returned NaN or Inf scores in rows 0, 3 (of 4) for an input of "
                               "shape [4, 1, 2, 2]"));
  }
  torch::Tensor one_bad = torch::full({4, 1, 2, 2}, 0.25);
  one_bad[2][0][1][1] = 0.75;  // not the first value: finite
  one_bad[1][0][0][0] = 0.75;
  CHECK_THROWS_WITH(nni::VanillaGradient(scores_of(std::numeric_limits<double>::infinity())).attribute(one_bad, 0),
                    Contains("returned NaN or Inf scores in row 1 (of 4)"));
  // Score-CAM used to return an all-NaN map for such a model.
  torch::nn::Sequential cnn(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 2, 1)), torch::nn::ReLU(),
                            torch::nn::Flatten(), torch::nn::Linear(8, 3),
                            torch::nn::Functional([](const torch::Tensor& s) { return s * std::numeric_limits<float>::quiet_NaN(); }));
  cnn->eval();
  CHECK_THROWS_WITH(nni::ScoreCam(cnn, nni::ScoreCamOptions("1")).attribute(input),
                    Contains("returned NaN or Inf scores in rows 0, 1, 2, 3 (of 4)"));
}

TEST_CASE("Score-CAM, integrated gradients and SmoothGrad never return NaN or Inf silently", "[errors][silent]") {
  SECTION("a gradient that is infinite where the model's output is finite (sqrt at 0)") {
    nni::Model sqrt_model([](const torch::Tensor& x) { return x.flatten(1).sqrt().sum(1, true).repeat({1, 2}); });
    const torch::Tensor input = torch::cat({torch::zeros({1, 1, 2, 2}), torch::rand({1, 1, 2, 2}) + 0.5});
    CHECK_THROWS_WITH(nni::IntegratedGradients(sqrt_model, nni::IntegratedGradientsOptions().steps(4)).attribute(input, 0),
                      Contains("IntegratedGradients: the gradient contains NaN or Inf") && Contains("in rows 0"));
    CHECK_THROWS_WITH(nni::VanillaGradient(sqrt_model).attribute(input, 0),
                      Contains("VanillaGradient: the gradient contains NaN or Inf"));
  }
  SECTION("SmoothGrad² of gradients whose squares overflow float32") {
    nni::Model steep([](const torch::Tensor& x) { return x.flatten(1).narrow(1, 0, 2) * 1e30; });
    const torch::Tensor input = torch::rand({2, 1, 2, 2}) * 1e-3;
    nni::SmoothGrad squared(nni::VanillaGradient(steep),
                            nni::SmoothGradOptions().samples(2).variant(nni::SmoothGradVariant::kSquare).seed(2));
    CHECK_THROWS_AS(squared.attribute(input, 0), c10::ValueError);
    CHECK_THROWS_WITH(squared.attribute(input, 0), Contains("SmoothGrad: the smoothed attributions contains NaN or Inf"));
  }
  SECTION("a Score-CAM map that overflows although every score is finite") {
    // Layer "0" outputs about 3e38 per channel; the rest of the model scales it back down.
    torch::nn::Conv2d conv(torch::nn::Conv2dOptions(1, 4, 1));
    {
      torch::NoGradGuard no_grad;
      conv->weight.fill_(3e38f);
      conv->bias.zero_();
    }
    torch::nn::Sequential cnn(conv, torch::nn::Functional([](const torch::Tensor& a) { return a * 1e-30f; }),
                              torch::nn::AdaptiveAvgPool2d(1), torch::nn::Flatten(), torch::nn::Linear(4, 1));
    cnn->eval();
    torch::manual_seed(5);
    const torch::Tensor input = torch::rand({2, 1, 4, 4}) * 0.5 + 0.5;
    CHECK_THROWS_WITH(nni::ScoreCam(cnn, nni::ScoreCamOptions("0").relu(false)).attribute(input, 0),
                      Contains("ScoreCam: the map contains NaN or Inf"));
  }
}

TEST_CASE("SmoothGrad says when its noisy samples overflow, naming the noise option", "[errors][silent]") {
  auto model = nni_test::linear_model(4, 3);
  const torch::Tensor input = torch::rand({2, 4});
  nni::SmoothGrad by_level(nni::VanillaGradient(model), nni::SmoothGradOptions().samples(2).noise_level(1e39).seed(1));
  CHECK_THROWS_AS(by_level.attribute(input, 0), c10::ValueError);
  CHECK_THROWS_WITH(by_level.attribute(input, 0),
                    Contains("SmoothGrad: the noisy samples overflowed") && Contains("noise_level") &&
                        Contains("--noise-level") && !Contains("the input contains NaN"));
  nni::SmoothGrad by_stdev(nni::VanillaGradient(model), nni::SmoothGradOptions().samples(2).stdev(1e39).seed(1));
  CHECK_THROWS_WITH(by_stdev.attribute(input, 0),
                    Contains("SmoothGrad: the noisy samples overflowed") && Contains("stdev") && Contains("--stdev"));
}
