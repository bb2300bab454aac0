// The report card: each method's maps computed once per batch, then every metric on them, each cell
// timed and guarded on its own (one failing method or metric leaves the others' cells).
#include "nn_interpretability/metrics/report_card.h"

#include <chrono>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "nn_interpretability/metrics/complexity.h"
#include "nn_interpretability/metrics/deletion_insertion.h"
#include "nn_interpretability/metrics/faithfulness_correlation.h"
#include "nn_interpretability/metrics/infidelity.h"
#include "nn_interpretability/metrics/randomization.h"
#include "nn_interpretability/metrics/road.h"
#include "nn_interpretability/metrics/sensitivity.h"
#include "nn_interpretability/registry/registry.h"

namespace nn_interpretability {
namespace metrics {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

/// Running sums of a cell's per-example values.
struct Accumulator {
  double sum = 0, squares = 0;
  int64_t count = 0;
  int64_t undefined = 0;
  // NaN marks an undefined value (a constant map in the randomization checks): counted apart.
  void add(const torch::Tensor& values) {
    torch::Tensor v = values.detach().to(at::kCPU, at::kDouble).flatten();
    const torch::Tensor defined = v.isnan().logical_not();
    undefined += v.numel() - defined.sum().item<int64_t>();
    v = v.masked_select(defined);
    sum += v.sum().item<double>();
    squares += v.square().sum().item<double>();
    count += v.numel();
  }
  void finish(ReportCell& cell) const {
    cell.count = count;
    cell.undefined = undefined;
    if (count == 0) return;
    cell.mean = sum / static_cast<double>(count);
    const double variance = count > 1 ? std::max(0.0, (squares - sum * cell.mean) / static_cast<double>(count - 1)) : 0.0;
    cell.standard_error = std::sqrt(variance / static_cast<double>(count));
  }
};

/// Maps at the input's resolution: CAM maps at their layer's are upsampled bilinearly.
torch::Tensor at_input_size(const torch::Tensor& maps, const torch::Tensor& input) {
  if (maps.dim() != 4 || input.dim() != 4 || maps.sizes().slice(2) == input.sizes().slice(2)) return maps;
  return at::upsample_bilinear2d(maps, {input.size(2), input.size(3)}, /*align_corners=*/false);
}

std::string json_string(const std::string& text) {
  std::ostringstream out;
  out << '"';
  for (const unsigned char c : text) {
    if (c == '"' || c == '\\') out << '\\' << c;
    else if (c == '\n') out << "\\n";
    else if (c < 0x20) out << "\\u" << std::hex << std::setw(4) << std::setfill('0') << static_cast<int>(c) << std::dec;
    else out << c;
  }
  out << '"';
  return out.str();
}

std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  std::ostringstream out;
  out << std::setprecision(10) << value;
  return out.str();
}

std::string json_array(const torch::Tensor& values) {
  const torch::Tensor v = values.detach().to(at::kCPU, at::kDouble).flatten().contiguous();
  std::string out = "[";
  for (int64_t i = 0; i < v.numel(); ++i) out += (i ? ", " : "") + json_number(v[i].item<double>());
  return out + "]";
}

}  // namespace

const std::vector<ReportMetric>& report_metrics() {
  static const std::vector<ReportMetric> metrics = {
      {"deletion", false, "deletion AUC, most relevant first, 5% steps, zero baseline, softmax probability"},
      {"insertion", true, "insertion AUC, most relevant first, 5% steps, from the input blurred (sigma = width / 16)"},
      {"road", true, "ROAD combined: (mean LeRF - mean MoRF score change) / 2 over 10..90% removed, noisy linear imputation"},
      {"infidelity", false, "infidelity with the optimal scale (normalize), 10 Gaussian draws of std 0.1 x the inputs' std"},
      {"faithfulness_correlation", true, "faithfulness correlation, 50 random subsets of 10% of the pixels, zero baseline"},
      {"max_sensitivity", false, "max-sensitivity, 5 draws uniform within 0.02 x the inputs' range"},
      {"mprt", false, "model-parameter randomization, cascading from the top: Spearman of |maps|, mean over the steps"},
      {"random_logit", false, "random-logit test: SSIM of the maps of the class and of a random other class"},
      {"sparseness", true, "Gini index of |maps|"},
      {"complexity", false, "entropy of |maps| / sum |maps|"},
  };
  return metrics;
}

ReportCard evaluate_methods(const Model& model, const torch::Tensor& inputs, const torch::Tensor& labels,
                            const std::vector<ReportMethod>& methods, const ReportCardOptions& options) {
  const char* metric_name = "evaluate_methods";
  model.check_input(inputs, metric_name);
  TORCH_CHECK_VALUE(options.batch_size() >= 1, metric_name, ": batch_size must be >= 1, got ", options.batch_size());
  TORCH_CHECK_VALUE(!methods.empty(), metric_name, ": no method to evaluate");
  TORCH_CHECK_VALUE(!labels.defined() || (labels.dim() == 1 && labels.size(0) == inputs.size(0)), metric_name,
                    ": labels must be [N] for the ", inputs.size(0), " inputs, got shape ",
                    labels.defined() ? labels.sizes() : at::IntArrayRef{});
  ReportCard card;
  for (const std::string& name : options.metrics()) {
    const ReportMetric* found = nullptr;
    for (const ReportMetric& metric : report_metrics())
      if (metric.name == name) found = &metric;
    if (found == nullptr) {
      std::string valid;
      for (const ReportMetric& metric : report_metrics()) valid += (valid.empty() ? "" : ", ") + metric.name;
      TORCH_CHECK_VALUE(false, metric_name, ": unknown metric '", name, "'; the metrics are ", valid);
    }
    card.metrics.push_back(*found);
  }
  for (const ReportMethod& method : methods) (void)method_info(method.name);  // unknown names fail now

  const int64_t examples = inputs.size(0), batch_size = options.batch_size();
  const int64_t batches = (examples + batch_size - 1) / batch_size;
  card.examples = examples;
  const double input_std = inputs.std().item<double>();
  const double input_range = (inputs.max() - inputs.min()).item<double>();
  const double blur_sigma = inputs.dim() == 4 ? std::max(1.0, static_cast<double>(inputs.size(3)) / 16.0) : 1.0;
  const int64_t total_steps = static_cast<int64_t>(methods.size()) * batches;
  int64_t steps_done = 0;

  for (const ReportMethod& method : methods) {
    card.methods.push_back(method.name);
    std::vector<ReportCell> cells(card.metrics.size());
    std::vector<Accumulator> sums(card.metrics.size());
    torch::Tensor deletion_sum, insertion_sum;
    double explain_seconds = 0;
    std::shared_ptr<Attribution> attribution;
    std::string method_failure;
    try {
      attribution = make_method(method.name, model, method.config);
    } catch (const c10::Error& error) {
      method_failure = error.what_without_backtrace();
    }
    const Explainer explain = registered_explainer(method.name, method.config);
    for (int64_t b = 0; b < batches && method_failure.empty(); ++b) {
      const int64_t begin = b * batch_size, end = std::min(examples, begin + batch_size);
      const torch::Tensor x = inputs.slice(0, begin, end);
      const Target target = labels.defined() ? Target(labels.slice(0, begin, end).to(x.device())) : Target();
      torch::Tensor maps;
      const auto explain_start = Clock::now();
      try {
        maps = attribution->attribute(x, target).detach();
      } catch (const c10::Error& error) {
        method_failure = error.what_without_backtrace();
        break;
      }
      explain_seconds += seconds_since(explain_start);
      const torch::Tensor pixel_maps = at_input_size(maps, x);
      const uint64_t seed = options.seed() + static_cast<uint64_t>(b) * 7919;
      for (size_t k = 0; k < card.metrics.size(); ++k) {
        if (!cells[k].failure.empty()) continue;
        const std::string& name = card.metrics[k].name;
        const auto start = Clock::now();
        try {
          torch::Tensor values;
          if (name == "deletion" || name == "insertion") {
            CurveOptions curve_options = CurveOptions().step_fraction(0.05);
            if (name == "insertion") curve_options.baseline(Baseline::blurred(blur_sigma));
            const Curve curve = name == "deletion" ? deletion_curve(model, x, target, pixel_maps, curve_options)
                                                   : insertion_curve(model, x, target, pixel_maps, curve_options);
            values = curve.auc;
            torch::Tensor& sum = name == "deletion" ? deletion_sum : insertion_sum;
            const torch::Tensor batch_sum = curve.scores.sum(0).to(at::kCPU);
            sum = sum.defined() ? sum + batch_sum : batch_sum;
            card.curve_fractions = curve.fractions.to(at::kCPU);
          } else if (name == "road") {
            values = road_combined(model, x, target, pixel_maps, RoadOptions().seed(seed));
          } else if (name == "infidelity") {
            values = infidelity(model, x, target, pixel_maps,
                                InfidelityOptions().normalize(true).noise_std(0.1 * input_std).seed(seed));
          } else if (name == "faithfulness_correlation") {
            values = faithfulness_correlation(model, x, target, pixel_maps,
                                              FaithfulnessCorrelationOptions().runs(50).seed(seed));
          } else if (name == "max_sensitivity") {
            values = sensitivity(model, x, target, explain,
                                 SensitivityOptions().samples(5).radius(0.02 * input_range).seed(seed))
                         .max;
          } else if (name == "mprt") {
            const bool keep = b == 0;
            const RandomizationResult result = model_parameter_randomization(
                model, x, target, explain, RandomizationOptions().keep_maps(keep).seed(seed).copy(options.model_copy()).constant_as_nan(true));
            values = at::nanmean(result.similarity.spearman, 0);  // NaN only where every step is undefined
            if (keep) {
              torch::Tensor first = result.maps.select(1, 0).abs();  // [L + 1, ...] of the first example
              if (first.dim() == 4) first = first.sum(1);
              card.randomization_maps[method.name] = first.to(at::kCPU);
              card.randomization_layers = result.layers;
            }
          } else if (name == "random_logit") {
            const RandomLogitResult result = random_logit(model, x, target, explain, RandomLogitOptions().seed(seed).constant_as_nan(true));
            values = result.similarity.ssim.defined() ? result.similarity.ssim : result.similarity.spearman;
          } else if (name == "sparseness") {
            values = sparseness(maps);
          } else if (name == "complexity") {
            values = complexity(maps);
          }
          sums[k].add(values);
        } catch (const c10::Error& error) {
          cells[k].failure = error.what_without_backtrace();
        }
        cells[k].seconds += seconds_since(start);
      }
      ++steps_done;
      if (options.progress()) options.progress()(method.name, steps_done, total_steps);
    }
    if (!method_failure.empty()) {
      for (ReportCell& cell : cells) cell.failure = "the method failed: " + method_failure;
      steps_done = (static_cast<int64_t>(card.methods.size())) * batches;
      if (options.progress()) options.progress()(method.name, steps_done, total_steps);
    }
    for (size_t k = 0; k < cells.size(); ++k) {
      if (cells[k].failure.empty()) sums[k].finish(cells[k]);
    }
    if (deletion_sum.defined() && method_failure.empty()) card.deletion_curves[method.name] = deletion_sum / static_cast<double>(examples);
    if (insertion_sum.defined() && method_failure.empty()) card.insertion_curves[method.name] = insertion_sum / static_cast<double>(examples);
    card.cells.push_back(cells);
    card.explain_seconds.push_back(explain_seconds);
  }
  return card;
}

std::string report_card_csv(const ReportCard& card) {
  std::ostringstream out;
  out << "method,metric,mean,standard_error,count,undefined,seconds,higher_is_better,failure\n";
  for (size_t m = 0; m < card.methods.size(); ++m) {
    for (size_t k = 0; k < card.metrics.size(); ++k) {
      const ReportCell& cell = card.cells[m][k];
      std::string failure = cell.failure.substr(0, cell.failure.find('\n'));
      for (char& c : failure)
        if (c == '"') c = '\'';
      out << card.methods[m] << ',' << card.metrics[k].name << ',';
      if (cell.failure.empty()) out << std::setprecision(10) << cell.mean << ',' << cell.standard_error << ',';
      else out << ",,";
      out << cell.count << ',' << cell.undefined << ',' << std::setprecision(4) << cell.seconds << ','
          << (card.metrics[k].higher_is_better ? "true" : "false") << ",\"" << failure << "\"\n";
    }
  }
  return out.str();
}

std::string report_card_json(const ReportCard& card) {
  std::ostringstream out;
  out << "{\n  \"examples\": " << card.examples << ",\n  \"metrics\": [";
  for (size_t k = 0; k < card.metrics.size(); ++k)
    out << (k ? ", " : "") << "{\"name\": " << json_string(card.metrics[k].name)
        << ", \"higher_is_better\": " << (card.metrics[k].higher_is_better ? "true" : "false")
        << ", \"definition\": " << json_string(card.metrics[k].definition) << "}";
  out << "],\n  \"methods\": [\n";
  for (size_t m = 0; m < card.methods.size(); ++m) {
    const std::string& name = card.methods[m];
    out << "    {\"name\": " << json_string(name) << ", \"explain_seconds\": " << json_number(card.explain_seconds[m])
        << ", \"cells\": {";
    for (size_t k = 0; k < card.metrics.size(); ++k) {
      const ReportCell& cell = card.cells[m][k];
      out << (k ? ", " : "") << json_string(card.metrics[k].name) << ": {";
      if (cell.failure.empty())
        out << "\"mean\": " << json_number(cell.mean) << ", \"standard_error\": " << json_number(cell.standard_error) << ", ";
      out << "\"count\": " << cell.count << ", \"undefined\": " << cell.undefined << ", \"seconds\": " << json_number(cell.seconds);
      if (!cell.failure.empty()) out << ", \"failure\": " << json_string(cell.failure);
      out << "}";
    }
    out << "}";
    const auto deletion = card.deletion_curves.find(name);
    if (deletion != card.deletion_curves.end()) out << ", \"deletion_curve\": " << json_array(deletion->second);
    const auto insertion = card.insertion_curves.find(name);
    if (insertion != card.insertion_curves.end()) out << ", \"insertion_curve\": " << json_array(insertion->second);
    out << "}" << (m + 1 < card.methods.size() ? "," : "") << "\n";
  }
  out << "  ]";
  if (card.curve_fractions.defined()) out << ",\n  \"curve_fractions\": " << json_array(card.curve_fractions);
  out << "\n}\n";
  return out.str();
}

}  // namespace metrics
}  // namespace nn_interpretability
