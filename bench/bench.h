#pragma once
// nni_bench's shared pieces: the models under test, the settings, the floors, timing, the cells and
// their groups. Public nn_interpretability headers only; docs/benchmarks.md describes the bench.

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "nn_interpretability/nn_interpretability.h"

namespace nni = nn_interpretability;

namespace nni_bench {

using Clock = std::chrono::steady_clock;

constexpr int64_t kPathSamples = 50;  // IG steps and SmoothGrad samples

/// A model under test: the module, its forward, the shape of one example, and the layer the CAM
/// methods explain.
struct BenchModel {
  std::string name;
  std::shared_ptr<torch::nn::Module> module;
  std::function<torch::Tensor(const torch::Tensor&)> forward;  // the floor's forward
  std::vector<int64_t> example_shape;
  std::optional<nni::Model> handle;  // from the module holder, as a user would: layer access included
  std::string cam_layer;     // MNIST CNN: "relu2" [N, 20, 4, 4]; ResNet-18: "layer4" [N, 512, 2, 2]
  std::string cam_reshape;   // the CAMs' reshape option: ViT "vit" (tokens [N, 17, 64] -> [N, 64, 4, 4])
  int64_t cam_channels = 0;  // channels of cam_layer: per-channel methods run cam_channels × N passes
  nni::Model model() const { return *handle; }
};

/// "mnist_cnn" (models/mnist_cnn.h), "resnet18" (models/resnet.h), seed 0, eval mode, or "vit_mnist"
/// (the TorchScript VisionTransformer of models/weights/vit_mnist_scripted.pt, trained).
BenchModel make_model(const std::string& name, const torch::Device& device);

struct Settings {
  std::string device = "cpu";
  bool quick = false;
  bool memory = true;
  bool breakdown = false;
  bool keep_memory = false;  // glibc: no trimming, no per-call mmap (see docs/benchmarks.md)
  std::string filter;
  std::string json_path = "bench_results.json";
  int blas_threads = 1;
  int torch_threads = 0;  // 0 = every available core (nn_interpretability::set_threads)
  double cell_seconds = 1.0;         // measuring time per cell (after the warm-up)
  double heavy_call_seconds = 4.0;   // floor calls above this get a single bracketed repeat
  double skip_call_seconds = 60.0;   // floor calls above this skip the group
};

/// Wall-clock and process CPU milliseconds of one call. On a shared machine CPU time does not count
/// the time spent waiting for a core, so its ratios are steadier (it still sees cache and SMT
/// contention).
struct Timing {
  double wall = 0;
  double cpu = 0;
};

void synchronize(const torch::Device& device);
Timing time_call(const std::function<void()>& f, const torch::Device& device);
/// Milliseconds taken by one call of `f`, device work included.
double time_ms(const std::function<void()>& f, const torch::Device& device);
double median(std::vector<double> values);

/// One plain forward + backward to the input only: the cost no gradient method can beat.
std::function<void()> make_floor(const BenchModel& model, const torch::Tensor& input, const torch::Tensor& labels);
/// One plain forward without autograd: the floor of gradient-free methods.
std::function<void()> make_forward_floor(const BenchModel& model, const torch::Tensor& input);

using FloorKind = nni::MethodCost::Floor;
std::string floor_kind_name(FloorKind kind);
std::string floor_kind_short(FloorKind kind);

/// One timed row: a method (with one configuration) on one model and batch, against its floor.
struct Cell {
  std::string model;
  int64_t batch = 0;
  std::string method;
  std::string config;
  int64_t floor_rows = 0;  // rows of the floor's forward (+ backward)
  FloorKind floor_kind = FloorKind::kForwardBackward;
  double target = 1.10;
  int64_t channels = 0;    // per-channel methods: channels of the layer (passes per example)
  std::function<void()> run;
  // results
  double median_ms = std::nan("");
  double floor_ms = std::nan("");
  double cpu_ms = std::nan("");        // median process CPU time of the method
  double cpu_floor_ms = std::nan("");  // and of the floor
  int repeats = 0;
  std::string note;
  bool skipped = false;

  std::string label() const { return model + "/b" + std::to_string(batch) + "/" + method + " " + config; }
  double ratio() const { return median_ms / floor_ms; }
  double cpu_ratio() const { return cpu_ms / cpu_floor_ms; }
  bool pass() const { return ratio() <= target; }
  /// Per-channel methods: milliseconds per perturbed pass (per channel and example).
  double ms_per_channel() const { return channels > 0 ? median_ms / static_cast<double>(floor_rows) : std::nan(""); }
};

/// The evaluation metrics on the perturbation engine, against a no-grad forward of their rows (metric_cells.cpp).
void bench_metric_cells(const BenchModel& model, int64_t batch, const Settings& settings, const torch::Device& device,
                        std::vector<Cell>& out);

/// Times the cells of one group (same model, batch and floor rows) against the shared floor.
void run_group(std::vector<Cell*>& cells, const std::function<void()>& floor, const Settings& settings,
               const torch::Device& device);

torch::Tensor make_input(const BenchModel& model, int64_t batch, const torch::Device& device);
/// `times` noisy copies of the batch (copy-major), the floor's input for methods that run copies.
torch::Tensor make_copies(const torch::Tensor& input, int64_t times);
torch::Tensor make_labels(int64_t batch, const torch::Device& device);

/// Wraps a method call so its result is consumed (and on CUDA, completed by the caller's sync).
template <typename Method>
std::function<void()> call(std::shared_ptr<Method> method, torch::Tensor input, torch::Tensor labels) {
  return [method, input, labels] {
    torch::Tensor result = method->attribute(input, nni::Target(labels));
    (void)result;
  };
}

// ---------------------------------------------------------------- cells (method_cells.cpp)

/// Every registered method on one model and batch, built from the registry with the bench's
/// settings and timed against the floor its schema declares; appended to `out`.
void bench_model_batch(const BenchModel& model, int64_t batch, const Settings& settings, const torch::Device& device,
                       std::vector<Cell>& out);
/// Input-space activation maximization on the MNIST CNN.
void bench_activation_maximization(const BenchModel& model, const Settings& settings, const torch::Device& device,
                                   std::vector<Cell>& out);

// ---------------------------------------------------------------- memory (memory.cpp)

struct MemoryRow {
  std::string model;
  int64_t batch = 0;
  std::string what;  // "smoothgrad" or "floor"
  int64_t samples_per_batch = 0;
  double rss_before_mib = 0;
  double peak_rss_mib = 0;    // wait4 ru_maxrss
  double peak_delta_mib = 0;  // peak − RSS before the call
  double call_ms = 0;
  std::string note;
};

/// Child side: build the model and input, report RSS, run one call, report its time, exit.
int memory_child(const std::string& model_name, int64_t batch, const std::string& what, int64_t spb, int fd);
/// Parent side: fork + exec this binary as a child for one configuration, wait4() for its rusage.
MemoryRow measure_memory(const std::string& model, int64_t batch, const std::string& what, int64_t spb,
                         const Settings& settings);

// ---------------------------------------------------------------- breakdown (breakdown.cpp)

/// A named piece of work for the breakdown.
struct Probe {
  std::string name;
  std::function<void()> run;
};

/// Runs the probes round-robin (so load changes hit all alike) and prints each one's median.
void run_probes(const std::string& title, const std::vector<Probe>& probes, int rounds, const torch::Device& device);
/// Times the pieces of the public calls a method makes, to explain its ratio.
void run_breakdown(const BenchModel& model, int64_t batch, const torch::Device& device);

// ---------------------------------------------------------------- output (report.cpp)

std::string utc_now();
std::string env_or_unset(const char* name);
void print_table(const std::vector<Cell>& cells);
void print_memory(const std::vector<MemoryRow>& rows);
void write_json(const std::string& path, const Settings& settings, const std::vector<Cell>& cells,
                const std::vector<MemoryRow>& memory, double total_seconds);

}  // namespace nni_bench
