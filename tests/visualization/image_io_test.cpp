// Tensor <-> cv::Mat conversion and PNG files, including OpenCV's BGR order at the file boundary.

#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

#include <ATen/ATen.h>
#include "support/catch_torch.h"
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "nn_interpretability/visualization.h"
#include "support/no_hang.h"

namespace vis = nn_interpretability::visualization;
namespace fs = std::filesystem;

namespace {

// A fresh directory under the system temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("nni_visualization_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// Values k / 255 for random k: exactly representable in 8 bits.
at::Tensor random_uint8_image(at::IntArrayRef shape) {
  return at::randint(0, 256, shape, at::kFloat).div_(255);
}

}  // namespace

TEST_CASE("tensor_to_mat lays out CHW as HWC in RGB order and mat_to_tensor inverts it", "[visualization][image_io]") {
  at::manual_seed(2);
  const at::Tensor image = random_uint8_image({3, 4, 5});
  const cv::Mat mat = vis::tensor_to_mat(image);
  REQUIRE(mat.type() == CV_8UC3);
  REQUIRE(mat.size() == cv::Size(5, 4));
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 5; ++x) {
      for (int c = 0; c < 3; ++c) {
        CHECK(mat.at<cv::Vec3b>(y, x)[c] == std::lround(image[c][y][x].item<float>() * 255));
      }
    }
  }
  CHECK(at::equal(vis::mat_to_tensor(mat), image));

  const at::Tensor gray = random_uint8_image({1, 4, 5});
  const cv::Mat gray_mat = vis::tensor_to_mat(gray.unsqueeze(0));  // [1, 1, H, W] accepted
  REQUIRE(gray_mat.type() == CV_8UC1);
  CHECK(at::equal(vis::mat_to_tensor(gray_mat), gray));
}

TEST_CASE("Float mats keep values exactly both ways", "[visualization][image_io]") {
  const at::Tensor image = at::tensor({0.1f, -0.5f, 1.5f, 0.3f, 0.2f, 0.7f}).view({3, 1, 2});
  const cv::Mat mat = vis::tensor_to_mat(image, vis::MatDepth::F32);
  REQUIRE(mat.type() == CV_32FC3);
  CHECK(mat.at<cv::Vec3f>(0, 1)[0] == -0.5f);
  CHECK(at::equal(vis::mat_to_tensor(mat), image));
}

TEST_CASE("Uint8 conversion clamps to [0, 1] and rounds to the nearest level", "[visualization][image_io]") {
  const at::Tensor image = at::tensor({-1.0f, 2.0f, 0.5f, 1.0f / 255.0f * 0.49f}).view({1, 2, 2});
  const cv::Mat mat = vis::tensor_to_mat(image);
  CHECK(mat.at<std::uint8_t>(0, 0) == 0);
  CHECK(mat.at<std::uint8_t>(0, 1) == 255);
  CHECK(mat.at<std::uint8_t>(1, 0) == 128);
  CHECK(mat.at<std::uint8_t>(1, 1) == 0);
}

TEST_CASE("A tensor survives a PNG round trip exactly when its values are uint8 levels", "[visualization][image_io]") {
  TempDir dir;
  at::manual_seed(3);
  const at::Tensor rgb = random_uint8_image({3, 7, 9});
  vis::save_png(dir.file("rgb.png"), rgb);
  CHECK(at::equal(vis::load_image(dir.file("rgb.png")), rgb));

  const at::Tensor gray = random_uint8_image({1, 7, 9});
  vis::save_png(dir.file("gray.png"), gray);
  CHECK(at::equal(vis::load_image(dir.file("gray.png"), 1), gray));
}

TEST_CASE("A red-only RGB tensor is a red pixel for cv::imread, which reads BGR", "[visualization][image_io]") {
  TempDir dir;
  at::Tensor image = at::zeros({3, 2, 2});
  image[0].fill_(1.0);  // R
  vis::save_png(dir.file("red.png"), image);
  const cv::Mat bgr = cv::imread(dir.file("red.png"), cv::IMREAD_COLOR);
  REQUIRE(bgr.size() == cv::Size(2, 2));
  CHECK(bgr.at<cv::Vec3b>(1, 1) == cv::Vec3b(0, 0, 255));  // B, G, R

  // And a file written by OpenCV in BGR loads as RGB.
  cv::Mat blue_bgr(1, 1, CV_8UC3, cv::Scalar(255, 0, 0));  // blue in BGR
  REQUIRE(cv::imwrite(dir.file("blue.png"), blue_bgr));
  CHECK(at::equal(vis::load_image(dir.file("blue.png")), at::tensor({0.0f, 0.0f, 1.0f}).view({3, 1, 1})));

  // The RGB grid canvas too: a red tile is red on disk.
  const cv::Mat grid = vis::render_grid({{image}}, vis::GridOptions().tile_size(2).padding(0));
  vis::save_png(dir.file("grid.png"), grid);
  CHECK(cv::imread(dir.file("grid.png")).at<cv::Vec3b>(0, 0) == cv::Vec3b(0, 0, 255));
}

TEST_CASE("Unwritable and unreadable paths are rejected naming the path", "[visualization][image_io]") {
  TempDir dir;
  const std::string missing_dir = dir.file("no/such/dir/out.png");
  CHECK_THROWS_AS(vis::save_png(missing_dir, at::zeros({3, 2, 2})), c10::ValueError);
  CHECK_THROWS_WITH(vis::save_png(missing_dir, at::zeros({3, 2, 2})),
                    Catch::Matchers::Contains("cannot open '" + missing_dir + "' for writing"));
  CHECK_THROWS_WITH(vis::load_image(dir.file("missing.png")), Catch::Matchers::Contains("cannot open"));
  {
    std::ofstream text(dir.file("not_an_image.png"));
    text << "hello";
  }
  CHECK_THROWS_WITH(vis::load_image(dir.file("not_an_image.png")), Catch::Matchers::Contains("cannot decode"));
}

TEST_CASE("Image conversion rejects NaN, batches and odd channel counts", "[visualization][image_io]") {
  at::Tensor image = at::zeros({3, 2, 2});
  image[1][0][0] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(vis::tensor_to_mat(image), Catch::Matchers::Contains("contains NaN"));
  CHECK_THROWS_WITH(vis::save_png("unused.png", image), Catch::Matchers::Contains("contains NaN"));
  CHECK_THROWS_WITH(vis::tensor_to_mat(at::zeros({2, 3, 2, 2})), Catch::Matchers::Contains("batch of 2"));
  CHECK_THROWS_WITH(vis::tensor_to_mat(at::zeros({2, 2, 2})), Catch::Matchers::Contains("1, 3 or 4 channels"));
  CHECK_THROWS_WITH(vis::tensor_to_mat(at::zeros({0, 2})), Catch::Matchers::Contains("empty"));
}

TEST_CASE("load_image refuses FIFOs, devices and directories before reading them", "[visualization][image_io]") {
  TempDir dir;
  const std::string fifo = dir.file("pipe.png");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Each in a child with a deadline: a FIFO used to block the open forever, /dev/zero to be read
  // until memory ran out.
  auto refused = [](const std::string& path) {
    return nni_test::run_in_child([path] { vis::load_image(path); }, 20);
  };
  const nni_test::ChildOutcome from_fifo = refused(fifo);
  REQUIRE(from_fifo.finished);
  CHECK(from_fifo.threw);
  CHECK_THAT(from_fifo.message, Catch::Matchers::Contains("load_image: cannot open '" + fifo +
                                                          "' for reading: is not a regular file (a FIFO)"));
  const nni_test::ChildOutcome from_zero = refused("/dev/zero");
  REQUIRE(from_zero.finished);
  CHECK_THAT(from_zero.message,
             Catch::Matchers::Contains("cannot open '/dev/zero' for reading: is not a regular file (a character device)"));
  fs::create_directories(dir.file("folder.png"));
  CHECK_THROWS_AS(vis::load_image(dir.file("folder.png")), c10::ValueError);
  CHECK_THROWS_WITH(vis::load_image(dir.file("folder.png")),
                    Catch::Matchers::Contains("cannot open '" + dir.file("folder.png") + "' for reading: is a directory"));
  CHECK_THROWS_WITH(vis::load_image(dir.file("missing.png")), Catch::Matchers::Contains("no such file"));
}

TEST_CASE("save_png is atomic: a failed write keeps the previous PNG and leaves no temporary file", "[visualization][image_io]") {
  TempDir dir;
  const std::string path = dir.file("map.png");
  vis::save_png(path, at::zeros({3, 2, 2}));
  std::ifstream before_file(path, std::ios::binary);
  const std::string before((std::istreambuf_iterator<char>(before_file)), std::istreambuf_iterator<char>());
  std::string message;
  {
    // A file-size limit makes the write fail with EFBIG, the way a full disk fails with ENOSPC.
    rlimit saved{};
    getrlimit(RLIMIT_FSIZE, &saved);
    auto* handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lowered = saved;
    lowered.rlim_cur = 1024;
    setrlimit(RLIMIT_FSIZE, &lowered);
    try {
      vis::save_png(path, at::rand({3, 256, 256}));  // noise: a PNG far larger than 1 kB
    } catch (const c10::ValueError& error) {
      message = error.what_without_backtrace();
    }
    setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, handler);
  }
  CHECK_THAT(message, Catch::Matchers::Contains("save_png") && Catch::Matchers::Contains("File too large"));
  std::ifstream after_file(path, std::ios::binary);
  const std::string after((std::istreambuf_iterator<char>(after_file)), std::istreambuf_iterator<char>());
  CHECK(after == before);
  int entries = 0;
  for (const auto& entry : fs::directory_iterator(dir.file(""))) entries += entry.path().filename() == "map.png" ? 1 : 100;
  CHECK(entries == 1);
}
