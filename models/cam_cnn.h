#pragma once
// Two CNNs for 1×28×28 images built for Class Activation Mapping (Zhou et al., "Learning Deep
// Features for Discriminative Localization", CVPR 2016): the network ends in
// `last conv block (post-ReLU) -> global average pool -> one Linear`, so the CAM of class c is
// sum_k classifier.weight[c, k] * A_k, with A the output of the layer named `kCamLayer`.
//
// Input float [N, 1, 28, 28] in [0, 1] (no normalization); output logits [N, 10].
//
// Both modules *are* nn::Sequential (they derive from SequentialImpl), with these children:
//   features    nn::Sequential (a subclass with a plain forward) of Conv2d / ReLU / MaxPool2d, indexed "features.0" ...
//   pool        AdaptiveAvgPool2d(1)  (global average pooling)
//   flatten     Flatten               -> [N, 128]
//   classifier  Linear(128, 10)
// so every layer, ReLUs included, is reachable by its dotted name by running the Sequentials child
// by child.
//
// CamCnn3x3 (final map 3×3):               CamCnn6x6 (final map 6×6, "extended"):
//   features.0 Conv2d(1, 32, k3)     26×26    features.0 Conv2d(1, 32, k3, pad 1)   28×28
//   features.1 ReLU                           features.1 ReLU
//   features.2 MaxPool2d(2)          13×13    features.2 MaxPool2d(2)               14×14
//   features.3 Conv2d(32, 64, k3)    11×11    features.3 Conv2d(32, 64, k3)         12×12
//   features.4 ReLU                           features.4 ReLU
//   features.5 MaxPool2d(2)          5×5      features.5 MaxPool2d(2)               6×6
//   features.6 Conv2d(64, 128, k3)   3×3      features.6 Conv2d(64, 128, k3, pad 1) 6×6
//   features.7 ReLU   <- kCamLayer            features.7 ReLU   <- kCamLayer
//
// Example:
//   nni_models::CamCnn6x6 net;
//   torch::load(net, "models/weights/cam6x6_mnist.pt");
//   net->eval();
//   torch::Tensor scores = net->forward(images);              // [N, 10]
//   // CAM layer: nni_models::CamCnn6x6Impl::kCamLayer == "features.7", [N, 128, 6, 6]

#include <cstdint>
#include <utility>

#include <torch/nn/modules/activation.h>
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
struct CamFeaturesImpl : torch::nn::SequentialImpl {
  using torch::nn::SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor x) { return torch::nn::SequentialImpl::forward(std::move(x)); }
};
TORCH_MODULE(CamFeatures);

/// features -> global average pool -> flatten -> classifier, appended to `net`.
inline void build_cam_cnn(torch::nn::SequentialImpl& net, int64_t pad1, int64_t pad2, int64_t pad3,
                          int64_t classes) {
  namespace nn = torch::nn;
  CamFeatures features(
      nn::Conv2d(nn::Conv2dOptions(1, 32, 3).padding(pad1)), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)),
      nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(pad2)), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)),
      nn::Conv2d(nn::Conv2dOptions(64, 128, 3).padding(pad3)), nn::ReLU());
  net.push_back("features", features);
  net.push_back("pool", nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions(1)));
  net.push_back("flatten", nn::Flatten());
  net.push_back("classifier", nn::Linear(128, classes));
}
}  // namespace detail

/// CAM classifier whose last feature map (layer `kCamLayer`) is 128×3×3.
struct CamCnn3x3Impl : torch::nn::SequentialImpl {
  /// The post-ReLU output of the last conv block, the input of the global average pool.
  static constexpr const char* kCamLayer = "features.7";
  /// The Linear layer whose weights [classes, 128] weight the CAM channels.
  static constexpr const char* kClassifierLayer = "classifier";

  explicit CamCnn3x3Impl(int64_t classes = 10) { detail::build_cam_cnn(*this, 0, 0, 0, classes); }
  /// Logits [N, classes] for images [N, 1, 28, 28].
  torch::Tensor forward(torch::Tensor x) { return torch::nn::SequentialImpl::forward(std::move(x)); }
};
TORCH_MODULE(CamCnn3x3);

/// The "extended" CAM classifier whose last feature map (layer `kCamLayer`) is 128×6×6.
struct CamCnn6x6Impl : torch::nn::SequentialImpl {
  /// The post-ReLU output of the last conv block, the input of the global average pool.
  static constexpr const char* kCamLayer = "features.7";
  /// The Linear layer whose weights [classes, 128] weight the CAM channels.
  static constexpr const char* kClassifierLayer = "classifier";

  explicit CamCnn6x6Impl(int64_t classes = 10) { detail::build_cam_cnn(*this, 1, 0, 1, classes); }
  /// Logits [N, classes] for images [N, 1, 28, 28].
  torch::Tensor forward(torch::Tensor x) { return torch::nn::SequentialImpl::forward(std::move(x)); }
};
TORCH_MODULE(CamCnn6x6);

}  // namespace nni_models
