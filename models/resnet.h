#pragma once
// ResNet-18 in torchvision's layout, as a LibTorch module.
//
// Submodule names match torchvision's `resnet18()` exactly (conv1, bn1, relu, maxpool, layer1..layer4
// of two BasicBlocks each with conv1, bn1, relu, conv2, bn2 and, where the shape changes, downsample
// = Sequential(conv1x1, bn), avgpool, fc), so dotted names such as "layer4.1.conv2" or
// "layer2.0.downsample.0" address the same layers as in PyTorch and in `named_modules()`.
// He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016.
//
// Example:
//   nni_models::ResNet18 net(/*classes=*/10);
//   net->eval();
//   torch::Tensor scores = net->forward(torch::randn({1, 3, 64, 64}));  // [1, 10]
//
// The stages "layer1" ... "layer4" are marked with nn_interpretability::mark_layer in forward, so
// code that uses this header must link the core library (nn_interpretability::nn_interpretability).

#include <cstdint>
#include <string>

#include <torch/nn/init.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>
#include <torch/utils.h>

#include "nn_interpretability/model/layer.h"

namespace nni_models {

/// 3×3 convolution with padding 1 and no bias, as torchvision's `conv3x3`.
inline torch::nn::Conv2d conv3x3(int64_t in_planes, int64_t out_planes, int64_t stride = 1) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in_planes, out_planes, 3).stride(stride).padding(1).bias(false));
}

/// 1×1 convolution with no bias, as torchvision's `conv1x1`.
inline torch::nn::Conv2d conv1x1(int64_t in_planes, int64_t out_planes, int64_t stride = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in_planes, out_planes, 1).stride(stride).bias(false));
}

/// Two 3×3 convolutions with a skip connection; `downsample` matches the skip's shape when the block
/// changes the resolution or the channel count.
struct BasicBlockImpl : torch::nn::Module {
  static constexpr int64_t expansion = 1;

  BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride = 1) {
    conv1 = register_module("conv1", conv3x3(in_planes, planes, stride));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(planes));
    relu = register_module("relu", torch::nn::ReLU());
    conv2 = register_module("conv2", conv3x3(planes, planes));
    bn2 = register_module("bn2", torch::nn::BatchNorm2d(planes));
    if (stride != 1 || in_planes != planes * expansion) {
      downsample = register_module(
          "downsample", torch::nn::Sequential(conv1x1(in_planes, planes * expansion, stride),
                                              torch::nn::BatchNorm2d(planes * expansion)));
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor identity = x;
    torch::Tensor out = relu(bn1(conv1(x)));
    out = bn2(conv2(out));
    if (downsample) identity = downsample->forward(x);
    return relu(out + identity);
  }

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::ReLU relu{nullptr};
  torch::nn::Sequential downsample{nullptr};  ///< empty when the skip is the identity
};
TORCH_MODULE(BasicBlock);

/// ResNet-18: conv1 7×7/2, bn1, relu, maxpool 3×3/2, four stages of two BasicBlocks (64, 128, 256,
/// 512 channels; stages 2–4 halve the resolution), global average pool, fc. Any input size of at
/// least 32×32 works (the average pool is adaptive); torchvision's weights expect 3×224×224.
struct ResNet18Impl : torch::nn::Module {
  explicit ResNet18Impl(int64_t classes = 10, int64_t in_channels = 3) {
    conv1 = register_module(
        "conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, 64, 7).stride(2).padding(3).bias(false)));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(64));
    relu = register_module("relu", torch::nn::ReLU());
    maxpool = register_module("maxpool", torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1)));
    int64_t in_planes = 64;
    layer1 = register_module("layer1", make_layer(in_planes, 64, 1));
    layer2 = register_module("layer2", make_layer(in_planes, 128, 2));
    layer3 = register_module("layer3", make_layer(in_planes, 256, 2));
    layer4 = register_module("layer4", make_layer(in_planes, 512, 2));
    avgpool = register_module("avgpool", torch::nn::AdaptiveAvgPool2d(torch::nn::AdaptiveAvgPool2dOptions(1)));
    fc = register_module("fc", torch::nn::Linear(512 * BasicBlockImpl::expansion, classes));

    // torchvision's initialization: Kaiming-normal (fan_out, ReLU) convolutions, unit BatchNorm.
    torch::NoGradGuard no_grad;
    for (auto& module : modules(/*include_self=*/false)) {
      if (auto* conv = module->as<torch::nn::Conv2d>()) {
        torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
      } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
        torch::nn::init::ones_(bn->weight);
        torch::nn::init::zeros_(bn->bias);
      }
    }
  }

  torch::Tensor forward(torch::Tensor x) {
    x = maxpool(relu(bn1(conv1(x))));
    // The stages are containers with a hand-written forward (nn::Sequential of BasicBlocks): in a C++
    // model the library cannot find their outputs by itself. mark_layer is the documented opt-in
    // (docs/model_access.md) that makes "layer1" ... "layer4" reachable by name for the CAM methods
    // and forward_with_layer; it is the identity otherwise (no copy, no extra operator).
    namespace nni = nn_interpretability;
    x = nni::mark_layer("layer1", layer1->forward(x));
    x = nni::mark_layer("layer2", layer2->forward(x));
    x = nni::mark_layer("layer3", layer3->forward(x));
    x = nni::mark_layer("layer4", layer4->forward(x));
    x = avgpool(x).flatten(1);
    return fc(x);
  }

  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::ReLU relu{nullptr};
  torch::nn::MaxPool2d maxpool{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  torch::nn::AdaptiveAvgPool2d avgpool{nullptr};
  torch::nn::Linear fc{nullptr};

 private:
  static torch::nn::Sequential make_layer(int64_t& in_planes, int64_t planes, int64_t stride) {
    torch::nn::Sequential layer;
    layer->push_back(BasicBlock(in_planes, planes, stride));
    in_planes = planes * BasicBlockImpl::expansion;
    layer->push_back(BasicBlock(in_planes, planes, 1));
    return layer;
  }
};
TORCH_MODULE(ResNet18);

}  // namespace nni_models
