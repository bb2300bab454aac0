#include "nn_interpretability/cam/upsample.h"

#include <vector>

#include <c10/util/Exception.h>
#include <torch/nn/functional/upsampling.h>

namespace nn_interpretability {

torch::Tensor upsample_map(const torch::Tensor& map, torch::IntArrayRef size, Upsample mode) {
  TORCH_CHECK_VALUE(map.defined(), "upsample_map: the map is undefined");
  TORCH_CHECK_VALUE(map.dim() == 4, "upsample_map: the map must be [N, C, h, w], got shape ", map.sizes());
  TORCH_CHECK_TYPE(map.is_floating_point(), "upsample_map: the map must be floating point, got ",
                   map.scalar_type());
  TORCH_CHECK_VALUE(size.size() == 2 && size[0] > 0 && size[1] > 0,
                    "upsample_map: the size must be {H, W} with positive entries, got ", size);
  if (mode == Upsample::kNone) return map;
  namespace F = torch::nn::functional;
  auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{size[0], size[1]});
  switch (mode) {
    case Upsample::kBilinear:
      options.mode(torch::kBilinear).align_corners(false);
      break;
    case Upsample::kBicubic:
      options.mode(torch::kBicubic).align_corners(false);
      break;
    case Upsample::kNearest:
    case Upsample::kNone:
      options.mode(torch::kNearest);
      break;
  }
  return F::interpolate(map, options);
}

}  // namespace nn_interpretability
