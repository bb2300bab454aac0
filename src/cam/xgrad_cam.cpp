// XGrad-CAM: gradients averaged with the channel's own activations as weights.
#include "nn_interpretability/cam/xgrad_cam.h"

#include <ATen/ATen.h>

namespace nn_interpretability {

XGradCam::XGradCam(Model model, XGradCamOptions options)
    : GradientCamMethod(std::move(model), options.map_options(), "XGradCam"), options_(std::move(options)) {}

torch::Tensor XGradCam::channel_weights(const torch::Tensor& activation, const torch::Tensor& gradient) const {
  const torch::Tensor sums = activation.sum({2, 3}, /*keepdim=*/true);
  const torch::Tensor nonzero = sums != 0;
  // Divide by 1 where a channel sums to 0, then zero its weight: no Inf or NaN.
  return (gradient * activation).sum({2, 3}, /*keepdim=*/true) / at::where(nonzero, sums, at::ones_like(sums)) *
         nonzero;
}

}  // namespace nn_interpretability
