// EigenGrad-CAM: the first principal component of the activations times their gradients.
#include "nn_interpretability/cam/eigen_grad_cam.h"

#include <c10/util/Exception.h>

#include "nn_interpretability/detail/cam_steps.h"

namespace nn_interpretability {

EigenGradCam::EigenGradCam(Model model, EigenGradCamOptions options)
    : GradientCamMethod(std::move(model), options.map_options(), "EigenGradCam"), options_(std::move(options)) {
  TORCH_CHECK_VALUE(!options_.eigen_smooth(), "EigenGradCam: eigen_smooth does not apply (the method always ",
                    "projects on the first principal component)");
}

torch::Tensor EigenGradCam::channel_weights(const torch::Tensor& /*activation*/, const torch::Tensor& gradient) const {
  return gradient;
}

torch::Tensor EigenGradCam::reduce_channels(const torch::Tensor& weighted) const {
  return detail::first_principal_component(weighted, options_.center());
}

}  // namespace nn_interpretability
