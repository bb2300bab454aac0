// CUDA consistency: every registered method (iterated from nni::methods(), so a new method joins by
// being registered) gives on a CUDA model and input what it gives on the CPU, returns its result on
// the input's device, and leaves the CUDA model unchanged. Also TorchScript models moved to CUDA,
// seeded SmoothGrad noise drawn on the GPU, and the error for a model and input on different devices.
//
// Tolerances, stated once: in float64 the two devices differ only by summation order, so results
// must agree to 1e-6 of the result's largest magnitude. In float32 a GPU may run convolutions and
// matrix products in TF32 (10-bit mantissa; PyTorch's default for cuDNN convolutions on Ampere and
// later), so the float32 check allows 2e-2 of the largest magnitude.
//
// Without a CUDA device the executable prints why and exits with 77, which ctest reports as
// "Skipped" (SKIP_RETURN_CODE): nothing here can pass by accident on a CPU-only machine.
// scripts/gpu_check.sh builds and runs it on a GPU machine; docs/hardening.md has the results.
#define CATCH_CONFIG_RUNNER
#include "support/catch_torch.h"

#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <torch/cuda.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "nn_interpretability/nn_interpretability.h"
#include "nn_interpretability/registry/registry.h"
#include "nn_interpretability/model/torchscript.h"
#include "support/all_close.h"
#include "support/model_snapshot.h"

namespace nni = nn_interpretability;
using Catch::Matchers::Contains;

namespace {

constexpr double kFloat64Tolerance = 1e-6;
constexpr double kFloat32Tolerance = 2e-2;

const torch::Device kCuda(torch::kCUDA, 0);

// conv 3→4, ReLU, conv 4→6, ReLU, GAP, Flatten, Linear(6, 3): layer "3" feeds the global average
// pool, so every CAM method (CAM included) applies. The same network as the hardening matrix.
torch::nn::Sequential cpu_model(torch::Dtype dtype) {
  torch::manual_seed(1234);
  torch::nn::Sequential model(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).padding(1)),
                              torch::nn::ReLU(),
                              torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 6, 3).padding(1)),
                              torch::nn::ReLU(),
                              torch::nn::AdaptiveAvgPool2d(1),
                              torch::nn::Flatten(),
                              torch::nn::Linear(6, 3));
  model->to(dtype);
  model->eval();
  return model;
}

torch::nn::Sequential cuda_copy(const torch::nn::Sequential& model) {
  auto copy = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(model->clone());
  copy->to(kCuda);
  return torch::nn::Sequential(copy);
}

nni::MethodConfig config_for(const nni::MethodInfo& info, const std::string& layer) {
  nni::MethodConfig config;
  // SmoothGrad's noise comes from a different generator on each device, so across devices it is
  // compared with zero noise (where it must equal its base method); seeded GPU noise has its own test.
  config.set("samples", 4).set("stdev", 0.0).set("steps", 16).set("rows_per_call", 4).set("seed", 7);
  if (info.needs_layer) config.layer(layer);
  return config;
}

// |a − b| ≤ tolerance · max|b| everywhere, with the numbers in the failure message.
void require_same_result(const std::string& what, const torch::Tensor& on_cuda, const torch::Tensor& on_cpu,
                         double tolerance) {
  INFO(what);
  REQUIRE(on_cuda.defined());
  CHECK(on_cuda.device() == kCuda);
  CHECK(on_cuda.scalar_type() == on_cpu.scalar_type());
  REQUIRE(on_cuda.sizes() == on_cpu.sizes());
  const torch::Tensor back = on_cuda.cpu();
  CHECK(torch::isfinite(back).all().item<bool>());
  const double scale = std::max(on_cpu.abs().max().item<double>(), 1e-12);
  const double difference = nni_test::max_abs_difference(back, on_cpu);
  INFO("max |cuda − cpu| = " << difference << ", max |cpu| = " << scale << ", relative " << difference / scale);
  CHECK(difference <= tolerance * scale);
}

void every_method_matches(torch::Dtype dtype, double tolerance) {
  torch::nn::Sequential on_cpu = cpu_model(dtype);
  torch::nn::Sequential on_gpu = cuda_copy(on_cpu);
  torch::manual_seed(99);
  const torch::Tensor input = torch::rand({3, 3, 8, 8}, torch::TensorOptions().dtype(dtype));
  const torch::Tensor targets = torch::tensor({0, 2, 1}, torch::kLong);
  const nni_test::ModelSnapshot before = nni_test::ModelSnapshot::of(*on_gpu);

  for (const nni::MethodInfo& info : nni::methods()) {
    SECTION(info.name) {
      const nni::MethodConfig config = config_for(info, "3");
      auto cpu_method = info.make(nni::Model(on_cpu), config);
      auto gpu_method = info.make(nni::Model(on_gpu), config);
      // Both target forms: the predicted class and a CPU index tensor used with a CUDA input.
      require_same_result(info.name + ", predicted class", gpu_method->attribute(input.to(kCuda)),
                          cpu_method->attribute(input), tolerance);
      require_same_result(info.name + ", explicit targets", gpu_method->attribute(input.to(kCuda), targets),
                          cpu_method->attribute(input, targets), tolerance);
      CHECK(nni_test::ModelSnapshot::of(*on_gpu).difference(before) == "");
    }
  }
}

torch::jit::Module load_fixture(const std::string& name) {
  torch::jit::Module module = torch::jit::load(std::string(NNI_SOURCE_DIR) + "/tests/fixtures/" + name);
  module.eval();
  return module;
}

}  // namespace

TEST_CASE("every registered method on CUDA matches the CPU in float64", "[cuda]") {
  every_method_matches(torch::kDouble, kFloat64Tolerance);
}

TEST_CASE("every registered method on CUDA matches the CPU in float32 (TF32 tolerance)", "[cuda]") {
  every_method_matches(torch::kFloat, kFloat32Tolerance);
}

TEST_CASE("TorchScript models moved to CUDA: scripted and traced give the CPU's results", "[cuda]") {
  torch::manual_seed(5);
  const torch::Tensor input = torch::rand({2, 3, 16, 16});
  for (const std::string file : {"tiny_resnet_scripted.pt", "tiny_resnet_traced.pt"}) {
    SECTION(file) {
      torch::jit::Module on_cpu = load_fixture(file);
      torch::jit::Module on_gpu = load_fixture(file);
      on_cpu.to(torch::kDouble);
      on_gpu.to(kCuda, torch::kDouble);
      const torch::Tensor x = input.to(torch::kDouble);
      for (const nni::MethodInfo& info : nni::methods()) {
        const nni::MethodConfig config = config_for(info, "layer2");
        auto cpu_method = info.make(nni::Model(on_cpu), config);
        auto gpu_method = info.make(nni::Model(on_gpu), config);
        require_same_result(file + ": " + info.name, gpu_method->attribute(x.to(kCuda)), cpu_method->attribute(x),
                            kFloat64Tolerance);
      }
    }
  }
}

TEST_CASE("seeded SmoothGrad draws its noise on the GPU, reproducibly, without touching the global generator",
          "[cuda]") {
  torch::nn::Sequential model = cuda_copy(cpu_model(torch::kFloat));
  torch::manual_seed(3);
  const torch::Tensor input = torch::rand({2, 3, 8, 8}).to(kCuda);
  auto config = nni::MethodConfig().set("samples", 8).set("noise_level", 0.2).set("seed", 11);
  auto smooth = nni::make_method("smoothgrad", nni::Model(model), config);
  auto plain = nni::make_method("vanilla_gradient", nni::Model(model), config);

  torch::cuda::manual_seed_all(42);
  const torch::Tensor first = smooth->attribute(input);
  const torch::Tensor global_after = torch::randn({4}, torch::TensorOptions().device(kCuda));
  torch::cuda::manual_seed_all(42);
  const torch::Tensor second = smooth->attribute(input);
  const torch::Tensor global_again = torch::randn({4}, torch::TensorOptions().device(kCuda));

  CHECK(first.device() == kCuda);
  CHECK(first.equal(second));                // bit-identical: same seed, same device
  CHECK(global_after.equal(global_again));   // the global CUDA generator was not advanced
  CHECK_FALSE(first.equal(plain->attribute(input)));  // the noise is real
}

TEST_CASE("a CUDA model with a CPU input (and the reverse) is refused with both devices named", "[cuda]") {
  torch::nn::Sequential on_cpu = cpu_model(torch::kFloat);
  torch::nn::Sequential on_gpu = cuda_copy(on_cpu);
  const torch::Tensor input = torch::rand({1, 3, 8, 8});
  for (const nni::MethodInfo& info : nni::methods()) {
    INFO(info.name);
    const nni::MethodConfig config = config_for(info, "3");
    CHECK_THROWS_WITH(info.make(nni::Model(on_gpu), config)->attribute(input), Contains("cuda") && Contains("cpu"));
    CHECK_THROWS_WITH(info.make(nni::Model(on_cpu), config)->attribute(input.to(kCuda)),
                      Contains("cuda") && Contains("cpu"));
  }
}

int main(int argc, char* argv[]) {
  if (!torch::cuda::is_available()) {
    std::cout << "cuda_tests: skipped, no CUDA device (torch::cuda::is_available() is false)\n";
    return 77;
  }
  std::cout << "cuda_tests: " << static_cast<int>(torch::cuda::device_count()) << " CUDA device(s)\n";
  return Catch::Session().run(argc, argv);
}
