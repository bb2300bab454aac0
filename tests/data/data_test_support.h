#pragma once

// Shared helpers for the dataset reader tests: fixture paths, the fixture pixel formulas
// (the same as tests/data/fixtures/make_fixtures.py), and a temporary folder.

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace nni_data_test {

namespace fs = std::filesystem;

inline std::string source_dir() {
  const char* env = std::getenv("NNI_SOURCE_DIR");
  return env != nullptr && *env != '\0' ? env : NNI_SOURCE_DIR;
}

inline std::string fixture(const std::string& name) {
  return source_dir() + "/tests/data/fixtures/" + name;
}

inline int idx_byte(int i, int y, int x) { return (97 * i + 31 * y + 11 * x + 255) % 256; }
inline int cifar_byte(int i, int c, int y, int x) {
  return (101 * i + 67 * c + 8 * y + 3 * x) % 256;
}
inline int mnist_byte(int i, int p) { return p % 7 == 0 ? (53 * i + 29 * p) % 256 : 0; }

/// Exactly what every reader stores for byte k.
inline float unit(int k) { return static_cast<float>(k) / 255.0f; }

inline std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

/// A fresh temporary folder, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    const auto base = fs::temp_directory_path();
    for (;;) {
      path_ = base / ("nni_data_test_" + std::to_string(rd()));
      if (fs::create_directory(path_)) break;
    }
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

/// JSON text of an mnist-package digit file holding `n` images whose byte at pixel p of
/// image i is `byte(i, p)`.
template <typename ByteFn>
std::string mnist_json_text(int n, ByteFn byte) {
  std::string text = "{\"data\":[";
  for (int i = 0; i < n; ++i) {
    for (int p = 0; p < 784; ++p) {
      if (i != 0 || p != 0) text += ',';
      const int k = byte(i, p);
      if (k == 0) {
        text += '0';
      } else {
        // round(k / 255, 3), as the mnist package writes it.
        char buffer[32];
        std::snprintf(buffer, sizeof(buffer), "%.3f", static_cast<double>(k) / 255.0);
        text += buffer;
      }
    }
  }
  return text + "]}";
}

}  // namespace nni_data_test
