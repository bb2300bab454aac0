#include <iostream>

#include <nn_interpretability/nn_interpretability.h>
#include <torch/torch.h>

int main() {
  namespace nni = nn_interpretability;
  torch::nn::Sequential model(torch::nn::Conv2d(1, 8, 3), torch::nn::ReLU(), torch::nn::Flatten(),
                              torch::nn::Linear(8 * 26 * 26, 10));
  model->eval();
  torch::Tensor images = torch::rand({4, 1, 28, 28});
  // SmoothGrad over guided backprop, explaining each image's predicted class.
  nni::SmoothGrad method(nni::GuidedBackprop(model), nni::SmoothGradOptions().samples(20).seed(0));
  torch::Tensor attributions = method.attribute(images);
  std::cout << "attributions: " << attributions.sizes() << '\n';  // [4, 1, 28, 28]
}
