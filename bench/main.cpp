// nni_bench: how close each attribution method comes to the cost of one plain forward + backward.
//
// For every method, model and batch size the bench times the method and its "physical floor" — one
// forward of the same model on the same rows plus one backward to the input only — interleaved in the
// same run, and reports both medians and their ratio. Methods that evaluate many perturbed copies
// (integrated gradients, SmoothGrad: 50 × N rows) are compared with the floor of one forward +
// backward of the whole 50 × N batch. The CAM family is timed at one layer per model (MNIST CNN:
// relu2; ResNet-18: layer4): the gradient-based ones against the same forward + backward floor, CAM
// (no gradients) against a plain no-grad forward, Score-CAM (channels × N masked forwards) against
// one no-grad forward of channels × N rows. Each row carries its own target. SmoothGrad's peak
// memory is measured in a child process per configuration (wait4() ru_maxrss minus the child's RSS
// before the call).
//
// Run:   nni_bench [--quick] [--filter SUBSTRING] [--json PATH] [--device cpu|cuda]
//                  [--blas-threads N] [--threads N] [--no-memory] [--keep-memory] [--breakdown]
// See docs/benchmarks.md for the columns and the results.
//
// Files: bench.h (shared declarations), harness.cpp (models, floors, timing, groups),
// method_cells.cpp (the cells, from the registry), metric_cells.cpp (the evaluation metrics),
// memory.cpp, breakdown.cpp, report.cpp, main.cpp.

#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/version.h>
#include <ATen/Parallel.h>

#include "bench.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: nni_bench [--quick] [--filter SUBSTRING] [--json PATH] [--device cpu|cuda]\n"
               "                 [--blas-threads N] [--threads N] [--no-memory] [--keep-memory] [--breakdown]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace nni_bench;  // NOLINT(google-build-using-namespace): the bench's own pieces
  Settings settings;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> child;  // --memory-child MODEL BATCH WHAT SPB FD
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        std::exit(usage());
      }
      return args[++i];
    };
    if (arg == "--quick") settings.quick = true;
    else if (arg == "--filter") settings.filter = value();
    else if (arg == "--json") settings.json_path = value();
    else if (arg == "--device") settings.device = value();
    else if (arg == "--blas-threads") settings.blas_threads = std::stoi(value());
    else if (arg == "--threads") settings.torch_threads = std::stoi(value());
    else if (arg == "--no-memory") settings.memory = false;
    else if (arg == "--breakdown") settings.breakdown = true;
    else if (arg == "--keep-memory") settings.keep_memory = true;
    else if (arg == "--memory-child") {
      for (int k = 0; k < 5; ++k) child.push_back(value());
    } else if (arg == "--help" || arg == "-h") return usage(), 0;
    else {
      std::fprintf(stderr, "unknown argument %s\n", arg.c_str());
      return usage();
    }
  }
  nni::set_threads(settings.torch_threads, settings.blas_threads);
  if (settings.keep_memory) {
    // Freed memory stays in the process: large buffers stop costing fresh, zeroed pages on every call.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
  }
  if (!child.empty()) {
    return memory_child(child[0], std::stoll(child[1]), child[2], std::stoll(child[3]), std::stoi(child[4]));
  }

  if (settings.device != "cpu" && !(settings.device.rfind("cuda", 0) == 0 && torch::cuda::is_available())) {
    std::fprintf(stderr, "device %s is not available\n", settings.device.c_str());
    return 2;
  }
  const torch::Device device(settings.device);
  if (settings.quick) settings.cell_seconds = 0.25;
  const std::vector<int64_t> batches = settings.quick ? std::vector<int64_t>{1} : std::vector<int64_t>{1, 32};
  const std::vector<std::string> model_names = {"mnist_cnn", "resnet18"};

  const nni::BlasInfo blas = nni::blas_info();
  fmt::print("nni_bench: LibTorch {}, device {}, torch threads {}, BLAS {} (OpenBLAS threads {}, "
             "OPENBLAS_NUM_THREADS={}), {}\n",
             TORCH_VERSION, settings.device, torch::get_num_threads(), blas.library, blas.threads,
             env_or_unset("OPENBLAS_NUM_THREADS"), utc_now());
  std::fflush(stdout);
  const auto start = Clock::now();

  if (settings.breakdown) {
    for (const auto& name : model_names) {
      BenchModel model = make_model(name, device);
      for (int64_t batch : batches) {
      // --filter picks model/batch pairs here: "mnist_cnn/b1", "resnet18".
      if (!settings.filter.empty() && fmt::format("{}/b{}", name, batch).find(settings.filter) == std::string::npos)
        continue;
      run_breakdown(model, batch, device);
    }
    }
    return 0;
  }

  // Memory first, while this process is small: a child's ru_maxrss starts at the parent's RSS at the
  // time of the fork (Linux carries the high-water mark over exec).
  std::vector<MemoryRow> memory;
  if (settings.memory && !device.is_cuda()) {
    fmt::print(stderr, "memory: SmoothGrad peak RSS per samples_per_batch, one child process each\n");
    for (const auto& name : model_names) {
      for (int64_t batch : batches) {
        for (int64_t spb : {int64_t{10}, int64_t{50}}) {
          const std::string label = fmt::format("{}/b{}/smoothgrad spb={} memory", name, batch, spb);
          if (!settings.filter.empty() && label.find(settings.filter) == std::string::npos) continue;
          fmt::print(stderr, "  {}\n", label);
          memory.push_back(measure_memory(name, batch, "smoothgrad", spb, settings));
          // The floor's peak for the same rows, for reference; skipped where one call takes ~30 s.
          if (name == "resnet18" && batch * spb > 320) continue;
          fmt::print(stderr, "  {}/b{}/floor {}N rows memory\n", name, batch, spb);
          memory.push_back(measure_memory(name, batch, "floor", spb, settings));
        }
      }
      // A perturbation method's peak is bounded by its chunk: RISE with 4x more masks, 64 rows per call.
      for (int64_t masks : {int64_t{256}, int64_t{1024}}) {
        const std::string label = fmt::format("{}/b1/rise masks={} memory", name, masks);
        if (!settings.filter.empty() && label.find(settings.filter) == std::string::npos) continue;
        fmt::print(stderr, "  {}\n", label);
        memory.push_back(measure_memory(name, 1, "rise", masks, settings));
      }
    }
  }

  std::vector<Cell> cells;
  // The timing cells add the TorchScript ViT (memory rows and the breakdown stay on the C++ models).
  std::vector<std::string> timing_models = model_names;
  timing_models.push_back("vit_mnist");
  for (const auto& name : timing_models) {
    BenchModel model = make_model(name, device);
    for (int64_t batch : batches) {
      fmt::print(stderr, "timing {} batch {}\n", name, batch);
      bench_model_batch(model, batch, settings, device, cells);
      bench_metric_cells(model, batch, settings, device, cells);
    }
    bench_activation_maximization(model, settings, device, cells);
  }
  const double total = std::chrono::duration<double>(Clock::now() - start).count();

  print_table(cells);
  print_memory(memory);
  if (settings.memory && device.is_cuda()) fmt::print("\n(memory rows skipped: RSS does not see device memory)\n");
  write_json(settings.json_path, settings, cells, memory, total);
  fmt::print("\ntotal {:.0f} s; JSON written to {}\n", total, settings.json_path);
  return 0;
}
