// The seed's three visualization techniques, side by side.
//
// What: one MNIST digit and one CIFAR-10 image, explained by the vanilla gradient of the shipped
// models, shown as: the raw (signed) gradient; its absolute value; the absolute value capped at the
// 99th percentile; and the gradient multiplied by the input. As the SmoothGrad paper describes
// (Smilkov et al. 2017, section 3), the absolute value helps on natural images (CIFAR) but loses the
// sign, which carries meaning on MNIST; capping outliers at the 99th percentile keeps a few extreme
// pixels from washing the rest of the map out; multiplying by the input sharpens the map but can
// never show black pixels (input 0), which on MNIST is the whole background.
// Run: nni_visualization_techniques [--data DIR] [--weights DIR] [--out FILE]
//      (defaults: <repo>/data, <repo>/models/weights, visualization_techniques.png)
#include <cstdio>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "models/cifar_cnn.h"
#include "models/mnist_cnn.h"
#include "nn_interpretability/data.h"
#include "nn_interpretability/nn_interpretability.h"
#include "nn_interpretability/visualization.h"

namespace nni = nn_interpretability;
namespace vis = nn_interpretability::visualization;

namespace {

// The four renderings of one gradient, plus the input, as RGB tiles.
std::vector<torch::Tensor> techniques(const torch::Tensor& gradient, const torch::Tensor& image) {
  auto signed_map = [](const torch::Tensor& map) {
    auto options = vis::PostprocessOptions()
                       .channel_reduction(vis::ChannelReduction::Sum)
                       .normalization(vis::Normalization::Symmetric);
    return vis::apply_colormap(vis::postprocess(map, options), vis::Colormap::BlueWhiteRed)[0];
  };
  auto absolute = vis::PostprocessOptions()
                      .channel_reduction(vis::ChannelReduction::AbsMax)
                      .normalization(vis::Normalization::MinMax);
  auto capped = vis::PostprocessOptions(absolute).outlier_cap(vis::OutlierCap::ValuePercentile).percentile(99.0);
  torch::Tensor input_tile = image.size(1) == 1 ? image[0].expand({3, -1, -1}) : image[0];
  return {input_tile, signed_map(gradient),
          vis::apply_colormap(vis::postprocess(gradient, absolute), vis::Colormap::Gray)[0],
          vis::apply_colormap(vis::postprocess(gradient, capped), vis::Colormap::Gray)[0],
          signed_map(vis::multiply_by_input(gradient, image))};
}

}  // namespace

int main(int argc, char** argv) {
  nni::set_threads();  // every available core (or $OMP_NUM_THREADS), one BLAS thread
  std::string data = NNI_SOURCE_DIR "/data", weights = NNI_SOURCE_DIR "/models/weights";
  std::string out = "visualization_techniques.png";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--data") data = argv[i + 1];
    else if (flag == "--weights") weights = argv[i + 1];
    else if (flag == "--out") out = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown argument %s\n", flag.c_str());
      return 2;
    }
  }
  try {
    auto digits = nni::data::load_mnist_json(data + "/mnist", nni::data::Split::kTest, 10);
    torch::Tensor seven = digits.images.index({(digits.labels == 7).nonzero()[0]});
    nni_models::MnistCnn mnist_net;
    torch::load(mnist_net, weights + "/mnist_cnn.pt");
    mnist_net->eval();

    auto cifar = nni::data::load_cifar10(data + "/cifar10", nni::data::Split::kTest, 100);
    torch::Tensor horse = cifar.images.index({(cifar.labels == 7).nonzero()[0]});
    nni_models::CifarCnn cifar_net;
    torch::load(cifar_net, weights + "/cifar_cnn.pt");
    cifar_net->eval();

    std::vector<std::vector<torch::Tensor>> rows{
        techniques(nni::VanillaGradient(mnist_net).attribute(seven, 7), seven),
        techniques(nni::VanillaGradient(cifar_net).attribute(horse, 7), horse)};
    cv::Mat figure = vis::render_grid(
        rows, vis::GridOptions()
                  .tile_size(128)
                  .column_titles({"input", "raw gradient", "absolute value", "abs, capped at 99th pct", "gradient x input"})
                  .row_labels({"MNIST 7", "CIFAR-10 horse"}));
    vis::save_png(out, figure);
    std::printf("wrote %s\n", out.c_str());
  } catch (const std::exception& error) {
    std::fprintf(stderr, "nni_visualization_techniques: %s\n", error.what());
    return 1;
  }
  return 0;
}
