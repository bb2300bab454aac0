#pragma once
// A small VGG-style CNN for CIFAR-10 (3×32×32) ending in global average pooling and one Linear
// layer, so Class Activation Mapping applies (CAM of class c = sum_k classifier.weight[c, k] * A_k
// with A the output of the layer named `kCamLayer`).
//
// Sized for training on 2 CPU cores: about 34 M multiply-adds per image, 0.58 M parameters (only
// the first block runs at full 32×32 resolution, with 32 channels; the widths then grow 64-128-256).
//
// Input float [N, 3, 32, 32] with RGB values in [0, 1] (no normalization: the first BatchNorm
// absorbs it); output logits [N, 10]. Put the module in eval() mode before explaining it
// (BatchNorm uses its running statistics there).
//
// The module *is* an nn::Sequential (CifarCnnImpl derives from SequentialImpl):
//   features    nn::Sequential (a subclass with a plain forward), conv blocks of Conv2d(k3, pad 1, no bias) -> BatchNorm2d -> ReLU:
//     features.0-2    Conv2d(3, 32)    BN ReLU   32×32
//     features.3      MaxPool2d(2)               16×16
//     features.4-6    Conv2d(32, 64)   BN ReLU   16×16
//     features.7-9    Conv2d(64, 64)   BN ReLU   16×16
//     features.10     MaxPool2d(2)               8×8
//     features.11-13  Conv2d(64, 128)  BN ReLU   8×8
//     features.14-16  Conv2d(128, 128) BN ReLU   8×8
//     features.17     MaxPool2d(2)               4×4
//     features.18-20  Conv2d(128, 256) BN ReLU   4×4
//     features.20     ReLU   <- kCamLayer, [N, 256, 4, 4]
//   pool        AdaptiveAvgPool2d(1)  (global average pooling)
//   flatten     Flatten               -> [N, 256]
//   classifier  Linear(256, 10)
// Every layer, ReLUs included, is reachable by its dotted name by running the Sequentials child
// by child.
//
// Example:
//   nni_models::CifarCnn net;
//   torch::load(net, "models/weights/cifar_cnn.pt");
//   net->eval();
//   torch::Tensor scores = net->forward(images);  // images [N, 3, 32, 32] in [0, 1]

#include <cstdint>
#include <utility>
#include <vector>

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace nni_models {

namespace detail {
/// An nn::Sequential with a plain `Tensor forward(Tensor)`, so it can be a child of another
/// Sequential (a plain nn::Sequential cannot: its forward is a template).
struct CifarFeaturesImpl : torch::nn::SequentialImpl {
  using torch::nn::SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor x) { return torch::nn::SequentialImpl::forward(std::move(x)); }
};
TORCH_MODULE(CifarFeatures);
}  // namespace detail

/// The CIFAR-10 CAM classifier; see the file comment for the layer names.
struct CifarCnnImpl : torch::nn::SequentialImpl {
  /// The post-ReLU output of the last conv block, the input of the global average pool.
  static constexpr const char* kCamLayer = "features.20";
  /// The Linear layer whose weights [classes, 256] weight the CAM channels.
  static constexpr const char* kClassifierLayer = "classifier";
  /// Marks a 2×2 max-pool in a configuration.
  static constexpr int64_t kPool = -1;

  /// The default configuration: output channels of each conv block, kPool for a max-pool.
  static std::vector<int64_t> default_config() { return {32, kPool, 64, 64, kPool, 128, 128, kPool, 256}; }

  /// `config`: conv widths and pools as in default_config() (the shipped weights and kCamLayer
  /// are for the default; another configuration is for experiments and must end in a conv).
  explicit CifarCnnImpl(int64_t classes = 10, const std::vector<int64_t>& config = default_config()) {
    namespace nn = torch::nn;
    detail::CifarFeatures features;
    int64_t channels = 3;
    for (int64_t entry : config) {
      if (entry == kPool) {
        features->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2)));
        continue;
      }
      features->push_back(nn::Conv2d(nn::Conv2dOptions(channels, entry, 3).padding(1).bias(false)));
      features->push_back(nn::BatchNorm2d(entry));
      features->push_back(nn::ReLU());
      channels = entry;
    }
    push_back("features", features);
    push_back("pool", nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions(1)));
    push_back("flatten", nn::Flatten());
    push_back("classifier", nn::Linear(channels, classes));
  }
  /// Logits [N, classes] for images [N, 3, 32, 32].
  torch::Tensor forward(torch::Tensor x) { return torch::nn::SequentialImpl::forward(std::move(x)); }
};
TORCH_MODULE(CifarCnn);

}  // namespace nni_models
