#pragma once
// Models shared by the CAM tests.

#include "support/catch_torch.h"
#include <torch/torch.h>


namespace nni_cam_test {

/// An nn::Sequential that can sit inside another one (LibTorch's AnyModule refuses the templated
/// forward of nn::Sequential itself).
struct StageImpl : torch::nn::SequentialImpl {
  using SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor x) { return SequentialImpl::forward(std::move(x)); }
};
TORCH_MODULE(Stage);

/// conv(in → channels, 3×3, padding 1) → ReLU → AdaptiveAvgPool2d(1) → Flatten → Linear(channels, classes).
/// Layer "1" (the ReLU) feeds the global average pool; "4" is the classifier.
inline torch::nn::Sequential gap_model(int64_t in = 2, int64_t channels = 4, int64_t classes = 3, uint64_t seed = 0,
                                       torch::Dtype dtype = torch::kFloat) {
  torch::manual_seed(seed);
  torch::nn::Sequential model(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, channels, 3).padding(1)),
                              torch::nn::ReLU(), torch::nn::AdaptiveAvgPool2d(1), torch::nn::Flatten(),
                              torch::nn::Linear(channels, classes));
  model->to(dtype);
  return model;
}

}  // namespace nni_cam_test
