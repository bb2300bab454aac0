// nni_bench's metric cells: the evaluation metrics that run on the perturbation engine, each timed
// against one no-grad forward of the rows it evaluates (its perturbed rows plus the clean batch).
// The map evaluated is a fixed random one: a metric's cost does not depend on the map.
#include <map>
#include <utility>

#include <fmt/format.h>

#include "bench.h"
#include "nn_interpretability/metrics/deletion_insertion.h"
#include "nn_interpretability/metrics/faithfulness_correlation.h"
#include "nn_interpretability/metrics/infidelity.h"
#include "nn_interpretability/metrics/road.h"

namespace nni_bench {

namespace metrics = nn_interpretability::metrics;

void bench_metric_cells(const BenchModel& model, int64_t batch, const Settings& settings, const torch::Device& device,
                        std::vector<Cell>& out) {
  const torch::Tensor input = make_input(model, batch, device);
  const torch::Tensor labels = make_labels(batch, device);
  const torch::Tensor maps = torch::rand(input.sizes(), torch::TensorOptions().dtype(input.dtype()).device(device));
  const nni::Model nmodel = model.model();
  // Rows per example: 20 steps (5 %), 20 subsets, 20 draws, 9 ROAD fractions, each plus the clean row.
  struct MetricCell {
    std::string name, config;
    int64_t rows_per_example;
    std::function<void()> run;
  };
  const std::vector<MetricCell> candidates = {
      {"deletion_curve", "step 5%", 21,
       [=] { (void)metrics::deletion_curve(nmodel, input, labels, maps, metrics::CurveOptions().step_fraction(0.05)); }},
      {"insertion_curve", "step 5%, blurred baseline", 21,
       [=] {
         (void)metrics::insertion_curve(nmodel, input, labels, maps,
                                        metrics::CurveOptions().step_fraction(0.05).baseline(nni::Baseline::blurred(2.0)));
       }},
      {"faithfulness_correlation", "20 subsets of 10%", 21,
       [=] {
         (void)metrics::faithfulness_correlation(nmodel, input, labels, maps,
                                                 metrics::FaithfulnessCorrelationOptions().runs(20));
       }},
      {"infidelity", "20 Gaussian draws", 21,
       [=] { (void)metrics::infidelity(nmodel, input, labels, maps, metrics::InfidelityOptions().samples(20)); }},
      {"road_curve", "9 fractions, MoRF", 10,
       [=] { (void)metrics::road_curve(nmodel, input, labels, maps); }},
  };
  std::map<int64_t, std::vector<Cell>> groups;  // by floor rows
  for (const MetricCell& candidate : candidates) {
    Cell cell;
    cell.model = model.name;
    cell.batch = batch;
    cell.method = "metric:" + candidate.name;
    cell.config = candidate.config;
    cell.floor_kind = FloorKind::kForward;
    cell.target = 1.15;
    cell.floor_rows = batch * candidate.rows_per_example;
    cell.run = candidate.run;
    if (!settings.filter.empty() && cell.label().find(settings.filter) == std::string::npos) continue;
    groups[candidate.rows_per_example].push_back(std::move(cell));
  }
  for (auto& group : groups) {
    std::vector<Cell*> pointers;
    for (Cell& cell : group.second) pointers.push_back(&cell);
    run_group(pointers, make_forward_floor(model, make_copies(input, group.first)), settings, device);
    for (Cell& cell : group.second) out.push_back(std::move(cell));
  }
}

}  // namespace nni_bench
