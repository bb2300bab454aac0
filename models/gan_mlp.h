#pragma once
// A fully connected GAN for 28×28 MNIST digits (Goodfellow et al., "Generative Adversarial Nets",
// NIPS 2014), as LibTorch modules. The generator is a prior for activation maximization:
// maximize a classifier's score of G(z) over the code z.
//
// MlpGenerator: code z [N, 64] ~ N(0, I) -> images [N, 1, 28, 28] in [0, 1] (Sigmoid output).
//
//   fc1        Linear(64, 256)
//   bn1        BatchNorm1d(256)
//   act1       LeakyReLU(0.2)
//   fc2        Linear(256, 512)
//   bn2        BatchNorm1d(512)
//   act2       LeakyReLU(0.2)
//   fc3        Linear(512, 784)
//   sigmoid    Sigmoid                -> [N, 784] in [0, 1]
//   unflatten  Unflatten(1, {1, 28, 28}) -> [N, 1, 28, 28]
//
// MlpDiscriminator: images [N, 1, 28, 28] in [0, 1] -> one logit per image [N, 1] ("real").
//
//   flatten    Flatten                -> [N, 784]
//   fc1        Linear(784, 512)
//   act1       LeakyReLU(0.2)
//   drop1      Dropout(0.3)
//   fc2        Linear(512, 256)
//   act2       LeakyReLU(0.2)
//   drop2      Dropout(0.3)
//   fc3        Linear(256, 1)         -> [N, 1] logits
//
// Both are nn::Sequential roots (like the classifiers of models/), so every layer is reachable by
// name. models/weights/gan_mlp_mnist.pt holds the generator only (the discriminator is not needed
// to sample); call eval() before sampling (BatchNorm on its running statistics).
//
// Example:
//   nni_models::MlpGenerator generator;
//   torch::load(generator, "models/weights/gan_mlp_mnist.pt");
//   generator->eval();
//   torch::Tensor z = nni_models::MlpGeneratorImpl::sample_latent(16, /*seed=*/1);
//   torch::Tensor images = generator->forward(z);  // [16, 1, 28, 28] in [0, 1]

#include <cstdint>
#include <utility>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace nni_models {

/// The MLP GAN's generator: z [N, kLatentDim] -> [N, 1, 28, 28] in [0, 1]. See the file comment.
struct MlpGeneratorImpl : torch::nn::SequentialImpl {
  /// Size of the code z.
  static constexpr int64_t kLatentDim = 64;

  MlpGeneratorImpl() {
    namespace nn = torch::nn;
    push_back("fc1", nn::Linear(kLatentDim, 256));
    push_back("bn1", nn::BatchNorm1d(256));
    push_back("act1", nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
    push_back("fc2", nn::Linear(256, 512));
    push_back("bn2", nn::BatchNorm1d(512));
    push_back("act2", nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
    push_back("fc3", nn::Linear(512, 784));
    push_back("sigmoid", nn::Sigmoid());
    push_back("unflatten", nn::Unflatten(nn::UnflattenOptions(1, {1, 28, 28})));
  }
  /// Images [N, 1, 28, 28] in [0, 1] for codes z [N, kLatentDim].
  torch::Tensor forward(torch::Tensor z) { return torch::nn::SequentialImpl::forward(std::move(z)); }

  /// `n` codes from the prior N(0, I), drawn on the CPU from a generator seeded with `seed` (the
  /// same codes on every device) and moved to `device`.
  static torch::Tensor sample_latent(int64_t n, uint64_t seed, torch::Device device = torch::kCPU) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    return torch::randn({n, kLatentDim}, gen, torch::kFloat).to(device);
  }
};
TORCH_MODULE(MlpGenerator);

/// The MLP GAN's discriminator: images [N, 1, 28, 28] in [0, 1] -> logits [N, 1].
struct MlpDiscriminatorImpl : torch::nn::SequentialImpl {
  /// `dropout`: dropout probability after each hidden layer (train mode only).
  explicit MlpDiscriminatorImpl(double dropout = 0.3) {
    namespace nn = torch::nn;
    push_back("flatten", nn::Flatten());
    push_back("fc1", nn::Linear(784, 512));
    push_back("act1", nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
    push_back("drop1", nn::Dropout(dropout));
    push_back("fc2", nn::Linear(512, 256));
    push_back("act2", nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
    push_back("drop2", nn::Dropout(dropout));
    push_back("fc3", nn::Linear(256, 1));
  }
  /// Logits [N, 1] ("real") for images [N, 1, 28, 28].
  torch::Tensor forward(torch::Tensor x) { return torch::nn::SequentialImpl::forward(std::move(x)); }
};
TORCH_MODULE(MlpDiscriminator);

}  // namespace nni_models
