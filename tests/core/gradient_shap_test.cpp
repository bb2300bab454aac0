// GradientSHAP: Captum's GradientShap on its own recorded draws, the linear-model identity, seeded
// and chunk-independent draws, and the refusals.
#include "support/catch_torch.h"
#include <torch/script.h>
#include <torch/torch.h>

#include <string>

#include "nn_interpretability/gradient/gradient_shap.h"
#include "nn_interpretability/io/npy.h"
#include "support/all_close.h"
#include "support/tiny_models.h"

namespace nni = nn_interpretability;
using Catch::Matchers::Contains;
using nni_test::AllClose;

namespace {

torch::Tensor fixture(const std::string& folder, const std::string& name) {
  return nni::read_npy(std::string(NNI_SOURCE_DIR) + "/tests/fixtures/" + folder + "/" + name + ".npy");
}

}  // namespace

TEST_CASE("GradientShap equals Captum's GradientShap on the draws Captum made", "[gradient_shap]") {
  torch::jit::Module module =
      torch::jit::load(std::string(NNI_SOURCE_DIR) + "/tests/fixtures/perturbation_reference/cnn_scripted.pt");
  module.eval();
  const nni::Model model(module);
  const torch::Tensor x = fixture("perturbation_reference", "cnn_input");
  const torch::Tensor target = fixture("perturbation_reference", "cnn_target");
  const auto options = nni::GradientShapOptions().baselines(fixture("gradient_reference", "gradient_shap_baselines")).samples(4);

  SECTION("with noise") {
    nni::GradientShap method(model, nni::GradientShapOptions(options)
                                        .stdev(0.1)
                                        .baseline_indices(fixture("gradient_reference", "gradient_shap_indices"))
                                        .alphas(fixture("gradient_reference", "gradient_shap_alphas"))
                                        .noise(fixture("gradient_reference", "gradient_shap_noise")));
    CHECK_THAT(method.attribute(x, target), AllClose(fixture("gradient_reference", "gradient_shap"), 1e-10, 1e-13));
    // Draws in any chunking give the same sum.
    nni::GradientShap one_draw_per_call(model, nni::GradientShapOptions(method.options()).rows_per_call(2));
    CHECK_THAT(one_draw_per_call.attribute(x, target), AllClose(fixture("gradient_reference", "gradient_shap"), 1e-10, 1e-13));
  }
  SECTION("without noise") {
    nni::GradientShap method(model, nni::GradientShapOptions(options)
                                        .baseline_indices(fixture("gradient_reference", "gradient_shap_no_noise_indices"))
                                        .alphas(fixture("gradient_reference", "gradient_shap_no_noise_alphas")));
    CHECK_THAT(method.attribute(x, target), AllClose(fixture("gradient_reference", "gradient_shap_no_noise"), 1e-10, 1e-13));
  }
}

TEST_CASE("GradientShap of a linear model is (x - mean drawn baseline) times the weights", "[gradient_shap]") {
  torch::manual_seed(21);
  torch::nn::Linear linear(6, 3);
  linear->to(torch::kDouble);
  const nni::Model model(linear);
  const torch::Tensor x = torch::randn({4, 6}, torch::kDouble);
  const torch::Tensor baselines = torch::randn({5, 6}, torch::kDouble);
  const torch::Tensor target = torch::tensor({0, 2, 1, 2}, torch::kLong);
  const torch::Tensor weights = linear->weight.detach().index_select(0, target);  // [4, 6]

  // One baseline: exact whatever the draws.
  nni::GradientShap single(model, nni::GradientShapOptions().baselines(baselines[2]).samples(7));
  CHECK_THAT(single.attribute(x, target), AllClose((x - baselines[2]) * weights, 1e-12, 1e-14));

  // Several: the mean over the baselines each example drew.
  const torch::Tensor indices = torch::tensor({0, 1, 4, 4, 3, 3, 2, 0, 1, 1, 1, 0}, torch::kLong).view({4, 3});
  nni::GradientShap given(model, nni::GradientShapOptions().baselines(baselines).samples(3).baseline_indices(indices));
  const torch::Tensor mean_baseline = baselines.index_select(0, indices.flatten()).view({4, 3, 6}).mean(1);
  CHECK_THAT(given.attribute(x, target), AllClose((x - mean_baseline) * weights, 1e-12, 1e-14));

  // Drawn: seeded, independent of the chunking and of the batch an example comes in.
  const auto drawn = nni::GradientShapOptions().baselines(baselines).samples(40).stdev(0.05).seed(9);
  const torch::Tensor all = nni::GradientShap(model, nni::GradientShapOptions(drawn).rows_per_call(0)).attribute(x, target);
  CHECK_THAT(nni::GradientShap(model, nni::GradientShapOptions(drawn).rows_per_call(4)).attribute(x, target),
             AllClose(all, 1e-12, 1e-14));
  CHECK_THAT(nni::GradientShap(model, drawn).attribute(x.slice(0, 0, 2), target.slice(0, 0, 2)),
             AllClose(all.slice(0, 0, 2), 1e-12, 1e-14));
  CHECK_FALSE(torch::allclose(nni::GradientShap(model, nni::GradientShapOptions(drawn).seed(10)).attribute(x, target), all));
  // Noise averages out: with 2000 draws the map is near (x - E[b]) ⊙ w, E[b] the distribution's mean.
  const torch::Tensor many = nni::GradientShap(model, nni::GradientShapOptions(drawn).samples(2000)).attribute(x, target);
  CHECK((many - (x - baselines.mean(0)) * weights).abs().max().item<double>() < 0.1 * weights.abs().max().item<double>());
}

TEST_CASE("GradientShap refuses bad baselines, draws and options by name", "[gradient_shap]") {
  torch::nn::Linear linear(6, 3);
  const nni::Model model(linear);
  const torch::Tensor x = torch::randn({2, 6});
  CHECK_THROWS_WITH(nni::GradientShap(model, nni::GradientShapOptions().samples(0)), Contains("samples must be >= 1"));
  CHECK_THROWS_WITH(nni::GradientShap(model, nni::GradientShapOptions().stdev(-1)), Contains("stdev must be finite and >= 0"));
  CHECK_THROWS_WITH(nni::GradientShap(model, nni::GradientShapOptions().baselines(torch::zeros({3, 5}))).attribute(x, 0),
                    Contains("GradientShap") && Contains("neither rows shaped like the input's [6]"));
  CHECK_THROWS_WITH(nni::GradientShap(model, nni::GradientShapOptions().baselines(torch::full({6}, NAN))).attribute(x, 0),
                    Contains("the baselines contain NaN or Inf"));
  CHECK_THROWS_WITH(nni::GradientShap(model, nni::GradientShapOptions()
                                                 .baselines(torch::zeros({3, 6}))
                                                 .samples(2)
                                                 .baseline_indices(torch::full({2, 2}, 3, torch::kLong)))
                        .attribute(x, 0),
                    Contains("baseline_indices must lie in [0, 3)"));
  CHECK_THROWS_WITH(nni::GradientShap(model, nni::GradientShapOptions().samples(2).alphas(torch::full({2, 3}, 0.5))).attribute(x, 0),
                    Contains("the given alphas have shape [2, 3]; expected [2, 2]"));
  CHECK_THROWS_WITH(nni::GradientShap(model, nni::GradientShapOptions().samples(2).alphas(torch::full({2, 2}, 1.5))).attribute(x, 0),
                    Contains("the given alphas must lie in [0, 1]"));
  CHECK_THROWS_WITH(nni::GradientShap(model, nni::GradientShapOptions().samples(2).noise(torch::zeros({2, 2, 5}))).attribute(x, 0),
                    Contains("the given noise have shape [2, 2, 5]; expected [2, 2, 6]"));
}
