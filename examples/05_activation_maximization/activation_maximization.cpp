// Activation maximization on MNIST: what does the classifier think a "7" looks like?
//
// What: for each of the 10 classes, the image that maximizes the shipped MNIST CNN's class score
// (models/weights/mnist_cnn.pt), found by gradient ascent in five ways — rows of one figure, one
// column per class, the final softmax probability of the class under each tile:
//   1-3. input space (Erhan et al. 2009; Simonyan et al. 2014) with the library's three presets:
//        naive (zeros, no prior), the original project's setting (noise, Adam 5e-3, L2 towards the
//        class mean) and regularized (jitter, blur, total variation, L2; Yosinski et al. 2015);
//   4-6. the code space of a generator trained on MNIST (Nguyen et al. 2016): x = G(z) for the MLP
//        GAN, the DCGAN and the VAE's decoder, with L2 on z;
//   7.   input space with an RBM "expert" prior: maximize score(x) − λ·F(x), F the free energy of the
//        Bernoulli RBM trained with contrastive divergence.
// Then it measures how digit-like each row's prototypes are: the RBM's free energy (lower = more
// probable under the RBM), the distance to the nearest real training digit, and the share of
// prototypes the classifier gives ≥ 0.9; the same numbers for real held-out digits and for noise
// are printed as reference points. All generators and the RBM are trained by
// examples/04_train_generators (docs/models.md).
//
// Run: nni_activation_maximization [--data DIR] [--weights DIR] [--out DIR] [--seed N] [--lambda X]
//                                   [--rbm-steps N] [--rbm-lr X]
//      (defaults: <repo>/data/mnist, <repo>/models/weights, gallery, 0, 0.1, 300, 0.02). scripts/gallery.sh
//      runs it after the explanation gallery; it writes OUT/activation_maximization_mnist.png.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "models/dcgan.h"
#include "models/gan_mlp.h"
#include "models/mnist_cnn.h"
#include "models/rbm.h"
#include "models/vae.h"
#include "nn_interpretability/data.h"
#include "nn_interpretability/nn_interpretability.h"
#include "nn_interpretability/visualization.h"

namespace nni = nn_interpretability;
namespace vis = nn_interpretability::visualization;

namespace {

struct Arguments {
  std::string data = NNI_SOURCE_DIR "/data/mnist";
  std::string weights = NNI_SOURCE_DIR "/models/weights";
  std::string out = "gallery";
  uint64_t seed = 0;
  double lambda = 0.1;
  int64_t rbm_steps = 300;
  double rbm_learning_rate = 0.02;
};

Arguments parse(int argc, char** argv) {
  Arguments arguments;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument("missing value after " + flag);
      return argv[++i];
    };
    if (flag == "--data") arguments.data = value();
    else if (flag == "--weights") arguments.weights = value();
    else if (flag == "--out") arguments.out = value();
    else if (flag == "--seed") arguments.seed = std::stoull(value());
    else if (flag == "--lambda") arguments.lambda = std::stod(value());
    else if (flag == "--rbm-steps") arguments.rbm_steps = std::stoll(value());
    else if (flag == "--rbm-lr") arguments.rbm_learning_rate = std::stod(value());
    else if (flag == "--help" || flag == "-h") {
      std::puts("nni_activation_maximization [--data DIR] [--weights DIR] [--out DIR] [--seed N] [--lambda X]\n"
                "                            [--rbm-steps N] [--rbm-lr X]");
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown argument " + flag + " (try --help)");
    }
  }
  return arguments;
}

template <typename Holder>
Holder load(const std::string& path) {
  if (!std::filesystem::exists(path)) throw std::runtime_error("missing weights file " + path);
  Holder module;
  torch::load(module, path);
  module->eval();
  return module;
}

// A progress line per row, rewritten in place.
nni::ActivationMaximizationCallback progress_line(const std::string& row, int64_t iterations) {
  return [row, iterations](const nni::ActivationMaximizationProgress& p) {
    std::string probabilities;
    if (p.probabilities.defined()) {
      probabilities = ", mean p " + std::to_string(p.probabilities.mean().item<double>()).substr(0, 5);
    }
    std::printf("\r  %-28s step %4lld/%lld  mean objective %8.3f%s   ", row.c_str(), static_cast<long long>(p.iteration),
                static_cast<long long>(iterations), p.mean_objective, probabilities.c_str());
    std::fflush(stdout);
  };
}

struct Row {
  std::string label;
  torch::Tensor images;         // [10, 1, 28, 28] in [0, 1]
  torch::Tensor probabilities;  // [10]
  double seconds = 0;
};

// How digit-like a batch of images is: RBM free energy, distance to the nearest training digit,
// share of confident classifications of the intended class.
struct Quality {
  double free_energy = 0, nearest_distance = 0, confident = 0;
};

Quality measure(const torch::Tensor& images, const torch::Tensor& probabilities, nni_models::Rbm& rbm,
                const torch::Tensor& train_flat) {
  torch::NoGradGuard no_grad;
  Quality q;
  q.free_energy = rbm->free_energy(images).mean().item<double>();
  q.nearest_distance = torch::cdist(images.reshape({images.size(0), -1}), train_flat).amin(1).mean().item<double>();
  q.confident = (probabilities >= 0.9).to(torch::kDouble).mean().item<double>();
  return q;
}

}  // namespace

int main(int argc, char** argv) {
  nni::set_threads();  // every available core (or $OMP_NUM_THREADS), one BLAS thread
  try {
    const Arguments arguments = parse(argc, argv);
    std::filesystem::create_directories(arguments.out);
    torch::manual_seed(static_cast<int64_t>(arguments.seed));

    auto classifier = load<nni_models::MnistCnn>(arguments.weights + "/mnist_cnn.pt");
    auto gan = load<nni_models::MlpGenerator>(arguments.weights + "/gan_mlp_mnist.pt");
    auto dcgan = load<nni_models::DcganGenerator>(arguments.weights + "/dcgan_mnist.pt");
    auto vae = load<nni_models::Vae>(arguments.weights + "/vae_mnist.pt");
    auto rbm = load<nni_models::Rbm>(arguments.weights + "/rbm_mnist.pt");
    const nni::Model model(classifier);

    const auto train = nni::data::load_mnist_json(arguments.data, nni::data::Split::kTrain);
    const auto test = nni::data::load_mnist_json(arguments.data, nni::data::Split::kTest);
    std::vector<torch::Tensor> means;
    for (int64_t c = 0; c < 10; ++c) means.push_back(train.images.index({train.labels == c}).mean(0));
    const torch::Tensor class_means = torch::stack(means);  // [10, 1, 28, 28]
    const torch::Tensor train_flat = train.images.reshape({train.size(), -1});
    const torch::Tensor classes = torch::arange(10);
    const auto objective = nni::Objective::class_logit(classes);
    std::printf("Activation maximization of the MNIST CNN, all 10 classes in one batch per row (seed %llu)\n",
                static_cast<unsigned long long>(arguments.seed));

    std::vector<Row> rows;
    auto run = [&](const std::string& label, nni::ActivationMaximizationOptions options,
                   const std::vector<int64_t>& shape) {
      options.seed(arguments.seed);
      options.optimizer().progress(progress_line(label, options.optimizer().iterations())).progress_every(10);
      const auto start = std::chrono::steady_clock::now();
      auto result = nni::ActivationMaximization(model, options).maximize(objective, shape);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("\r  %-28s %4lld steps, %5.1f s, mean p %.3f%30s\n", label.c_str(),
                  static_cast<long long>(result.iterations_run), seconds, result.probabilities.mean().item<double>(), "");
      rows.push_back({label, result.images.clamp(0, 1), result.probabilities, seconds});
    };
    const std::vector<int64_t> image_shape{10, 1, 28, 28};

    run("input: naive", nni::activation_maximization_presets::naive(), image_shape);
    run("input: original", nni::activation_maximization_presets::original(class_means), image_shape);
    run("input: regularized", nni::activation_maximization_presets::regularized(), image_shape);

    // Code space: start from the same random code for every class, small L2 on z; the generators
    // end in a Sigmoid, so G(z) is always in the classifier's [0, 1] input range.
    auto code_space = [&](const std::string& label, const nni::Model& generator, int64_t latent) {
      auto options = nni::ActivationMaximizationOptions()
                         .parameterization(nni::ParameterizationOptions()
                                               .generator(generator)
                                               .latent_shape({latent})
                                               .start_code(torch::randn({1, latent}, torch::TensorOptions().dtype(torch::kFloat))
                                                               .expand({10, latent})
                                                               .contiguous()))
                         .penalties(nni::PenaltyOptions().latent_l2_weight(0.05))
                         .optimizer(nni::OptimizerOptions().iterations(200).learning_rate(0.05));
      run(label, options, {10, latent});
    };
    torch::manual_seed(static_cast<int64_t>(arguments.seed) + 1);
    code_space("GAN (MLP) code space", nni::Model(gan), nni_models::MlpGeneratorImpl::kLatentDim);
    code_space("DCGAN code space", nni::Model(dcgan), nni_models::DcganGeneratorImpl::kLatentDim);
    code_space("VAE code space", nni::Model(vae->decoder), nni_models::VaeImpl::kLatentDim);

    // The RBM as an expert: score(x) − λ·F(x), from the same noise start as the presets.
    auto rbm_options =
        nni::ActivationMaximizationOptions()
            .penalties(nni::PenaltyOptions()
                           .energy([&rbm](const torch::Tensor& x) { return rbm->free_energy(x); })
                           .energy_weight(arguments.lambda))
            .optimizer(nni::OptimizerOptions().iterations(arguments.rbm_steps).learning_rate(arguments.rbm_learning_rate));
    run("input + RBM prior (lambda " + std::to_string(arguments.lambda).substr(0, 4) + ")", rbm_options, image_shape);

    // The figure: one row per way, one column per class, probability under each tile.
    std::vector<std::vector<torch::Tensor>> tiles;
    std::vector<std::vector<std::string>> captions;
    std::vector<std::string> labels, titles;
    for (int c = 0; c < 10; ++c) titles.push_back(std::to_string(c));
    for (const Row& row : rows) {
      std::vector<torch::Tensor> tile_row;
      std::vector<std::string> caption_row;
      for (int64_t c = 0; c < 10; ++c) {
        tile_row.push_back(row.images[c]);
        char text[32];
        std::snprintf(text, sizeof text, "p=%.2f", row.probabilities[c].item<double>());
        caption_row.push_back(text);
      }
      tiles.push_back(tile_row);
      captions.push_back(caption_row);
      labels.push_back(row.label);
    }
    const std::string path = arguments.out + "/activation_maximization_mnist.png";
    vis::save_png(path, vis::render_grid(tiles, vis::GridOptions()
                                                    .tile_size(84)
                                                    .column_titles(titles)
                                                    .row_labels(labels)
                                                    .tile_captions(captions)));
    std::printf("wrote %s\n", path.c_str());

    // How digit-like is each row? Reference points first.
    std::puts("\nHow digit-like are the prototypes (lower free energy and distance = more like real digits):");
    std::printf("  %-32s %14s %22s %14s %8s\n", "images", "RBM F(x) mean", "L2 to nearest train", "p >= 0.9", "time s");
    const torch::Tensor held_out = test.images.slice(0, 0, 500);
    torch::Tensor held_out_p;
    {
      torch::NoGradGuard no_grad;
      held_out_p = torch::softmax(classifier->forward(held_out), 1).gather(1, test.labels.slice(0, 0, 500).unsqueeze(1)).squeeze(1);
    }
    const Quality real = measure(held_out, held_out_p, rbm, train_flat);
    std::printf("  %-32s %14.1f %22.2f %13.0f%% %8s\n", "real held-out digits (500)", real.free_energy,
                real.nearest_distance, 100 * real.confident, "-");
    const torch::Tensor noise = torch::rand({10, 1, 28, 28});
    const Quality random = measure(noise, torch::zeros({10}), rbm, train_flat);
    std::printf("  %-32s %14.1f %22.2f %14s %8s\n", "uniform noise (10)", random.free_energy, random.nearest_distance,
                "-", "-");
    for (const Row& row : rows) {
      const Quality q = measure(row.images, row.probabilities, rbm, train_flat);
      std::printf("  %-32s %14.1f %22.2f %13.0f%% %8.1f\n", row.label.c_str(), q.free_energy, q.nearest_distance,
                  100 * q.confident, row.seconds);
    }
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "\nnni_activation_maximization: %s\n", error.what());
    return 1;
  }
}
