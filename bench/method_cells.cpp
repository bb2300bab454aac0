// nni_bench's cells: every registered method, built from the registry (nn_interpretability::methods())
// with the bench's settings, timed against the floor its schema declares (MethodCost). A newly
// registered method gets cells with its defaults; nothing here names a method.
#include <algorithm>
#include <cstdio>
#include <iterator>
#include <map>
#include <utility>

#include <c10/util/Exception.h>
#include <fmt/format.h>

#include "bench.h"

namespace nni_bench {
namespace {

/// One configuration of a method in the bench: its MethodConfig and the label's config text.
struct Variant {
  nni::MethodConfig config;
  std::string label;
  int64_t copies = 1;  // the floor's rows are copies × N (× channels for per-channel methods)
};

/// The configurations timed for a method, from its schema: the CAM layer where it takes one; for a
/// rows-multiplying option (IG's steps, SmoothGrad's samples) 50 copies, in one call and in calls
/// of 10 copies; for other rows_per_call methods their default chunking.
std::vector<Variant> variants(const nni::MethodInfo& info, const BenchModel& model, int64_t batch) {
  nni::MethodConfig base;
  std::string layer_label;
  if (info.needs_layer) {
    base.layer(model.cam_layer);
    layer_label = "layer=" + model.cam_layer;
    if (!model.cam_reshape.empty() && info.option("reshape") != nullptr) {
      base.set("reshape", model.cam_reshape);
      layer_label += " reshape=" + model.cam_reshape;
    }
  }
  if (info.option("seed") != nullptr) base.set("seed", 0);
  if (info.cost.perturbed_rows) {
    // Perturbation methods: the two chunk sizes. Feature counts kept to a few hundred rows
    // per example (ResNet-18's 3 × 64 × 64 elements one by one would be 12,288 rows).
    if (info.option("features") != nullptr) base.set("features", info.name == "shapley_values" ? "blocks:3x3" : "grid:8x8");
    if (info.option("samples") != nullptr) base.set("samples", info.name == "kernel_shap" || info.name == "lime" ? 200 : 4);
    std::vector<Variant> result;
    for (int64_t rows : {int64_t{64}, int64_t{256}}) {
      Variant variant{base, fmt::format("rows_per_call={}", rows), 1};
      variant.config.set("rows_per_call", rows);
      result.push_back(std::move(variant));
    }
    return result;
  }
  const std::string& rows_option = info.cost.rows_option;
  if (rows_option.empty() || info.option(rows_option) == nullptr) return {{base, layer_label, 1}};
  base.set(rows_option, kPathSamples);
  std::vector<Variant> result;
  for (int64_t copies_per_call : {kPathSamples, int64_t{10}}) {
    Variant variant{base, fmt::format("{}={} rows_per_call={}N", rows_option, kPathSamples, copies_per_call),
                    kPathSamples};
    if (info.option("rows_per_call") != nullptr) variant.config.set("rows_per_call", copies_per_call * batch);
    result.push_back(std::move(variant));
  }
  return result;
}

// Per-channel methods run channels × N passes per call; beyond this many the cell is listed, not run
// (ResNet-18 at batch 32: 16,384 passes, minutes per call; batch 1 gives the ms per channel).
constexpr int64_t kMaxPerChannelRows = 4096;
constexpr int64_t kMaxPerturbedRows = 4096;

}  // namespace

void bench_model_batch(const BenchModel& model, int64_t batch, const Settings& settings, const torch::Device& device,
                       std::vector<Cell>& out) {
  const torch::Tensor input = make_input(model, batch, device);
  const torch::Tensor labels = make_labels(batch, device);
  const nni::Model nmodel = model.model();

  // Cells grouped by their floor (kind and rows), in the registry's order.
  std::vector<std::pair<std::pair<FloorKind, int64_t>, std::vector<Cell>>> groups;
  std::vector<Cell> not_run;  // listed after the timed rows
  for (const nni::MethodInfo& info : nni::methods()) {
    for (Variant& variant : variants(info, model, batch)) {
      Cell cell;
      cell.model = model.name;
      cell.batch = batch;
      cell.method = info.name;
      cell.config = variant.label;
      cell.floor_kind = info.cost.floor;
      cell.target = info.cost.target_ratio;
      cell.channels = info.cost.rows_per_channel ? model.cam_channels : 0;
      cell.floor_rows = batch * variant.copies * info.cost.rows_factor * (info.cost.rows_per_channel ? model.cam_channels : 1);
      if (!settings.filter.empty() && cell.label().find(settings.filter) == std::string::npos) continue;
      if (info.cost.rows_per_channel && cell.floor_rows > kMaxPerChannelRows) {
        cell.skipped = true;
        cell.note = fmt::format("not run: {} perturbed passes per call; see batch 1's ms per channel", cell.floor_rows);
        not_run.push_back(std::move(cell));
        continue;
      }
      // Whether the method applies to this model is the method's to say: one call, its error kept.
      std::shared_ptr<nni::Attribution> method;
      try {
        method = nni::make_method(info.name, nmodel, variant.config);
        (void)method->attribute(input, nni::Target(labels));
      } catch (const c10::Error& error) {
        const std::string message = error.what_without_backtrace();
        cell.skipped = true;
        cell.note = "not applicable: " + message.substr(0, message.find('\n'));
        not_run.push_back(std::move(cell));
        continue;
      }
      if (info.cost.perturbed_rows) {
        cell.floor_rows = info.cost.perturbed_rows(*method, input);
        if (cell.floor_rows > kMaxPerturbedRows) {
          cell.skipped = true;
          cell.note = fmt::format("not run: {} perturbed rows per call", cell.floor_rows);
          not_run.push_back(std::move(cell));
          continue;
        }
      }
      cell.run = call(method, input, labels);
      const std::pair<FloorKind, int64_t> key{cell.floor_kind, cell.floor_rows};
      auto group = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == key; });
      if (group == groups.end()) {
        groups.push_back({key, {}});
        group = std::prev(groups.end());
      }
      group->second.push_back(std::move(cell));
    }
  }

  for (auto& [key, cells] : groups) {
    const int64_t times = key.second / batch;
    const torch::Tensor floor_input = make_copies(input, times);
    const torch::Tensor floor_labels = times == 1 ? labels : labels.repeat({times});
    std::vector<Cell*> pointers;
    for (Cell& cell : cells) pointers.push_back(&cell);
    run_group(pointers,
              key.first == FloorKind::kForward ? make_forward_floor(model, floor_input)
                                               : make_floor(model, floor_input, floor_labels),
              settings, device);
    for (Cell& cell : cells) {
      if (cell.channels > 0 && !cell.skipped) {
        const std::string per_channel = fmt::format("{:.4f} ms per channel", cell.ms_per_channel());
        cell.note = cell.note.empty() ? per_channel : per_channel + "; " + cell.note;
      }
      out.push_back(std::move(cell));
    }
  }
  for (Cell& cell : not_run) out.push_back(std::move(cell));
}

// ------------------------------------------------------------------------- activation maximization

namespace {

constexpr int64_t kAmBatch = 10;       // one row per MNIST class, torch::arange(10) targets
constexpr int64_t kAmIterations = 20;  // ascent steps per timed call
constexpr double kAmTarget = 1.25;     // no target in the issue: informational (a step adds the Adam
                                       // update and the clamp to one forward + backward)

}  // namespace

/// Input-space activation maximization on the MNIST CNN: ten classes in one batch of 10 rows, Adam,
/// clipping to [0, 1], no other regularizer. One timed call runs kAmIterations steps (plus the final
/// no-grad forward that scores the result); its floor is kAmIterations plain forward + backward passes
/// of the same 10 rows, so the ratio is that of one AM step to one floor. The note gives steps per
/// second. Label: "mnist_cnn/b10/activation_maximization ..." (--filter activation_maximization).
void bench_activation_maximization(const BenchModel& model, const Settings& settings, const torch::Device& device,
                                   std::vector<Cell>& out) {
  if (model.name != "mnist_cnn") return;
  Cell cell;
  cell.model = model.name;
  cell.batch = kAmBatch;
  cell.method = "activation_maximization";
  cell.config = fmt::format("adam {} steps; floor x{}", kAmIterations, kAmIterations);
  cell.floor_rows = kAmBatch;
  cell.floor_kind = FloorKind::kForwardBackward;
  cell.target = kAmTarget;
  if (!settings.filter.empty() && cell.label().find(settings.filter) == std::string::npos) return;
  fmt::print(stderr, "timing {} activation maximization, batch {}\n", model.name, kAmBatch);

  const torch::Tensor classes = torch::arange(kAmBatch, torch::TensorOptions().dtype(torch::kLong)).to(device);
  torch::manual_seed(1);
  std::vector<int64_t> shape = model.example_shape;
  shape.insert(shape.begin(), kAmBatch);
  const torch::Tensor start = torch::rand(shape, torch::TensorOptions().device(device));
  auto am = std::make_shared<nni::ActivationMaximization>(
      model.model(),
      nni::ActivationMaximizationOptions().iterations(kAmIterations).learning_rate(0.05).start_image(start));
  cell.run = [am, classes] {
    nni::ActivationMaximizationResult result = am->maximize(nni::Objective::class_logit(classes));
    (void)result;
  };
  std::function<void()> one_floor = make_floor(model, start, classes);
  std::function<void()> floor = [one_floor] {
    for (int64_t k = 0; k < kAmIterations; ++k) one_floor();
  };
  std::vector<Cell*> pointers{&cell};
  run_group(pointers, floor, settings, device);
  if (!cell.skipped) {
    cell.note = fmt::format("{:.0f} AM steps/s; floor = {} x fwd+bwd of {} rows",
                            1000.0 * static_cast<double>(kAmIterations) / cell.median_ms, kAmIterations, kAmBatch);
  }
  out.push_back(std::move(cell));
}

}  // namespace nni_bench
