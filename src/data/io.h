#pragma once

// Internals shared by the dataset readers: gzip-transparent reading and writing on top of the
// file stack of nn_interpretability/detail/files.h (which also gives every error its shape),
// byte-to-float conversion, and small tensor helpers. Not installed.

#include <nn_interpretability/data/dataset.h>
#include <nn_interpretability/detail/files.h>

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nn_interpretability {
namespace data {
namespace detail {

/// A source of bytes read from a file, gunzipped on the fly when the file starts with the gzip
/// magic bytes. Every error is a c10::ValueError naming `where` and the file
/// (nn_interpretability/detail/files.h).
class ByteStream {
 public:
  virtual ~ByteStream() = default;

  /// Opens `path`; throws when it is missing, not a regular file, or unreadable.
  static std::unique_ptr<ByteStream> open(const std::string& path, const char* where);

  /// Reads up to `n` bytes into `dst`; returns fewer only at the end of the data.
  virtual std::size_t read(std::uint8_t* dst, std::size_t n) = 0;

  /// An upper bound of the bytes this stream can still yield: the file size for a plain file,
  /// the largest possible inflation of the rest for a gzip file. Guards allocations sized from
  /// headers.
  virtual std::uint64_t max_remaining() const = 0;

  /// Whether the file is gzip-compressed.
  virtual bool compressed() const = 0;

  const std::string& path() const { return path_; }
  const char* where() const { return where_; }

  /// Reads exactly `n` bytes; throws "truncated file" (naming `what`) when the data ends first.
  void read_exact(std::uint8_t* dst, std::size_t n, const char* what);

  /// For gzip, inflates and discards the rest so that the trailing CRC is checked (throws
  /// "corrupt gzip data" on mismatch); nothing for a plain file.
  void verify_end();

  /// Reads everything that is left.
  std::vector<std::uint8_t> read_all();

 protected:
  ByteStream(std::string path, const char* where) : path_(std::move(path)), where_(where) {}

 private:
  std::string path_;
  const char* where_;
};

/// The largest file the readers read whole (JSON, PNG): 16 GiB, far above any real one, so that a
/// wrong path (a disk image) fails before the allocation.
constexpr std::uint64_t kMaxWholeFileBytes = std::uint64_t{1} << 34;

/// Writes `size` bytes to `path` atomically (a temporary file renamed over it), gzip-compressed
/// when `path` ends in ".gz"; errors name `where`.
void write_file(const std::string& path, const std::uint8_t* data, std::size_t size, const char* where);

/// `dir/name` with exactly one separator.
std::string join_path(const std::string& dir, const std::string& name);

/// Bytes to float32 in [0, 1]: byte k becomes exactly k / 255.0f.
void bytes_to_unit_float(const std::uint8_t* src, float* dst, std::size_t n);

/// A uint8 tensor as float32 in [0, 1] (same shape).
at::Tensor unit_float_from_bytes(const at::Tensor& bytes);

/// Checks `limit` (non-negative when set) and returns min(limit, available).
int64_t apply_limit(std::optional<int64_t> limit, int64_t available);

/// Concatenates batches along dimension 0 (an empty list gives an empty batch of `shape`).
LabeledImages concat(const std::vector<LabeledImages>& parts, int64_t channels, int64_t height,
                     int64_t width);

/// An empty batch with images [0, channels, height, width].
LabeledImages empty_batch(int64_t channels, int64_t height, int64_t width);

}  // namespace detail
}  // namespace data
}  // namespace nn_interpretability
