// Grad-CAM: channel weights = the spatial mean of the layer's gradient.
#include "nn_interpretability/cam/grad_cam.h"

#include "nn_interpretability/detail/cam_steps.h"

namespace nn_interpretability {

torch::Tensor GradCam::channel_weights(const torch::Tensor& /*activation*/, const torch::Tensor& gradient) const {
  return detail::grad_cam_weights(gradient);
}

}  // namespace nn_interpretability
