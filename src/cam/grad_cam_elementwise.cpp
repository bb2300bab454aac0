// Grad-CAM element-wise: each activation-gradient product rectified before the channel sum.
#include "nn_interpretability/cam/grad_cam_elementwise.h"

namespace nn_interpretability {

GradCamElementwise::GradCamElementwise(Model model, GradCamElementwiseOptions options)
    : GradientCamMethod(std::move(model), options.map_options(), "GradCamElementwise"),
      options_(std::move(options)) {}

torch::Tensor GradCamElementwise::channel_weights(const torch::Tensor& activation,
                                                  const torch::Tensor& gradient) const {
  return gradient * ((gradient * activation) > 0);
}

}  // namespace nn_interpretability
