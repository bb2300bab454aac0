// The registry: one registration entry per method (its schema and its factory), and the checks of a
// MethodConfig against a schema.
#include "nn_interpretability/registry/registry.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <c10/util/Exception.h>

#include "nn_interpretability/cam/ablation_cam.h"
#include "nn_interpretability/cam/cam.h"
#include "nn_interpretability/cam/eigen_cam.h"
#include "nn_interpretability/cam/eigen_grad_cam.h"
#include "nn_interpretability/cam/grad_cam.h"
#include "nn_interpretability/cam/grad_cam_elementwise.h"
#include "nn_interpretability/cam/grad_cam_plus_plus.h"
#include "nn_interpretability/cam/guided_grad_cam.h"
#include "nn_interpretability/attention/attention_rollout.h"
#include "nn_interpretability/attention/gradient_attention_rollout.h"
#include "nn_interpretability/cam/full_grad.h"
#include "nn_interpretability/cam/hires_cam.h"
#include "nn_interpretability/cam/layer_cam.h"
#include "nn_interpretability/cam/score_cam.h"
#include "nn_interpretability/cam/xgrad_cam.h"
#include "nn_interpretability/core/rows_per_call.h"
#include "nn_interpretability/gradient/deconvolution.h"
#include "nn_interpretability/gradient/gradient_shap.h"
#include "nn_interpretability/relevance/deep_lift.h"
#include "nn_interpretability/relevance/deep_lift_shap.h"
#include "nn_interpretability/relevance/lrp.h"
#include "nn_interpretability/gradient/guided_backprop.h"
#include "nn_interpretability/gradient/input_x_gradient.h"
#include "nn_interpretability/gradient/integrated_gradients.h"
#include "nn_interpretability/gradient/saliency_map.h"
#include "nn_interpretability/gradient/vanilla_gradient.h"
#include "nn_interpretability/io/npy.h"
#include "nn_interpretability/perturbation/feature_ablation.h"
#include "nn_interpretability/perturbation/feature_permutation.h"
#include "nn_interpretability/perturbation/kernel_shap.h"
#include "nn_interpretability/perturbation/lime.h"
#include "nn_interpretability/perturbation/rise.h"
#include "nn_interpretability/perturbation/occlusion.h"
#include "nn_interpretability/perturbation/shapley_value_sampling.h"
#include "nn_interpretability/wrappers/smooth_grad.h"

namespace nn_interpretability {

const OptionSchema* MethodInfo::option(const std::string& option_name) const {
  for (const auto& item : options)
    if (item.name == option_name) return &item;
  return nullptr;
}

namespace {

// ------------------------------------------------------------------ building schemas

OptionSchema option_of(std::string name, OptionType type, std::string default_value, std::string help) {
  OptionSchema option;
  option.name = std::move(name);
  option.type = type;
  option.default_value = std::move(default_value);
  option.help = std::move(help);
  return option;
}

OptionSchema flag(std::string name, bool default_value, std::string help) {
  return option_of(std::move(name), OptionType::kBool, default_value ? "on" : "off", std::move(help));
}

OptionSchema integer(std::string name, std::string default_value, std::string help, std::optional<double> minimum,
                     std::optional<double> maximum = std::nullopt) {
  OptionSchema option = option_of(std::move(name), OptionType::kInt, std::move(default_value), std::move(help));
  option.minimum = minimum;
  option.maximum = maximum;
  return option;
}

OptionSchema real(std::string name, std::string default_value, std::string help, double minimum,
                  std::string excludes) {
  OptionSchema option = option_of(std::move(name), OptionType::kDouble, std::move(default_value), std::move(help));
  option.minimum = minimum;
  option.excludes = std::move(excludes);
  return option;
}

OptionSchema choice(std::string name, std::string default_value, std::string help, std::vector<std::string> choices) {
  OptionSchema option = option_of(std::move(name), OptionType::kChoice, std::move(default_value), std::move(help));
  option.choices = std::move(choices);
  return option;
}

// ------------------------------------------------------------------ option groups shared by methods

/// --baselines: a number (a constant tensor of `shape`) or a .npy file of baseline rows.
torch::Tensor number_or_npy(const std::string& text, std::vector<int64_t> shape) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (!text.empty() && end == text.c_str() + text.size()) return torch::full(shape, value, torch::kDouble);
  return read_npy(text);
}

const char* upsample_name(Upsample mode) {
  switch (mode) {
    case Upsample::kNone: return "none";
    case Upsample::kBilinear: return "bilinear";
    case Upsample::kNearest: return "nearest";
    case Upsample::kBicubic: return "bicubic";
  }
  return "none";
}

Upsample parse_upsample(const std::string& name) {
  if (name == "bilinear") return Upsample::kBilinear;
  if (name == "nearest") return Upsample::kNearest;
  if (name == "bicubic") return Upsample::kBicubic;
  return Upsample::kNone;  // "none"; other words were refused by the schema check
}

/// Which of the shared CAM options a method has beyond layer, relu, upsample and reshape.
struct CamFeatures {
  bool several_layers = true;  ///< a comma-separated list of layers, fused
  bool eigen_smooth = true;
  bool aug_smooth = true;
};

/// The CAM options shared by the family, with the defaults of the method's options struct.
template <typename Options>
std::vector<OptionSchema> cam_options_schema(const Options& defaults, CamFeatures features = {}) {
  OptionSchema layer = option_of("layer", OptionType::kString, "",
                                 features.several_layers
                                     ? "the layer explained (CAM family; several, comma-separated, are fused); see "
                                       "`nni layers`"
                                     : "the layer explained (CAM family); see `nni layers`");
  layer.required = true;
  std::vector<OptionSchema> schema = {
      layer, flag("relu", defaults.relu(), "the ReLU on the map (CAM family)"),
      choice("upsample", upsample_name(defaults.upsample()), "resize the map to the input's size (CAM family)",
             {"none", "bilinear", "nearest", "bicubic"}),
      option_of("reshape", OptionType::kString, "none",
                "how the layer's output becomes [N, C, h, w]: none, vit (tokens, class token first), "
                "tokens:<prefix>[:<h>x<w>], swin (channels last) (CAM family)")};
  if (features.eigen_smooth)
    schema.push_back(flag("eigen_smooth", false, "the first principal component of the weighted activations (CAM family)"));
  if (features.aug_smooth)
    schema.push_back(flag("aug_smooth", false, "average over flipped and brightness-scaled inputs (CAM family)"));
  return schema;
}

std::vector<std::string> split_layers(const std::string& text) {
  std::vector<std::string> layers;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    layers.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return layers;
}

/// A CAM options struct from a config: the layer(s) and the shared CAM options.
template <typename Options>
Options cam_options(const MethodConfig& config) {
  const std::vector<std::string> layers = split_layers(config.layer());
  Options options(layers.front());
  if (layers.size() > 1) options.layers(layers);
  if (auto relu = config.get_bool("relu")) options.relu(*relu);
  if (auto upsample = config.get_string("upsample")) options.upsample(parse_upsample(*upsample));
  if (auto reshape = config.get_string("reshape")) options.reshape(LayerReshape::parse(*reshape));
  if (auto eigen = config.get_bool("eigen_smooth")) options.eigen_smooth(*eigen);
  if (auto aug = config.get_bool("aug_smooth")) options.aug_smooth(*aug);
  return options;
}

OptionSchema rows_per_call_schema(const std::string& default_value) {
  return integer("rows_per_call", default_value,
                 "input rows per forward/backward call (0 = all at once, -1 = automatic: ~320 rows within 16 MiB)",
                 -1.0);
}

// ------------------------------------------------------------------ the registrations

using Make = std::function<std::shared_ptr<Attribution>(const Model&, const MethodConfig&)>;

/// A method with no options.
template <typename Method>
Make plain() {
  return [](const Model& model, const MethodConfig&) { return std::make_shared<Method>(model); };
}

/// A CAM method whose options struct is built from the layer and the CAM options.
template <typename Method, typename Options>
Make cam() {
  return [](const Model& model, const MethodConfig& config) {
    return std::make_shared<Method>(model, cam_options<Options>(config));
  };
}

/// An EigenCAM-style method: the CAM options and `center`.
template <typename Method, typename Options>
Make eigen_cam() {
  return [](const Model& model, const MethodConfig& config) {
    Options options = cam_options<Options>(config);
    if (auto center = config.get_bool("center")) options.center(*center);
    return std::make_shared<Method>(model, options);
  };
}

/// A CAM method that runs perturbed forward passes: the CAM options, rows_per_call.
template <typename Method, typename Options>
Make perturbing_cam() {
  return [](const Model& model, const MethodConfig& config) {
    Options options = cam_options<Options>(config);
    if (auto rows = config.get_int("rows_per_call")) options.rows_per_call(*rows);
    return std::make_shared<Method>(model, options);
  };
}

/// A comma-separated list of integers ("1,8,8"); the option's name in the message.
std::vector<int64_t> integer_list(const std::string& text, const char* option) {
  std::vector<int64_t> values;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    size_t used = 0;
    int64_t value = 0;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    TORCH_CHECK_VALUE(!item.empty() && used == item.size(), "option '", option, "' takes integers separated by commas (",
                      "e.g. 1,8,8), got '", text, "'");
    values.push_back(value);
    start = comma + 1;
  }
  return values;
}

/// The options every perturbation method shares, in its schema.
std::vector<OptionSchema> perturbation_schema(const char* method, const std::string& features_default, bool features = true) {
  std::vector<OptionSchema> schema = {
      option_of("baseline", OptionType::kString, "0",
                "perturbation: what removed features take: a number, or blur:<sigma> (Gaussian blur of the image)"),
      integer("rows_per_call", "automatic",
              "perturbed rows per forward call (0 = all at once, -1 = automatic: ~320 rows within 16 MiB)", -1.0)};
  if (features)
    schema.push_back(option_of("features", OptionType::kString, features_default,
                               std::string(method) + ": how elements group into features: elements, pixels, channels, "
                               "grid:<h>x<w> (patches), blocks:<r>x<c> (the image in r x c blocks)"));
  return schema;
}

/// The shared perturbation options from a config into a method's options struct.
template <typename Options>
Options perturbation_options(const MethodConfig& config, const std::string& features_default) {
  Options options;
  if (auto baseline = config.get_string("baseline")) options.baseline(Baseline::parse(*baseline));
  if (auto rows = config.get_int("rows_per_call")) options.rows_per_call(*rows);
  const auto features = config.get_string("features");
  options.feature_mask(FeatureMask::parse(features ? *features : features_default));
  return options;
}

/// The features a method's mask gives `input`.
template <typename Method>
int64_t features_of(const Attribution& method, const torch::Tensor& input) {
  return dynamic_cast<const Method&>(method).options().feature_mask().resolve(input).features;
}

std::vector<MethodInfo> make_registry() {
  std::vector<MethodInfo> list;
  auto add = [&list](MethodInfo info, MethodCost cost = {}) {
    info.cost = std::move(cost);
    info.needs_layer = info.option("layer") != nullptr && info.option("layer")->required;
    info.layer_map = info.result == ResultKind::kLayerMap;
    list.push_back(std::move(info));
  };
  // The benchmark's floors and targets: gradient CAMs stop their backward at the layer, hence below
  // one forward + backward; per-channel methods run one no-grad pass per channel and example.
  const MethodCost kGradientCamCost{MethodCost::Floor::kForwardBackward, "", false, 0.80};
  const MethodCost kPerChannelCost{MethodCost::Floor::kForward, "", true, 1.10};
  const IntegratedGradientsOptions ig;
  const SmoothGradOptions sg;
  const ScoreCamOptions score_cam("");

  // gradient family
  add({"vanilla_gradient", "VanillaGradient", "signed gradient of the target score w.r.t. the input (Simonyan et al. 2014)",
       ResultKind::kInputShaped, {}, plain<VanillaGradient>()});
  add({"saliency", "SaliencyMap", "max over channels of |gradient|, [N, 1, H, W] (Simonyan et al. 2014)",
       ResultKind::kChannelReduced, {}, plain<SaliencyMap>()});
  add({"input_x_gradient", "InputXGradient", "input times gradient (Shrikumar et al. 2016)", ResultKind::kInputShaped,
       {}, plain<InputXGradient>()});
  add({"guided_backprop", "GuidedBackprop",
       "only positive gradients through ReLUs with positive input (Springenberg et al. 2015)",
       ResultKind::kInputShaped, {}, plain<GuidedBackprop>()});
  add({"deconvolution", "Deconvolution", "deconvnet: gradients rectified at every ReLU (Zeiler & Fergus 2014)",
       ResultKind::kInputShaped, {}, plain<Deconvolution>()});
  add({"integrated_gradients", "IntegratedGradients",
       "path integral of gradients from a zero baseline; --steps (Sundararajan et al. 2017)", ResultKind::kInputShaped,
       {integer("steps", std::to_string(ig.steps()), "integrated_gradients: points on the path", 1.0,
                static_cast<double>(IntegratedGradients::kMaxSteps)),
        rows_per_call_schema("automatic")},
       [](const Model& model, const MethodConfig& config) {
         IntegratedGradientsOptions options;
         if (auto steps = config.get_int("steps")) options.steps(*steps);
         if (auto rows = config.get_int("rows_per_call")) options.rows_per_call(*rows);
         return std::make_shared<IntegratedGradients>(model, options);
       }},
      MethodCost{MethodCost::Floor::kForwardBackward, "steps", false, 1.10});
  const GradientShapOptions gradient_shap;
  add({"gradient_shap", "GradientShap",
       "expected gradients over a baseline distribution, with input noise; --samples, --stdev, --baselines, --seed "
       "(Lundberg & Lee 2017)",
       ResultKind::kInputShaped,
       {integer("samples", std::to_string(gradient_shap.samples()), "gradient_shap: draws per example", 1.0),
        real("stdev", "0", "gradient_shap: absolute stdev of the Gaussian noise added to the input per draw", 0.0, ""),
        option_of("baselines", OptionType::kString, "0",
                  "gradient_shap: a number (one constant baseline) or a .npy file of baseline rows [B, ...]"),
        integer("seed", "0", "gradient_shap: seed of its private generators", 0.0), rows_per_call_schema("automatic")},
       [](const Model& model, const MethodConfig& config) {
         GradientShapOptions options;
         if (auto samples = config.get_int("samples")) options.samples(*samples);
         if (auto stdev = config.get_double("stdev")) options.stdev(*stdev);
         if (auto seed = config.get_int("seed")) options.seed(static_cast<uint64_t>(*seed));
         if (auto rows = config.get_int("rows_per_call")) options.rows_per_call(*rows);
         if (auto baselines = config.get_string("baselines")) options.baselines(number_or_npy(*baselines, {}));
         return std::make_shared<GradientShap>(model, options);
       }},
      MethodCost{MethodCost::Floor::kForwardBackward, "samples", false, 1.10});

  // relevance family
  {
    OptionSchema low = option_of("low", OptionType::kDouble, "-3", "lrp: lowest input value, for epsilon_gamma_box's z_box first layer");
    OptionSchema high = option_of("high", OptionType::kDouble, "3", "lrp: highest input value, for epsilon_gamma_box's z_box first layer");
    add({"lrp", "Lrp",
         "layer-wise relevance propagation with Zennit's composites; --composite, --low/--high, --epsilon "
         "(Bach et al. 2015)",
         ResultKind::kInputShaped,
         {choice("composite", "epsilon_plus_flat", "lrp: the rules by layer kind (Zennit's presets)", Composite::names()),
          low, high, real("epsilon", "1e-06", "lrp: the epsilon rule's epsilon (linear layers)", 0.0, "")},
         [](const Model& model, const MethodConfig& config) {
           const Composite composite = Composite::named(config.get_string("composite").value_or("epsilon_plus_flat"),
                                                        config.get_double("low").value_or(-3.0),
                                                        config.get_double("high").value_or(3.0),
                                                        config.get_double("epsilon").value_or(1e-6));
           return std::make_shared<Lrp>(model, LrpOptions().composite(composite));
         }},
        MethodCost{MethodCost::Floor::kForwardBackward, "", false, 1.50});
  }
  const OptionSchema deep_lift_rule =
      choice("rule", "rescale",
             "deep_lift, deep_lift_shap: the multipliers at nonlinearities (reveal_cancel: positive and negative "
             "terms apart after an affine layer)",
             {"rescale", "reveal_cancel"});
  auto deep_lift_rule_of = [](const MethodConfig& config) {
    return config.get_string("rule").value_or("rescale") == "reveal_cancel" ? DeepLiftRule::kRevealCancel
                                                                           : DeepLiftRule::kRescale;
  };
  add({"deep_lift", "DeepLift",
       "DeepLIFT against a baseline; --baseline, --rule (Shrikumar et al. 2017)", ResultKind::kInputShaped,
       {option_of("baseline", OptionType::kString, "0", "deep_lift: a number or blur:<sigma> (the input blurred)"),
        deep_lift_rule},
       [deep_lift_rule_of](const Model& model, const MethodConfig& config) {
         DeepLiftOptions options;
         options.rule(deep_lift_rule_of(config));
         if (auto baseline = config.get_string("baseline")) options.baseline(Baseline::parse(*baseline));
         return std::make_shared<DeepLift>(model, options);
       }},
      [] {
        MethodCost cost{MethodCost::Floor::kForwardBackward, "", false, 1.50};
        cost.rows_factor = 2;
        return cost;
      }());
  add({"deep_lift_shap", "DeepLiftShap",
       "DeepLIFT averaged over a baseline distribution; --baselines, --rule (Lundberg & Lee 2017)",
       ResultKind::kInputShaped,
       {option_of("baselines", OptionType::kString, "0",
                  "deep_lift_shap: a number (one constant baseline) or a .npy file of baseline rows [B, ...]"),
        deep_lift_rule, rows_per_call_schema("automatic")},
       [deep_lift_rule_of](const Model& model, const MethodConfig& config) {
         DeepLiftShapOptions options;
         options.rule(deep_lift_rule_of(config));
         if (auto rows = config.get_int("rows_per_call")) options.rows_per_call(*rows);
         // One constant row is broadcast to the input's row shape when the method runs.
         options.baselines(number_or_npy(config.get_string("baselines").value_or("0"), {1}));
         return std::make_shared<DeepLiftShap>(model, options);
       }},
      [] {
        MethodCost cost{MethodCost::Floor::kForwardBackward, "", false, 1.50};
        cost.rows_factor = 2;
        return cost;
      }());

  // wrappers
  add({"smoothgrad", "SmoothGrad",
       "any method (--base) averaged over noisy copies; --samples, --noise-level/--stdev, --variant, --seed "
       "(Smilkov et al. 2017)",
       ResultKind::kFromBase,
       {option_of("base", OptionType::kMethod, "vanilla_gradient", "smoothgrad: the method to smooth"),
        integer("samples", std::to_string(sg.samples()), "smoothgrad: noisy copies per example", 1.0),
        real("noise_level", "0.15", "smoothgrad: noise stdev as a fraction of each example's range", 0.0, "stdev"),
        real("stdev", "unset", "smoothgrad: absolute noise stdev (replaces --noise-level)", 0.0, "noise_level"),
        choice("variant", "mean", "smoothgrad: the mean (SmoothGrad), of squares (SmoothGrad squared) or variance (VarGrad)",
               {"mean", "square", "variance"}),
        integer("seed", "unset", "smoothgrad: seed of a private generator, for reproducible noise", 0.0),
        rows_per_call_schema("automatic")},
       [](const Model& model, const MethodConfig& config) -> std::shared_ptr<Attribution> {
         std::shared_ptr<Attribution> base = make_method(config.get_string("base").value_or("vanilla_gradient"),
                                                         model, config);
         SmoothGradOptions options;
         if (auto samples = config.get_int("samples")) options.samples(*samples);
         if (auto level = config.get_double("noise_level")) options.noise_level(*level);
         if (auto stdev = config.get_double("stdev")) options.stdev(*stdev);
         if (auto seed = config.get_int("seed")) options.seed(static_cast<uint64_t>(*seed));
         if (auto rows = config.get_int("rows_per_call")) options.rows_per_call(*rows);
         if (auto variant = config.get_string("variant")) {
           options.variant(*variant == "square"     ? SmoothGradVariant::kSquare
                           : *variant == "variance" ? SmoothGradVariant::kVariance
                                                    : SmoothGradVariant::kMean);
         }
         return std::make_shared<SmoothGrad>(std::move(base), options);
       }},
      MethodCost{MethodCost::Floor::kForwardBackward, "samples", false, 1.10});

  // CAM family
  add({"cam", "Cam", "class activation map at a layer feeding global average pooling + linear (Zhou et al. 2016)",
       ResultKind::kLayerMap, cam_options_schema(CamOptions(""), {/*several_layers=*/false}), cam<Cam, CamOptions>()},
      MethodCost{MethodCost::Floor::kForward, "", false, 1.05});
  add({"grad_cam", "GradCam", "layer channels weighted by their mean gradients (Selvaraju et al. 2017)",
       ResultKind::kLayerMap, cam_options_schema(GradCamOptions("")), cam<GradCam, GradCamOptions>()}, kGradientCamCost);
  add({"guided_grad_cam", "GuidedGradCam", "guided backprop times the upsampled Grad-CAM map (Selvaraju et al. 2017)",
       ResultKind::kInputShaped, cam_options_schema(GuidedGradCamOptions(""), {false, false, false}),
       cam<GuidedGradCam, GuidedGradCamOptions>()},
      MethodCost{MethodCost::Floor::kForwardBackward, "", false, 1.50});
  add({"grad_cam_pp", "GradCamPlusPlus",
       "Grad-CAM++: weights from positive higher-order gradients (Chattopadhyay et al. 2018)", ResultKind::kLayerMap,
       cam_options_schema(GradCamPlusPlusOptions("")), cam<GradCamPlusPlus, GradCamPlusPlusOptions>()},
      kGradientCamCost);
  std::vector<OptionSchema> score_cam_options = cam_options_schema(score_cam);
  score_cam_options.push_back(rows_per_call_schema(std::to_string(score_cam.rows_per_call())));
  add({"score_cam", "ScoreCam",
       "channels weighted by the score of the input masked with them, gradient-free (Wang et al. 2020)",
       ResultKind::kLayerMap, score_cam_options, perturbing_cam<ScoreCam, ScoreCamOptions>()},
      kPerChannelCost);
  add({"layer_cam", "LayerCam", "activations weighted by their own positive gradients (Jiang et al. 2021)",
       ResultKind::kLayerMap, cam_options_schema(LayerCamOptions("")), cam<LayerCam, LayerCamOptions>()}, kGradientCamCost);

  add({"hires_cam", "HiResCam", "activations weighted by their own gradients, faithful to the score (Draelos & Carin 2020)",
       ResultKind::kLayerMap, cam_options_schema(HiResCamOptions("")), cam<HiResCam, HiResCamOptions>()}, kGradientCamCost);

  add({"xgrad_cam", "XGradCam", "gradients averaged with the activations as weights (Fu et al. 2020)",
       ResultKind::kLayerMap, cam_options_schema(XGradCamOptions("")), cam<XGradCam, XGradCamOptions>()}, kGradientCamCost);
  add({"grad_cam_elementwise", "GradCamElementwise",
       "activations times gradients, rectified before the channel sum (pytorch-grad-cam)", ResultKind::kLayerMap,
       cam_options_schema(GradCamElementwiseOptions("")), cam<GradCamElementwise, GradCamElementwiseOptions>()},
      kGradientCamCost);
  const EigenCamOptions eigen_cam_defaults("");
  std::vector<OptionSchema> eigen_cam_options = cam_options_schema(eigen_cam_defaults, {true, false, true});
  eigen_cam_options.push_back(
      flag("center", eigen_cam_defaults.center(), "eigen CAMs: centre the channels before the SVD (pytorch-grad-cam)"));
  add({"eigen_cam", "EigenCam", "first principal component of the activations, class-agnostic (Muhammad & Yeasin 2020)",
       ResultKind::kLayerMap, eigen_cam_options, eigen_cam<EigenCam, EigenCamOptions>()},
      MethodCost{MethodCost::Floor::kForward, "", false, 1.05});
  const EigenGradCamOptions eigen_grad_cam_defaults("");
  std::vector<OptionSchema> eigen_grad_cam_options = cam_options_schema(eigen_grad_cam_defaults, {true, false, true});
  eigen_grad_cam_options.push_back(flag("center", eigen_grad_cam_defaults.center(),
                                        "eigen CAMs: centre the channels before the SVD (pytorch-grad-cam)"));
  add({"eigen_grad_cam", "EigenGradCam", "first principal component of activations times gradients (pytorch-grad-cam)",
       ResultKind::kLayerMap, eigen_grad_cam_options, eigen_cam<EigenGradCam, EigenGradCamOptions>()},
      kGradientCamCost);
  const AblationCamOptions ablation_cam("");
  std::vector<OptionSchema> ablation_cam_options = cam_options_schema(ablation_cam);
  ablation_cam_options.push_back(rows_per_call_schema(std::to_string(ablation_cam.rows_per_call())));
  add({"ablation_cam", "AblationCam",
       "channels weighted by the score's relative drop when each is zeroed, gradient-free (Desai & Ramaswamy 2020)",
       ResultKind::kLayerMap, ablation_cam_options, perturbing_cam<AblationCam, AblationCamOptions>()},
      kPerChannelCost);

  OptionSchema full_grad_layers = option_of(
      "layer", OptionType::kString, "all",
      "full_grad: the bias layers used, comma-separated (default: every convolution, linear and BatchNorm with a bias)");
  add({"full_grad", "FullGrad",
       "input-gradient x input plus every layer's bias-gradient, rescaled and summed (Srinivas & Fleuret 2019)",
       ResultKind::kLayerMap,
       {full_grad_layers,
        choice("scaling", "per_example",
               "full_grad: rescale each term over all its channels (paper) or per channel (pytorch-grad-cam)",
               {"per_example", "per_channel"}),
        choice("upsample", "bilinear", "resize the map to the input's size (CAM family)", {"bilinear", "nearest", "bicubic"})},
       [](const Model& model, const MethodConfig& config) {
         FullGradOptions options;
         if (!config.layer().empty() && config.layer() != "all") options.layers(split_layers(config.layer()));
         if (auto scaling = config.get_string("scaling"))
           options.scaling(*scaling == "per_channel" ? FullGradScaling::kPerChannel : FullGradScaling::kPerExample);
         if (auto upsample = config.get_string("upsample")) options.upsample(parse_upsample(*upsample));
         return std::make_shared<FullGrad>(model, options);
       }},
      MethodCost{MethodCost::Floor::kForwardBackward, "", false, 1.50});

  // attention family (TorchScript transformers with nn.MultiheadAttention)
  auto attention_schema = [](const char* method) {
    return std::vector<OptionSchema>{
        option_of("layer", OptionType::kString, "all",
                  std::string(method) + ": the attention layers, comma-separated, in forward order (default: every "
                  "MultiheadAttention)"),
        option_of("query_layer", OptionType::kString, "ln_1",
                  "attention: the layer, beside each attention, whose output is its query (torchvision ViT: ln_1)"),
        choice("head_fusion", "mean", "attention: how the heads of a layer are combined", {"mean", "max", "min"}),
        option_of("reshape", OptionType::kString, "vit",
                  "how the layer's output becomes [N, C, h, w]: none, vit (tokens, class token first), "
                  "tokens:<prefix>[:<h>x<w>], swin (channels last) (CAM family)"),
        choice("upsample", "none", "resize the map to the input's size (CAM family)",
               {"none", "bilinear", "nearest", "bicubic"})};
  };
  auto attention_options = [](const MethodConfig& config) {
    AttentionOptions options;
    if (!config.layer().empty() && config.layer() != "all") options.layers(split_layers(config.layer()));
    if (auto query = config.get_string("query_layer")) options.query_layer(*query);
    if (auto fusion = config.get_string("head_fusion"))
      options.head_fusion(*fusion == "max" ? HeadFusion::kMax : *fusion == "min" ? HeadFusion::kMin : HeadFusion::kMean);
    if (auto reshape = config.get_string("reshape")) options.reshape(LayerReshape::parse(*reshape));
    if (auto upsample = config.get_string("upsample")) options.upsample(parse_upsample(*upsample));
    return options;
  };
  add({"attention_rollout", "AttentionRollout",
       "class token's attention through all layers, residuals as self-attention (Abnar & Zuidema 2020)",
       ResultKind::kLayerMap, attention_schema("attention_rollout"),
       [attention_options](const Model& model, const MethodConfig& config) {
         return std::make_shared<AttentionRollout>(model, attention_options(config));
       }},
      MethodCost{MethodCost::Floor::kForward, "", false, 1.20});
  add({"gradient_attention_rollout", "GradientAttentionRollout",
       "attention weighted by its gradient, rolled out over the layers (Chefer et al. 2021)", ResultKind::kLayerMap,
       attention_schema("gradient_attention_rollout"),
       [attention_options](const Model& model, const MethodConfig& config) {
         return std::make_shared<GradientAttentionRollout>(model, attention_options(config));
       }},
      MethodCost{MethodCost::Floor::kForwardBackward, "", false, 1.20});

  // perturbation family: no-grad forwards of perturbed copies (the floor: as many plain rows)
  auto perturbation_cost = [](std::function<int64_t(const Attribution&, const torch::Tensor&)> rows) {
    MethodCost cost{MethodCost::Floor::kForward, "", false, 1.10};
    cost.perturbed_rows = std::move(rows);
    return cost;
  };
  {
    std::vector<OptionSchema> schema = perturbation_schema("occlusion", "", /*features=*/false);
    schema.push_back(option_of("window", OptionType::kString, "1,8,8",
                               "occlusion: the window's shape over the input's dimensions without the batch"));
    schema.push_back(option_of("stride", OptionType::kString, "1,4,4",
                               "occlusion: the window's step per dimension (at most the window where it is smaller than the input)"));
    add({"occlusion", "Occlusion", "mean score drop of the sliding windows covering each element (Zeiler & Fergus 2014)",
         ResultKind::kInputShaped, schema,
         [](const Model& model, const MethodConfig& config) {
           OcclusionOptions options = perturbation_options<OcclusionOptions>(config, "elements");
           options.window(integer_list(config.get_string("window").value_or("1,8,8"), "window"));
           options.strides(integer_list(config.get_string("stride").value_or("1,4,4"), "stride"));
           return std::make_shared<Occlusion>(model, options);
         }},
        perturbation_cost([](const Attribution& method, const torch::Tensor& input) {
          return input.size(0) * dynamic_cast<const Occlusion&>(method).windows(input);
        }));
  }
  add({"feature_ablation", "FeatureAblation", "score drop when each feature is set to the baseline (Captum's FeatureAblation)",
       ResultKind::kInputShaped, perturbation_schema("feature_ablation", "elements"),
       [](const Model& model, const MethodConfig& config) {
         return std::make_shared<FeatureAblation>(model, perturbation_options<FeatureAblationOptions>(config, "elements"));
       }},
      perturbation_cost([](const Attribution& method, const torch::Tensor& input) {
        return input.size(0) * features_of<FeatureAblation>(method, input);
      }));
  {
    const ShapleyValueSamplingOptions defaults;
    std::vector<OptionSchema> schema = perturbation_schema("shapley_value_sampling", "elements");
    schema.push_back(integer("samples", std::to_string(defaults.samples()),
                             "shapley_value_sampling / kernel_shap: permutations or coalitions per example", 1.0));
    schema.push_back(integer("seed", std::to_string(defaults.seed()), "sampling methods: seed of a private generator", 0.0));
    add({"shapley_value_sampling", "ShapleyValueSampling",
         "Shapley values estimated from random feature permutations (Castro et al. 2009)", ResultKind::kInputShaped, schema,
         [](const Model& model, const MethodConfig& config) {
           auto options = perturbation_options<ShapleyValueSamplingOptions>(config, "elements");
           if (auto samples = config.get_int("samples")) options.samples(*samples);
           if (auto seed = config.get_int("seed")) options.seed(*seed);
           return std::make_shared<ShapleyValueSampling>(model, options);
         }},
        perturbation_cost([](const Attribution& method, const torch::Tensor& input) {
          const auto& sampling = dynamic_cast<const ShapleyValueSampling&>(method);
          return input.size(0) * (sampling.options().samples() * features_of<ShapleyValueSampling>(method, input) + 1);
        }));
  }
  add({"shapley_values", "ShapleyValues", "exact Shapley values over at most 16 features, all 2^F coalitions (Shapley 1953)",
       ResultKind::kInputShaped, perturbation_schema("shapley_values", "blocks:3x3"),
       [](const Model& model, const MethodConfig& config) {
         return std::make_shared<ShapleyValues>(model, perturbation_options<ShapleyValuesOptions>(config, "blocks:3x3"));
       }},
      perturbation_cost([](const Attribution& method, const torch::Tensor& input) {
        return input.size(0) * (int64_t{1} << features_of<ShapleyValues>(method, input));
      }));
  {
    const KernelShapOptions defaults;
    std::vector<OptionSchema> schema = perturbation_schema("kernel_shap", "grid:4x4");
    schema.push_back(integer("samples", std::to_string(defaults.samples()),
                             "shapley_value_sampling / kernel_shap: permutations or coalitions per example", 1.0));
    schema.push_back(integer("seed", std::to_string(defaults.seed()), "sampling methods: seed of a private generator", 0.0));
    schema.push_back(choice("fit", "least_squares", "kernel_shap: the linear fit (least_squares, as the method defines; "
                            "ridge; lasso)", {"lasso", "ridge", "least_squares"}));
    schema.push_back(real("alpha", "0", "kernel_shap: the fit's regularization", 0.0, ""));
    add({"kernel_shap", "KernelShap", "Shapley values as a weighted linear fit over kernel-sampled coalitions (Lundberg & Lee 2017)",
         ResultKind::kInputShaped, schema,
         [](const Model& model, const MethodConfig& config) {
           auto options = perturbation_options<KernelShapOptions>(config, "grid:4x4");
           if (auto samples = config.get_int("samples")) options.samples(*samples);
           if (auto seed = config.get_int("seed")) options.seed(*seed);
           if (auto alpha = config.get_double("alpha")) options.alpha(*alpha);
           if (auto fit = config.get_string("fit"))
             options.fit(*fit == "ridge" ? SurrogateFit::kRidge : *fit == "lasso" ? SurrogateFit::kLasso
                                                                                 : SurrogateFit::kLeastSquares);
           return std::make_shared<KernelShap>(model, options);
         }},
        perturbation_cost([](const Attribution& method, const torch::Tensor& input) {
          return input.size(0) * dynamic_cast<const KernelShap&>(method).options().samples();
        }));
  }

  {
    const LimeOptions defaults;
    std::vector<OptionSchema> schema = perturbation_schema("lime", "grid:4x4");
    schema.push_back(integer("samples", std::to_string(defaults.samples()),
                             "shapley_value_sampling / kernel_shap / lime: permutations or coalitions per example", 1.0));
    schema.push_back(integer("seed", std::to_string(defaults.seed()), "sampling methods: seed of a private generator", 0.0));
    OptionSchema probability = option_of("probability", OptionType::kDouble, "0.5",
                                         "lime: chance a feature is on; rise: chance a cell is kept");
    probability.minimum = 0.0;
    probability.maximum = 1.0;
    schema.push_back(probability);
    schema.push_back(real("kernel_width", "1", "lime: width of the exponential kernel on the cosine distance (0: all rows weigh 1)",
                          0.0, ""));
    schema.push_back(choice("fit", "lasso", "lime: the surrogate (lasso, as Captum; ridge; least_squares)",
                            {"lasso", "ridge", "least_squares"}));
    schema.push_back(real("alpha", "0.01", "lime: the surrogate's regularization", 0.0, ""));
    add({"lime", "Lime", "a weighted linear surrogate over random feature coalitions (Ribeiro et al. 2016)",
         ResultKind::kInputShaped, schema,
         [](const Model& model, const MethodConfig& config) {
           auto options = perturbation_options<LimeOptions>(config, "grid:4x4");
           if (auto samples = config.get_int("samples")) options.samples(*samples);
           if (auto seed = config.get_int("seed")) options.seed(*seed);
           if (auto probability = config.get_double("probability")) options.probability(*probability);
           if (auto width = config.get_double("kernel_width")) options.kernel_width(*width);
           if (auto alpha = config.get_double("alpha")) options.alpha(*alpha);
           if (auto fit = config.get_string("fit"))
             options.fit(*fit == "ridge" ? SurrogateFit::kRidge : *fit == "least_squares" ? SurrogateFit::kLeastSquares
                                                                                           : SurrogateFit::kLasso);
           return std::make_shared<Lime>(model, options);
         }},
        perturbation_cost([](const Attribution& method, const torch::Tensor& input) {
          return input.size(0) * dynamic_cast<const Lime&>(method).options().samples();
        }));
  }
  {
    std::vector<OptionSchema> schema = perturbation_schema("feature_permutation", "elements");
    schema.erase(schema.begin());  // no baseline: the other examples are
    schema.push_back(integer("seed", "0", "sampling methods: seed of a private generator", 0.0));
    add({"feature_permutation", "FeaturePermutation",
         "score drop when each feature is shuffled across the batch (Captum's FeaturePermutation)", ResultKind::kInputShaped,
         schema,
         [](const Model& model, const MethodConfig& config) {
           auto options = perturbation_options<FeaturePermutationOptions>(config, "elements");
           if (auto seed = config.get_int("seed")) options.seed(*seed);
           return std::make_shared<FeaturePermutation>(model, options);
         }},
        perturbation_cost([](const Attribution& method, const torch::Tensor& input) {
          return input.size(0) * features_of<FeaturePermutation>(method, input);
        }));
  }
  {
    const RiseOptions defaults;
    std::vector<OptionSchema> schema = perturbation_schema("rise", "", /*features=*/false);
    schema.push_back(integer("masks", std::to_string(defaults.masks()), "rise: random masks per call", 1.0));
    schema.push_back(integer("cells", std::to_string(defaults.cells()), "rise: the masks' low-resolution grid (cells x cells)", 1.0));
    OptionSchema probability = option_of("probability", OptionType::kDouble, "0.5",
                                         "lime: chance a feature is on; rise: chance a cell is kept");
    probability.minimum = 0.0;
    probability.maximum = 1.0;
    schema.push_back(probability);
    schema.push_back(integer("seed", "0", "sampling methods: seed of a private generator", 0.0));
    add({"rise", "Rise", "score-weighted average of random smooth masks, [N, 1, H, W] (Petsiuk et al. 2018)",
         ResultKind::kChannelReduced, schema,
         [](const Model& model, const MethodConfig& config) {
           RiseOptions options = perturbation_options<RiseOptions>(config, "elements");
           if (auto masks = config.get_int("masks")) options.masks(*masks);
           if (auto cells = config.get_int("cells")) options.cells(*cells);
           if (auto probability = config.get_double("probability")) options.probability(*probability);
           if (auto seed = config.get_int("seed")) options.seed(*seed);
           return std::make_shared<Rise>(model, options);
         }},
        perturbation_cost([](const Attribution& method, const torch::Tensor& input) {
          return input.size(0) * dynamic_cast<const Rise&>(method).options().masks();
        }));
  }

  // One option name, one type: the command line has one flag per name.
  for (const auto& a : list)
    for (const auto& b : list)
      for (const auto& option : a.options)
        if (const OptionSchema* other = b.option(option.name))
          TORCH_INTERNAL_ASSERT(other->type == option.type, "option '", option.name, "' has two types");
  return list;
}

// ------------------------------------------------------------------ checking a config

const char* expected_type(OptionType type) {
  switch (type) {
    case OptionType::kBool: return "a flag (bool)";
    case OptionType::kInt: return "an integer";
    case OptionType::kDouble: return "a real number";
    default: return "a word (string)";
  }
}

void check_option(const std::string& method, const OptionSchema& option, const OptionValue& value) {
  const std::string where = "method '" + method + "': option '" + option.name + "'";
  auto type_error = [&] {
    TORCH_CHECK_VALUE(false, where, " must be ", expected_type(option.type), ", got '", to_string(value), "'");
  };
  double number = 0;
  switch (option.type) {
    case OptionType::kBool:
      if (!std::holds_alternative<bool>(value)) type_error();
      return;
    case OptionType::kInt:
      if (!std::holds_alternative<int64_t>(value)) type_error();
      number = static_cast<double>(std::get<int64_t>(value));
      break;
    case OptionType::kDouble:
      if (std::holds_alternative<int64_t>(value)) {
        number = static_cast<double>(std::get<int64_t>(value));
      } else if (std::holds_alternative<double>(value)) {
        number = std::get<double>(value);
        TORCH_CHECK_VALUE(std::isfinite(number), where, " must be finite, got ", number);
      } else {
        type_error();
      }
      break;
    case OptionType::kString:
      if (!std::holds_alternative<std::string>(value)) type_error();
      return;
    case OptionType::kChoice: {
      if (!std::holds_alternative<std::string>(value)) type_error();
      const std::string& word = std::get<std::string>(value);
      if (std::find(option.choices.begin(), option.choices.end(), word) == option.choices.end()) {
        std::string choices;
        for (const auto& choice : option.choices) choices += (choices.empty() ? "" : ", ") + choice;
        TORCH_CHECK_VALUE(false, where, ": expected one of ", choices, ", got '", word, "'");
      }
      return;
    }
    case OptionType::kMethod: {
      if (!std::holds_alternative<std::string>(value)) type_error();
      const std::string& word = std::get<std::string>(value);
      TORCH_CHECK_VALUE(word != method, method, ": the ", option.name, " method cannot be ", method, " itself");
      method_info(word);  // throws for an unknown method, listing the valid names
      return;
    }
  }
  TORCH_CHECK_VALUE(!option.minimum || number >= *option.minimum, where, " must be >= ", *option.minimum, ", got ",
                    to_string(value));
  TORCH_CHECK_VALUE(!option.maximum || number <= *option.maximum, where, " must be at most ", *option.maximum,
                    ", got ", to_string(value));
}

void add_applicable(const std::string& name, const MethodConfig& config, std::vector<OptionSchema>& options,
                    std::vector<std::string>& visited) {
  if (std::find(visited.begin(), visited.end(), name) != visited.end()) return;
  visited.push_back(name);
  const MethodInfo& info = method_info(name);
  for (const auto& option : info.options) {
    const bool known = std::any_of(options.begin(), options.end(),
                                   [&](const OptionSchema& other) { return other.name == option.name; });
    if (!known) options.push_back(option);
    if (option.type == OptionType::kMethod) {
      const std::string wrapped = config.get_string(option.name).value_or(option.default_value);
      add_applicable(wrapped, config, options, visited);
    }
  }
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

std::vector<OptionSchema> applicable_options(const std::string& name, const MethodConfig& config) {
  std::vector<OptionSchema> options;
  std::vector<std::string> visited;
  add_applicable(name, config, options, visited);
  return options;
}

std::vector<std::string> unused_options(const std::string& name, const MethodConfig& config) {
  const std::vector<OptionSchema> options = applicable_options(name, config);
  std::vector<std::string> unused;
  for (const auto& set : config.names())
    if (std::none_of(options.begin(), options.end(), [&](const OptionSchema& option) { return option.name == set; }))
      unused.push_back(set);
  return unused;
}

std::shared_ptr<Attribution> make_method(const std::string& name, const Model& model, const MethodConfig& config) {
  const MethodInfo& info = method_info(name);
  // The method's own options first: a kMethod option must name a method before its options count.
  for (const auto& option : info.options) {
    const OptionValue* value = config.find(option.name);
    if (value != nullptr) check_option(name, option, *value);
    if (option.required && option.name == "layer") {
      TORCH_CHECK_VALUE(!config.layer().empty(), "method '", name,
                        "' needs a layer (MethodConfig::layer, --layer on the command line)");
    } else {
      TORCH_CHECK_VALUE(!option.required || value != nullptr, "method '", name, "' needs option '", option.name, "'");
    }
    if (value != nullptr && !option.excludes.empty() && config.has(option.excludes))
      TORCH_CHECK_VALUE(false, "method '", name, "': options '", option.name, "' and '", option.excludes,
                        "' exclude each other");
  }
  return info.make(model, config);
}

}  // namespace nn_interpretability
