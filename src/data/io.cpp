#include "io.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <c10/util/Exception.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace nn_interpretability {
namespace data {
namespace detail {
namespace {

using nn_interpretability::detail::ReadableFile;

// Deflate and inflate take at most this much per call (their counters are 32-bit).
constexpr std::size_t kMaxChunk = std::size_t{1} << 30;

class PlainStream final : public ByteStream {
 public:
  explicit PlainStream(ReadableFile file) : ByteStream(file.path(), file.where()), file_(std::move(file)) {}

  std::size_t read(std::uint8_t* dst, std::size_t n) override { return file_.read_some(dst, n); }
  std::uint64_t max_remaining() const override { return file_.remaining(); }
  bool compressed() const override { return false; }

 private:
  ReadableFile file_;
};

/// Inflates an in-memory gzip file (one or more members) on demand.
class GzipStream final : public ByteStream {
 public:
  GzipStream(std::string path, const char* where, std::vector<std::uint8_t> input)
      : ByteStream(std::move(path), where), input_(std::move(input)) {
    std::memset(&z_, 0, sizeof(z_));
    const int rc = inflateInit2(&z_, 15 + 16);  // gzip wrapper only
    NNI_CHECK_FILE(rc == Z_OK, this->where(), this->path(), "cannot initialise zlib (", zError(rc), ")");
    initialised_ = true;
  }
  ~GzipStream() override {
    if (initialised_) inflateEnd(&z_);
  }

  std::size_t read(std::uint8_t* dst, std::size_t n) override {
    std::size_t produced = 0;
    while (produced < n && !finished_) {
      feed();
      const std::size_t want = std::min<std::size_t>(n - produced, kMaxChunk);
      z_.next_out = dst + produced;
      z_.avail_out = static_cast<uInt>(want);
      const int rc = inflate(&z_, Z_NO_FLUSH);
      produced += want - z_.avail_out;
      if (rc == Z_STREAM_END) {
        // Another gzip member may follow (as `cat a.gz b.gz` makes); anything else ends it.
        const std::size_t left = input_.size() - consumed();
        if (left >= 2 && input_[consumed()] == 0x1f && input_[consumed() + 1] == 0x8b) {
          NNI_CHECK_FILE(inflateReset(&z_) == Z_OK, where(), path(), "cannot reset zlib");
        } else {
          finished_ = true;
        }
      } else if (rc == Z_BUF_ERROR && z_.avail_in == 0 && offset_ == input_.size()) {
        NNI_CHECK_FILE(false, where(), path(),
                       "corrupt gzip data (truncated gzip stream: the compressed data ends early)");
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        NNI_CHECK_FILE(false, where(), path(), "corrupt gzip data (", z_.msg != nullptr ? z_.msg : zError(rc),
                       ")");
      }
    }
    return produced;
  }

  std::uint64_t max_remaining() const override {
    // Deflate cannot expand data by more than about 1032:1; add slack for tiny inputs.
    return static_cast<std::uint64_t>(input_.size() - consumed()) * 1032u + 65536u;
  }
  bool compressed() const override { return true; }

 private:
  std::size_t consumed() const { return offset_ - z_.avail_in; }

  void feed() {
    if (z_.avail_in == 0 && offset_ < input_.size()) {
      const std::size_t chunk = std::min(input_.size() - offset_, kMaxChunk);
      z_.next_in = input_.data() + offset_;
      z_.avail_in = static_cast<uInt>(chunk);
      offset_ += chunk;
    }
  }

  std::vector<std::uint8_t> input_;
  z_stream z_{};
  bool initialised_ = false;
  bool finished_ = false;
  std::size_t offset_ = 0;  // bytes of input_ handed to zlib so far
};

// `size` bytes as one gzip member (level 9, as gzopen(path, "wb9") wrote them).
std::vector<std::uint8_t> gzip(const std::uint8_t* data, std::size_t size, const std::string& path,
                               const char* where) {
  z_stream z{};
  NNI_CHECK_FILE(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK, where, path,
                 "cannot initialise zlib");
  std::vector<std::uint8_t> out;
  std::array<std::uint8_t, 1 << 16> buffer{};
  std::size_t fed = 0;
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (z.avail_in == 0 && fed < size) {
      const std::size_t chunk = std::min(size - fed, kMaxChunk);
      z.next_in = const_cast<Bytef*>(data + fed);
      z.avail_in = static_cast<uInt>(chunk);
      fed += chunk;
    }
    z.next_out = buffer.data();
    z.avail_out = static_cast<uInt>(buffer.size());
    rc = deflate(&z, fed == size ? Z_FINISH : Z_NO_FLUSH);
    out.insert(out.end(), buffer.begin(), buffer.end() - z.avail_out);
  }
  deflateEnd(&z);
  NNI_CHECK_FILE(rc == Z_STREAM_END, where, path, "cannot compress the data (", zError(rc), ")");
  return out;
}

std::array<float, 256> make_unit_table() {
  std::array<float, 256> table{};
  for (int k = 0; k < 256; ++k) table[k] = static_cast<float>(k) / 255.0f;
  return table;
}

}  // namespace

void ByteStream::read_exact(std::uint8_t* dst, std::size_t n, const char* what) {
  std::size_t got = 0;
  while (got < n) {
    const std::size_t r = read(dst + got, n - got);
    if (r == 0) break;
    got += r;
  }
  nn_interpretability::detail::check_complete_read(where(), path(), what, n, got);
}

void ByteStream::verify_end() {
  if (!compressed()) return;
  std::array<std::uint8_t, 1 << 16> buffer{};
  while (read(buffer.data(), buffer.size()) != 0) {
  }
}

std::vector<std::uint8_t> ByteStream::read_all() {
  std::vector<std::uint8_t> out;
  std::array<std::uint8_t, 1 << 16> buffer{};
  for (;;) {
    const std::size_t r = read(buffer.data(), buffer.size());
    if (r == 0) break;
    out.insert(out.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(r));
  }
  return out;
}

std::unique_ptr<ByteStream> ByteStream::open(const std::string& path, const char* where) {
  // Only regular files, refused before a byte is read (nn_interpretability/detail/files.h).
  ReadableFile file(path, where);
  std::array<std::uint8_t, 2> magic{};
  const std::size_t got = file.read_some(magic.data(), magic.size());
  file.rewind();
  if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    // The whole compressed file in memory: its size is bounded by the disk.
    std::vector<std::uint8_t> input = file.read_rest();
    return std::make_unique<GzipStream>(path, where, std::move(input));
  }
  return std::make_unique<PlainStream>(std::move(file));
}

void write_file(const std::string& path, const std::uint8_t* data, std::size_t size, const char* where) {
  const bool compress = path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  if (!compress) {
    nn_interpretability::detail::write_file_atomically(path, data, size, where);
    return;
  }
  const std::vector<std::uint8_t> bytes = gzip(data, size, path, where);
  nn_interpretability::detail::write_file_atomically(path, bytes.data(), bytes.size(), where);
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

void bytes_to_unit_float(const std::uint8_t* src, float* dst, std::size_t n) {
  static const std::array<float, 256> table = make_unit_table();
  for (std::size_t i = 0; i < n; ++i) dst[i] = table[src[i]];
}

at::Tensor unit_float_from_bytes(const at::Tensor& bytes) {
  TORCH_CHECK(bytes.scalar_type() == at::kByte, "expected a uint8 tensor");
  const at::Tensor src = bytes.contiguous();
  at::Tensor out = at::empty(src.sizes(), src.options().dtype(at::kFloat));
  bytes_to_unit_float(src.data_ptr<std::uint8_t>(), out.data_ptr<float>(),
                      static_cast<std::size_t>(src.numel()));
  return out;
}

int64_t apply_limit(std::optional<int64_t> limit, int64_t available) {
  if (!limit) return available;
  TORCH_CHECK_VALUE(*limit >= 0, "limit must be non-negative, got ", *limit);
  return std::min(*limit, available);
}

LabeledImages empty_batch(int64_t channels, int64_t height, int64_t width) {
  return {at::empty({0, channels, height, width}, at::TensorOptions().dtype(at::kFloat)),
          at::empty({0}, at::TensorOptions().dtype(at::kLong))};
}

LabeledImages concat(const std::vector<LabeledImages>& parts, int64_t channels, int64_t height,
                     int64_t width) {
  if (parts.empty()) return empty_batch(channels, height, width);
  if (parts.size() == 1) return parts.front();
  std::vector<at::Tensor> images;
  std::vector<at::Tensor> labels;
  for (const auto& part : parts) {
    images.push_back(part.images);
    labels.push_back(part.labels);
  }
  return {at::cat(images, 0), at::cat(labels, 0)};
}

}  // namespace detail

LabeledImages take_first(const LabeledImages& batch, std::optional<int64_t> limit) {
  const int64_t n = detail::apply_limit(limit, batch.size());
  if (n == batch.size()) return batch;
  return {batch.images.narrow(0, 0, n), batch.labels.narrow(0, 0, n)};
}

}  // namespace data
}  // namespace nn_interpretability
