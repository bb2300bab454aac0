// HiResCAM: every activation weighted by its own gradient.
#include "nn_interpretability/cam/hires_cam.h"

namespace nn_interpretability {

HiResCam::HiResCam(Model model, HiResCamOptions options)
    : GradientCamMethod(std::move(model), options.map_options(), "HiResCam"), options_(std::move(options)) {}

torch::Tensor HiResCam::channel_weights(const torch::Tensor& /*activation*/, const torch::Tensor& gradient) const {
  return gradient;
}

}  // namespace nn_interpretability
