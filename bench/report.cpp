// nni_bench's output: the table, the memory rows and the JSON file.
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <torch/version.h>
#include <ATen/Parallel.h>

#include "bench.h"

namespace nni_bench {

namespace {

std::string json_escape(const std::string& text) {
  std::string result;
  for (char c : text) {
    switch (c) {
      case '"': result += "\\\""; break;
      case '\\': result += "\\\\"; break;
      case '\n': result += "\\n"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) result += fmt::format("\\u{:04x}", static_cast<int>(c));
        else result += c;
    }
  }
  return result;
}

std::string json_number(double value) { return std::isfinite(value) ? fmt::format("{:.4f}", value) : "null"; }

}  // namespace

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return text;
}

std::string env_or_unset(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "(unset)";
}

void print_table(const std::vector<Cell>& cells) {
  const char* row = "{:<10} {:>5} {:<21} {:<34} {:<7} {:>6} {:>11} {:>11} {:>7} {:>7} {:>5} {:>6}  {}{}\n";
  fmt::print("\n");
  fmt::print(row, "model", "batch", "method", "config", "floor", "f.rows", "median ms", "floor ms", "ratio", "cpu rat",
             "reps", "target", "result", "");
  for (const Cell& cell : cells) {
    const std::string floor_ms = std::isfinite(cell.floor_ms) ? fmt::format("{:.3f}", cell.floor_ms) : "-";
    const std::string target = fmt::format("<={:.2f}", cell.target);
    if (cell.skipped) {
      fmt::print(row, cell.model, cell.batch, cell.method, cell.config, floor_kind_short(cell.floor_kind),
                 cell.floor_rows, "-", floor_ms, "-", "-", 0, target, "-", "  (" + cell.note + ")");
      continue;
    }
    fmt::print(row, cell.model, cell.batch, cell.method, cell.config, floor_kind_short(cell.floor_kind),
               cell.floor_rows, fmt::format("{:.3f}", cell.median_ms), floor_ms, fmt::format("{:.3f}", cell.ratio()),
               fmt::format("{:.3f}", cell.cpu_ratio()), cell.repeats, target, cell.pass() ? "PASS" : "MISS",
               cell.note.empty() ? "" : "  (" + cell.note + ")");
  }
  fmt::print("(floor fwd+bwd: forward with autograd + backward to the input; fwd: plain forward under NoGradGuard; "
             "floors and targets from each method's schema, nn_interpretability::MethodCost.)\n");
}

void print_memory(const std::vector<MemoryRow>& rows) {
  if (rows.empty()) return;
  fmt::print("\nPeak memory (child process per row; peak = wait4 ru_maxrss; delta = peak - RSS before the call)\n");
  fmt::print("{:<10} {:>5} {:<22} {:>13} {:>11} {:>11} {:>10}\n", "model", "batch", "what", "RSS before MiB",
             "peak MiB", "delta MiB", "call ms");
  for (const MemoryRow& row : rows) {
    const std::string what = row.what == "floor"  ? fmt::format("floor {}N rows", row.samples_per_batch)
                             : row.what == "rise" ? fmt::format("rise masks={}", row.samples_per_batch)
                                                  : fmt::format("smoothgrad spb={}", row.samples_per_batch);
    fmt::print("{:<10} {:>5} {:<22} {:>13.1f} {:>11.1f} {:>11.1f} {:>10.1f}{}\n", row.model, row.batch, what,
               row.rss_before_mib, row.peak_rss_mib, row.peak_delta_mib, row.call_ms,
               row.note.empty() ? "" : "  (" + row.note + ")");
  }
}

void write_json(const std::string& path, const Settings& settings, const std::vector<Cell>& cells,
                const std::vector<MemoryRow>& memory, double total_seconds) {
  const nni::BlasInfo blas = nni::blas_info();
  std::ofstream out(path);
  out << "{\n  \"environment\": {\n";
  out << "    \"date\": \"" << utc_now() << "\",\n";
  out << "    \"libtorch_version\": \"" << TORCH_VERSION_MAJOR << '.' << TORCH_VERSION_MINOR << '.'
      << TORCH_VERSION_PATCH << "\",\n";
  out << "    \"nn_interpretability_version\": \"" << NN_INTERPRETABILITY_VERSION_STRING << "\",\n";
  out << "    \"device\": \"" << json_escape(settings.device) << "\",\n";
  out << "    \"blas_library\": \"" << json_escape(blas.library) << "\",\n";
  out << "    \"openblas_threads\": " << blas.threads << ",\n";
  out << "    \"OPENBLAS_NUM_THREADS\": \"" << json_escape(env_or_unset("OPENBLAS_NUM_THREADS")) << "\",\n";
  out << "    \"OMP_NUM_THREADS\": \"" << json_escape(env_or_unset("OMP_NUM_THREADS")) << "\",\n";
  out << "    \"torch_num_threads\": " << torch::get_num_threads() << ",\n";
  out << "    \"hardware_concurrency\": " << std::thread::hardware_concurrency() << ",\n";
  out << "    \"keep_memory\": " << (settings.keep_memory ? "true" : "false") << ",\n";
  out << "    \"quick\": " << (settings.quick ? "true" : "false") << ",\n";
  out << "    \"filter\": \"" << json_escape(settings.filter) << "\",\n";
  out << "    \"targets\": \"per row (target_ratio), from each method's schema (MethodCost)\",\n";
  out << "    \"total_seconds\": " << json_number(total_seconds) << "\n  },\n";
  out << "  \"rows\": [\n";
  bool first = true;
  for (const Cell& cell : cells) {
    out << (first ? "" : ",\n") << "    {\"method\": \"" << cell.method << "\", \"model\": \"" << cell.model
        << "\", \"batch\": " << cell.batch << ", \"config\": \"" << json_escape(cell.config)
        << "\", \"floor_kind\": \"" << floor_kind_name(cell.floor_kind) << "\", \"floor_rows\": " << cell.floor_rows
        << ", \"median_ms\": " << json_number(cell.median_ms)
        << ", \"floor_ms\": " << json_number(cell.floor_ms) << ", \"ratio\": " << json_number(cell.ratio())
        << ", \"cpu_ms\": " << json_number(cell.cpu_ms) << ", \"cpu_floor_ms\": " << json_number(cell.cpu_floor_ms)
        << ", \"cpu_ratio\": " << json_number(cell.cpu_ratio())
        << ", \"repeats\": " << cell.repeats << ", \"target_ratio\": " << json_number(cell.target);
    if (cell.channels > 0)
      out << ", \"channels\": " << cell.channels << ", \"ms_per_channel\": " << json_number(cell.ms_per_channel());
    out << ", \"pass\": " << (cell.skipped ? "null" : cell.pass() ? "true" : "false") << ", \"note\": \""
        << json_escape(cell.note) << "\"}";
    first = false;
  }
  for (const MemoryRow& row : memory) {
    out << (first ? "" : ",\n") << "    {\"method\": \"" << row.what
        << "\", \"model\": \"" << row.model << "\", \"batch\": " << row.batch << ", \"metric\": \"peak_rss\""
        << ", \"samples_per_batch\": " << row.samples_per_batch
        << ", \"rss_before_mib\": " << json_number(row.rss_before_mib)
        << ", \"peak_rss_mib\": " << json_number(row.peak_rss_mib)
        << ", \"peak_delta_mib\": " << json_number(row.peak_delta_mib) << ", \"call_ms\": " << json_number(row.call_ms)
        << ", \"note\": \"" << json_escape(row.note) << "\"}";
    first = false;
  }
  out << "\n  ]\n}\n";
}

}  // namespace nni_bench
