#include "nn_interpretability/layer_cam.h"

#include <ATen/ATen.h>

#include "nn_interpretability/grad_cam.h"

namespace nn_interpretability {

torch::Tensor LayerCam::attribute(const torch::Tensor& input, const Target& target) {
  const char* method = "LayerCam";
  detail::LayerGradient layer = detail::layer_gradient(model_, input, options_.layer(), target, method);
  torch::Tensor map = (layer.gradient.clamp_min(0) * layer.activation).sum(1, /*keepdim=*/true);
  if (options_.relu()) map = map.clamp_min(0);
  return detail::finish_cam_map(map, input, options_.upsample(), method);
}

}  // namespace nn_interpretability
