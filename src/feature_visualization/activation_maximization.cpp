#include "nn_interpretability/feature_visualization/activation_maximization.h"

#include "nn_interpretability/detail/buffer_restorer.h"

#include <cmath>
#include <mutex>
#include <sstream>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>


namespace nn_interpretability {
namespace {

constexpr const char* kName = "ActivationMaximization";

bool finite_non_negative(double value) { return std::isfinite(value) && value >= 0; }

// A private generator for `device`, seeded, so the start noise is reproducible and the global
// generator the user's own code relies on is neither read nor advanced.
at::Generator make_device_generator(uint64_t seed, const at::Device& device) {
  at::Generator global = at::globalContext().defaultGenerator(device);
  at::Generator generator;
  {
    std::lock_guard<std::mutex> lock(global.mutex());
    generator = global.clone();
  }
  generator.set_current_seed(seed);
  return generator;
}

// x = G(z), checked: one image per code.
torch::Tensor generate(const Model& generator, const torch::Tensor& codes) {
  detail::ModelBackend& backend = generator.backend();
  detail::BufferRestorer restore(backend);  // a generator in train mode updates its buffers
  torch::Tensor images;
  try {
    images = backend.forward(codes);
  } catch (const c10::Error& error) {
    TORCH_CHECK_VALUE(false, kName, ": the generator (", backend.describe(), ") failed on codes of shape ",
                      codes.sizes(), " and dtype ", codes.scalar_type(), ": ", error.what_without_backtrace());
  }
  TORCH_CHECK_VALUE(images.defined(), kName, ": the generator returned an undefined tensor");
  TORCH_CHECK_VALUE(images.dim() >= 2 && images.size(0) == codes.size(0), kName, ": the generator returned shape ",
                    images.sizes(), " for ", codes.size(0), " codes; it must return one image per code [N, ...]");
  TORCH_CHECK_TYPE(images.is_floating_point(), kName, ": the generator must return floating-point images, got ",
                   images.scalar_type());
  return images;
}

std::string shape_string(c10::IntArrayRef shape) {
  std::ostringstream out;
  out << shape;
  return out.str();
}

}  // namespace

ActivationMaximization::ActivationMaximization(Model model, ActivationMaximizationOptions options)
    : model_(std::move(model)), options_(std::move(options)) {
  const auto& o = options_;
  TORCH_CHECK_VALUE(o.iterations() >= 0, kName, ": iterations must be >= 0, got ", o.iterations());
  TORCH_CHECK_VALUE(std::isfinite(o.learning_rate()) && o.learning_rate() > 0, kName,
                    ": learning_rate must be a finite value > 0, got ", o.learning_rate());
  TORCH_CHECK_VALUE(o.momentum() >= 0 && o.momentum() < 1, kName, ": momentum must be in [0, 1), got ", o.momentum());
  TORCH_CHECK_VALUE(finite_non_negative(o.l2_weight()), kName, ": l2_weight must be a finite value >= 0, got ",
                    o.l2_weight());
  TORCH_CHECK_VALUE(finite_non_negative(o.tv_weight()), kName, ": tv_weight must be a finite value >= 0, got ",
                    o.tv_weight());
  TORCH_CHECK_VALUE(o.jitter() >= 0, kName, ": jitter must be >= 0 pixels, got ", o.jitter());
  TORCH_CHECK_VALUE(finite_non_negative(o.blur_sigma()), kName, ": blur_sigma must be a finite value >= 0, got ",
                    o.blur_sigma());
  TORCH_CHECK_VALUE(o.blur_every() >= 1, kName, ": blur_every must be >= 1, got ", o.blur_every());
  if (o.clip()) {
    TORCH_CHECK_VALUE(std::isfinite(o.clip()->first) && std::isfinite(o.clip()->second) &&
                          o.clip()->first <= o.clip()->second,
                      kName, ": the clip range must be finite with low <= high, got [", o.clip()->first, ", ",
                      o.clip()->second, "]");
  }
  TORCH_CHECK_VALUE(finite_non_negative(o.noise_std()), kName, ": noise_std must be a finite value >= 0, got ",
                    o.noise_std());
  if (o.stop_probability()) {
    TORCH_CHECK_VALUE(*o.stop_probability() > 0 && *o.stop_probability() <= 1, kName,
                      ": stop_probability must be in (0, 1], got ", *o.stop_probability());
  }
  TORCH_CHECK_VALUE(o.progress_every() >= 1, kName, ": progress_every must be >= 1, got ", o.progress_every());
  TORCH_CHECK_VALUE(finite_non_negative(o.latent_l2_weight()), kName,
                    ": latent_l2_weight must be a finite value >= 0, got ", o.latent_l2_weight());
  TORCH_CHECK_VALUE(finite_non_negative(o.energy_weight()), kName, ": energy_weight must be a finite value >= 0, got ",
                    o.energy_weight());
  TORCH_CHECK_VALUE(o.energy_weight() == 0 || static_cast<bool>(o.energy()), kName,
                    ": energy_weight is ", o.energy_weight(), " but no energy function is set");
  if (!o.generator()) {
    TORCH_CHECK_VALUE(!o.start_code().defined(), kName, ": start_code is set but there is no generator; ",
                      "set generator(...) for code space or start_image(...) for input space");
    TORCH_CHECK_VALUE(o.latent_l2_weight() == 0, kName, ": latent_l2_weight is set but there is no generator");
  } else {
    TORCH_CHECK_VALUE(!o.start_image().defined(), kName, ": start_image is set in code space (a generator is set); ",
                      "start from codes with start_code(...)");
  }
}

ActivationMaximizationResult ActivationMaximization::maximize(const Objective& objective, int64_t batch) const {
  TORCH_CHECK_VALUE(options_.generator().has_value(), kName, ": maximize(objective, ", batch,
                    ") needs a generator and latent_shape; in input space give the image batch shape, e.g. ",
                    "maximize(objective, {", batch, ", 1, 28, 28})");
  TORCH_CHECK_VALUE(!options_.latent_shape().empty(), kName, ": maximize(objective, ", batch,
                    ") needs latent_shape (one code's shape, e.g. {64})");
  std::vector<int64_t> shape{batch};
  shape.insert(shape.end(), options_.latent_shape().begin(), options_.latent_shape().end());
  return maximize(objective, c10::IntArrayRef(shape));
}

ActivationMaximizationResult ActivationMaximization::maximize(const Objective& objective) const {
  const torch::Tensor& start = options_.generator() ? options_.start_code() : options_.start_image();
  TORCH_CHECK_VALUE(start.defined(), kName, ": maximize(objective) takes its shape from ",
                    options_.generator() ? "start_code" : "start_image",
                    ", which is not set; give the shape, e.g. maximize(objective, {10, 1, 28, 28})");
  return maximize(objective, start.sizes());
}

ActivationMaximizationResult ActivationMaximization::maximize(const Objective& objective, c10::IntArrayRef shape) const {
  const auto& o = options_;
  const bool code_space = o.generator().has_value();
  const char* what = code_space ? "code" : "image";
  torch::AutoGradMode grad_enabled(true);  // callers may hold a NoGradGuard; restored on every exit

  TORCH_CHECK_VALUE(shape.size() >= 2 || code_space, kName, ": the image batch shape must be [N, ...] of rank >= 2, got ",
                    shape);
  TORCH_CHECK_VALUE(!shape.empty() && shape[0] > 0, kName, ": empty batch (", what, " shape ", shape, ")");
  TORCH_CHECK_VALUE(o.stop_probability() == c10::nullopt || objective.has_class_term(), kName,
                    ": stop_probability needs a class objective (class_logit or class_log_softmax), got ",
                    objective.describe());

  // ---- the start tensor, on the dtype and device of what consumes it
  const torch::Tensor& given = code_space ? o.start_code() : o.start_image();
  torch::Tensor start;
  if (given.defined()) {
    TORCH_CHECK_VALUE(given.sizes() == shape, kName, ": the start ", what, " batch has shape ", given.sizes(),
                      " but the shape to optimize is ", shape);
    start = given.detach().clone();
  } else {
    TORCH_CHECK_VALUE(o.start() != AmStart::kImage, kName, ": start is kImage but no start_", what, " is set");
    const Model& consumer = code_space ? *o.generator() : model_;
    torch::Tensor reference = consumer.backend().reference_parameter();
    const torch::TensorOptions tensor_options =
        reference.defined() ? reference.options() : torch::TensorOptions().dtype(torch::kFloat);
    at::Generator generator = make_device_generator(o.seed(), tensor_options.device());
    if (o.start() == AmStart::kZeros) {
      start = at::zeros(shape, tensor_options);
    } else if (code_space) {
      start = at::randn(shape, generator, tensor_options);
    } else if (o.start() == AmStart::kUniformNoise) {
      const double low = o.clip() ? o.clip()->first : 0.0, high = o.clip() ? o.clip()->second : 1.0;
      start = at::rand(shape, generator, tensor_options).mul_(high - low).add_(low);
    } else {
      const double mean = o.clip() ? 0.5 * (o.clip()->first + o.clip()->second) : 0.0;
      start = at::randn(shape, generator, tensor_options).mul_(o.noise_std()).add_(mean);
      if (o.clip()) start.clamp_(o.clip()->first, o.clip()->second);
    }
  }
  if (code_space) {
    o.generator()->check_input(start, "ActivationMaximization (start code)");
  } else {
    model_.check_input(start, kName);
  }

  const int64_t batch = start.size(0);
  std::vector<int64_t> row_shape(start.dim(), 1);
  row_shape[0] = batch;
  torch::Tensor variable = start.requires_grad_(true);
  torch::Tensor first_moment = at::zeros_like(start);   // Adam m, or SGD's velocity
  torch::Tensor second_moment = at::zeros_like(start);  // Adam v
  at::Generator jitter_generator = at::make_generator<at::CPUGeneratorImpl>(o.seed());
  torch::Tensor active = at::ones({batch}, start.options().dtype(at::kBool));
  const bool stopping = o.stop_probability().has_value();
  const bool report_probabilities = objective.has_class_term();

  ActivationMaximizationResult result;
  result.stop_iteration.assign(static_cast<size_t>(batch), -1);

  auto image_of = [&](const torch::Tensor& tensor) { return code_space ? generate(*o.generator(), tensor) : tensor; };
  auto probabilities_of = [&](const ObjectiveEvaluation& evaluation) {
    if (!report_probabilities) return torch::Tensor();
    torch::Tensor output = evaluation.output.detach();
    return output.softmax(1).gather(1, objective.class_indices(output).unsqueeze(1)).squeeze(1);
  };

  // The L2 reference on the image's device and dtype once, not once per step.
  const torch::Tensor l2_reference =
      o.l2_reference().defined() ? o.l2_reference().to(start.device(), start.scalar_type()) : torch::Tensor();

  const double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  int64_t step = 0;
  for (; step < o.iterations(); ++step) {
    torch::Tensor image = image_of(variable);
    torch::Tensor seen = o.jitter() > 0 ? regularizers::jitter(image, o.jitter(), jitter_generator) : image;
    ObjectiveEvaluation evaluation = objective.evaluate(model_, seen);
    torch::Tensor total = evaluation.scores;
    TORCH_CHECK_VALUE(total.dim() == 1 && total.size(0) == batch, kName, ": the objective returned shape ",
                      total.sizes(), " for a batch of ", batch);
    if (o.energy_weight() > 0) {
      torch::Tensor energy = o.energy()(image);
      TORCH_CHECK_VALUE(energy.defined() && energy.dim() == 1 && energy.size(0) == batch, kName,
                        ": the energy function must return one value per row [", batch, "], got ",
                        energy.defined() ? shape_string(energy.sizes()) : std::string("an undefined tensor"));
      total = total - o.energy_weight() * energy;
    }
    if (o.l2_weight() > 0) total = total - o.l2_weight() * regularizers::l2(image, l2_reference);
    if (o.tv_weight() > 0) total = total - o.tv_weight() * regularizers::total_variation(image);
    if (code_space && o.latent_l2_weight() > 0) total = total - o.latent_l2_weight() * regularizers::l2(variable);
    TORCH_CHECK_VALUE(total.requires_grad(), kName, ": the objective does not depend on the ", what,
                      " through autograd (does a forward detach it or run under NoGradGuard?)");
    // The gradient with respect to the optimized tensor only: no parameter gradient is computed,
    // nothing accumulates in any .grad.
    torch::Tensor gradient = torch::autograd::grad({total.sum()}, {variable}, {}, /*retain_graph=*/false,
                                                   /*create_graph=*/false, /*allow_unused=*/true)[0];
    if (!gradient.defined()) gradient = at::zeros_like(variable);

    const bool report = o.progress() && ((step + 1) % o.progress_every() == 0 || step + 1 == o.iterations());
    torch::Tensor probabilities;
    if (stopping || report) probabilities = probabilities_of(evaluation);
    if (stopping) {
      torch::Tensor reached = active.logical_and(probabilities >= *o.stop_probability());
      torch::Tensor reached_cpu = reached.cpu();
      const bool* flags = reached_cpu.data_ptr<bool>();
      bool any_reached = false;
      for (int64_t i = 0; i < batch; ++i) {
        if (flags[i]) {
          result.stop_iteration[static_cast<size_t>(i)] = step;
          any_reached = true;
        }
      }
      if (any_reached) active = active.logical_and(reached.logical_not());
      bool any_active = false;
      for (int64_t i = 0; i < batch; ++i) any_active = any_active || result.stop_iteration[static_cast<size_t>(i)] < 0;
      if (!any_active) break;
    }

    {
      torch::NoGradGuard no_grad;
      torch::Tensor mask = stopping ? active.to(variable.scalar_type()).view(row_shape) : torch::Tensor();
      if (mask.defined()) gradient = gradient * mask;
      torch::Tensor update;
      if (o.optimizer() == AmOptimizer::kAdam) {
        const double t = static_cast<double>(step + 1);
        first_moment.mul_(beta1).add_(gradient, 1 - beta1);
        second_moment.mul_(beta2).addcmul_(gradient, gradient, 1 - beta2);
        torch::Tensor denominator = (second_moment / (1 - std::pow(beta2, t))).sqrt_().add_(epsilon);
        update = (first_moment / denominator).mul_(o.learning_rate() / (1 - std::pow(beta1, t)));
      } else {
        first_moment.mul_(o.momentum()).add_(gradient);
        update = first_moment * o.learning_rate();
      }
      if (mask.defined()) update.mul_(mask);
      variable.add_(update);  // ascent
      if (!code_space) {
        torch::Tensor transformed = variable;
        if (o.blur_sigma() > 0 && (step + 1) % o.blur_every() == 0)
          transformed = regularizers::gaussian_blur(transformed, o.blur_sigma());
        if (o.clip()) transformed = transformed.clamp(o.clip()->first, o.clip()->second);
        if (!transformed.is_same(variable)) {
          variable.copy_(mask.defined() ? at::where(mask.to(at::kBool), transformed, variable) : transformed);
        }
      }
    }

    if (report) {
      ActivationMaximizationProgress progress;
      progress.iteration = step + 1;
      progress.objective = evaluation.scores.detach();
      progress.mean_objective = progress.objective.mean().item<double>();
      progress.probabilities = probabilities;
      progress.active = active.clone();
      o.progress()(progress);
    }
  }
  result.iterations_run = step;

  {
    torch::NoGradGuard no_grad;
    torch::Tensor codes = variable.detach();
    torch::Tensor images = image_of(codes);
    ObjectiveEvaluation evaluation = objective.evaluate(model_, images);
    result.images = images;
    if (code_space) result.codes = codes;
    result.objective = evaluation.scores.detach();
    result.probabilities = probabilities_of(evaluation);
  }
  return result;
}

namespace activation_maximization_presets {

ActivationMaximizationOptions original(torch::Tensor class_mean) {
  TORCH_CHECK_VALUE(class_mean.defined(), "activation_maximization_presets::original: needs the class mean image ",
                    "(one example's shape, or [N, ...] with one mean per row)");
  return ActivationMaximizationOptions()
      .start(AmStart::kUniformNoise)
      .optimizer(AmOptimizer::kAdam)
      .learning_rate(5e-3)
      .iterations(1000)
      .l2_weight(0.05)
      .l2_reference(std::move(class_mean))
      .clip(AmRange(0.0, 1.0));
}

ActivationMaximizationOptions naive() {
  return ActivationMaximizationOptions()
      .start(AmStart::kZeros)
      .optimizer(AmOptimizer::kAdam)
      .learning_rate(0.05)
      .iterations(200)
      .clip(AmRange(0.0, 1.0));
}

ActivationMaximizationOptions regularized() {
  return ActivationMaximizationOptions()
      .start(AmStart::kUniformNoise)
      .optimizer(AmOptimizer::kAdam)
      .learning_rate(0.05)
      .iterations(300)
      .jitter(2)
      .blur_sigma(0.5)
      .blur_every(4)
      .tv_weight(0.05)
      .l2_weight(0.01)
      .clip(AmRange(0.0, 1.0));
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
