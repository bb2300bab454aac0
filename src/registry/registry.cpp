#include "nn_interpretability/registry/registry.h"

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <c10/util/Exception.h>

#include "nn_interpretability/cam/cam.h"
#include "nn_interpretability/gradient/deconvolution.h"
#include "nn_interpretability/cam/grad_cam.h"
#include "nn_interpretability/cam/grad_cam_plus_plus.h"
#include "nn_interpretability/gradient/guided_backprop.h"
#include "nn_interpretability/cam/guided_grad_cam.h"
#include "nn_interpretability/gradient/input_x_gradient.h"
#include "nn_interpretability/gradient/integrated_gradients.h"
#include "nn_interpretability/cam/layer_cam.h"
#include "nn_interpretability/gradient/saliency_map.h"
#include "nn_interpretability/cam/score_cam.h"
#include "nn_interpretability/wrappers/smooth_grad.h"
#include "nn_interpretability/gradient/vanilla_gradient.h"

namespace nn_interpretability {
namespace {

// Applies the optional CAM settings of `config` to a CAM options struct.
template <typename Options>
Options cam_options(Options options, const MethodConfig& config) {
  if (config.upsample()) options.upsample(*config.upsample());
  if (config.relu()) options.relu(*config.relu());
  return options;
}

std::vector<MethodInfo> make_registry() {
  using Make = std::function<std::shared_ptr<Attribution>(const Model&, const MethodConfig&)>;
  std::vector<MethodInfo> list;
  auto add = [&list](const char* name, const char* summary, bool needs_layer, bool layer_map, Make make) {
    list.push_back(MethodInfo{name, summary, needs_layer, layer_map, std::move(make)});
  };
  add("vanilla_gradient", "signed gradient of the target score w.r.t. the input (Simonyan et al. 2014)", false,
      false, [](const Model& model, const MethodConfig&) { return std::make_shared<VanillaGradient>(model); });
  add("saliency", "max over channels of |gradient|, [N, 1, H, W] (Simonyan et al. 2014)", false, false,
      [](const Model& model, const MethodConfig&) { return std::make_shared<SaliencyMap>(model); });
  add("input_x_gradient", "input times gradient (Shrikumar et al. 2016)", false, false,
      [](const Model& model, const MethodConfig&) { return std::make_shared<InputXGradient>(model); });
  add("guided_backprop", "only positive gradients through ReLUs with positive input (Springenberg et al. 2015)",
      false, false,
      [](const Model& model, const MethodConfig&) { return std::make_shared<GuidedBackprop>(model); });
  add("deconvolution", "deconvnet: gradients rectified at every ReLU (Zeiler & Fergus 2014)", false, false,
      [](const Model& model, const MethodConfig&) { return std::make_shared<Deconvolution>(model); });
  add("integrated_gradients", "path integral of gradients from a zero baseline; --steps (Sundararajan et al. 2017)",
      false, false, [](const Model& model, const MethodConfig& config) {
        return std::make_shared<IntegratedGradients>(
            model,
            IntegratedGradientsOptions().steps(config.steps()).internal_batch_size(config.internal_batch_size()));
      });
  add("smoothgrad",
      "any method (--base) averaged over noisy copies; --samples, --noise-level/--stdev, --variant, --seed "
      "(Smilkov et al. 2017)",
      false, false, [](const Model& model, const MethodConfig& config) -> std::shared_ptr<Attribution> {
        TORCH_CHECK_VALUE(config.base() != "smoothgrad", "smoothgrad: the base method cannot be smoothgrad itself");
        std::shared_ptr<Attribution> base = make_method(config.base(), model, config);
        SmoothGradOptions options;
        options.samples(config.samples())
            .noise_level(config.noise_level())
            .variant(config.variant())
            .samples_per_batch(config.samples_per_batch());
        if (config.stdev()) options.stdev(*config.stdev());
        if (config.seed()) options.seed(*config.seed());
        return std::make_shared<SmoothGrad>(std::move(base), options);
      });
  add("cam", "class activation map at a layer feeding global average pooling + linear (Zhou et al. 2016)", true,
      true, [](const Model& model, const MethodConfig& config) {
        return std::make_shared<Cam>(model, cam_options(CamOptions(config.layer()), config));
      });
  add("grad_cam", "layer channels weighted by their mean gradients (Selvaraju et al. 2017)", true, true,
      [](const Model& model, const MethodConfig& config) {
        return std::make_shared<GradCam>(model, cam_options(GradCamOptions(config.layer()), config));
      });
  add("guided_grad_cam", "guided backprop times the upsampled Grad-CAM map (Selvaraju et al. 2017)", true, false,
      [](const Model& model, const MethodConfig& config) {
        return std::make_shared<GuidedGradCam>(model, cam_options(GuidedGradCamOptions(config.layer()), config));
      });
  add("grad_cam_pp", "Grad-CAM++: weights from positive higher-order gradients (Chattopadhyay et al. 2018)", true,
      true, [](const Model& model, const MethodConfig& config) {
        return std::make_shared<GradCamPlusPlus>(model, cam_options(GradCamPlusPlusOptions(config.layer()), config));
      });
  add("score_cam", "channels weighted by the score of the input masked with them, gradient-free (Wang et al. 2020)",
      true, true, [](const Model& model, const MethodConfig& config) {
        return std::make_shared<ScoreCam>(
            model, cam_options(ScoreCamOptions(config.layer()).batch_size(config.score_cam_batch_size()), config));
      });
  add("layer_cam", "activations weighted by their own positive gradients (Jiang et al. 2021)", true, true,
      [](const Model& model, const MethodConfig& config) {
        return std::make_shared<LayerCam>(model, cam_options(LayerCamOptions(config.layer()), config));
      });
  return list;
}

}  // namespace

const std::vector<MethodInfo>& methods() {
  static const std::vector<MethodInfo> registry = make_registry();
  return registry;
}

std::string method_names() {
  std::string names;
  for (const auto& info : methods()) names += (names.empty() ? "" : ", ") + info.name;
  return names;
}

const MethodInfo& method_info(const std::string& name) {
  for (const auto& info : methods())
    if (info.name == name) return info;
  TORCH_CHECK_VALUE(false, "unknown method '", name, "'; valid methods: ", method_names());
  return methods().front();  // unreachable
}

std::shared_ptr<Attribution> make_method(const std::string& name, const Model& model, const MethodConfig& config) {
  const MethodInfo& info = method_info(name);
  TORCH_CHECK_VALUE(!info.needs_layer || !config.layer().empty(), "method '", name,
                    "' needs a layer (MethodConfig::layer, --layer on the command line)");
  return info.make(model, config);
}

}  // namespace nn_interpretability
