#include "io.h"

#include <nn_interpretability/detail/files.h>

#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <c10/util/Exception.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <system_error>

namespace nn_interpretability {
namespace data {
namespace detail {
namespace {

namespace fs = std::filesystem;

/// Closes a FILE* on scope exit.
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

// Throws the documented messages for a path that cannot be read as a regular file.
[[noreturn]] void throw_unreadable(const std::string& path, const std::string& problem) {
  TORCH_CHECK_VALUE(problem != "no such file", "file not found: ", path);
  TORCH_CHECK_VALUE(problem != "is a directory", "expected a file but found a directory: ", path);
  TORCH_CHECK_VALUE(problem.rfind("is not a regular file", 0) != 0, "not a regular file",
                    problem.substr(std::strlen("is not a regular file")), ": ", path);
  TORCH_CHECK_VALUE(false, "cannot open ", path, ": ", problem);
  std::abort();  // unreachable
}

// Opens a regular file; anything else is refused before a byte is read, and the open itself does
// not block on a FIFO (nn_interpretability/detail/files.h). Sets `size` to the file's size.
FilePtr open_for_reading(const std::string& path, std::uint64_t& size) {
  std::string problem;
  nn_interpretability::detail::ReadableFile opened = nn_interpretability::detail::ReadableFile::open(path, problem);
  if (opened.fd() < 0) throw_unreadable(path, problem);
  size = opened.size();
  FilePtr file(::fdopen(opened.fd(), "rb"));
  TORCH_CHECK_VALUE(file != nullptr, "cannot open ", path, ": ", std::strerror(errno));
  opened.release();  // now owned by the FILE*
  return file;
}

/// Reads the whole (compressed) file into memory; its size is bounded by the disk.
std::vector<std::uint8_t> slurp(std::FILE* file, std::uint64_t size, const std::string& path) {
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  const std::size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), file);
  TORCH_CHECK_VALUE(got == bytes.size(), "cannot read ", path, ": read ", got, " of ",
                    bytes.size(), " bytes");
  return bytes;
}

class PlainStream final : public ByteStream {
 public:
  PlainStream(std::string path, FilePtr file, std::uint64_t size)
      : ByteStream(std::move(path)), file_(std::move(file)), remaining_(size) {}

  std::size_t read(std::uint8_t* dst, std::size_t n) override {
    if (n == 0) return 0;
    const std::size_t got = std::fread(dst, 1, n, file_.get());
    TORCH_CHECK_VALUE(got == n || !std::ferror(file_.get()), "cannot read ", path(), ": ",
                      std::strerror(errno));
    remaining_ -= std::min<std::uint64_t>(remaining_, got);
    return got;
  }
  std::uint64_t max_remaining() const override { return remaining_; }
  bool compressed() const override { return false; }

 private:
  FilePtr file_;
  std::uint64_t remaining_;
};

/// Inflates an in-memory gzip file (one or more members) on demand.
class GzipStream final : public ByteStream {
 public:
  GzipStream(std::string path, std::vector<std::uint8_t> input)
      : ByteStream(std::move(path)), input_(std::move(input)) {
    std::memset(&z_, 0, sizeof(z_));
    const int rc = inflateInit2(&z_, 15 + 16);  // gzip wrapper only
    TORCH_CHECK_VALUE(rc == Z_OK, "cannot initialise zlib for ", this->path());
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
          TORCH_CHECK_VALUE(inflateReset(&z_) == Z_OK, "cannot reset zlib for ", path());
        } else {
          finished_ = true;
        }
      } else if (rc == Z_BUF_ERROR && z_.avail_in == 0 && offset_ == input_.size()) {
        TORCH_CHECK_VALUE(false, "corrupt gzip data in ", path(),
                          ": truncated gzip stream (the compressed data ends early)");
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        TORCH_CHECK_VALUE(false, "corrupt gzip data in ", path(), ": ",
                          z_.msg != nullptr ? z_.msg : zError(rc));
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
  static constexpr std::size_t kMaxChunk = std::size_t{1} << 30;

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

std::array<float, 256> make_unit_table() {
  std::array<float, 256> table{};
  for (int k = 0; k < 256; ++k) table[k] = static_cast<float>(k) / 255.0f;
  return table;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

void ByteStream::read_exact(std::uint8_t* dst, std::size_t n, const char* what) {
  std::size_t got = 0;
  while (got < n) {
    const std::size_t r = read(dst + got, n - got);
    if (r == 0) break;
    got += r;
  }
  TORCH_CHECK_VALUE(got == n, "truncated file ", path(), ": expected ", n, " bytes of ", what,
                    " but only ", got, " remain");
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

std::unique_ptr<ByteStream> ByteStream::open(const std::string& path) {
  std::uint64_t size = 0;
  FilePtr file = open_for_reading(path, size);
  std::array<std::uint8_t, 2> magic{};
  const std::size_t got = std::fread(magic.data(), 1, 2, file.get());
  if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    std::rewind(file.get());
    return std::make_unique<GzipStream>(path, slurp(file.get(), size, path));
  }
  std::rewind(file.get());
  return std::make_unique<PlainStream>(path, std::move(file), size);
}

void require_regular_file(const std::string& path) {
  const std::string problem = nn_interpretability::detail::regular_file_problem(path);
  if (!problem.empty()) throw_unreadable(path, problem);
}

bool is_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

std::string read_file(const std::string& path) {
  std::uint64_t size = 0;
  FilePtr file = open_for_reading(path, size);
  TORCH_CHECK_VALUE(size < (std::uint64_t{1} << 34), "file too large: ", path, " (", size,
                    " bytes)");
  std::string text(static_cast<std::size_t>(size), '\0');
  const std::size_t got = text.empty() ? 0 : std::fread(text.data(), 1, text.size(), file.get());
  TORCH_CHECK_VALUE(got == text.size(), "cannot read ", path, ": read ", got, " of ",
                    text.size(), " bytes");
  return text;
}

void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  if (ends_with(path, ".gz")) {
    gzFile out = gzopen(path.c_str(), "wb9");
    TORCH_CHECK_VALUE(out != nullptr, "cannot open ", path, " for writing");
    std::size_t done = 0;
    bool ok = true;
    while (ok && done < size) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(size - done, 1u << 30));
      ok = gzwrite(out, data + done, chunk) == static_cast<int>(chunk);
      done += chunk;
    }
    ok = (gzclose(out) == Z_OK) && ok;
    TORCH_CHECK_VALUE(ok, "cannot write ", path);
    return;
  }
  FilePtr out(std::fopen(path.c_str(), "wb"));
  TORCH_CHECK_VALUE(out != nullptr, "cannot open ", path, " for writing: ", std::strerror(errno));
  const std::size_t written = size == 0 ? 0 : std::fwrite(data, 1, size, out.get());
  const bool closed = std::fclose(out.release()) == 0;
  TORCH_CHECK_VALUE(written == size && closed, "cannot write ", path, ": ", std::strerror(errno));
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
