#pragma once
// A DCGAN for 28×28 MNIST digits (Radford, Metz & Chintala, "Unsupervised Representation Learning
// with Deep Convolutional Generative Adversarial Networks", ICLR 2016), sized for CPU training.
// The generator is a prior for activation maximization: maximize a classifier's score of G(z).
//
// DcganGenerator: code z [N, 64] ~ N(0, I) -> images [N, 1, 28, 28] in [0, 1] (Sigmoid output).
// With the default width w = 128 (the shipped weights):
//
//   fc         Linear(64, w·7·7)
//   bn0        BatchNorm1d(w·7·7)
//   relu0      ReLU
//   unflatten  Unflatten(1, {w, 7, 7})                          -> [N, w, 7, 7]
//   deconv1    ConvTranspose2d(w, w/2, k4, stride 2, pad 1)     -> [N, w/2, 14, 14]
//   bn1        BatchNorm2d(w/2)
//   relu1      ReLU
//   deconv2    ConvTranspose2d(w/2, 1, k4, stride 2, pad 1)     -> [N, 1, 28, 28]
//   sigmoid    Sigmoid                                          -> in [0, 1]
//
// DcganDiscriminator: images [N, 1, 28, 28] in [0, 1] -> one logit per image [N, 1]. Strided
// convolutions, LeakyReLU, no pooling (width w = 128):
//
//   conv1      Conv2d(1, w/2, k4, stride 2, pad 1)              -> [N, w/2, 14, 14]
//   act1       LeakyReLU(0.2)
//   conv2      Conv2d(w/2, w, k4, stride 2, pad 1)              -> [N, w, 7, 7]
//   bn2        BatchNorm2d(w)
//   act2       LeakyReLU(0.2)
//   flatten    Flatten                                          -> [N, w·49]
//   fc         Linear(w·49, 1)                                  -> [N, 1] logits
//
// Both are nn::Sequential roots with named layers. models/weights/dcgan_mnist.pt holds the
// generator only; call eval() before sampling (BatchNorm on its running statistics).
//
// Example:
//   nni_models::DcganGenerator generator;
//   torch::load(generator, "models/weights/dcgan_mnist.pt");
//   generator->eval();
//   torch::Tensor images = generator->forward(nni_models::DcganGeneratorImpl::sample_latent(16, 1));

#include <cstdint>
#include <utility>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace nni_models {

/// The DCGAN generator: z [N, kLatentDim] -> [N, 1, 28, 28] in [0, 1]. See the file comment.
struct DcganGeneratorImpl : torch::nn::SequentialImpl {
  /// Size of the code z.
  static constexpr int64_t kLatentDim = 64;

  /// `width`: channels of the 7×7 stage (the 14×14 stage has width / 2). Default 128 (shipped).
  explicit DcganGeneratorImpl(int64_t width = 128) {
    namespace nn = torch::nn;
    push_back("fc", nn::Linear(kLatentDim, width * 7 * 7));
    push_back("bn0", nn::BatchNorm1d(width * 7 * 7));
    push_back("relu0", nn::ReLU());
    push_back("unflatten", nn::Unflatten(nn::UnflattenOptions(1, {width, 7, 7})));
    push_back("deconv1", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(width, width / 2, 4).stride(2).padding(1)));
    push_back("bn1", nn::BatchNorm2d(width / 2));
    push_back("relu1", nn::ReLU());
    push_back("deconv2", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(width / 2, 1, 4).stride(2).padding(1)));
    push_back("sigmoid", nn::Sigmoid());
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
TORCH_MODULE(DcganGenerator);

/// The DCGAN discriminator: images [N, 1, 28, 28] in [0, 1] -> logits [N, 1].
struct DcganDiscriminatorImpl : torch::nn::SequentialImpl {
  /// `width`: channels of the 7×7 stage (the 14×14 stage has width / 2). Default 128.
  explicit DcganDiscriminatorImpl(int64_t width = 128) {
    namespace nn = torch::nn;
    push_back("conv1", nn::Conv2d(nn::Conv2dOptions(1, width / 2, 4).stride(2).padding(1)));
    push_back("act1", nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
    push_back("conv2", nn::Conv2d(nn::Conv2dOptions(width / 2, width, 4).stride(2).padding(1)));
    push_back("bn2", nn::BatchNorm2d(width));
    push_back("act2", nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
    push_back("flatten", nn::Flatten());
    push_back("fc", nn::Linear(width * 7 * 7, 1));
  }
  /// Logits [N, 1] ("real") for images [N, 1, 28, 28].
  torch::Tensor forward(torch::Tensor x) { return torch::nn::SequentialImpl::forward(std::move(x)); }
};
TORCH_MODULE(DcganDiscriminator);

}  // namespace nni_models
