// Bad input gets a clear exception naming the problem, and the model is unchanged afterwards.
#include "support/catch_torch.h"
#include <torch/torch.h>

#include "nn_interpretability/nn_interpretability.h"
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

TEST_CASE("A model whose output is not [N, classes] is rejected", "[errors]") {
  torch::Tensor input = torch::rand({2, 4});
  nni::Model flat([](const torch::Tensor& x) { return x.sum(1); });
  CHECK_THROWS_WITH(nni::VanillaGradient(flat).attribute(input, 0), Contains("must return scores of shape [N, classes]"));
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
