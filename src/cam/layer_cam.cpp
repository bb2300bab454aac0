// LayerCAM: every activation weighted by its own positive gradient.
#include "nn_interpretability/cam/layer_cam.h"

namespace nn_interpretability {

LayerCam::LayerCam(Model model, LayerCamOptions options)
    : GradientCamMethod(std::move(model), options.map_options(), "LayerCam"), options_(std::move(options)) {}

torch::Tensor LayerCam::channel_weights(const torch::Tensor& /*activation*/, const torch::Tensor& gradient) const {
  return gradient.clamp_min(0);
}

}  // namespace nn_interpretability
