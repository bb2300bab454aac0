#pragma once
// The seed's general MNIST CNN (the network of the PyTorch MNIST example), as a LibTorch module.
//
// Input float [N, 1, 28, 28] with pixel values in [0, 1] (no normalization); output raw class
// scores (logits) [N, 10].
//
//   conv1    Conv2d(1, 10, k5)      -> [N, 10, 24, 24]
//   pool1    MaxPool2d(2)           -> [N, 10, 12, 12]
//   relu1    ReLU
//   conv2    Conv2d(10, 20, k5)     -> [N, 20, 8, 8]
//   pool2    MaxPool2d(2)           -> [N, 20, 4, 4]
//   relu2    ReLU
//   flatten  Flatten                -> [N, 320]
//   fc1      Linear(320, 50)
//   relu3    ReLU
//   dropout  Dropout(0.5)           (identity in eval mode)
//   fc2      Linear(50, 10)         -> [N, 10]
//
// The module *is* an nn::Sequential (MnistCnnImpl derives from SequentialImpl) with named
// children, so every layer above, ReLUs included, is reachable by name ("conv2", "relu2", ...)
// by running the Sequential child by child, and every ReLU is an nn::ReLU module.
//
// Example:
//   nni_models::MnistCnn net;
//   torch::load(net, "models/weights/mnist_cnn.pt");
//   net->eval();
//   torch::Tensor scores = net->forward(images);  // images [N, 1, 28, 28] in [0, 1]

#include <utility>

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace nni_models {

/// The seed's MNIST CNN: two 5×5 convolutions (10 and 20 channels) with max-pooling, then
/// fully connected 320→50→10. See the file comment for the layer names.
struct MnistCnnImpl : torch::nn::SequentialImpl {
  /// `dropout`: the dropout probability between fc1 and fc2 (active in train mode only).
  explicit MnistCnnImpl(double dropout = 0.5) {
    namespace nn = torch::nn;
    push_back("conv1", nn::Conv2d(nn::Conv2dOptions(1, 10, 5)));
    push_back("pool1", nn::MaxPool2d(nn::MaxPool2dOptions(2)));
    push_back("relu1", nn::ReLU());
    push_back("conv2", nn::Conv2d(nn::Conv2dOptions(10, 20, 5)));
    push_back("pool2", nn::MaxPool2d(nn::MaxPool2dOptions(2)));
    push_back("relu2", nn::ReLU());
    push_back("flatten", nn::Flatten());
    push_back("fc1", nn::Linear(320, 50));
    push_back("relu3", nn::ReLU());
    push_back("dropout", nn::Dropout(dropout));
    push_back("fc2", nn::Linear(50, 10));
  }
  /// Logits [N, 10] for images [N, 1, 28, 28].
  torch::Tensor forward(torch::Tensor x) { return torch::nn::SequentialImpl::forward(std::move(x)); }
};
TORCH_MODULE(MnistCnn);

}  // namespace nni_models
