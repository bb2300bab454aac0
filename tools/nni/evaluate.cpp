// nni evaluate: methods × metrics on one model and a set of inputs, written as report.csv,
// report.json, curves.png (mean deletion and insertion curves) and randomization.png (one example's
// maps as the model is randomized from the top layer down).
#include "evaluate.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <c10/util/Exception.h>

#include "arguments.h"
#include "cli_common.h"
#include "cli_input.h"
#include "method_options.h"
#include "nn_interpretability/core/threads.h"
#include "nn_interpretability/detail/files.h"
#include "nn_interpretability/io/npy.h"
#include "nn_interpretability/metrics/report_card.h"
#include "nn_interpretability/model/torchscript.h"
#include "nn_interpretability/registry/registry.h"
#include "nn_interpretability/visualization/image_io.h"
#include "nn_interpretability/visualization/report_card_figure.h"

namespace nni = nn_interpretability;
namespace metrics = nn_interpretability::metrics;
namespace vis = nn_interpretability::visualization;

namespace nni_cli {
namespace {

const char* kEvaluateHelp = R"(Usage: nni evaluate --model M.pt --input X [--labels L.npy] --methods all|NAME,... --output DIR [options]

The report card: each method's attributions on the inputs, scored by each metric; the mean and its
standard error over the examples, the seconds each cell took. Writes DIR/report.csv, DIR/report.json,
DIR/curves.png (mean deletion and insertion curves per method) and DIR/randomization.png (the first
example's maps as the model is randomized, top layer first) when those metrics run.

  --model M.pt          TorchScript classifier (output [N, classes])
  --input X             .npy batch [N, ...] or image files (image options as for nni attribute)
  --labels L.npy        int64 [N]: the class explained and evaluated (default: the predicted class)
  --methods LIST        comma-separated method names, or all (every registered method; methods that
                        need --layer are left out without it, methods that fail get their message)
  --metrics LIST        default deletion,insertion,road,mprt,sparseness; all: every metric
  --layer NAME          the layer of the CAM methods
  --limit N             the first N examples only
  --batch-size N        examples per call (default 50)
  --seed N              every random draw (default 0)
  --output DIR          where the report goes (created if missing)
  --device cpu|cuda, --dtype float32|float64, --threads N, --quiet
  Method options (--features, --samples, ...) are passed to every method that has them.
)";

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ','))
    if (!item.empty()) items.push_back(item);
  return items;
}

void write_text(const std::string& path, const std::string& text) {
  nni::detail::write_file_atomically(path, {{text.data(), text.size()}}, "nni evaluate");
}

}  // namespace

int run_evaluate(const std::vector<std::string>& argv) {
  if (wants_help(argv)) {
    std::cout << kEvaluateHelp << "\nMethods: " << nni::method_names() << "\nMetrics:";
    for (const metrics::ReportMetric& metric : metrics::report_metrics())
      std::cout << "\n  " << metric.name << ": " << metric.definition << (metric.higher_is_better ? " (higher is better)" : " (lower is better)");
    std::cout << '\n';
    return kOk;
  }
  std::vector<OptionSpec> specs = {{"model", true, false},   {"input", true, true},      {"labels", true, false},
                                   {"methods", true, false}, {"metrics", true, false},   {"limit", true, false},
                                   {"batch-size", true, false}, {"seed", true, false},  {"output", true, false},
                                   {"device", true, false},  {"dtype", true, false},     {"threads", true, false},
                                   {"quiet", false, false},  {"size", true, false},      {"resize", true, false},
                                   {"mean", true, false},    {"std", true, false},       {"channels", true, false}};
  const std::vector<OptionSpec> method_specs = method_option_specs();
  for (const OptionSpec& spec : method_specs)
    if (std::none_of(specs.begin(), specs.end(), [&](const OptionSpec& s) { return s.name == spec.name; })) specs.push_back(spec);
  const Arguments args = parse_arguments(argv, specs, "evaluate");
  const std::string model_path = args.require("model", "evaluate");
  args.require("input", "evaluate");
  const std::string output = args.require("output", "evaluate");
  const bool quiet = args.has("quiet");
  torch::ScalarType dtype = torch::kFloat32;
  if (args.has("dtype")) {
    if (args.get("dtype") == "float64") dtype = torch::kFloat64;
    else if (args.get("dtype") != "float32")
      throw CliError(kUsageError, "--dtype: expected float32 or float64, got '" + args.get("dtype") + "'");
  }
  auto positive = [&](const std::string& option, int64_t fallback) {
    if (!args.has(option)) return fallback;
    const int64_t value = parse_int(args.get(option), "--" + option);
    if (value < 1) throw CliError(kUsageError, "--" + option + ": must be at least 1, got " + args.get(option));
    return value;
  };
  const int64_t batch_size = positive("batch-size", 50);
  const int64_t limit = positive("limit", 0);
  const int64_t seed = args.has("seed") ? parse_int(args.get("seed"), "--seed") : 0;
  if (args.has("threads")) nni::set_threads(static_cast<int>(positive("threads", 1)));

  // Methods and metrics, checked before anything is loaded.
  std::vector<std::string> method_names;
  const std::string methods_text = args.require("methods", "evaluate");
  const bool all_methods = methods_text == "all";
  if (all_methods) {
    for (const nni::MethodInfo& info : nni::methods())
      if (!info.needs_layer || args.has("layer")) method_names.push_back(info.name);
  } else {
    method_names = split(methods_text);
  }
  if (method_names.empty()) throw CliError(kUsageError, "--methods: no method given");
  std::vector<metrics::ReportMethod> methods;
  for (const std::string& name : method_names) {
    try {
      (void)nni::method_info(name);
    } catch (const std::exception& error) {
      throw CliError(kUsageError, "--methods: " + error_message(error));
    }
    const nni::MethodConfig config = method_config(args, name, /*warn_unused=*/false);
    if (nni::method_info(name).needs_layer && config.layer().empty())
      throw CliError(kUsageError, "method '" + name + "' needs --layer NAME");
    methods.push_back({name, config});
  }
  std::vector<std::string> metric_names = split(args.get_or("metrics", "deletion,insertion,road,mprt,sparseness"));
  if (metric_names.size() == 1 && metric_names.front() == "all") {
    metric_names.clear();
    for (const metrics::ReportMetric& metric : metrics::report_metrics()) metric_names.push_back(metric.name);
  }
  for (const std::string& name : metric_names) {
    const auto& known = metrics::report_metrics();
    if (std::none_of(known.begin(), known.end(), [&](const metrics::ReportMetric& m) { return m.name == name; })) {
      std::vector<std::string> valid;
      for (const metrics::ReportMetric& metric : known) valid.push_back(metric.name);
      throw CliError(kUsageError, "--metrics: unknown metric '" + name + "'; the metrics are " + join(valid));
    }
  }
  std::error_code created;
  std::filesystem::create_directories(output, created);
  check_output_directory(output, "--output");
  const torch::Device device = parse_device(args.get_or("device", "cpu"));

  torch::Tensor input = load_input(args.all("input"), image_options(args), dtype);
  if (limit > 0 && limit < input.size(0)) input = input.slice(0, 0, limit);
  torch::Tensor labels;
  if (args.has("labels")) {
    try {
      labels = nni::read_npy(args.get("labels"));
    } catch (const std::exception& error) {
      throw CliError(kInputError, "--labels: " + error_message(error));
    }
    if (labels.is_floating_point() || labels.dim() != 1 || labels.size(0) < input.size(0))
      throw CliError(kInputError, "--labels '" + args.get("labels") + "': expected integer labels [N] for the " +
                                      std::to_string(input.size(0)) + " inputs, got " + c10::toString(labels.scalar_type()) +
                                      " " + shape_string(labels.sizes()));
    labels = labels.slice(0, 0, input.size(0)).to(torch::kLong).to(device);
  }
  torch::jit::Module module = load_model(model_path, device);
  if (const auto parameters = model_dtype(module); parameters && *parameters != dtype)
    throw CliError(kUsageError, std::string("the model's parameters are ") + c10::toString(*parameters) +
                                    "; pass the matching --dtype (float32 or float64)");
  const nni::Model model(module);

  ProgressBar progress(static_cast<int64_t>(methods.size()) * ((input.size(0) + batch_size - 1) / batch_size), !quiet,
                       "method batches");
  const auto start = std::chrono::steady_clock::now();
  metrics::ReportCard card;
  try {
    card = metrics::evaluate_methods(model, input.to(device), labels, methods,
                                     metrics::ReportCardOptions()
                                         .metrics(metric_names)
                                         .batch_size(batch_size)
                                         .seed(static_cast<uint64_t>(seed))
                                         .progress([&](const std::string&, int64_t done, int64_t) { progress.update(done); }));
  } catch (const CliError&) {
    throw;
  } catch (const std::exception& error) {
    throw CliError(kRuntimeError, error_message(error));
  }
  progress.finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::string json = metrics::report_card_json(card);
  std::string quoted_path;  // the model's path as a JSON string
  for (const char c : model_path) quoted_path += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  json.insert(json.find('\n') + 1, "  \"model\": \"" + quoted_path + "\",\n  \"total_seconds\": " + std::to_string(seconds) + ",\n");
  write_text(output + "/report.csv", metrics::report_card_csv(card));
  write_text(output + "/report.json", json);
  if (!card.deletion_curves.empty() || !card.insertion_curves.empty()) vis::save_png(output + "/curves.png", vis::report_curves_figure(card));
  if (!card.randomization_maps.empty()) vis::save_png(output + "/randomization.png", vis::report_randomization_figure(card));

  if (!quiet) {
    // The table on stderr: one row per method.
    std::cerr << "nni evaluate: " << card.examples << " examples, " << card.methods.size() << " methods, "
              << card.metrics.size() << " metrics in " << static_cast<int64_t>(seconds) << " s; wrote " << output << "/report.{csv,json}\n";
    std::cerr << std::left << std::setw(28) << "method";
    for (const metrics::ReportMetric& metric : card.metrics) std::cerr << std::setw(26) << (metric.name + (metric.higher_is_better ? " ^" : " v"));
    std::cerr << '\n';
    for (size_t m = 0; m < card.methods.size(); ++m) {
      std::cerr << std::setw(28) << card.methods[m];
      for (size_t k = 0; k < card.metrics.size(); ++k) {
        const metrics::ReportCell& cell = card.cells[m][k];
        std::ostringstream text;
        if (cell.failure.empty()) text << std::setprecision(3) << cell.mean << " +- " << std::setprecision(2) << cell.standard_error;
        else text << "failed";
        std::cerr << std::setw(26) << text.str();
      }
      std::cerr << '\n';
    }
  }
  return kOk;
}

}  // namespace nni_cli
