#include "nn_interpretability/feature_visualization/activation_maximization.h"

#include <string>
#include <utility>
#include <vector>

#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>

namespace nn_interpretability {
namespace {

constexpr const char* kName = "ActivationMaximization";

}  // namespace

// The flat setters: each forwards to the field of the same name in its part.
#define NNI_AM_FLAT_SETTER(part, T, name)                                           \
  ActivationMaximizationOptions& ActivationMaximizationOptions::name(T value) { \
    part##_.name(std::move(value));                                             \
    return *this;                                                               \
  }
NNI_AM_FLAT_SETTER(optimizer, int64_t, iterations)
NNI_AM_FLAT_SETTER(optimizer, double, learning_rate)
NNI_AM_FLAT_SETTER(optimizer, double, momentum)
NNI_AM_FLAT_SETTER(optimizer, c10::optional<double>, stop_probability)
NNI_AM_FLAT_SETTER(optimizer, AscentCallback, progress)
NNI_AM_FLAT_SETTER(optimizer, int64_t, progress_every)
NNI_AM_FLAT_SETTER(penalties, double, l2_weight)
NNI_AM_FLAT_SETTER(penalties, torch::Tensor, l2_reference)
NNI_AM_FLAT_SETTER(penalties, double, tv_weight)
NNI_AM_FLAT_SETTER(penalties, double, latent_l2_weight)
NNI_AM_FLAT_SETTER(penalties, EnergyFunction, energy)
NNI_AM_FLAT_SETTER(penalties, double, energy_weight)
NNI_AM_FLAT_SETTER(transforms, int64_t, jitter)
NNI_AM_FLAT_SETTER(transforms, double, blur_sigma)
NNI_AM_FLAT_SETTER(transforms, int64_t, blur_every)
NNI_AM_FLAT_SETTER(parameterization, AmStart, start)
NNI_AM_FLAT_SETTER(parameterization, double, noise_std)
NNI_AM_FLAT_SETTER(parameterization, torch::Tensor, start_image)
NNI_AM_FLAT_SETTER(parameterization, c10::optional<AmRange>, clip)
NNI_AM_FLAT_SETTER(parameterization, c10::optional<Model>, generator)
NNI_AM_FLAT_SETTER(parameterization, std::vector<int64_t>, latent_shape)
NNI_AM_FLAT_SETTER(parameterization, torch::Tensor, start_code)
#undef NNI_AM_FLAT_SETTER

ActivationMaximizationOptions& ActivationMaximizationOptions::optimizer(AmOptimizer algorithm) {
  optimizer_.algorithm(algorithm);
  return *this;
}

ActivationMaximization::ActivationMaximization(Model model, ActivationMaximizationOptions options)
    : model_(std::move(model)),
      options_(std::move(options)),
      parameterization_(options_.parameterization(), kName),
      transforms_(options_.transforms(), kName),
      penalties_(options_.penalties(), kName),
      optimizer_(options_.optimizer(), kName) {
  // The one check across parts: the code's penalty needs a code.
  TORCH_CHECK_VALUE(parameterization_.code_space() || options_.penalties().latent_l2_weight() == 0, kName,
                    ": penalties.latent_l2_weight is set but there is no generator (parameterization.generator)");
}

ActivationMaximizationResult ActivationMaximization::maximize(const Objective& objective, int64_t batch) const {
  TORCH_CHECK_VALUE(parameterization_.code_space(), kName, ": maximize(objective, ", batch,
                    ") needs a generator and latent_shape; in input space give the image batch shape, e.g. ",
                    "maximize(objective, {", batch, ", 1, 28, 28})");
  const std::vector<int64_t>& latent_shape = options_.parameterization().latent_shape();
  TORCH_CHECK_VALUE(!latent_shape.empty(), kName, ": maximize(objective, ", batch,
                    ") needs parameterization.latent_shape (one code's shape, e.g. {64})");
  std::vector<int64_t> shape{batch};
  shape.insert(shape.end(), latent_shape.begin(), latent_shape.end());
  return maximize(objective, c10::IntArrayRef(shape));
}

ActivationMaximizationResult ActivationMaximization::maximize(const Objective& objective) const {
  const torch::Tensor& start = parameterization_.given_start();
  TORCH_CHECK_VALUE(start.defined(), kName, ": maximize(objective) takes its shape from ",
                    parameterization_.code_space() ? "start_code" : "start_image",
                    ", which is not set; set it in the parameterization or give the shape, e.g. ",
                    "maximize(objective, {10, 1, 28, 28})");
  return maximize(objective, start.sizes());
}

ActivationMaximizationResult ActivationMaximization::maximize(const Objective& objective, c10::IntArrayRef shape) const {
  torch::AutoGradMode grad_enabled(true);  // callers may hold a NoGradGuard; restored on every exit
  parameterization_.check_shape(shape);
  TORCH_CHECK_VALUE(!optimizer_.options().stop_probability() || objective.has_class_term(), kName,
                    ": optimizer.stop_probability needs a class objective (class_logit or class_log_softmax), got ",
                    objective.describe());

  const bool code_space = parameterization_.code_space();
  const torch::Tensor variable = parameterization_.start(shape, model_, options_.seed()).requires_grad_(true);
  const Penalties penalties = penalties_.with_reference_like(variable);
  at::Generator transform_generator = transforms_.make_generator(options_.seed());
  const bool class_objective = objective.has_class_term();
  auto probabilities_of = [&objective, class_objective](const ObjectiveEvaluation& evaluation) {
    if (!class_objective) return torch::Tensor();
    torch::Tensor output = evaluation.output.detach();
    return output.softmax(1).gather(1, objective.class_indices(output).unsqueeze(1)).squeeze(1);
  };

  // One step: the image, what the classifier sees of it, the objective minus the penalties.
  auto evaluate = [&](const torch::Tensor& optimized) {
    torch::Tensor image = parameterization_.image(optimized);
    ObjectiveEvaluation evaluation = objective.evaluate(model_, transforms_.seen_by_model(image, transform_generator));
    TORCH_CHECK_VALUE(evaluation.scores.dim() == 1 && evaluation.scores.size(0) == optimized.size(0), kName,
                      ": the objective returned shape ", evaluation.scores.sizes(), " for a batch of ",
                      optimized.size(0));
    AscentEvaluation step;
    step.total = penalties.subtract_from(evaluation.scores, image, code_space ? optimized : torch::Tensor());
    TORCH_CHECK_VALUE(step.total.requires_grad(), kName, ": the objective does not depend on the ",
                      parameterization_.variable_name(),
                      " through autograd (does a forward detach it or run under NoGradGuard?)");
    step.objective = evaluation.scores;
    step.class_probabilities = [probabilities_of, evaluation] { return probabilities_of(evaluation); };
    return step;
  };
  // After a step: blur and clipping act on pixels, so a code is left as it is.
  auto project = [&](const torch::Tensor& optimized, int64_t steps_done) {
    if (code_space) return optimized;
    return parameterization_.clamp_to_range(transforms_.after_step(optimized, steps_done));
  };
  const AscentRun run = optimizer_.run(variable, evaluate, project);

  ActivationMaximizationResult result;
  result.iterations_run = run.iterations_run;
  result.stop_iteration = run.stop_iteration;
  torch::NoGradGuard no_grad;
  const torch::Tensor codes = variable.detach();
  result.images = parameterization_.image(codes);
  const ObjectiveEvaluation evaluation = objective.evaluate(model_, result.images);
  if (code_space) result.codes = codes;
  result.objective = evaluation.scores.detach();
  result.probabilities = probabilities_of(evaluation);
  return result;
}

namespace activation_maximization_presets {

ActivationMaximizationOptions original(torch::Tensor class_mean) {
  TORCH_CHECK_VALUE(class_mean.defined(), "activation_maximization_presets::original: needs the class mean image ",
                    "(one example's shape, or [N, ...] with one mean per row)");
  return ActivationMaximizationOptions()
      .parameterization(ParameterizationOptions().start(AmStart::kUniformNoise).clip(AmRange(0.0, 1.0)))
      .penalties(PenaltyOptions().l2_weight(0.05).l2_reference(std::move(class_mean)))
      .optimizer(OptimizerOptions().algorithm(AmOptimizer::kAdam).learning_rate(5e-3).iterations(1000));
}

ActivationMaximizationOptions naive() {
  return ActivationMaximizationOptions()
      .parameterization(ParameterizationOptions().start(AmStart::kZeros).clip(AmRange(0.0, 1.0)))
      .optimizer(OptimizerOptions().algorithm(AmOptimizer::kAdam).learning_rate(0.05).iterations(200));
}

ActivationMaximizationOptions regularized() {
  return ActivationMaximizationOptions()
      .parameterization(ParameterizationOptions().start(AmStart::kUniformNoise).clip(AmRange(0.0, 1.0)))
      .transforms(TransformOptions().jitter(2).blur_sigma(0.5).blur_every(4))
      .penalties(PenaltyOptions().tv_weight(0.05).l2_weight(0.01))
      .optimizer(OptimizerOptions().algorithm(AmOptimizer::kAdam).learning_rate(0.05).iterations(300));
}

std::vector<std::string> names() { return {"original", "naive", "regularized"}; }

ActivationMaximizationOptions by_name(const std::string& name, torch::Tensor class_mean) {
  if (name == "original") return original(std::move(class_mean));
  if (name == "naive") return naive();
  if (name == "regularized") return regularized();
  TORCH_CHECK_VALUE(false, "activation_maximization_presets: unknown preset '", name,
                    "'; the presets are: original, naive, regularized");
}

}  // namespace activation_maximization_presets

}  // namespace nn_interpretability
