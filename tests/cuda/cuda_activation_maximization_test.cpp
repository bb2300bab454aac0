// Activation maximization on CUDA: results on the model's device, the CPU's result within 1e-3
// (SGD keeps TF32 differences small), seeded noise and code space on the device, the model
// unchanged. Part of cuda_tests, whose main skips everything without a CUDA device (exit 77).
#include "support/catch_torch.h"

#include <vector>

#include <torch/torch.h>

#include "nn_interpretability/feature_visualization/activation_maximization.h"
#include "support/all_close.h"
#include "support/model_snapshot.h"
#include "support/tiny_models.h"

namespace nni = nn_interpretability;
using nni_test::AllClose;
using nni_test::ModelSnapshot;

using nni_test::ten_class_cnn_8x8;
using nni_test::tiny_generator_8x8;

TEST_CASE("On CUDA, everything follows the model's device and matches the CPU", "[am][cuda]") {
  const torch::Device cuda(torch::kCUDA);
  auto cpu_net = ten_class_cnn_8x8();
  auto cuda_net = ten_class_cnn_8x8();
  cuda_net->to(cuda);
  const ModelSnapshot before = ModelSnapshot::of(*cuda_net);
  torch::manual_seed(12);
  torch::Tensor start = torch::rand({4, 1, 8, 8});
  // SGD: the update is linear in the gradient, so the small differences between the devices' kernels
  // (TF32 convolutions on recent GPUs) stay small; Adam would turn tiny gradients into ±lr steps.
  auto options = nni::ActivationMaximizationOptions()
                     .optimizer(nni::OptimizerOptions().algorithm(nni::AmOptimizer::kSgd).learning_rate(0.01).iterations(15))
                     .penalties(nni::PenaltyOptions().tv_weight(0.05).l2_weight(0.01))
                     .transforms(nni::TransformOptions().blur_sigma(0.5).blur_every(5).jitter(1))
                     .seed(5);
  auto objective = nni::Objective::class_log_softmax(torch::arange(4)) + 0.1 * nni::Objective::channel("3", 1);
  auto cpu_options = options, cuda_options = options;
  cpu_options.parameterization().start_image(start);
  cpu_options.penalties().l2_reference(torch::full({1, 8, 8}, 0.5));
  cuda_options.parameterization().start_image(start.to(cuda));
  cuda_options.penalties().l2_reference(torch::full({1, 8, 8}, 0.5));
  auto on_cpu = nni::ActivationMaximization(cpu_net, cpu_options).maximize(objective);
  auto on_cuda = nni::ActivationMaximization(cuda_net, cuda_options).maximize(objective);
  CHECK(on_cuda.images.device().is_cuda());
  CHECK(on_cuda.objective.device().is_cuda());
  CHECK(on_cuda.probabilities.device().is_cuda());
  CHECK_THAT(on_cuda.images.cpu(), AllClose(on_cpu.images, 1e-3, 1e-3));
  CHECK_FALSE(on_cuda.images.cpu().equal(start));
  auto stopped_options = options;
  stopped_options.optimizer().stop_probability(1e-12);
  auto stopped = nni::ActivationMaximization(cuda_net, stopped_options).maximize(objective, {4, 1, 8, 8});
  CHECK(stopped.iterations_run == 0);
  CHECK(stopped.stop_iteration == std::vector<int64_t>{0, 0, 0, 0});
  CHECK(ModelSnapshot::of(*cuda_net).difference(before).empty());

  // Seeded noise start on the device, code space with a generator on the device.
  auto generator = tiny_generator_8x8();
  generator->to(cuda);
  auto code_options = nni::ActivationMaximizationOptions()
                          .parameterization(nni::ParameterizationOptions().generator(nni::Model(generator)).latent_shape({4}))
                          .optimizer(nni::OptimizerOptions().iterations(5))
                          .seed(3);
  auto first = nni::ActivationMaximization(cuda_net, code_options).maximize(nni::Objective::class_logit(2), 3);
  auto second = nni::ActivationMaximization(cuda_net, code_options).maximize(nni::Objective::class_logit(2), 3);
  CHECK(first.codes.device().is_cuda());
  CHECK(first.images.device().is_cuda());
  CHECK(first.codes.equal(second.codes));
  CHECK(first.images.min().item<float>() >= 0.0f);
  CHECK(first.images.max().item<float>() <= 1.0f);
}
