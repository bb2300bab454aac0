// EigenCAM: the first principal component of the layer's activations.
#include "nn_interpretability/cam/eigen_cam.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "nn_interpretability/detail/cam_steps.h"

namespace nn_interpretability {

EigenCam::EigenCam(Model model, EigenCamOptions options)
    : CamMethod(std::move(model), options.map_options(), "EigenCam", /*uses_gradients=*/false),
      options_(std::move(options)) {
  TORCH_CHECK_VALUE(!options_.eigen_smooth(), "EigenCam: eigen_smooth does not apply (EigenCAM always projects on ",
                    "the first principal component; `center` chooses pytorch-grad-cam's centred variant)");
}

torch::Tensor EigenCam::layer_weights(const CamLayer& layer, const CamPass& /*pass*/) {
  return at::ones({}, layer.activation.options());
}

torch::Tensor EigenCam::reduce_channels(const torch::Tensor& weighted) const {
  return detail::first_principal_component(weighted, options_.center());
}

}  // namespace nn_interpretability
