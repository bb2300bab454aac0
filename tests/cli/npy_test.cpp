// .npy reading and writing: round trips, the exact header numpy expects, Fortran order, the
// 2.0/3.0 headers, and clear errors for malformed files.

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "support/catch_torch.h"
#include <torch/torch.h>

#include "nn_interpretability/io/npy.h"
#include "support/all_close.h"
#include "support/no_hang.h"

namespace nni = nn_interpretability;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device device;
    path = fs::temp_directory_path() / ("nni_npy_test_" + std::to_string(device()) + std::to_string(device()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code error;
    fs::remove_all(path, error);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A .npy file made by hand: preamble for `major`.0, the dict padded to 64 bytes, then `data`.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1) {
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  std::string header = dict;
  const std::size_t unpadded = 8 + length_bytes + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out = std::string("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  for (std::size_t i = 0; i < length_bytes; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string float_bytes(const std::vector<float>& values) {
  std::string out(values.size() * sizeof(float), '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// The message of the c10::ValueError `read_npy(path)` throws ("no exception" / "other exception" otherwise).
std::string read_error(const std::string& path) {
  try {
    nni::read_npy(path);
  } catch (const c10::ValueError& error) {
    return error.what_without_backtrace();
  } catch (...) {
    return "other exception";
  }
  return "no exception";
}

torch::Tensor sample(torch::ScalarType type, const std::vector<int64_t>& shape) {
  torch::manual_seed(7);
  const torch::Tensor values = torch::randn(shape) * 100;
  if (type == torch::kBool) return values > 0;
  if (type == torch::kUInt8) return values.abs().to(torch::kUInt8);
  return values.to(type);
}

}  // namespace

TEST_CASE("write_npy then read_npy gives back every dtype and shape, 0-d and empty included") {
  TempDir dir;
  const std::vector<torch::ScalarType> types = {torch::kFloat32, torch::kFloat64, torch::kInt64,
                                                torch::kInt32,   torch::kUInt8,   torch::kBool};
  const std::vector<std::vector<int64_t>> shapes = {{}, {0}, {1}, {7}, {2, 3}, {2, 0, 3}, {2, 3, 4, 5}, {1, 1, 1, 1, 1, 2}};
  for (const auto type : types) {
    for (const auto& shape : shapes) {
      const torch::Tensor tensor = sample(type, shape);
      const std::string path = dir.file("round_trip.npy");
      nni::write_npy(path, tensor);
      const torch::Tensor back = nni::read_npy(path);
      INFO("dtype " << type << ", shape " << tensor.sizes());
      CHECK(back.scalar_type() == type);
      CHECK(back.sizes() == tensor.sizes());
      CHECK(torch::equal(back, tensor));
      CHECK(back.device().is_cpu());
    }
  }
}

TEST_CASE("write_npy writes non-contiguous tensors in C order") {
  TempDir dir;
  const torch::Tensor base = torch::arange(24, torch::kFloat32).view({2, 3, 4});
  const torch::Tensor transposed = base.permute({2, 0, 1});
  REQUIRE_FALSE(transposed.is_contiguous());
  nni::write_npy(dir.file("t.npy"), transposed);
  CHECK(torch::equal(nni::read_npy(dir.file("t.npy")), transposed.contiguous()));
}

TEST_CASE("write_npy writes numpy's version 1.0 header, padded to a multiple of 64 bytes") {
  TempDir dir;
  const torch::Tensor tensor = torch::tensor({1.5f, -2.0f, 3.25f, 0.0f, 5.0f, 6.0f}).view({2, 3});
  nni::write_npy(dir.file("h.npy"), tensor);
  const std::string bytes = read_bytes(dir.file("h.npy"));
  REQUIRE(bytes.size() >= 10);
  CHECK(bytes.compare(0, 6, std::string("\x93NUMPY", 6)) == 0);
  CHECK(bytes[6] == 1);
  CHECK(bytes[7] == 0);
  const std::size_t header_length =
      static_cast<unsigned char>(bytes[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
  CHECK((10 + header_length) % 64 == 0);
  REQUIRE(bytes.size() == 10 + header_length + 6 * sizeof(float));
  const std::string header = bytes.substr(10, header_length);
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  CHECK(header.compare(0, dict.size(), dict) == 0);
  CHECK(header.back() == '\n');
  CHECK(header.find_first_not_of(' ', dict.size()) == header_length - 1);  // spaces, then the newline
  CHECK(bytes.substr(10 + header_length) == float_bytes({1.5f, -2.0f, 3.25f, 0.0f, 5.0f, 6.0f}));

  SECTION("one dimension is written as a one-element tuple, zero dimensions as ()") {
    nni::write_npy(dir.file("v.npy"), torch::zeros({5}, torch::kInt64));
    CHECK(read_bytes(dir.file("v.npy")).find("{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }") == 10);
    nni::write_npy(dir.file("s.npy"), torch::tensor(true));
    CHECK(read_bytes(dir.file("s.npy")).find("{'descr': '|b1', 'fortran_order': False, 'shape': (), }") == 10);
    nni::write_npy(dir.file("u.npy"), torch::zeros({2, 2}, torch::kUInt8));
    CHECK(read_bytes(dir.file("u.npy")).find("'descr': '|u1'") != std::string::npos);
  }
}

TEST_CASE("write_npy rejects unsupported dtypes and unwritable paths") {
  TempDir dir;
  CHECK_THROWS_AS(nni::write_npy(dir.file("half.npy"), torch::zeros({2}, torch::kFloat16)), c10::TypeError);
  CHECK_THROWS_WITH(nni::write_npy(dir.file("no_such_dir/x.npy"), torch::zeros({2})), Contains("cannot open"));
}

TEST_CASE("read_npy reads Fortran-order files to the same elements at the same indices") {
  TempDir dir;
  // [[0, 1, 2], [3, 4, 5]] stored column by column.
  write_bytes(dir.file("f2.npy"),
              npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", float_bytes({0, 3, 1, 4, 2, 5})));
  const torch::Tensor matrix = nni::read_npy(dir.file("f2.npy"));
  CHECK(torch::equal(matrix, torch::arange(6, torch::kFloat32).view({2, 3})));
  CHECK(matrix.is_contiguous());

  // A 3-d array: element (i, j, k) at position i + 2 j + 6 k.
  const torch::Tensor expected = torch::arange(24, torch::kFloat32).view({2, 3, 4});
  std::vector<float> column_major(24);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) column_major[i + 2 * j + 6 * k] = static_cast<float>(i * 12 + j * 4 + k);
  write_bytes(dir.file("f3.npy"),
              npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 4), }", float_bytes(column_major)));
  CHECK(torch::equal(nni::read_npy(dir.file("f3.npy")), expected));
}

TEST_CASE("read_npy reads version 2.0 and 3.0 headers and any valid dict spelling") {
  TempDir dir;
  const std::string data = float_bytes({1, 2, 3, 4});
  for (int major : {2, 3}) {
    write_bytes(dir.file("v.npy"), npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", data, major));
    CHECK(torch::equal(nni::read_npy(dir.file("v.npy")), torch::tensor({1.f, 2.f, 3.f, 4.f}).view({2, 2})));
  }
  // Key order, double quotes, no trailing comma, spaces, Python 2 long literals.
  write_bytes(dir.file("spelling.npy"),
              npy_bytes("{ \"shape\" : ( 4L , ) ,'fortran_order':False,'descr':'<f4'}", data));
  CHECK(torch::equal(nni::read_npy(dir.file("spelling.npy")), torch::tensor({1.f, 2.f, 3.f, 4.f})));
  // Native byte order '=' and any bytes for bool (non-zero is true).
  write_bytes(dir.file("bool.npy"), npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", std::string("\x00\x01\x07", 3)));
  CHECK(torch::equal(nni::read_npy(dir.file("bool.npy")), torch::tensor({false, true, true})));
  write_bytes(dir.file("native.npy"), npy_bytes("{'descr': '=i4', 'fortran_order': False, 'shape': (1,), }",
                                                std::string("\x05\x00\x00\x00", 4)));
  CHECK(nni::read_npy(dir.file("native.npy")).item<int32_t>() == 5);
}

TEST_CASE("read_npy rejects malformed files with a message naming the file and the problem") {
  TempDir dir;
  const std::string good_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const std::string data = float_bytes({1, 2});
  auto check = [&](const std::string& name, const std::string& bytes, const std::string& problem) {
    const std::string path = dir.file(name);
    write_bytes(path, bytes);
    const std::string message = read_error(path);
    INFO("file " << name << ": " << message);
    CHECK_THAT(message, Contains(path) && Contains(problem));
  };

  SECTION("missing file, directory, empty file") {
    CHECK_THAT(read_error(dir.file("missing.npy")), Contains("missing.npy") && Contains("no such file"));
    CHECK_THAT(read_error(dir.path.string()), Contains("is a directory"));
    check("empty.npy", "", "not a .npy file");
  }
  SECTION("wrong magic and unsupported versions") {
    std::string bad_magic = npy_bytes(good_dict, data);
    bad_magic[1] = 'X';
    check("magic.npy", bad_magic, "bad magic");
    check("text.npy", "just some text, long enough to have a preamble", "bad magic");
    std::string version = npy_bytes(good_dict, data);
    version[6] = 4;
    check("version4.npy", version, "unsupported .npy format version 4.0");
    version[6] = 1;
    version[7] = 1;
    check("version11.npy", version, "unsupported .npy format version 1.1");
  }
  SECTION("truncated files") {
    const std::string full = npy_bytes(good_dict, data);
    check("short_data.npy", full.substr(0, full.size() - 1), "truncated data");
    check("no_data.npy", full.substr(0, full.size() - 8), "truncated data");
    check("short_header.npy", full.substr(0, 40), "truncated");
    check("preamble_only.npy", full.substr(0, 9), "preamble");
    check("trailing.npy", full + "xyz", "size mismatch");
    // A shape far larger than the file: refused before anything is allocated.
    check("huge.npy", npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 100000), }", data),
          "truncated data");
    check("overflow.npy",
          npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551615, 2), }", data),
          "too large");
  }
  SECTION("corrupt header dicts") {
    check("not_dict.npy", npy_bytes("hello", data), "corrupt header");
    check("unterminated.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,", data),
          "corrupt header");
    check("missing_key.npy", npy_bytes("{'descr': '<f4', 'shape': (2,), }", data), "corrupt header");
    check("extra_key.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", data),
          "corrupt header");
    check("negative.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", data),
          "corrupt header");
    check("not_tuple.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", data),
          "corrupt header");
    check("bad_bool.npy", npy_bytes("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", data), "corrupt header");
    check("shape_string.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': '2', }", data),
          "corrupt header");
    check("twice.npy", npy_bytes("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", data),
          "given twice");
    check("nul.npy", npy_bytes(std::string("{'descr': '<f4',") + '\0' + " 'fortran_order': False, 'shape': (2,), }", data),
          "corrupt header");
    check("garbage_after.npy", npy_bytes(good_dict + " }", data), "corrupt header");
  }
  SECTION("unsupported dtypes") {
    check("big_endian.npy", npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data),
          "unsupported dtype '>f4' (big-endian)");
    check("complex.npy", npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", data),
          "unsupported dtype '<c8'");
    check("object.npy", npy_bytes("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", data),
          "unsupported dtype '|O'");
    check("half.npy", npy_bytes("{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }", data),
          "unsupported dtype '<f2'");
    check("structured.npy",
          npy_bytes("{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }", data),
          "structured");
    CHECK_THAT(read_error(dir.file("complex.npy")), Contains("supported: float32"));
  }
}

// ----------------------------------------------------------------------------- files that are not files, failed writes

namespace {

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Lowers the file-size limit (RLIMIT_FSIZE) for the scope, with SIGXFSZ ignored, so that a write
// past `bytes` fails with EFBIG ("File too large") as a full disk fails with ENOSPC.
struct FileSizeLimit {
  rlimit saved{};
  void (*saved_handler)(int) = nullptr;
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved);
    saved_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lowered = saved;
    lowered.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &lowered);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, saved_handler);
  }
};

}  // namespace

TEST_CASE("write_npy is atomic: a failed write leaves the previous file intact and no temporary file", "[npy][atomic]") {
  TempDir dir;
  const std::string path = dir.file("result.npy");
  const torch::Tensor previous = torch::arange(6, torch::kFloat32).view({2, 3});
  nni::write_npy(path, previous);
  const std::string previous_bytes = read_bytes(path);
  SECTION("the disk fills up mid-write (file-size limit: EFBIG, as ENOSPC)") {
    std::string message;
    {
      FileSizeLimit limit(4096);
      try {
        nni::write_npy(path, torch::ones({100000}));  // 400 kB
      } catch (const c10::ValueError& error) {
        message = error.what_without_backtrace();
      }
    }
    CHECK_THAT(message, Contains("write_npy") && Contains(path) && Contains("File too large") &&
                            Contains("left as it was"));
    CHECK(read_bytes(path) == previous_bytes);  // not truncated, not half-written
    CHECK(names_in(dir.path) == std::vector<std::string>{"result.npy"});  // the temporary file is gone
  }
  SECTION("the rename fails (a name too long for the file system): the temporary file is removed") {
    const std::string long_path = dir.file(std::string(300, 'x') + ".npy");
    CHECK_THROWS_WITH(nni::write_npy(long_path, previous), Contains("File name too long"));
    CHECK(names_in(dir.path) == std::vector<std::string>{"result.npy"});
  }
  SECTION("a directory is refused, naming it") {
    fs::create_directories(dir.file("folder.npy"));
    CHECK_THROWS_WITH(nni::write_npy(dir.file("folder.npy"), previous),
                      Contains("cannot open '" + dir.file("folder.npy") + "' for writing: it is a directory"));
    CHECK(fs::is_directory(dir.file("folder.npy")));
  }
  SECTION("a missing directory gives the system's reason") {
    CHECK_THROWS_WITH(nni::write_npy(dir.file("nope/x.npy"), previous),
                      Contains("cannot open '" + dir.file("nope/x.npy") + "' for writing: No such file or directory"));
  }
  SECTION("a successful write replaces the file whole; a symbolic link keeps pointing at the new file") {
    fs::create_symlink(path, dir.file("link.npy"));
    nni::write_npy(dir.file("link.npy"), torch::zeros({4}));
    CHECK(fs::is_symlink(dir.file("link.npy")));
    CHECK(nni::read_npy(path).sizes() == torch::IntArrayRef({4}));
    CHECK(names_in(dir.path) == std::vector<std::string>({"link.npy", "result.npy"}));
  }
  SECTION("a character device is written in place, not replaced") {
    // A private copy of /dev/null (made with mknod where allowed), so that a regression cannot
    // replace the real one.
    const std::string null_device = dir.file("null");
    if (::mknod(null_device.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
      WARN("mknod is not permitted here; skipped");
      return;
    }
    nni::write_npy(null_device, previous);
    struct stat status {};
    REQUIRE(::stat(null_device.c_str(), &status) == 0);
    CHECK(S_ISCHR(status.st_mode));
  }
}

TEST_CASE("read_npy refuses FIFOs, devices and directories before reading, naming what they are", "[npy][files]") {
  TempDir dir;
  const std::string fifo = dir.file("pipe.npy");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // In a child process with a deadline: opening a FIFO for reading used to block forever.
  const nni_test::ChildOutcome outcome = nni_test::run_in_child([&] { nni::read_npy(fifo); });
  REQUIRE(outcome.finished);
  CHECK(outcome.threw);
  CHECK_THAT(outcome.message, Contains("read_npy: cannot open '" + fifo + "' for reading: is not a regular file (a FIFO)"));
  CHECK_THAT(read_error("/dev/zero"),
             Contains("cannot open '/dev/zero' for reading: is not a regular file (a character device)"));
  CHECK_THAT(read_error(dir.path.string()), Contains("is a directory"));
}
