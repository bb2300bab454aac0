// The report card: its cells are the metrics' own values averaged (checked against direct calls), its
// standard errors are those of the per-example values, and a failing method leaves only its own cells.
#include <string>

#include <torch/torch.h>

#include "nn_interpretability/metrics/complexity.h"
#include "nn_interpretability/metrics/deletion_insertion.h"
#include "nn_interpretability/metrics/report_card.h"
#include "nn_interpretability/registry/registry.h"
#include "support/all_close.h"
#include "support/catch_torch.h"

namespace nni = nn_interpretability;
namespace metrics = nn_interpretability::metrics;
using Catch::Matchers::Contains;

TEST_CASE("The report card averages the metrics' own per-example values, with standard errors", "[metrics][report_card]") {
  torch::manual_seed(51);
  torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3).padding(1)), torch::nn::ReLU(),
                            torch::nn::Flatten(), torch::nn::Linear(4 * 8 * 8, 3));
  net->to(torch::kDouble);
  const nni::Model model(net);
  const torch::Tensor x = torch::rand({7, 1, 8, 8}, torch::kDouble);
  const torch::Tensor labels = torch::tensor({0, 1, 2, 0, 1, 2, 0});
  const std::vector<metrics::ReportMethod> methods = {
      {"input_x_gradient", {}}, {"grad_cam", nni::MethodConfig().layer("1")}, {"attention_rollout", {}}};
  const metrics::ReportCard card = metrics::evaluate_methods(
      model, x, labels, methods,
      metrics::ReportCardOptions().metrics({"deletion", "sparseness", "random_logit", "mprt"}).batch_size(3));
  REQUIRE(card.methods.size() == 3);
  REQUIRE(card.metrics.size() == 4);
  CHECK(card.examples == 7);

  // Direct calls on the same maps, over the whole batch at once.
  const torch::Tensor maps = nni::make_method("input_x_gradient", model, {})->attribute(x, labels);
  const torch::Tensor aucs = metrics::deletion_curve(model, x, labels, maps, metrics::CurveOptions().step_fraction(0.05)).auc;
  const metrics::ReportCell& deletion = card.cells[0][0];
  CHECK(deletion.failure.empty());
  CHECK(deletion.count == 7);
  CHECK(deletion.mean == Approx(aucs.mean().item<double>()).epsilon(1e-12));
  CHECK(deletion.standard_error == Approx((aucs.std() / std::sqrt(7.0)).item<double>()).epsilon(1e-9));
  const torch::Tensor gini = metrics::sparseness(maps);
  CHECK(card.cells[0][1].mean == Approx(gini.mean().item<double>()).epsilon(1e-12));
  // The mean deletion curve starts at the mean clean probability and ends at the baseline's.
  REQUIRE(card.deletion_curves.count("input_x_gradient") == 1);
  CHECK(card.deletion_curves.at("input_x_gradient").size(0) == card.curve_fractions.size(0));
  // grad_cam's 8x8 maps have the input's size here; the randomization maps: original + 2 layers.
  CHECK(card.cells[1][0].failure.empty());
  REQUIRE(card.randomization_maps.count("grad_cam") == 1);
  CHECK(card.randomization_maps.at("grad_cam").sizes() == torch::IntArrayRef({3, 8, 8}));
  CHECK(card.randomization_layers == std::vector<std::string>{"3", "0"});
  // A method that does not apply: its cells say why, the others are unaffected.
  for (const metrics::ReportCell& cell : card.cells[2]) {
    CHECK_THAT(cell.failure, Contains("the method failed"));
    CHECK(cell.count == 0);
  }
  const std::string csv = metrics::report_card_csv(card);
  CHECK_THAT(csv, Contains("input_x_gradient,deletion,"));
  CHECK_THAT(metrics::report_card_json(card), Contains("\"higher_is_better\": false"));

  CHECK_THROWS_WITH(metrics::evaluate_methods(model, x, labels, methods, metrics::ReportCardOptions().metrics({"auc"})),
                    Contains("unknown metric 'auc'; the metrics are deletion, insertion, road"));
  CHECK_THROWS_WITH(metrics::evaluate_methods(model, x, labels.slice(0, 0, 3), methods), Contains("labels must be [N]"));
}
