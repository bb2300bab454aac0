// The generative models of models/ (gan_mlp.h, dcgan.h, vae.h, rbm.h) and their shipped weights:
// the files load into their classes, every generator maps codes to images [N, 1, 28, 28] in
// [0, 1], the shipped MNIST classifier recognizes most samples of the shipped generators with
// confidence and over most classes, and the RBM's free energy and contrastive divergence agree
// with values and gradients computed by hand (exactly, by enumerating a tiny RBM's states).
//
// The thresholds are a little below what was measured on the shipped weights (docs/models.md,
// "Generative models"); the numbers are in the comments.

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "support/catch_torch.h"
#include <nn_interpretability/data.h>
#include <torch/nn/functional/activation.h>
#include <torch/optim/sgd.h>
#include <torch/serialize.h>
#include <torch/types.h>
#include <torch/utils.h>

#include "models/dcgan.h"
#include "models/gan_mlp.h"
#include "models/mnist_cnn.h"
#include "models/rbm.h"
#include "models/vae.h"

namespace nd = nn_interpretability::data;

namespace {

std::string source_path(const std::string& relative) { return std::string(NNI_SOURCE_DIR) + "/" + relative; }

nd::LabeledImages mnist_sample() {
  static const nd::LabeledImages sample =
      nd::read_idx(source_path("tests/models/fixtures/mnist_test_500-images-idx3-ubyte.gz"),
                   source_path("tests/models/fixtures/mnist_test_500-labels-idx1-ubyte.gz"));
  return sample;
}

nni_models::MnistCnn classifier() {
  nni_models::MnistCnn net;
  torch::load(net, source_path("models/weights/mnist_cnn.pt"));
  net->eval();
  return net;
}

struct Confidence {
  double fraction = 0;  // of the samples classified with probability >= 0.9
  int64_t classes = 0;  // classes holding at least 1% of the confident samples
};

Confidence confidence(const torch::Tensor& images) {
  static nni_models::MnistCnn net = classifier();
  torch::NoGradGuard no_grad;
  auto [p, cls] = torch::softmax(net->forward(images), 1).max(1);
  torch::Tensor ok = p >= 0.9;
  torch::Tensor hist = torch::bincount(cls.masked_select(ok), {}, 10);
  Confidence c;
  c.fraction = ok.to(torch::kDouble).mean().item<double>();
  c.classes = (hist.to(torch::kDouble) >= 0.01 * static_cast<double>(ok.sum().item<int64_t>())).sum().item<int64_t>();
  return c;
}

void check_image_batch(const torch::Tensor& images, int64_t n) {
  CHECK(images.sizes() == torch::IntArrayRef({n, 1, 28, 28}));
  CHECK(images.scalar_type() == torch::kFloat);
  CHECK(images.min().item<float>() >= 0.0f);
  CHECK(images.max().item<float>() <= 1.0f);
  CHECK(torch::isfinite(images).all().item<bool>());
}

template <typename Net>
Net load_eval(const std::string& weights) {
  Net net;
  torch::load(net, source_path(weights));
  net->eval();
  return net;
}

/// The exact gradient of the mean log-likelihood of binary `data` [N, V] under a small RBM, by
/// enumerating the 2^V visible states: E_data[p(h|v) vᵀ] - E_model[p(h|v) vᵀ] and so on.
struct ExactGradient {
  torch::Tensor w, b, c;
  double log_likelihood = 0;
};

ExactGradient exact_gradient(nni_models::Rbm& rbm, const torch::Tensor& data) {
  torch::NoGradGuard no_grad;
  const int64_t v = rbm->options().visible();
  torch::Tensor states = torch::zeros({int64_t{1} << v, v});
  for (int64_t s = 0; s < (int64_t{1} << v); ++s)
    for (int64_t i = 0; i < v; ++i) states[s][i] = static_cast<float>((s >> i) & 1);
  torch::Tensor neg_f = -rbm->free_energy(states).to(torch::kDouble);
  torch::Tensor log_z = torch::logsumexp(neg_f, 0);
  torch::Tensor p_model = torch::exp(neg_f - log_z).to(torch::kFloat);  // [2^V]
  torch::Tensor ph_model = rbm->hidden_probs(states), ph_data = rbm->hidden_probs(data);
  ExactGradient g;
  g.w = torch::mm(ph_data.t(), data) / static_cast<double>(data.size(0)) -
        torch::mm((ph_model * p_model.unsqueeze(1)).t(), states);
  g.b = data.mean(0) - torch::mv(states.t(), p_model);
  g.c = ph_data.mean(0) - torch::mv(ph_model.t(), p_model);
  g.log_likelihood = (-rbm->free_energy(data).to(torch::kDouble).mean() - log_z).item<double>();
  return g;
}

double cosine(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  torch::Tensor x = torch::cat({a[0].flatten(), a[1].flatten(), a[2].flatten()});
  torch::Tensor y = torch::cat({b[0].flatten(), b[1].flatten(), b[2].flatten()});
  return (torch::dot(x, y) / (x.norm() * y.norm())).item<double>();
}

/// A tiny RBM (4 visible, 3 hidden) with seeded random parameters, and 4 binary training patterns.
nni_models::Rbm tiny_rbm() {
  torch::manual_seed(7);
  nni_models::Rbm rbm(nni_models::RbmOptions(4, 3).init_std(0.5));
  torch::NoGradGuard no_grad;
  rbm->visible_bias.copy_(torch::randn({4}) * 0.3);
  rbm->hidden_bias.copy_(torch::randn({3}) * 0.3);
  return rbm;
}

torch::Tensor tiny_data() { return torch::tensor({1.f, 1.f, 0.f, 0.f, 1.f, 1.f, 1.f, 0.f, 0.f, 0.f, 1.f, 1.f, 0.f, 1.f, 1.f, 1.f}).reshape({4, 4}); }

}  // namespace

TEST_CASE("Each shipped generative weight file loads into its class and is at most 3 MB", "[generative]") {
  for (const char* file : {"gan_mlp_mnist.pt", "dcgan_mnist.pt", "vae_mnist.pt", "rbm_mnist.pt"})
    CHECK(std::filesystem::file_size(source_path(std::string("models/weights/") + file)) <= 3u * 1024u * 1024u);
  CHECK_NOTHROW(load_eval<nni_models::MlpGenerator>("models/weights/gan_mlp_mnist.pt"));
  CHECK_NOTHROW(load_eval<nni_models::DcganGenerator>("models/weights/dcgan_mnist.pt"));
  CHECK_NOTHROW(load_eval<nni_models::Vae>("models/weights/vae_mnist.pt"));
  CHECK_NOTHROW(load_eval<nni_models::Rbm>("models/weights/rbm_mnist.pt"));
}

TEST_CASE("Every generator maps random codes to images [N, 1, 28, 28] in [0, 1]", "[generative]") {
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  // Fresh (untrained) modules, in train and eval mode, and far-out codes.
  nni_models::MlpGenerator gan;
  nni_models::DcganGenerator dcgan;
  nni_models::Vae vae;
  check_image_batch(gan->forward(torch::randn({5, nni_models::MlpGeneratorImpl::kLatentDim})), 5);
  check_image_batch(dcgan->forward(torch::randn({5, nni_models::DcganGeneratorImpl::kLatentDim})), 5);
  check_image_batch(vae->decode(torch::randn({5, nni_models::VaeImpl::kLatentDim})), 5);
  gan->eval();
  dcgan->eval();
  check_image_batch(gan->forward(10 * torch::randn({3, nni_models::MlpGeneratorImpl::kLatentDim})), 3);
  check_image_batch(dcgan->forward(10 * torch::randn({3, nni_models::DcganGeneratorImpl::kLatentDim})), 3);
  // The shipped weights.
  auto shipped_gan = load_eval<nni_models::MlpGenerator>("models/weights/gan_mlp_mnist.pt");
  auto shipped_dcgan = load_eval<nni_models::DcganGenerator>("models/weights/dcgan_mnist.pt");
  auto shipped_vae = load_eval<nni_models::Vae>("models/weights/vae_mnist.pt");
  check_image_batch(shipped_gan->forward(nni_models::MlpGeneratorImpl::sample_latent(7, 1)), 7);
  check_image_batch(shipped_dcgan->forward(nni_models::DcganGeneratorImpl::sample_latent(7, 1)), 7);
  check_image_batch(shipped_vae->decode(nni_models::VaeImpl::sample_latent(7, 1)), 7);
  // The VAE's forward: reconstruction and posterior of the right shapes; a finite loss per image.
  auto out = shipped_vae->forward(mnist_sample().images.narrow(0, 0, 6));
  check_image_batch(out.reconstruction, 6);
  CHECK(out.mu.sizes() == torch::IntArrayRef({6, nni_models::VaeImpl::kLatentDim}));
  CHECK(out.logvar.sizes() == torch::IntArrayRef({6, nni_models::VaeImpl::kLatentDim}));
  torch::Tensor loss = nni_models::VaeImpl::loss(out, mnist_sample().images.narrow(0, 0, 6));
  CHECK(loss.sizes() == torch::IntArrayRef({6}));
  CHECK(torch::isfinite(loss).all().item<bool>());
  // The RBM's Gibbs chain returns visible probabilities shaped like its input.
  auto rbm = load_eval<nni_models::Rbm>("models/weights/rbm_mnist.pt");
  check_image_batch(rbm->gibbs(torch::rand({4, 1, 28, 28}), 5), 4);
}

TEST_CASE("sample_latent is reproducible and standard normal", "[generative]") {
  torch::Tensor a = nni_models::MlpGeneratorImpl::sample_latent(2000, 5);
  CHECK(torch::equal(a, nni_models::MlpGeneratorImpl::sample_latent(2000, 5)));
  CHECK_FALSE(torch::equal(a, nni_models::MlpGeneratorImpl::sample_latent(2000, 6)));
  CHECK(a.sizes() == torch::IntArrayRef({2000, 64}));
  CHECK(std::abs(a.mean().item<double>()) < 0.01);
  CHECK(std::abs(a.std().item<double>() - 1.0) < 0.01);
  CHECK(nni_models::VaeImpl::sample_latent(3, 1).sizes() == torch::IntArrayRef({3, 16}));
  CHECK(nni_models::DcganGeneratorImpl::sample_latent(3, 1).sizes() == torch::IntArrayRef({3, 64}));
}

TEST_CASE("The MNIST classifier recognizes most samples of the shipped generators, over most classes", "[generative]") {
  torch::NoGradGuard no_grad;
  const int64_t n = 500;
  SECTION("MLP GAN") {
    auto g = load_eval<nni_models::MlpGenerator>("models/weights/gan_mlp_mnist.pt");
    Confidence c = confidence(g->forward(nni_models::MlpGeneratorImpl::sample_latent(n, 2024)));
    CHECK(c.fraction >= 0.65);  // measured 76.0% (1,000 samples, seed 12345), 10 classes
    CHECK(c.classes >= 8);
  }
  SECTION("DCGAN") {
    auto g = load_eval<nni_models::DcganGenerator>("models/weights/dcgan_mnist.pt");
    Confidence c = confidence(g->forward(nni_models::DcganGeneratorImpl::sample_latent(n, 2024)));
    CHECK(c.fraction >= 0.55);  // measured 67.3%, 10 classes
    CHECK(c.classes >= 8);
  }
  SECTION("VAE") {
    auto vae = load_eval<nni_models::Vae>("models/weights/vae_mnist.pt");
    Confidence c = confidence(vae->decode(nni_models::VaeImpl::sample_latent(n, 2024)));
    CHECK(c.fraction >= 0.38);  // measured 47.3%, 10 classes (VAE samples are blurred)
    CHECK(c.classes >= 8);
  }
}

TEST_CASE("RBM free energy equals -b.v - sum softplus(c + W v), computed by hand", "[rbm]") {
  nni_models::Rbm rbm(nni_models::RbmOptions(2, 2));
  {
    torch::NoGradGuard no_grad;
    rbm->weight.copy_(torch::tensor({1.0f, -2.0f, 0.5f, 0.25f}).reshape({2, 2}));
    rbm->visible_bias.copy_(torch::tensor({0.5f, -1.0f}));
    rbm->hidden_bias.copy_(torch::tensor({0.25f, -0.5f}));
  }
  // v = (1, 0.5): -b.v = 0; c + W v = (0.25, 0.125); F = -softplus(0.25) - softplus(0.125).
  // v = (0, 1):   -b.v = 1; c + W v = (-1.75, -0.25); F = 1 - softplus(-1.75) - softplus(-0.25).
  torch::Tensor v = torch::tensor({1.0f, 0.5f, 0.0f, 1.0f}).reshape({2, 2});
  torch::Tensor f = rbm->free_energy(v);
  REQUIRE(f.sizes() == torch::IntArrayRef({2}));
  CHECK(f[0].item<double>() == Approx(-1.5835384551960128).epsilon(1e-6));
  CHECK(f[1].item<double>() == Approx(0.2638364296830692).epsilon(1e-6));
  // forward is the free energy; dF/dv = -b - Wᵀ sigmoid(c + W v) (what activation maximization uses).
  torch::Tensor x = v.clone().requires_grad_(true);
  rbm->forward(x).sum().backward();
  torch::NoGradGuard no_grad;
  torch::Tensor expected = -rbm->visible_bias - torch::mm(torch::sigmoid(torch::addmm(rbm->hidden_bias, v, rbm->weight.t())), rbm->weight);
  CHECK(torch::allclose(x.grad(), expected, 1e-5, 1e-6));
  // Images [N, 1, 28, 28] are flattened; a wrong width is an error.
  CHECK_THROWS(rbm->free_energy(torch::zeros({2, 3})));
}

TEST_CASE("The shipped RBM gives held-out digits a lower free energy than noise", "[rbm]") {
  auto rbm = load_eval<nni_models::Rbm>("models/weights/rbm_mnist.pt");
  torch::NoGradGuard no_grad;
  torch::manual_seed(11);
  torch::Tensor digits = rbm->free_energy(mnist_sample().images);
  torch::Tensor noise = rbm->free_energy(torch::rand({500, 1, 28, 28}));
  CHECK(digits.sizes() == torch::IntArrayRef({500}));
  // Measured on all 1,996 held-out digits: mean -22.6; on uniform noise: 1,446.
  CHECK(digits.mean().item<double>() < noise.mean().item<double>() - 100.0);
  CHECK(digits.max().item<double>() < noise.min().item<double>());
}

TEST_CASE("Contrastive divergence estimates the exact log-likelihood gradient of a tiny RBM", "[rbm]") {
  nni_models::Rbm rbm = tiny_rbm();
  torch::Tensor data = tiny_data();
  ExactGradient exact = exact_gradient(rbm, data);
  // Long chains (k = 30) from many copies of the data: the CD estimate approaches the gradient.
  torch::manual_seed(1);
  nni_models::CdStats stats = rbm->contrastive_divergence(data.repeat({2000, 1}), 30);
  CHECK(stats.chain.sizes() == torch::IntArrayRef({8000, 4}));
  std::vector<torch::Tensor> estimate = {-rbm->weight.grad(), -rbm->visible_bias.grad(), -rbm->hidden_bias.grad()};
  CHECK(cosine(estimate, {exact.w, exact.b, exact.c}) > 0.95);
  // CD-1 is biased but, on this tiny model, still points nearly the same way.
  nni_models::CdStats stats1 = rbm->contrastive_divergence(data.repeat({2000, 1}), 1);
  std::vector<torch::Tensor> estimate1 = {-rbm->weight.grad(), -rbm->visible_bias.grad(), -rbm->hidden_bias.grad()};
  CHECK(cosine(estimate1, {exact.w, exact.b, exact.c}) > 0.8);  // measured 0.99
  CHECK(stats1.reconstruction_error >= 0.0);
  // One SGD step on the CD-1 estimate moves the parameters along the exact gradient.
  torch::Tensor w0 = rbm->weight.detach().clone();
  torch::optim::SGD opt(rbm->parameters(), torch::optim::SGDOptions(0.1));
  opt.step();
  CHECK(torch::sum((rbm->weight.detach() - w0) * exact.w).item<double>() > 0.0);
}

TEST_CASE("CD-1 and persistent CD training raise a tiny RBM's exact log-likelihood", "[rbm]") {
  for (bool persistent : {false, true}) {
    nni_models::Rbm rbm = tiny_rbm();
    torch::Tensor data = tiny_data().repeat({16, 1});
    const double before = exact_gradient(rbm, data).log_likelihood;
    torch::optim::SGD opt(rbm->parameters(), torch::optim::SGDOptions(0.1).momentum(0.5));
    torch::manual_seed(2);
    torch::Tensor chain = persistent ? torch::bernoulli(torch::full({64, 4}, 0.5)) : torch::Tensor();
    for (int step = 0; step < 300; ++step) {
      nni_models::CdStats stats = rbm->contrastive_divergence(data, 1, chain);
      if (persistent) chain = stats.chain;
      opt.step();
    }
    const double after = exact_gradient(rbm, data).log_likelihood;
    INFO("persistent " << persistent << ": log-likelihood " << before << " -> " << after);
    CHECK(after > before + 1.0);
  }
}

TEST_CASE("RBM parameters are registered and survive save and load", "[rbm]") {
  nni_models::Rbm a = tiny_rbm();
  auto names = a->named_parameters();
  CHECK(names.contains("weight"));
  CHECK(names.contains("visible_bias"));
  CHECK(names.contains("hidden_bias"));
  const std::string path = (std::filesystem::temp_directory_path() / "nni_generative_rbm_test.pt").string();
  torch::save(a, path);
  nni_models::Rbm b(nni_models::RbmOptions(4, 3));
  torch::load(b, path);
  std::filesystem::remove(path);
  CHECK(torch::equal(a->weight, b->weight));
  CHECK(torch::equal(a->visible_bias, b->visible_bias));
  CHECK(torch::equal(a->hidden_bias, b->hidden_bias));
  // sample_h / sample_v draw binary states of the right sizes.
  torch::Tensor h = b->sample_h(tiny_data());
  torch::Tensor v = b->sample_v(h);
  CHECK(h.sizes() == torch::IntArrayRef({4, 3}));
  CHECK(v.sizes() == torch::IntArrayRef({4, 4}));
  CHECK(torch::logical_or(h == 0, h == 1).all().item<bool>());
  CHECK(torch::logical_or(v == 0, v == 1).all().item<bool>());
}
