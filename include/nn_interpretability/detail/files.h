#pragma once
// The file-I/O stack of every target: the core (npy), visualization (image_io), the dataset readers
// and the nni tool. Header-only because the visualization and data targets do not link the core
// library. POSIX.
//
// One error style. Every failure is a c10::ValueError naming the caller, the file (quoted) and the
// problem:
//   "<where>: cannot open '<path>' for reading: <problem>"  missing, a directory, a FIFO, no permission
//   "<where>: cannot read '<path>': <system reason>"         an I/O error while reading
//   "<where>: '<path>': <problem>"                           truncated, wrong format (NNI_CHECK_FILE)
//   "<where>: cannot open '<path>' for writing: <reason>", "<where>: writing '<path>' failed: <reason>"
//
// Reading: a path is refused unless it names a regular file, and the check comes before anything is
// read from it — a FIFO would block a reader forever, /dev/zero never ends, a directory fails
// obscurely. The file is opened non-blocking (so even a FIFO that appears between a check and the
// open cannot block) and checked with fstat on the opened descriptor.
//
// Writing: a file is written to a new temporary file in the same directory, flushed to disk and
// renamed over the destination. Readers (and a second writer) see the old file or the new one,
// never a truncated or interleaved one; a failed write (full disk, no permission) removes the
// temporary file and leaves the destination as it was.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <c10/util/Exception.h>

/// Throws c10::ValueError "<where>: '<path>': <problem...>" unless `condition`: the one shape of an
/// error about a file's content (truncated, wrong format), so that every reader's messages read alike.
/// A macro, like TORCH_CHECK_VALUE, so that the message is only built on failure.
#define NNI_CHECK_FILE(condition, where, path, ...) \
  TORCH_CHECK_VALUE(condition, where, ": '", path, "': ", __VA_ARGS__)

namespace nn_interpretability {
namespace detail {

/// "a directory", "a FIFO", "a character device", ... for a stat mode that is not a regular file.
inline const char* file_type_name(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

/// Why `mode` is not a regular file: "is a directory", "is not a regular file (a FIFO)", ...; empty
/// for a regular file.
inline std::string non_regular_reason(mode_t mode) {
  if (S_ISREG(mode)) return {};
  if (S_ISDIR(mode)) return "is a directory";
  return std::string("is not a regular file (") + file_type_name(mode) + ")";
}

/// Why `path` cannot be read as a file, without opening it: empty when it names a regular file
/// (symbolic links followed), else "no such file", "is a directory", "is not a regular file (a
/// FIFO)", or the system's reason (e.g. "Permission denied").
inline std::string regular_file_problem(const std::string& path) {
  if (path.empty()) return "the path is empty";
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) return errno == ENOENT ? "no such file" : std::strerror(errno);
  return non_regular_reason(status.st_mode);
}

/// Whether `path` names a regular file (symbolic links followed); never throws.
inline bool is_regular_file(const std::string& path) { return regular_file_problem(path).empty(); }

/// Throws "<where>: cannot open '<path>' for reading: <problem>" unless `path` names a regular file:
/// for loaders that check every file of a folder before reading the first.
inline void require_regular_file(const std::string& path, const char* where) {
  const std::string problem = regular_file_problem(path);
  TORCH_CHECK_VALUE(problem.empty(), where, ": cannot open '", path, "' for reading: ", problem);
}

/// Throws "<where>: '<path>': truncated file (expected <expected> bytes of <what> but only <got>
/// remain)" unless a read of `expected` bytes got them all.
inline void check_complete_read(const char* where, const std::string& path, const char* what,
                                std::uint64_t expected, std::uint64_t got) {
  NNI_CHECK_FILE(got == expected, where, path, "truncated file (expected ", expected, " bytes of ", what,
                 " but only ", got, " remain)");
}

/// A regular file opened for reading; every error throws in the style above, naming `where` and the
/// path. Closes its descriptor.
class ReadableFile {
 public:
  /// Opens `path`; throws "<where>: cannot open '<path>' for reading: <problem>" (problems as
  /// regular_file_problem gives them) unless it is a regular file.
  ReadableFile(std::string path, const char* where) : path_(std::move(path)), where_(where) {
    TORCH_CHECK_VALUE(!path_.empty(), where_, ": cannot open '' for reading: the path is empty");
    fd_ = ::open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    TORCH_CHECK_VALUE(fd_ >= 0, where_, ": cannot open '", path_, "' for reading: ",
                      errno == ENOENT ? "no such file" : std::strerror(errno));
    struct stat status {};
    std::string problem = ::fstat(fd_, &status) != 0 ? std::strerror(errno) : non_regular_reason(status.st_mode);
    if (!problem.empty()) {
      ::close(fd_);
      fd_ = -1;
      TORCH_CHECK_VALUE(false, where_, ": cannot open '", path_, "' for reading: ", problem);
    }
    // Back to blocking reads (irrelevant for regular files, but nothing downstream expects EAGAIN).
    const int flags = ::fcntl(fd_, F_GETFL);
    if (flags >= 0) ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
    size_ = static_cast<std::uint64_t>(status.st_size);
  }
  ReadableFile(const ReadableFile&) = delete;
  ReadableFile& operator=(const ReadableFile&) = delete;
  ReadableFile(ReadableFile&& other) noexcept
      : path_(std::move(other.path_)), where_(other.where_), fd_(other.fd_), size_(other.size_),
        offset_(other.offset_) {
    other.fd_ = -1;
  }
  ReadableFile& operator=(ReadableFile&&) = delete;
  ~ReadableFile() {
    if (fd_ >= 0) ::close(fd_);
  }

  const std::string& path() const { return path_; }
  const char* where() const { return where_; }
  /// The size when opened (fstat).
  std::uint64_t size() const { return size_; }
  /// The bytes after the ones read so far (by the size when opened).
  std::uint64_t remaining() const { return offset_ < size_ ? size_ - offset_ : 0; }

  /// Reads up to `size` bytes; returns fewer only at the end of the file. Throws "<where>: cannot
  /// read '<path>': <reason>" on an I/O error.
  std::size_t read_some(void* data, std::size_t size) {
    auto* bytes = static_cast<char*>(data);
    std::size_t got = 0;
    while (got < size) {
      const ssize_t n = ::read(fd_, bytes + got, size - got);
      if (n < 0 && errno == EINTR) continue;
      TORCH_CHECK_VALUE(n >= 0, where_, ": cannot read '", path_, "': ", std::strerror(errno));
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    offset_ += got;
    return got;
  }

  /// Reads exactly `size` bytes of `what` ("the header", "IDX data"); throws the truncated-file
  /// error (check_complete_read) when the file ends first.
  void read_exactly(void* data, std::size_t size, const char* what) {
    check_complete_read(where_, path_, what, size, read_some(data, size));
  }

  /// Reads the rest of the file; throws "<where>: '<path>': the file is too large (<n> bytes; at
  /// most <max_size>)" first when the rest is larger.
  std::vector<std::uint8_t> read_rest(std::uint64_t max_size = std::numeric_limits<std::uint64_t>::max()) {
    const std::uint64_t rest = remaining();
    NNI_CHECK_FILE(rest <= max_size && rest <= std::numeric_limits<std::size_t>::max(), where_, path_,
                   "the file is too large (", rest, " bytes; at most ", max_size, ")");
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(rest));
    read_exactly(bytes.data(), bytes.size(), "file content");
    return bytes;
  }

  /// Back to the first byte (e.g. after sniffing a magic number).
  void rewind() {
    TORCH_CHECK_VALUE(::lseek(fd_, 0, SEEK_SET) == 0, where_, ": cannot read '", path_, "': ",
                      std::strerror(errno));
    offset_ = 0;
  }

 private:
  std::string path_;
  const char* where_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::uint64_t offset_ = 0;
};

/// The whole content of the regular file `path` (see ReadableFile for the errors).
inline std::vector<std::uint8_t> read_whole_file(const std::string& path, const char* where,
                                                 std::uint64_t max_size = std::numeric_limits<std::uint64_t>::max()) {
  return ReadableFile(path, where).read_rest(max_size);
}

/// One piece of the bytes written by write_file_atomically.
struct ByteChunk {
  const void* data;
  std::size_t size;
};

namespace files_internal {

inline bool write_fully(int fd, const void* data, std::size_t size) {
  const auto* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd, bytes, size);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      if (written == 0) errno = EIO;
      return false;
    }
    bytes += written;
    size -= static_cast<std::size_t>(written);
  }
  return true;
}

inline std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

inline std::string name_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// ".<name>.tmp-<pid>-<16 hex digits>" next to the destination; the name part is cut to 100 bytes so
// that the temporary name stays within NAME_MAX whenever the destination's does.
inline std::string temporary_name(const std::string& path) {
  static std::atomic<std::uint64_t> counter{0};
  std::uint64_t bits = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  try {
    std::random_device device;
    bits ^= (static_cast<std::uint64_t>(device()) << 32) ^ device();
  } catch (...) {  // no entropy source: the clock and the counter still make the name unique here
  }
  bits ^= ++counter * 0x9e3779b97f4a7c15ull;
  std::ostringstream name;
  std::string base = name_of(path);
  if (base.size() > 100) base.resize(100);
  const std::string directory = directory_of(path);
  name << (path.find('/') == std::string::npos ? std::string() : directory + (directory == "/" ? "" : "/")) << '.'
       << base << ".tmp-" << ::getpid() << '-' << std::hex << bits;
  return name.str();
}

}  // namespace files_internal

/// Whether a new file can be created in `directory`: creates and removes a temporary file there.
/// Returns empty on success, else the reason ("no such directory", "is not a directory",
/// "Permission denied", "Read-only file system", ...).
inline std::string directory_write_problem(const std::string& directory) {
  const std::string dir = directory.empty() ? "." : directory;
  struct stat status {};
  if (::stat(dir.c_str(), &status) != 0) return errno == ENOENT ? "no such directory" : std::strerror(errno);
  if (!S_ISDIR(status.st_mode))
    return std::string("is not a directory (it is ") +
           (S_ISREG(status.st_mode) ? "a regular file" : file_type_name(status.st_mode)) + ")";
  const std::string probe = files_internal::temporary_name(dir + "/probe");
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return std::strerror(errno);
  ::close(fd);
  ::unlink(probe.c_str());
  return {};
}

/// Writes the concatenated `chunks` to `path` atomically (see the top of this file): a temporary file
/// in the destination's directory, fsync, rename over `path`, then fsync of the directory. Symbolic
/// links are followed (the file they point to is replaced). A destination that exists but is not a
/// regular file — a character device such as /dev/null, a FIFO — is written in place, as it cannot be
/// replaced; a directory is refused. The new file gets mode 0666 minus the umask (as std::ofstream
/// creates files), not the mode of the file it replaces. Throws c10::ValueError
/// "<where>: cannot open '<path>' for writing: <reason>", "<where>: writing '<path>' failed:
/// <reason>" (e.g. "No space left on device") or "<where>: cannot replace '<path>': <reason>"; on
/// every failure the temporary file is removed and `path` is left as it was.
inline void write_file_atomically(const std::string& path, const std::vector<ByteChunk>& chunks, const char* where) {
  TORCH_CHECK_VALUE(!path.empty(), where, ": the output path is empty");
  std::string target = path;
  struct stat status {};
  if (::stat(path.c_str(), &status) == 0) {
    TORCH_CHECK_VALUE(!S_ISDIR(status.st_mode), where, ": cannot open '", path, "' for writing: it is a directory");
    if (!S_ISREG(status.st_mode)) {
      // A device or FIFO: written in place.
      const int fd = ::open(path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
      TORCH_CHECK_VALUE(fd >= 0, where, ": cannot open '", path, "' for writing: ", std::strerror(errno));
      bool ok = true;
      for (const ByteChunk& chunk : chunks) ok = ok && files_internal::write_fully(fd, chunk.data, chunk.size);
      const int saved = errno;
      ::close(fd);
      TORCH_CHECK_VALUE(ok, where, ": writing '", path, "' failed: ", std::strerror(saved));
      return;
    }
    struct stat link {};
    if (::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
      if (char* resolved = ::realpath(path.c_str(), nullptr)) {
        target = resolved;
        std::free(resolved);
      }
    }
  }

  std::string temporary;
  int fd = -1;
  for (int attempt = 0; attempt < 8 && fd < 0; ++attempt) {
    temporary = files_internal::temporary_name(target);
    fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  TORCH_CHECK_VALUE(fd >= 0, where, ": cannot open '", path, "' for writing: ", std::strerror(errno),
                    " (creating a temporary file in '", files_internal::directory_of(target), "')");
  auto fail = [&](const char* what, int error) {
    if (fd >= 0) ::close(fd);
    ::unlink(temporary.c_str());
    TORCH_CHECK_VALUE(false, where, ": ", what, " '", path, "' failed: ", std::strerror(error),
                      "; the file was left as it was");
  };
  for (const ByteChunk& chunk : chunks)
    if (!files_internal::write_fully(fd, chunk.data, chunk.size)) fail("writing", errno);
  if (::fsync(fd) != 0 && errno != EINVAL && errno != EROFS) fail("writing", errno);
  const int closed = ::close(fd);
  fd = -1;
  if (closed != 0 && errno != EINTR) fail("writing", errno);
  if (::rename(temporary.c_str(), target.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    TORCH_CHECK_VALUE(false, where, ": cannot replace '", path, "' with the new file: ", std::strerror(error),
                      "; the file was left as it was");
  }
  // Make the rename itself durable; a failure here does not undo the (already visible) new file.
  const int directory = ::open(files_internal::directory_of(target).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directory >= 0) {
    ::fsync(directory);
    ::close(directory);
  }
}

/// The same for one buffer.
inline void write_file_atomically(const std::string& path, const void* data, std::size_t size, const char* where) {
  write_file_atomically(path, std::vector<ByteChunk>{ByteChunk{data, size}}, where);
}

}  // namespace detail
}  // namespace nn_interpretability
