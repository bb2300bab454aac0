#pragma once
// A variational autoencoder for 28×28 MNIST digits (Kingma & Welling, "Auto-Encoding Variational
// Bayes", ICLR 2014): MLP encoder and decoder, Bernoulli likelihood (binary cross-entropy
// reconstruction) and a standard normal prior on a 16-dimensional code. `decode(z)` is the
// generator used as a prior for activation maximization.
//
//   encoder        Flatten -> Linear(784, 400) -> ReLU        (children "flatten", "fc1", "relu1")
//   mu             Linear(400, 16)                             mean of q(z | x)
//   logvar         Linear(400, 16)                             log variance of q(z | x)
//   decoder        Linear(16, 400) -> ReLU -> Linear(400, 784) -> Sigmoid -> Unflatten(1, {1, 28, 28})
//                  (children "fc1", "relu1", "fc2", "sigmoid", "unflatten")  -> [N, 1, 28, 28] in [0, 1]
//
// `decoder` is an nn::Sequential (VaeDecoder) that can be used on its own as the generator.
// models/weights/vae_mnist.pt holds the whole VAE (encoder included, 2.5 MB).
//
// Example:
//   nni_models::Vae vae;
//   torch::load(vae, "models/weights/vae_mnist.pt");
//   vae->eval();
//   torch::Tensor images = vae->decode(nni_models::VaeImpl::sample_latent(16, /*seed=*/1));
//   auto out = vae->forward(images);                   // reconstruction, mu, logvar
//   torch::Tensor loss = nni_models::VaeImpl::loss(out, images);  // negative ELBO per image

#include <cstdint>
#include <utility>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace nni_models {

/// The VAE's encoder trunk: [N, 1, 28, 28] -> [N, hidden].
struct VaeEncoderImpl : torch::nn::SequentialImpl {
  explicit VaeEncoderImpl(int64_t hidden = 400) {
    namespace nn = torch::nn;
    push_back("flatten", nn::Flatten());
    push_back("fc1", nn::Linear(784, hidden));
    push_back("relu1", nn::ReLU());
  }
  torch::Tensor forward(torch::Tensor x) { return torch::nn::SequentialImpl::forward(std::move(x)); }
};
TORCH_MODULE(VaeEncoder);

/// The VAE's decoder (the generator): z [N, latent] -> [N, 1, 28, 28] in [0, 1].
struct VaeDecoderImpl : torch::nn::SequentialImpl {
  explicit VaeDecoderImpl(int64_t latent = 16, int64_t hidden = 400) {
    namespace nn = torch::nn;
    push_back("fc1", nn::Linear(latent, hidden));
    push_back("relu1", nn::ReLU());
    push_back("fc2", nn::Linear(hidden, 784));
    push_back("sigmoid", nn::Sigmoid());
    push_back("unflatten", nn::Unflatten(nn::UnflattenOptions(1, {1, 28, 28})));
  }
  torch::Tensor forward(torch::Tensor z) { return torch::nn::SequentialImpl::forward(std::move(z)); }
};
TORCH_MODULE(VaeDecoder);

/// What VaeImpl::forward returns.
struct VaeOutput {
  torch::Tensor reconstruction;  ///< decode(z) for z = mu (eval mode) or a sample of q(z | x) (train mode)
  torch::Tensor mu;              ///< [N, latent]
  torch::Tensor logvar;          ///< [N, latent]
};

/// Variational autoencoder with a Bernoulli decoder. See the file comment.
struct VaeImpl : torch::nn::Module {
  /// Size of the code z (default and shipped weights).
  static constexpr int64_t kLatentDim = 16;

  explicit VaeImpl(int64_t latent = kLatentDim, int64_t hidden = 400)
      : encoder(register_module("encoder", VaeEncoder(hidden))),
        mu(register_module("mu", torch::nn::Linear(hidden, latent))),
        logvar(register_module("logvar", torch::nn::Linear(hidden, latent))),
        decoder(register_module("decoder", VaeDecoder(latent, hidden))) {}

  /// Mean and log variance of q(z | x) for images [N, 1, 28, 28] in [0, 1].
  std::pair<torch::Tensor, torch::Tensor> encode(const torch::Tensor& x) {
    torch::Tensor h = encoder->forward(x);
    return {mu->forward(h), logvar->forward(h)};
  }

  /// Images [N, 1, 28, 28] in [0, 1] (Bernoulli means) for codes z [N, latent]: the generator.
  torch::Tensor decode(const torch::Tensor& z) { return decoder->forward(z); }

  /// Encodes, draws z = mu + exp(logvar / 2) * eps in train mode (z = mu in eval mode), decodes.
  VaeOutput forward(const torch::Tensor& x) {
    auto [m, lv] = encode(x);
    torch::Tensor z = is_training() ? m + torch::exp(0.5 * lv) * torch::randn_like(m) : m;
    return {decode(z), m, lv};
  }

  /// Negative ELBO per image [N]: binary cross-entropy of the reconstruction (summed over the 784
  /// pixels; targets in [0, 1]) plus KL(q(z | x) || N(0, I)).
  static torch::Tensor loss(const VaeOutput& out, const torch::Tensor& x) {
    namespace F = torch::nn::functional;
    const int64_t n = x.size(0);
    torch::Tensor bce = F::binary_cross_entropy(out.reconstruction.reshape({n, -1}), x.reshape({n, -1}),
                                                F::BinaryCrossEntropyFuncOptions().reduction(torch::kNone))
                            .sum(1);
    torch::Tensor kl = -0.5 * (1 + out.logvar - out.mu.pow(2) - out.logvar.exp()).sum(1);
    return bce + kl;
  }

  /// Size of this VAE's code (kLatentDim unless constructed otherwise).
  int64_t latent_dim() const { return mu->options.out_features(); }

  /// `n` codes from the prior N(0, I) [n, dim], drawn on the CPU from a generator seeded with
  /// `seed` (the same codes on every device) and moved to `device`.
  static torch::Tensor sample_latent(int64_t n, uint64_t seed, torch::Device device = torch::kCPU,
                                     int64_t dim = kLatentDim) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    return torch::randn({n, dim}, gen, torch::kFloat).to(device);
  }

  VaeEncoder encoder;
  torch::nn::Linear mu;
  torch::nn::Linear logvar;
  VaeDecoder decoder;
};
TORCH_MODULE(Vae);

}  // namespace nni_models
