#pragma once
// The parameterization part of feature visualization: what tensor is optimized and how it becomes
// the image the classifier sees. Input space optimizes the pixels themselves (kept in a value
// range); code space optimizes a generator's code z and shows the classifier x = G(z).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <c10/util/ArrayRef.h>
#include <c10/util/Optional.h>
#include <torch/arg.h>
#include <torch/types.h>

#include "nn_interpretability/model/model.h"

namespace nn_interpretability {

/// Where the optimized tensor starts.
enum class AmStart {
  kZeros,          ///< all zeros
  kUniformNoise,   ///< uniform in [low, high) of the clip range ([0, 1) without clipping)
  kGaussianNoise,  ///< normal with mean at the clip range's centre (0 without clipping), std `noise_std`
  kImage,          ///< the batch given as `start_image` (input space) or `start_code` (code space)
};
// A defined `start_image` (input space) or `start_code` (code space) is always the start, whatever
// `start` says; kImage without one is an error.

/// A closed value range [low, high].
using AmRange = std::pair<double, double>;

/// How the optimized tensor is made and turned into images.
struct ParameterizationOptions {
  TORCH_ARG(AmStart, start) = AmStart::kUniformNoise;
  /// Standard deviation of kGaussianNoise.
  TORCH_ARG(double, noise_std) = 0.1;
  /// The start batch in input space [N, ...] (always used when defined); it also gives
  /// maximize(objective) its shape.
  TORCH_ARG(torch::Tensor, start_image);
  /// The images' value range (input space only): the noise starts are drawn in it and the image is
  /// clamped to it after every step; nullopt = no clipping.
  TORCH_ARG(c10::optional<AmRange>, clip) = AmRange(0.0, 1.0);

  // ---- code space: optimize z and show the classifier x = G(z)
  /// The generator G (images = G(codes)); unset = optimize the image itself (input space).
  TORCH_ARG(c10::optional<Model>, generator) = c10::nullopt;
  /// One code's shape, e.g. {64}, so that maximize(objective, batch) can make codes [batch, 64].
  TORCH_ARG(std::vector<int64_t>, latent_shape);
  /// The start codes [N, ...] (always used when defined; otherwise kZeros gives zero codes and
  /// either noise start N(0, 1) codes); it also gives maximize(objective) its shape.
  TORCH_ARG(torch::Tensor, start_code);
};

/// Makes the start tensor and maps the optimized tensor to images. Options are checked once, at
/// construction; `caller` names the method in every error message.
class Parameterization {
 public:
  Parameterization(ParameterizationOptions options, std::string caller);

  const ParameterizationOptions& options() const { return options_; }
  /// Whether a generator is set: the optimized tensor is a code, not an image.
  bool code_space() const { return options_.generator().has_value(); }
  /// "code" or "image", for messages.
  const char* variable_name() const { return code_space() ? "code" : "image"; }
  /// The start batch given in the options (start_code in code space, start_image in input space);
  /// undefined when none is.
  const torch::Tensor& given_start() const { return code_space() ? options_.start_code() : options_.start_image(); }

  /// Checks a batch shape to optimize: [N, ...] with N > 0, of rank >= 2 in input space.
  void check_shape(c10::IntArrayRef shape) const;
  /// The detached start tensor of `shape`, on the dtype and device of its consumer (the generator
  /// in code space, else `classifier`) and checked against it. Noise comes from a private
  /// generator seeded with `seed`: the global generator is neither read nor advanced.
  torch::Tensor start(c10::IntArrayRef shape, const Model& classifier, uint64_t seed) const;
  /// The images of the optimized tensor: G(variable) in code space (checked: one image per code),
  /// else `variable` itself.
  torch::Tensor image(const torch::Tensor& variable) const;
  /// `image` clamped to the clip range (the same tensor when there is none).
  torch::Tensor clamp_to_range(const torch::Tensor& image) const;

 private:
  ParameterizationOptions options_;
  std::string caller_;
};

}  // namespace nn_interpretability
