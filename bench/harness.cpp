// nni_bench's harness: the models under test, the floors, timing and the interleaved groups.
#include <sys/types.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <fmt/format.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include "bench.h"
#include "models/mnist_cnn.h"
#include "models/resnet.h"
#include "nn_interpretability/model/torchscript.h"

namespace nni_bench {

BenchModel make_model(const std::string& name, const torch::Device& device) {
  torch::manual_seed(0);
  BenchModel result;
  result.name = name;
  if (name == "mnist_cnn") {
    // models/mnist_cnn.h: an nn::Sequential subclass, so "relu2" is reached by running it child by child.
    nni_models::MnistCnn net;
    net->to(device);
    net->eval();
    result.module = net.ptr();
    result.forward = [raw = net.get()](const torch::Tensor& x) { return raw->forward(x); };
    result.example_shape = {1, 28, 28};
    result.handle.emplace(net);
    result.cam_layer = "relu2";
    result.cam_channels = 20;
  } else if (name == "vit_mnist") {
    // A transformer as Python users export one: torchvision's VisionTransformer, torch.jit.script.
    torch::jit::Module vit = torch::jit::load(NNI_SOURCE_DIR "/models/weights/vit_mnist_scripted.pt", device);
    vit.eval();
    result.forward = [vit](const torch::Tensor& x) mutable { return vit.forward({x}).toTensor(); };
    result.example_shape = {1, 28, 28};
    result.handle.emplace(vit);
    result.cam_layer = "vit.encoder.layers.encoder_layer_3.ln_1";
    result.cam_reshape = "vit";
    result.cam_channels = 64;
  } else {
    // models/resnet.h marks "layer1".."layer4" with nn_interpretability::mark_layer in its forward.
    nni_models::ResNet18 net(10, 3);
    net->to(device);
    net->eval();
    result.module = net.ptr();
    result.forward = [raw = net.get()](const torch::Tensor& x) { return raw->forward(x); };
    result.example_shape = {3, 64, 64};
    result.handle.emplace(net);
    result.cam_layer = "layer4";
    result.cam_channels = 512;
  }
  return result;
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

namespace {

/// CPU time of the whole process (all threads), in milliseconds.
double process_cpu_ms() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) * 1e-6;
}

}  // namespace

Timing time_call(const std::function<void()>& f, const torch::Device& device) {
  synchronize(device);
  const double cpu_start = process_cpu_ms();
  const auto start = Clock::now();
  f();
  synchronize(device);
  Timing timing;
  timing.wall = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  timing.cpu = process_cpu_ms() - cpu_start;
  return timing;
}

double time_ms(const std::function<void()>& f, const torch::Device& device) { return time_call(f, device).wall; }

double median(std::vector<double> values) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

std::function<void()> make_floor(const BenchModel& model, const torch::Tensor& input, const torch::Tensor& labels) {
  return [forward = model.forward, input, labels] {
    torch::Tensor leaf = input.detach().requires_grad_(true);
    torch::Tensor output = forward(leaf);
    torch::Tensor score = output.gather(1, labels.unsqueeze(1)).sum();
    auto gradients = torch::autograd::grad({score}, {leaf});
    (void)gradients;
  };
}

std::function<void()> make_forward_floor(const BenchModel& model, const torch::Tensor& input) {
  return [forward = model.forward, input] {
    torch::NoGradGuard no_grad;
    torch::Tensor output = forward(input);
    (void)output;
  };
}


std::string floor_kind_name(FloorKind kind) { return kind == FloorKind::kForward ? "forward" : "forward+backward"; }
std::string floor_kind_short(FloorKind kind) { return kind == FloorKind::kForward ? "fwd" : "fwd+bwd"; }

/// /// Normal groups: per cell, one warm-up call of floor and method, then `repeats` interleaved pairs
/// (alternating which goes first), repeats chosen so the cell takes about `cell_seconds`.
/// Heavy groups (one floor call above `heavy_call_seconds`): F M1 F M2 F ... F, one timed call per
/// method, each compared with the mean of the two floor calls around it.
void run_group(std::vector<Cell*>& cells, const std::function<void()>& floor, const Settings& settings,
               const torch::Device& device) {
  if (cells.empty()) return;
  const Timing first = time_call(floor, device);  // warm-up, and the size of the group
  const double first_floor = first.wall;
  if (first_floor > settings.skip_call_seconds * 1000.0) {
    for (Cell* cell : cells) {
      cell->skipped = true;
      cell->floor_ms = first_floor;
      cell->note = fmt::format("skipped: one floor call takes {:.0f} s", first_floor / 1000.0);
    }
    return;
  }
  if (first_floor > settings.heavy_call_seconds * 1000.0) {
    // On the CPU, buffers this large are fresh pages from the OS on every call, so the first call is
    // no colder than the others: it serves as the floor before the first method.
    Timing previous = first;
    for (Cell* cell : cells) {
      std::fprintf(stderr, "  %s (single repeat)\n", cell->label().c_str());
      const Timing method = time_call(cell->run, device);
      const Timing next = time_call(floor, device);
      cell->median_ms = method.wall;
      cell->floor_ms = 0.5 * (previous.wall + next.wall);
      cell->cpu_ms = method.cpu;
      cell->cpu_floor_ms = 0.5 * (previous.cpu + next.cpu);
      cell->repeats = 1;
      cell->note = "single repeat; floor = mean of the calls before and after";
      previous = next;
    }
    return;
  }
  for (Cell* cell : cells) {
    std::fprintf(stderr, "  %s\n", cell->label().c_str());
    const double warm_floor = time_ms(floor, device);
    const double warm_method = time_ms(cell->run, device);
    const double pair = std::max(1e-3, warm_floor + warm_method);
    const int min_repeats = settings.quick ? 3 : 5;
    const int max_repeats = settings.quick ? 50 : 400;
    int repeats = static_cast<int>(settings.cell_seconds * 1000.0 / pair);
    repeats = std::max(3, std::min(max_repeats, repeats));
    if (pair < 1000.0) repeats = std::max(repeats, min_repeats);
    std::vector<double> floors, methods, cpu_floors, cpu_methods;
    for (int r = 0; r < repeats; ++r) {
      Timing f, m;
      if (r % 2 == 0) {
        f = time_call(floor, device);
        m = time_call(cell->run, device);
      } else {
        m = time_call(cell->run, device);
        f = time_call(floor, device);
      }
      floors.push_back(f.wall);
      methods.push_back(m.wall);
      cpu_floors.push_back(f.cpu);
      cpu_methods.push_back(m.cpu);
    }
    cell->median_ms = median(methods);
    cell->floor_ms = median(floors);
    cell->cpu_ms = median(cpu_methods);
    cell->cpu_floor_ms = median(cpu_floors);
    cell->repeats = repeats;
  }
}

torch::Tensor make_input(const BenchModel& model, int64_t batch, const torch::Device& device) {
  std::vector<int64_t> shape = model.example_shape;
  shape.insert(shape.begin(), batch);
  torch::manual_seed(1);
  return torch::randn(shape, torch::TensorOptions().device(device));
}

/// The floor's input for methods that run `times` perturbed copies of the batch: `times` noisy copies
/// (copy-major, noise as SmoothGrad's default: σ = 0.15 × each example's range). Distinct rows matter:
/// a batch of identical copies runs measurably faster (about 10 % for the MNIST CNN on 50 rows), which
/// would flatter the floor.
torch::Tensor make_copies(const torch::Tensor& input, int64_t times) {
  if (times == 1) return input;
  torch::Tensor flat = input.flatten(1);
  std::vector<int64_t> sigma_shape(input.dim(), 1);
  sigma_shape[0] = input.size(0);
  torch::Tensor sigma = ((flat.amax(1) - flat.amin(1)) * 0.15).view(sigma_shape);
  torch::manual_seed(3);
  torch::Tensor repeated = input.repeat({times, 1, 1, 1});
  return repeated + torch::randn_like(repeated) * sigma.repeat({times, 1, 1, 1});
}

torch::Tensor make_labels(int64_t batch, const torch::Device& device) {
  return torch::arange(batch, torch::TensorOptions().dtype(torch::kLong)).remainder(10).to(device);
}

void run_probes(const std::string& title, const std::vector<Probe>& probes, int rounds, const torch::Device& device) {
  std::vector<std::vector<double>> times(probes.size()), cpu(probes.size());
  for (const Probe& probe : probes) probe.run();  // warm-up
  for (int r = 0; r < rounds; ++r) {
    for (size_t i = 0; i < probes.size(); ++i) {
      const Timing timing = time_call(probes[i].run, device);
      times[i].push_back(timing.wall);
      cpu[i].push_back(timing.cpu);
    }
  }
  fmt::print("{} (medians of {} round-robin rounds; wall, then process CPU time)\n", title, rounds);
  const double reference = median(times[0]);
  const double cpu_reference = median(cpu[0]);
  for (size_t i = 0; i < probes.size(); ++i) {
    const double m = median(times[i]);
    const double c = median(cpu[i]);
    fmt::print("  {:<62} {:10.1f} us {:+9.1f} | cpu {:10.1f} us {:+9.1f}\n", probes[i].name, m * 1000.0,
               (m - reference) * 1000.0, c * 1000.0, (c - cpu_reference) * 1000.0);
  }
}

}  // namespace nni_bench
