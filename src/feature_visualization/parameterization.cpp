#include "nn_interpretability/feature_visualization/parameterization.h"

#include "nn_interpretability/detail/buffer_restorer.h"

#include <cmath>
#include <mutex>

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <c10/util/Exception.h>

namespace nn_interpretability {
namespace {

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

}  // namespace

Parameterization::Parameterization(ParameterizationOptions options, std::string caller)
    : options_(std::move(options)), caller_(std::move(caller)) {
  const auto& o = options_;
  if (o.clip()) {
    TORCH_CHECK_VALUE(std::isfinite(o.clip()->first) && std::isfinite(o.clip()->second) &&
                          o.clip()->first <= o.clip()->second,
                      caller_, ": parameterization.clip must be finite with low <= high, got [", o.clip()->first,
                      ", ", o.clip()->second, "]");
  }
  TORCH_CHECK_VALUE(std::isfinite(o.noise_std()) && o.noise_std() >= 0, caller_,
                    ": parameterization.noise_std must be a finite value >= 0, got ", o.noise_std());
  if (!code_space()) {
    TORCH_CHECK_VALUE(!o.start_code().defined(), caller_,
                      ": parameterization.start_code is set but there is no generator; set parameterization.generator(...) "
                      "for code space or parameterization.start_image(...) for input space");
  } else {
    TORCH_CHECK_VALUE(!o.start_image().defined(), caller_,
                      ": parameterization.start_image is set in code space (a generator is set); start from codes with "
                      "parameterization.start_code(...)");
  }
}

void Parameterization::check_shape(c10::IntArrayRef shape) const {
  TORCH_CHECK_VALUE(shape.size() >= 2 || code_space(), caller_,
                    ": the image batch shape must be [N, ...] of rank >= 2, got ", shape);
  TORCH_CHECK_VALUE(!shape.empty() && shape[0] > 0, caller_, ": empty batch (", variable_name(), " shape ", shape, ")");
}

torch::Tensor Parameterization::start(c10::IntArrayRef shape, const Model& classifier, uint64_t seed) const {
  const auto& o = options_;
  const char* what = variable_name();
  const torch::Tensor& given = given_start();
  torch::Tensor start;
  if (given.defined()) {
    TORCH_CHECK_VALUE(given.sizes() == shape, caller_, ": the start ", what, " batch has shape ", given.sizes(),
                      " but the shape to optimize is ", shape);
    start = given.detach().clone();
  } else {
    TORCH_CHECK_VALUE(o.start() != AmStart::kImage, caller_, ": parameterization.start is kImage but no start_", what,
                      " is set");
    const Model& consumer = code_space() ? *o.generator() : classifier;
    torch::Tensor reference = consumer.backend().reference_parameter();
    const torch::TensorOptions tensor_options =
        reference.defined() ? reference.options() : torch::TensorOptions().dtype(torch::kFloat);
    at::Generator generator = make_device_generator(seed, tensor_options.device());
    if (o.start() == AmStart::kZeros) {
      start = at::zeros(shape, tensor_options);
    } else if (code_space()) {
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
  if (code_space()) {
    o.generator()->check_input(start, (caller_ + " (start code)").c_str());
  } else {
    classifier.check_input(start, caller_.c_str());
  }
  return start;
}

torch::Tensor Parameterization::image(const torch::Tensor& variable) const {
  if (!code_space()) return variable;
  detail::ModelBackend& backend = options_.generator()->backend();
  detail::BufferRestorer restore(backend);  // a generator in train mode updates its buffers
  torch::Tensor images;
  try {
    images = backend.forward(variable);
  } catch (const c10::Error& error) {
    TORCH_CHECK_VALUE(false, caller_, ": the generator (", backend.describe(), ") failed on codes of shape ",
                      variable.sizes(), " and dtype ", variable.scalar_type(), ": ", error.what_without_backtrace());
  }
  TORCH_CHECK_VALUE(images.defined(), caller_, ": the generator returned an undefined tensor");
  TORCH_CHECK_VALUE(images.dim() >= 2 && images.size(0) == variable.size(0), caller_, ": the generator returned shape ",
                    images.sizes(), " for ", variable.size(0), " codes; it must return one image per code [N, ...]");
  TORCH_CHECK_TYPE(images.is_floating_point(), caller_, ": the generator must return floating-point images, got ",
                   images.scalar_type());
  return images;
}

torch::Tensor Parameterization::clamp_to_range(const torch::Tensor& image) const {
  if (!options_.clip()) return image;
  return image.clamp(options_.clip()->first, options_.clip()->second);
}

}  // namespace nn_interpretability
