#pragma once
// Shared helpers for the libFuzzer targets in this folder.
//
// The dataset readers of nn_interpretability only take file paths, so each target writes the
// fuzzer's bytes to a per-process file in /dev/shm (falling back to $TMPDIR or /tmp when
// /dev/shm is missing) and hands the reader that path. Every reader documents c10::Error (in
// practice c10::ValueError / c10::TypeError) as its only failure, so the targets catch
// c10::Error and nothing else: any other exception escapes, aborts the process and is reported
// by libFuzzer as a crash, just like a memory error found by AddressSanitizer or undefined
// behaviour found by UndefinedBehaviorSanitizer.

#include <c10/util/Exception.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace nni_fuzz {

/// The folder for the scratch files: /dev/shm when it exists, else $TMPDIR, else /tmp.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    struct stat st {};
    if (::stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && ::access("/dev/shm", W_OK) == 0)
      return std::string("/dev/shm");
    const char* tmp = std::getenv("TMPDIR");
    return std::string(tmp && *tmp ? tmp : "/tmp");
  }();
  return dir;
}

/// A scratch file unique to this process (libFuzzer's -fork / -jobs run several processes),
/// removed when the process exits normally.
class ScratchFile {
 public:
  explicit ScratchFile(const std::string& name)
      : path_(scratch_dir() + "/nni_fuzz_" + std::to_string(::getpid()) + "_" + name) {}
  ~ScratchFile() { std::remove(path_.c_str()); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  /// Replaces the file's content with `size` bytes from `data`; aborts if the write fails (a
  /// harness problem, not a finding).
  const std::string& write(const std::uint8_t* data, std::size_t size) const {
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    if (!f) {
      std::perror(path_.c_str());
      std::abort();
    }
    if (size > 0 && std::fwrite(data, 1, size, f) != size) {
      std::perror(path_.c_str());
      std::abort();
    }
    if (std::fclose(f) != 0) {
      std::perror(path_.c_str());
      std::abort();
    }
    return path_;
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Whether NNI_FUZZ_VERBOSE is set: then every call reports "ok" or the first line of the
/// c10::Error it swallowed (for triage and for checking that the seeds really load).
inline bool verbose() {
  static const bool on = std::getenv("NNI_FUZZ_VERBOSE") != nullptr;
  return on;
}

/// Runs `fn`, swallowing the documented failure (c10::Error and its subclasses) only.
template <class Fn>
void expect_ok_or_c10_error(Fn&& fn) {
  try {
    fn();
    if (verbose()) std::fprintf(stderr, "[nni_fuzz] ok\n");
  } catch (const c10::Error& e) {
    // The documented way for a reader to reject malformed input.
    if (verbose()) {
      const std::string msg = e.what_without_backtrace();
      std::fprintf(stderr, "[nni_fuzz] c10::Error: %s\n", msg.substr(0, msg.find('\n')).c_str());
    }
  }
}

}  // namespace nni_fuzz
