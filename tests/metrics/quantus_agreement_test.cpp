// Agreement with Quantus on the fixtures of tests/fixtures/metrics_reference/export_quantus_metrics_reference.py:
// sparseness, complexity, the localisation metrics, faithfulness correlation on Quantus's own subsets
// and the deletion curve against its pixel flipping; and the one definitional difference (relevance mass
// on signed maps) tested both ways.
#include <string>

#include <torch/script.h>
#include <torch/torch.h>

#include "nn_interpretability/io/npy.h"
#include "nn_interpretability/metrics/complexity.h"
#include "nn_interpretability/metrics/deletion_insertion.h"
#include "nn_interpretability/metrics/faithfulness_correlation.h"
#include "nn_interpretability/metrics/localization.h"
#include "support/all_close.h"
#include "support/catch_torch.h"

namespace nni = nn_interpretability;
namespace metrics = nn_interpretability::metrics;
using nni_test::AllClose;

namespace {

torch::Tensor fixture(const std::string& folder, const std::string& name) {
  return nni::read_npy(std::string(NNI_SOURCE_DIR) + "/tests/fixtures/" + folder + "/" + name);
}

torch::Tensor quantus(const std::string& name) { return fixture("metrics_reference", "quantus_" + name + ".npy"); }

}  // namespace

TEST_CASE("Quantus: sparseness, complexity, pointing game, relevance mass and rank on the same maps",
          "[metrics][quantus]") {
  const torch::Tensor maps = quantus("maps");
  const torch::Tensor maps_rgb = quantus("maps_rgb");
  const torch::Tensor masks = quantus("masks");

  // Quantus adds 1e-7 to the max-normalised |a| before its Gini index; the library does not.
  CHECK_THAT(metrics::sparseness(maps), AllClose(quantus("sparseness"), 0, 1e-6));
  CHECK_THAT(metrics::sparseness(maps_rgb), AllClose(quantus("sparseness_rgb"), 0, 1e-6));
  CHECK_THAT(metrics::complexity(maps), AllClose(quantus("complexity"), 1e-10, 1e-12));
  CHECK_THAT(metrics::complexity(maps_rgb), AllClose(quantus("complexity_rgb"), 1e-10, 1e-12));

  CHECK(torch::equal(metrics::pointing_game(maps, masks), quantus("pointing_game")));
  CHECK(torch::equal(metrics::relevance_rank(maps, masks), quantus("relevance_rank")));

  // Relevance mass: the paper's (and the library's) positive relevance equals Quantus on max(a, 0) and
  // on |a|-maps; Quantus's default on a signed map sums the negative relevance too, and differs.
  CHECK_THAT(metrics::relevance_mass(maps.abs(), masks), AllClose(quantus("relevance_mass_abs"), 1e-12, 1e-15));
  CHECK_THAT(metrics::relevance_mass(maps, masks), AllClose(quantus("relevance_mass_positive"), 1e-12, 1e-15));
  CHECK_FALSE(torch::allclose(metrics::relevance_mass(maps, masks), quantus("relevance_mass_signed"), 1e-3, 1e-3));
}

TEST_CASE("Quantus: faithfulness correlation on its recorded subsets, pixel flipping as the deletion curve",
          "[metrics][quantus]") {
  torch::jit::Module module =
      torch::jit::load(std::string(NNI_SOURCE_DIR) + "/tests/fixtures/perturbation_reference/cnn_scripted.pt");
  module.eval();
  const nni::Model model(module);
  const torch::Tensor input = quantus("fc_input");
  const torch::Tensor target = fixture("perturbation_reference", "cnn_target.npy");
  const torch::Tensor maps = quantus("fc_maps");

  const torch::Tensor correlation = metrics::faithfulness_correlation(
      model, input, target, maps,
      metrics::FaithfulnessCorrelationOptions().subsets(quantus("fc_subsets")).baseline(nni::Baseline(0.0)));
  CHECK_THAT(correlation, AllClose(quantus("fc"), 1e-10, 1e-12));

  const metrics::Curve deletion = metrics::deletion_curve(
      model, input, target, maps, metrics::CurveOptions().step(4).baseline(nni::Baseline(0.0)).probabilities(true));
  REQUIRE(deletion.scores.size(1) == 17);
  CHECK_THAT(deletion.scores.slice(1, 1), AllClose(quantus("pixel_flipping"), 1e-10, 1e-12));
}
