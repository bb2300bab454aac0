// Grad-CAM: channel weights = the spatial mean of the layer's gradient.
#include "nn_interpretability/cam/grad_cam.h"

namespace nn_interpretability {

torch::Tensor GradCam::channel_weights(const torch::Tensor& /*activation*/, const torch::Tensor& gradient) const {
  return gradient.mean({2, 3}, /*keepdim=*/true);
}

}  // namespace nn_interpretability
