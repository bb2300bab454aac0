#pragma once
// The nni tool's inputs: errors with exit codes, command-line values, and the input batch
// (a .npy file, or image files preprocessed as docs/cli.md says).

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/types.h>

#include "nn_interpretability/cam/upsample.h"

namespace nni_cli {

/// Exit codes, documented in docs/cli.md.
enum ExitCode : int {
  kOk = 0,
  kRuntimeError = 1,  ///< the attribution (or writing the results) failed
  kUsageError = 2,    ///< bad command line: unknown command, option, method or layer, bad value
  kInputError = 3,    ///< an input or target file is missing or invalid
  kModelError = 4,    ///< the model is missing or cannot be loaded
};

/// An error the tool reports on stderr before exiting with `code`.
class CliError : public std::runtime_error {
 public:
  CliError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

/// The message of any exception, without LibTorch's backtrace.
std::string error_message(const std::exception& error);

/// A message for the terminal: a TorchScript interpreter error ("The following operation failed in
/// the TorchScript interpreter. Traceback of TorchScript ...", often 40 lines) is cut to the context
/// before it (which names the input's shape and dtype), its final error lines and the innermost
/// source location; any other message longer than `max_lines` lines is cut to its first lines. Each
/// cut says how many lines were left out and that --verbose prints them. `verbose` returns the
/// message as it is.
std::string short_message(const std::string& message, bool verbose, std::size_t max_lines = 5);

// ------------------------------------------------------------------ files

/// Throws CliError(code) "<what> '<path>': <reason>" unless `path` names a regular file (checked
/// before anything opens it: a FIFO would block, /dev/zero never ends).
void require_regular_file(const std::string& path, const std::string& what, int code);

/// Checks, before anything is computed, that an output file can be written at `path`: not a
/// directory, its directory exists and a file can be created there (a device such as /dev/null is
/// accepted). Throws CliError(kRuntimeError) "<option> '<path>': <reason>".
void check_output_file(const std::string& path, const std::string& option);

/// The same for the directory of --png: an existing directory where files can be created, or a path
/// whose nearest existing ancestor is one (the directory is created later).
void check_output_directory(const std::string& path, const std::string& option);

// ------------------------------------------------------------------ values (usage errors on failure)

int64_t parse_int(const std::string& text, const std::string& option);
double parse_double(const std::string& text, const std::string& option);
/// "1,3,16,16" -> {1, 3, 16, 16}; every entry an integer.
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& option);
std::vector<double> parse_double_list(const std::string& text, const std::string& option);

// ------------------------------------------------------------------ the input batch

struct ImageOptions {
  std::vector<int64_t> size;  ///< {H, W}; empty = keep each image's size (all must then agree)
  nn_interpretability::Upsample resize = nn_interpretability::Upsample::kBilinear;
  std::vector<double> mean;  ///< 1 or C values; empty = no normalization
  std::vector<double> std;   ///< same count as mean
  int64_t channels = 3;      ///< 1 (gray) or 3 (RGB)
};

/// Image files to a float32 batch [N, C, H, W]: each image is decoded, resized to `size` (if given),
/// scaled to [0, 1] and normalized with mean/std. Throws CliError(kInputError) for unreadable files.
torch::Tensor load_images(const std::vector<std::string>& paths, const ImageOptions& options);

/// The input batch: one `.npy` file (float32 or float64, [N, C, H, W]) or image files (see
/// load_images), returned as `dtype` (float32 or float64; a float64 file keeps its precision with
/// float64). Throws CliError(kInputError) naming the file and the problem.
torch::Tensor load_input(const std::vector<std::string>& paths, const ImageOptions& options,
                         torch::ScalarType dtype = torch::kFloat32);

/// Whether `path` names a .npy file (by its extension).
bool is_npy_path(const std::string& path);

}  // namespace nni_cli
