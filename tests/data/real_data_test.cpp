// Smoke test on the real data fetched by scripts/fetch_data.sh. Hidden by default (tag [.real]);
// run with `data_tests "[real]"` or `data_tests "[.real]"`. The data folder is $NNI_DATA_DIR or
// <source>/data. Writes /tmp/nni_data_samples.png, each image scaled up 4x: row 1 the first ten
// CIFAR-10 test images (cat, ship, ship, airplane, frog, frog, automobile, frog, cat,
// automobile), row 2 the first CIFAR-10 training image of each class 0..9, row 3 the first ten
// MNIST test digits (0..9), row 4 the first ten Fashion-MNIST test images.

#include "data_test_support.h"

#include <nn_interpretability/data.h>

#include <ATen/core/Tensor.h>
#include "support/catch_torch.h"
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <iostream>

namespace nd = nn_interpretability::data;
using namespace nni_data_test;

namespace {

std::string data_dir() {
  const char* env = std::getenv("NNI_DATA_DIR");
  return env != nullptr && *env != '\0' ? env : source_dir() + "/data";
}

void check_labels(const at::Tensor& labels, int64_t n) {
  REQUIRE(labels.size(0) == n);
  REQUIRE(labels.min().item<int64_t>() == 0);
  REQUIRE(labels.max().item<int64_t>() == 9);
}

void check_range(const at::Tensor& images) {
  REQUIRE(images.min().item<float>() >= 0.0f);
  REQUIRE(images.max().item<float>() <= 1.0f);
}

/// Pastes image i of `images` ([N, C, H, W] in [0, 1]) at (row, col) of a BGR canvas, 4x.
void paste(cv::Mat& canvas, const at::Tensor& images, int64_t i, int row, int col) {
  const at::Tensor img = images[i].mul(255.0f).round().to(at::kByte).contiguous();
  const int channels = static_cast<int>(img.size(0));
  const int h = static_cast<int>(img.size(1));
  const int w = static_cast<int>(img.size(2));
  auto a = img.accessor<uint8_t, 3>();
  for (int y = 0; y < h * 4; ++y)
    for (int x = 0; x < w * 4; ++x) {
      cv::Vec3b& px = canvas.at<cv::Vec3b>(row * 136 + y + 2, col * 136 + x + 2);
      for (int k = 0; k < 3; ++k) {
        // RGB tensor -> BGR canvas; grey images repeat channel 0.
        px[2 - k] = a[channels == 3 ? k : 0][y / 4][x / 4];
      }
    }
}

}  // namespace

TEST_CASE("The real datasets load with the documented counts", "[.real]") {
  const std::string root = data_dir();
  INFO("data folder " << root);

  const auto mnist_train = nd::load_mnist_json(root + "/mnist", nd::Split::kTrain);
  const auto mnist_test = nd::load_mnist_json(root + "/mnist", nd::Split::kTest);
  const auto mnist_all = nd::load_mnist_json(root + "/mnist", nd::Split::kAll);
  check_labels(mnist_train.labels, 8004);
  check_labels(mnist_test.labels, 1996);
  check_labels(mnist_all.labels, 10000);
  check_range(mnist_all.images);

  const auto fashion_train = nd::load_mnist_idx(root + "/fashion-mnist", nd::Split::kTrain);
  const auto fashion_test = nd::load_mnist_idx(root + "/fashion-mnist", nd::Split::kTest);
  check_labels(fashion_train.labels, 60000);
  check_labels(fashion_test.labels, 10000);
  REQUIRE(fashion_train.images.sizes() == at::IntArrayRef({60000, 1, 28, 28}));

  const auto cifar_train = nd::load_cifar10(root + "/cifar10", nd::Split::kTrain);
  const auto cifar_test = nd::load_cifar10(root + "/cifar10", nd::Split::kTest);
  check_labels(cifar_train.labels, 50000);
  check_labels(cifar_test.labels, 10000);
  REQUIRE(cifar_test.images.sizes() == at::IntArrayRef({10000, 3, 32, 32}));
  check_range(cifar_test.images);
  for (int c = 0; c < 10; ++c) {
    std::cout << "class " << c << " (" << nd::cifar10_class_names()[c] << "): train "
              << cifar_train.labels.eq(c).sum().item<int64_t>() << ", test "
              << cifar_test.labels.eq(c).sum().item<int64_t>() << "; mnist train "
              << mnist_train.labels.eq(c).sum().item<int64_t>() << ", fashion test "
              << fashion_test.labels.eq(c).sum().item<int64_t>() << "\n";
  }

  cv::Mat canvas(4 * 136, 10 * 136, CV_8UC3, cv::Scalar(255, 255, 255));
  std::cout << "cifar test labels 0..9:";
  for (int i = 0; i < 10; ++i) {
    paste(canvas, cifar_test.images, i, 0, i);
    const int64_t first_of_class = cifar_train.labels.eq(i).nonzero()[0][0].item<int64_t>();
    paste(canvas, cifar_train.images, first_of_class, 1, i);
    paste(canvas, mnist_test.images, i, 2, i);
    paste(canvas, fashion_test.images, i, 3, i);
    std::cout << " " << nd::cifar10_class_names()[cifar_test.labels[i].item<int64_t>()];
  }
  std::cout << "\nmnist test labels 0..9: " << mnist_test.labels.narrow(0, 0, 10) << "\n";
  REQUIRE(cv::imwrite("/tmp/nni_data_samples.png", canvas));
}
