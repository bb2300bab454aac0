#pragma once
// A Bernoulli–Bernoulli restricted Boltzmann machine trained with contrastive divergence (Hinton,
// "Training Products of Experts by Minimizing Contrastive Divergence", Neural Computation 2002;
// persistent chains: Tieleman, ICML 2008). Its free energy F(v) is an energy prior for activation
// maximization: maximize score(x) - lambda * F(x).
//
// Energy E(v, h) = -b·v - c·h - h·W v, for visible units v (784 pixels) and hidden units h:
//
//   weight         W  [hidden, visible]   (parameter "weight")
//   visible_bias   b  [visible]           (parameter "visible_bias")
//   hidden_bias    c  [hidden]            (parameter "hidden_bias")
//
//   p(h_j = 1 | v) = sigmoid(c_j + W_j·v)          p(v_i = 1 | h) = sigmoid(b_i + W_:i·h)
//   F(v) = -log sum_h exp(-E(v, h)) = -b·v - sum_j softplus(c_j + W_j·v)
//
// Inputs may be [N, visible] or images [N, 1, 28, 28] (flattened); values in [0, 1] are used as
// they are (grey pixels as probabilities). F is differentiable with respect to v and the parameters.
//
// CD-k (`contrastive_divergence`) is implemented by hand, as positive minus negative phase
// statistics: with ph0 = p(h | v0) on the data and (vk, phk) the end of a k-step Gibbs chain
// started from v0 (or from the persistent chain passed in),
//   dW = (ph0ᵀ v0 - phkᵀ vk) / N,  db = mean(v0 - vk),  dc = mean(ph0 - phk),
// an estimate of the gradient of the mean log-likelihood. The chain samples binary hidden states
// at every step and binary visible states at every step but the last, whose visible probabilities
// (and hidden probabilities) give the negative statistics (Hinton's "practical guide", 2010).
// The estimate is written, negated, into each parameter's grad() (the gradient of the negative
// log-likelihood), so any torch::optim optimizer's step() then performs the ascent.
//
// Example:
//   nni_models::Rbm rbm;
//   torch::load(rbm, "models/weights/rbm_mnist.pt");
//   torch::Tensor f = rbm->free_energy(images);        // [N]; low on digits, high on noise
//   torch::Tensor v = rbm->gibbs(torch::rand({16, 784}), 1000);  // visible probabilities after 1000 steps

#include <cstdint>

#include <torch/arg.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace nni_models {

/// Options of `RbmImpl`: sizes and initialization.
struct RbmOptions {
  RbmOptions(int64_t visible = 784, int64_t hidden = 256) : visible_(visible), hidden_(hidden) {}
  /// Number of visible units (pixels). Default 784.
  TORCH_ARG(int64_t, visible);
  /// Number of hidden units. Default 256.
  TORCH_ARG(int64_t, hidden);
  /// Standard deviation of the initial weights (biases start at zero). Default 0.01.
  TORCH_ARG(double, init_std) = 0.01;
};

/// What one contrastive-divergence step measured.
struct CdStats {
  torch::Tensor chain;            ///< binary visible state at the end of the negative chain [N, visible]
  double reconstruction_error{};  ///< mean over the batch of sum_i (v0_i - vk_i)^2 (vk: probabilities)
  double free_energy_gap{};       ///< mean F(v0) - mean F(vk): negative once the model fits the data
};

/// Bernoulli RBM. See the file comment.
struct RbmImpl : torch::nn::Module {
  explicit RbmImpl(RbmOptions options = RbmOptions()) : options_(options) {
    TORCH_CHECK(options.visible() > 0 && options.hidden() > 0, "RBM sizes must be positive, got ",
                options.visible(), " x ", options.hidden());
    weight = register_parameter("weight", torch::randn({options.hidden(), options.visible()}) * options.init_std());
    visible_bias = register_parameter("visible_bias", torch::zeros({options.visible()}));
    hidden_bias = register_parameter("hidden_bias", torch::zeros({options.hidden()}));
  }

  const RbmOptions& options() const { return options_; }

  /// Input [N, ...] as [N, visible] (images [N, 1, 28, 28] are flattened); the sizes after the
  /// first must multiply to `visible`.
  torch::Tensor flatten(const torch::Tensor& v) const {
    int64_t per_example = 1;
    for (int64_t d = 1; d < v.dim(); ++d) per_example *= v.size(d);
    TORCH_CHECK(v.dim() >= 2 && per_example == options_.visible(), "RBM input of shape ", v.sizes(),
                " is not [N, ...] with ", options_.visible(), " visible units per example");
    return v.reshape({v.size(0), options_.visible()});
  }

  /// F(v) = -b·v - sum_j softplus(c_j + W_j·v), one value per example: [N].
  torch::Tensor free_energy(const torch::Tensor& v) const {
    torch::Tensor x = flatten(v);
    torch::Tensor pre = torch::addmm(hidden_bias, x, weight.t());  // [N, hidden]
    return -torch::mv(x, visible_bias) - torch::nn::functional::softplus(pre).sum(1);
  }
  /// Same as free_energy.
  torch::Tensor forward(const torch::Tensor& v) const { return free_energy(v); }

  /// p(h = 1 | v) [N, hidden].
  torch::Tensor hidden_probs(const torch::Tensor& v) const {
    return torch::sigmoid(torch::addmm(hidden_bias, flatten(v), weight.t()));
  }
  /// p(v = 1 | h) [N, visible] for hidden states h [N, hidden].
  torch::Tensor visible_probs(const torch::Tensor& h) const { return torch::sigmoid(torch::addmm(visible_bias, h, weight)); }

  /// A binary sample of h ~ p(h | v) [N, hidden] (LibTorch's default generator).
  torch::Tensor sample_h(const torch::Tensor& v) const { return torch::bernoulli(hidden_probs(v)); }
  /// A binary sample of v ~ p(v | h) [N, visible].
  torch::Tensor sample_v(const torch::Tensor& h) const { return torch::bernoulli(visible_probs(h)); }

  /// Runs `steps` >= 1 steps v -> h -> v of block Gibbs sampling from `v` (binary hidden samples,
  /// binary visible samples between steps) and returns the visible probabilities p(v | h) of the
  /// last step, shaped like `v`. No gradient is recorded.
  torch::Tensor gibbs(const torch::Tensor& v, int64_t steps) const {
    TORCH_CHECK(steps >= 1, "gibbs: steps must be >= 1, got ", steps);
    torch::NoGradGuard no_grad;
    torch::Tensor x = flatten(v);
    torch::Tensor pv;
    for (int64_t s = 0; s < steps; ++s) {
      pv = visible_probs(sample_h(x));
      if (s + 1 < steps) x = torch::bernoulli(pv);
    }
    return pv.reshape(v.sizes());
  }

  /// One CD-k estimate (see the file comment) on the batch `data` (values in [0, 1]): writes the
  /// negated estimate into weight/visible_bias/hidden_bias.grad() (replacing what was there) and
  /// returns the statistics. `chain`: if defined, the negative chain starts from this visible
  /// state [N', visible] instead of the data (persistent CD; pass back CdStats::chain each step).
  CdStats contrastive_divergence(const torch::Tensor& data, int64_t k, const torch::Tensor& chain = {}) {
    TORCH_CHECK(k >= 1, "contrastive_divergence: k must be >= 1, got ", k);
    torch::NoGradGuard no_grad;
    torch::Tensor v0 = flatten(data);
    torch::Tensor ph0 = hidden_probs(v0);
    torch::Tensor x = chain.defined() ? flatten(chain) : v0;
    torch::Tensor h = chain.defined() ? sample_h(x) : torch::bernoulli(ph0);
    torch::Tensor vk, phk;
    for (int64_t s = 0; s < k; ++s) {
      vk = visible_probs(h);
      x = torch::bernoulli(vk);
      if (s + 1 < k) {
        h = sample_h(x);
      }
    }
    phk = hidden_probs(vk);
    const double n0 = static_cast<double>(v0.size(0)), nk = static_cast<double>(vk.size(0));
    torch::Tensor dw = torch::mm(ph0.t(), v0) / n0 - torch::mm(phk.t(), vk) / nk;
    torch::Tensor db = v0.mean(0) - vk.mean(0);
    torch::Tensor dc = ph0.mean(0) - phk.mean(0);
    weight.mutable_grad() = -dw;
    visible_bias.mutable_grad() = -db;
    hidden_bias.mutable_grad() = -dc;
    CdStats stats;
    stats.chain = x;
    torch::Tensor recon = chain.defined() ? visible_probs(sample_h(v0)) : vk;
    stats.reconstruction_error = (v0 - recon).pow(2).sum(1).mean().item<double>();
    stats.free_energy_gap = (free_energy(v0).mean() - free_energy(vk).mean()).item<double>();
    return stats;
  }

  torch::Tensor weight;
  torch::Tensor visible_bias;
  torch::Tensor hidden_bias;

 private:
  RbmOptions options_;
};
TORCH_MODULE(Rbm);

}  // namespace nni_models
