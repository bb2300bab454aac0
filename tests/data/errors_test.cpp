// Every reader rejects malformed input with a c10::ValueError whose message names the file and
// the problem, and never crashes on truncated or corrupted bytes.

#include "data_test_support.h"

#include <nn_interpretability/data.h>

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>
#include "support/catch_torch.h"
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <sys/stat.h>

#include <functional>
#include <random>
#include <vector>

#include "support/no_hang.h"

namespace nd = nn_interpretability::data;
using namespace nni_data_test;
using Catch::Matchers::Contains;

namespace {

std::vector<std::uint8_t> idx_header(std::vector<std::uint8_t> magic, std::vector<std::uint32_t> dims) {
  for (std::uint32_t d : dims) {
    magic.push_back(static_cast<std::uint8_t>(d >> 24));
    magic.push_back(static_cast<std::uint8_t>(d >> 16));
    magic.push_back(static_cast<std::uint8_t>(d >> 8));
    magic.push_back(static_cast<std::uint8_t>(d));
  }
  return magic;
}

at::Tensor labels_3_8() { return nd::read_cifar10_labels_json(fixture("cifar-2-labels.json")); }

}  // namespace

TEST_CASE("Missing files are reported with their path", "[data][errors]") {
  TempDir dir;
  const std::string missing = dir.file("nope");
  REQUIRE_THROWS_WITH(nd::read_idx_images(missing), Contains("no such file") && Contains(missing));
  REQUIRE_THROWS_WITH(nd::read_idx_labels(missing), Contains("no such file"));
  REQUIRE_THROWS_WITH(nd::read_cifar10_bin(missing), Contains("no such file"));
  REQUIRE_THROWS_WITH(nd::read_cifar10_png(missing, labels_3_8()), Contains("no such file"));
  REQUIRE_THROWS_WITH(nd::read_cifar10_labels_json(missing), Contains("no such file"));
  REQUIRE_THROWS_WITH(nd::read_mnist_json_digit(missing, 0), Contains("no such file"));
  REQUIRE_THROWS_WITH(nd::read_idx_images(dir.path()), Contains("directory"));
  REQUIRE_THROWS_AS(nd::read_idx_images(missing), c10::ValueError);
}

TEST_CASE("Folder loaders name the file they miss", "[data][errors]") {
  TempDir dir;
  REQUIRE_THROWS_WITH(nd::load_mnist_idx(dir.path(), nd::Split::kTrain),
                      Contains("train-images-idx3-ubyte.gz") && Contains("not found"));
  REQUIRE_THROWS_WITH(nd::load_mnist_json(dir.path(), nd::Split::kTest),
                      Contains("0.json") && Contains("no such file"));
  REQUIRE_THROWS_WITH(nd::load_cifar10(dir.path(), nd::Split::kTrain),
                      Contains("no CIFAR-10 batches"));
  fs::copy_file(fixture("cifar-2.bin"), dir.file("data_batch_1.bin"));
  REQUIRE_THROWS_WITH(nd::load_cifar10(dir.path(), nd::Split::kTrain),
                      Contains("data_batch_2.bin") && Contains("no such file"));
}

TEST_CASE("A negative limit is rejected", "[data][errors]") {
  REQUIRE_THROWS_WITH(nd::read_idx_images(fixture("images-idx3-ubyte"), -1),
                      Contains("limit must be non-negative"));
  REQUIRE_THROWS_WITH(nd::read_cifar10_bin(fixture("cifar-2.bin"), -2),
                      Contains("limit must be non-negative"));
  REQUIRE_THROWS_WITH(nd::read_mnist_json_digit(fixture("mnist-digit.json"), 0, -1),
                      Contains("limit must be non-negative"));
}

TEST_CASE("IDX: bad magic number, unsupported type and wrong dimensions", "[data][errors][idx]") {
  TempDir dir;
  write_bytes(dir.file("magic"), idx_header({0x12, 0x34, 0x08, 0x03}, {1, 1, 1}));
  REQUIRE_THROWS_WITH(nd::read_idx_images(dir.file("magic")),
                      Contains("bad magic number 0x12340803") && Contains(dir.file("magic")));
  write_bytes(dir.file("zero_dims"), {0, 0, 8, 0});
  REQUIRE_THROWS_WITH(nd::read_idx_ubyte(dir.file("zero_dims")), Contains("bad magic number"));
  write_bytes(dir.file("float"), idx_header({0, 0, 0x0D, 0x01}, {1}));
  REQUIRE_THROWS_WITH(nd::read_idx_labels(dir.file("float")),
                      Contains("unsupported IDX element type 0x0D"));
  REQUIRE_THROWS_WITH(nd::read_idx_images(fixture("labels-idx1-ubyte")),
                      Contains("wrong dimensions") && Contains("3 dimensions"));
  REQUIRE_THROWS_WITH(nd::read_idx_labels(fixture("images-idx3-ubyte.gz")),
                      Contains("wrong dimensions") && Contains("1 dimension"));
}

TEST_CASE("IDX: truncated files and impossible headers", "[data][errors][idx]") {
  TempDir dir;
  auto bytes = read_bytes(fixture("images-idx3-ubyte"));
  write_bytes(dir.file("short"), {bytes.begin(), bytes.end() - 1});
  REQUIRE_THROWS_WITH(nd::read_idx_images(dir.file("short")),
                      Contains("truncated file") && Contains(dir.file("short")));
  write_bytes(dir.file("header_only"), {bytes.begin(), bytes.begin() + 10});
  REQUIRE_THROWS_WITH(nd::read_idx_images(dir.file("header_only")), Contains("truncated file"));
  write_bytes(dir.file("two"), {0, 0});
  REQUIRE_THROWS_WITH(nd::read_idx_images(dir.file("two")), Contains("truncated file"));
  write_bytes(dir.file("empty"), {});
  REQUIRE_THROWS_WITH(nd::read_idx_images(dir.file("empty")), Contains("truncated file"));

  // 60000 x 28 x 28 declared, no data: rejected before any allocation.
  write_bytes(dir.file("claims"), idx_header({0, 0, 8, 3}, {60000, 28, 28}));
  REQUIRE_THROWS_WITH(nd::read_idx_images(dir.file("claims")),
                      Contains("truncated file") && Contains("47040000"));
  // Sizes whose product overflows.
  write_bytes(dir.file("huge"), idx_header({0, 0, 8, 3}, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}));
  REQUIRE_THROWS_WITH(nd::read_idx_images(dir.file("huge")), Contains("corrupt IDX header"));
  // Also with a limit: the header is still checked against the file size.
  REQUIRE_THROWS_WITH(nd::read_idx_images(dir.file("claims"), 1), Contains("truncated file"));
}

TEST_CASE("IDX: image and label counts must agree", "[data][errors][idx]") {
  TempDir dir;
  auto labels = idx_header({0, 0, 8, 1}, {2});
  labels.insert(labels.end(), {1, 2});
  write_bytes(dir.file("labels"), labels);
  REQUIRE_THROWS_WITH(nd::read_idx(fixture("images-idx3-ubyte"), dir.file("labels")),
                      Contains("label count mismatch") && Contains("3 images") &&
                          Contains("2 labels"));
  REQUIRE_THROWS_WITH(nd::read_idx(fixture("images-idx3-ubyte"), dir.file("labels"), 1),
                      Contains("label count mismatch"));
}

TEST_CASE("IDX: corrupt and truncated gzip data", "[data][errors][idx]") {
  TempDir dir;
  const auto gz = read_bytes(fixture("images-idx3-ubyte.gz"));
  auto bad_method = gz;
  bad_method[2] = 7;  // compression method must be 8 (deflate)
  write_bytes(dir.file("method.gz"), bad_method);
  REQUIRE_THROWS_WITH(nd::read_idx_images(dir.file("method.gz")),
                      Contains("corrupt gzip data") && Contains(dir.file("method.gz")));
  auto bad_crc = gz;
  bad_crc[bad_crc.size() - 6] ^= 0xFF;  // inside the CRC-32 trailer
  write_bytes(dir.file("crc.gz"), bad_crc);
  REQUIRE_THROWS_WITH(nd::read_idx_images(dir.file("crc.gz")), Contains("corrupt gzip data"));
  write_bytes(dir.file("cut.gz"), {gz.begin(), gz.begin() + static_cast<long>(gz.size() / 2)});
  REQUIRE_THROWS_WITH(nd::read_idx_images(dir.file("cut.gz")),
                      Contains("gzip") && Contains("truncated"));
  write_bytes(dir.file("magic_only.gz"), {0x1f, 0x8b});
  REQUIRE_THROWS_WITH(nd::read_idx_images(dir.file("magic_only.gz")), Contains("gzip"));
}

TEST_CASE("IDX: a gzip header cannot claim more than the compressed data can hold",
          "[data][errors][idx]") {
  TempDir dir;
  // A valid gzip file (one stored deflate block) of a header declaring 2^24 x 2^8 x 2^8 bytes
  // (1 TiB) and no data: gzip header, stored block, CRC-32, size.
  const auto raw = idx_header({0, 0, 8, 3}, {0x1000000u, 0x100u, 0x100u});
  std::vector<std::uint8_t> gz = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
  gz.push_back(0x01);  // final stored block
  const auto len = static_cast<std::uint16_t>(raw.size());
  gz.push_back(static_cast<std::uint8_t>(len & 0xff));
  gz.push_back(static_cast<std::uint8_t>(len >> 8));
  gz.push_back(static_cast<std::uint8_t>(~len & 0xff));
  gz.push_back(static_cast<std::uint8_t>((~len >> 8) & 0xff));
  gz.insert(gz.end(), raw.begin(), raw.end());
  // CRC-32 of raw (computed bitwise) and ISIZE.
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::uint8_t b : raw) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  crc ^= 0xFFFFFFFFu;
  for (std::uint32_t v : {crc, static_cast<std::uint32_t>(raw.size())})
    for (int k = 0; k < 4; ++k) gz.push_back(static_cast<std::uint8_t>(v >> (8 * k)));
  write_bytes(dir.file("claims.gz"), gz);
  REQUIRE_THROWS_WITH(nd::read_idx_images(dir.file("claims.gz")),
                      Contains("truncated file") && Contains("compressed file can hold at most"));
}

TEST_CASE("CIFAR-10 binary: truncated, empty and bad labels", "[data][errors][cifar]") {
  TempDir dir;
  auto bytes = read_bytes(fixture("cifar-2.bin"));
  write_bytes(dir.file("short.bin"), {bytes.begin(), bytes.end() - 1});
  REQUIRE_THROWS_WITH(nd::read_cifar10_bin(dir.file("short.bin")),
                      Contains("truncated file") && Contains("3073"));
  write_bytes(dir.file("empty.bin"), {});
  REQUIRE_THROWS_WITH(nd::read_cifar10_bin(dir.file("empty.bin")), Contains("empty file"));
  bytes[3073] = 10;  // label of record 1
  write_bytes(dir.file("label.bin"), bytes);
  REQUIRE_THROWS_WITH(nd::read_cifar10_bin(dir.file("label.bin")),
                      Contains("bad label 10") && Contains("record 1"));
}

TEST_CASE("CIFAR-10 PNG: not a PNG, wrong dimensions, wrong format, corrupt data",
          "[data][errors][cifar]") {
  TempDir dir;
  REQUIRE_THROWS_WITH(nd::read_cifar10_png(fixture("cifar-2.bin"), labels_3_8()),
                      Contains("not a PNG file"));
  const at::Tensor three = labels_3_8().repeat({2}).narrow(0, 0, 3);
  REQUIRE_THROWS_WITH(nd::read_cifar10_png(fixture("cifar-2.png"), three),
                      Contains("label count mismatch") && Contains("1024x2"));

  REQUIRE(cv::imwrite(dir.file("square.png"), cv::Mat(32, 32, CV_8UC3, cv::Scalar(1, 2, 3))));
  REQUIRE_THROWS_WITH(nd::read_cifar10_png(dir.file("square.png"), labels_3_8()),
                      Contains("wrong dimensions") && Contains("32x32"));
  REQUIRE(cv::imwrite(dir.file("grey.png"), cv::Mat(2, 1024, CV_8UC1, cv::Scalar(7))));
  REQUIRE_THROWS_WITH(nd::read_cifar10_png(dir.file("grey.png"), labels_3_8()),
                      Contains("unsupported PNG") && Contains("colour type 0"));

  const auto png = read_bytes(fixture("cifar-2.png"));
  write_bytes(dir.file("cut.png"), {png.begin(), png.begin() + 80});
  REQUIRE_THROWS_WITH(nd::read_cifar10_png(dir.file("cut.png"), labels_3_8()),
                      Contains("cannot decode PNG"));
  write_bytes(dir.file("tiny.png"), {png.begin(), png.begin() + 20});
  REQUIRE_THROWS_WITH(nd::read_cifar10_png(dir.file("tiny.png"), labels_3_8()),
                      Contains("truncated file"));

  const at::Tensor bad = labels_3_8().clone().fill_(12);
  REQUIRE_THROWS_WITH(nd::read_cifar10_png(fixture("cifar-2.png"), bad), Contains("bad label 12"));
}

TEST_CASE("CIFAR-10 PNG folder: label count must match the batches", "[data][errors][cifar]") {
  TempDir dir;
  for (int b = 1; b <= 5; ++b)
    fs::copy_file(fixture("cifar-2.png"), dir.file("data_batch_" + std::to_string(b) + ".png"));
  write_text(dir.file("train_lables.json"), "[0,1,2,3,4,5,6,7,8]");
  REQUIRE_THROWS_WITH(nd::load_cifar10(dir.path(), nd::Split::kTrain),
                      Contains("label count mismatch") && Contains("9 labels") &&
                          Contains("10 images"));
}

TEST_CASE("Label JSON: malformed documents and bad values", "[data][errors][json]") {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[3, 8", "bad JSON"},
      {"[3,,8]", "bad JSON"},
      {"[3, 8,]", "bad JSON"},
      {"[3 8]", "bad JSON"},
      {"", "bad JSON"},
      {"{\"a\": 1}", "expected an array"},
      {"[3, 8] x", "after the JSON value"},
      {"[01]", "bad JSON"},
      {"[1.]", "digit after the decimal point"},
      {"[1e999]", "number out of range"},
      {"[\"3\"]", "expected a number"},
      {"[NaN]", "bad JSON"},
      {"[10]", "bad label 10"},
      {"[-1]", "bad label -1"},
      {"[1.5]", "bad label 1.5"},
  };
  for (const auto& c : cases) {
    INFO("document: " << c.first);
    write_text(dir.file("labels.json"), c.first);
    REQUIRE_THROWS_WITH(nd::read_cifar10_labels_json(dir.file("labels.json")),
                        Contains(c.second) && Contains(dir.file("labels.json")));
  }
}

TEST_CASE("MNIST JSON: malformed documents, missing data, bad sizes and values",
          "[data][errors][json][mnist_json]") {
  TempDir dir;
  const std::string zeros784 = mnist_json_text(1, [](int, int) { return 0; });
  std::string deep = "{\"x\":";
  for (int i = 0; i < 1000; ++i) deep += '[';
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"data\": [0, 1,]}", "bad JSON"},
      {"{\"data\": [0, 1]", "bad JSON"},
      {"{data: [0]}", "bad JSON"},
      {"{\"dat\": []}", "no \"data\" array"},
      {"[0, 1]", "expected an object"},
      {"{\"data\": [0], \"data\": [0]}", "duplicate member"},
      {"{\"data\": {\"x\": 1}}", "expected an array of numbers"},
      {"{\"data\": [0, 0, 0]}", "not a multiple of 784"},
      {deep, "nesting deeper than 64"},
      {"{\"s\": \"\\q\", \"data\": []}", "bad escape"},
      {"{\"s\": \"abc", "unterminated string"},
  };
  for (const auto& c : cases) {
    INFO("document: " << c.first.substr(0, 60));
    write_text(dir.file("d.json"), c.first);
    REQUIRE_THROWS_WITH(nd::read_mnist_json_digit(dir.file("d.json"), 0),
                        Contains(c.second) && Contains(dir.file("d.json")));
  }
  // A value outside [0, 1].
  std::string text = zeros784;
  text.replace(text.find('0'), 1, "1.5");
  write_text(dir.file("range.json"), text);
  REQUIRE_THROWS_WITH(nd::read_mnist_json_digit(dir.file("range.json"), 0),
                      Contains("bad pixel value 1.5") && Contains("outside [0, 1]"));
  // Other members, escapes and literals are accepted and skipped.
  write_text(dir.file("ok.json"),
             "{\"name\": \"d\\u0041\\n\", \"meta\": {\"a\": [true, false, null, -1.5e-3]}, " +
                 zeros784.substr(1));
  CHECK(nd::read_mnist_json_digit(dir.file("ok.json"), 3).size() == 1);
}

namespace {

/// Runs `read` on every truncation of `bytes` and on seeded random corruptions; each call must
/// either succeed or throw c10::Error.
void fuzz(const std::string& name, const std::vector<std::uint8_t>& bytes,
          const std::function<void(const std::string&)>& read, std::size_t truncation_step = 1) {
  TempDir dir;
  const std::string path = dir.file(name);
  auto attempt = [&](const std::vector<std::uint8_t>& data) {
    write_bytes(path, data);
    try {
      read(path);
    } catch (const c10::Error&) {
    }
  };
  for (std::size_t n = 0; n < bytes.size(); n += truncation_step)
    attempt({bytes.begin(), bytes.begin() + static_cast<long>(n)});
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 300; ++trial) {
    auto data = bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      const std::size_t at = rng() % data.size();
      data[at] = static_cast<std::uint8_t>(rng() % 4 == 0 ? 0xFF : rng());
    }
    attempt(data);
  }
}

}  // namespace

TEST_CASE("Readers survive truncated and randomly corrupted input", "[data][errors][fuzz]") {
  auto idx_images = [](const std::string& p) { nd::read_idx_images(p); };
  auto idx_labels = [](const std::string& p) { nd::read_idx_labels(p); };
  fuzz("i", read_bytes(fixture("images-idx3-ubyte")), idx_images);
  fuzz("i.gz", read_bytes(fixture("images-idx3-ubyte.gz")), idx_images);
  fuzz("l.gz", read_bytes(fixture("labels-idx1-ubyte.gz")), idx_labels);
  fuzz("c.bin", read_bytes(fixture("cifar-2.bin")),
       [](const std::string& p) { nd::read_cifar10_bin(p); }, 97);
  const at::Tensor labels = labels_3_8();
  fuzz("c.png", read_bytes(fixture("cifar-2.png")),
       [&](const std::string& p) { nd::read_cifar10_png(p, labels); });
  fuzz("l.json", read_bytes(fixture("cifar-2-labels.json")),
       [](const std::string& p) { nd::read_cifar10_labels_json(p); });
  fuzz("m.json", read_bytes(fixture("mnist-digit.json")),
       [](const std::string& p) { nd::read_mnist_json_digit(p, 1); }, 13);
  SUCCEED("no crash");
}

TEST_CASE("Readers refuse FIFOs and devices before reading, naming what they are", "[data][errors]") {
  TempDir dir;
  const std::string fifo = dir.file("pipe-idx3-ubyte");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // In a child with a deadline, so that a regression (opening the FIFO blocks) fails, not hangs.
  const nni_test::ChildOutcome outcome = nni_test::run_in_child([&] { nd::read_idx_images(fifo); });
  REQUIRE(outcome.finished);
  CHECK(outcome.threw);
  CHECK_THAT(outcome.message, Contains("cannot open '" + fifo + "' for reading: is not a regular file (a FIFO)"));
  const nni_test::ChildOutcome json = nni_test::run_in_child([&] { nd::read_cifar10_labels_json(fifo); });
  REQUIRE(json.finished);
  CHECK_THAT(json.message, Contains("not a regular file (a FIFO)"));
  REQUIRE_THROWS_WITH(nd::read_idx_labels("/dev/zero"),
                      Contains("cannot open '/dev/zero' for reading: is not a regular file (a character device)"));
  REQUIRE_THROWS_WITH(nd::read_idx_images(dir.path()), Contains("cannot open '" + dir.path() + "' for reading: is a directory"));
}

TEST_CASE("Writers are atomic and name the path they cannot write", "[data][errors]") {
  TempDir dir;
  const at::Tensor labels = labels_3_8();
  for (const std::string name : {"l", "l.gz"}) {
    INFO("file " << name);
    const std::string missing = dir.file("nope/" + name);
    REQUIRE_THROWS_WITH(nd::write_idx_labels(missing, labels),
                        Contains("write_idx_labels: cannot open '" + missing + "' for writing"));
    fs::create_directories(dir.file("folder_" + name));
    REQUIRE_THROWS_WITH(nd::write_idx_labels(dir.file("folder_" + name), labels), Contains("it is a directory"));
    // A second write replaces the file whole, through a temporary file that is gone afterwards.
    nd::write_idx_labels(dir.file(name), labels);
    nd::write_idx_labels(dir.file(name), labels.narrow(0, 0, 1));
    CHECK(nd::read_idx_labels(dir.file(name)).size(0) == 1);
  }
  // Incompressible data larger than zlib's output buffer survives the round trip.
  const at::Tensor noise = at::randint(0, 256, {500, 28, 28}, at::TensorOptions().dtype(at::kByte));
  nd::write_idx_images(dir.file("noise.gz"), noise);
  CHECK(at::equal(nd::read_idx_ubyte(dir.file("noise.gz")), noise));
  for (const auto& entry : fs::directory_iterator(dir.path()))
    CHECK(entry.path().filename().string().find(".tmp-") == std::string::npos);
}
