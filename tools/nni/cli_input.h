#pragma once
// The nni tool's inputs: errors with exit codes, command-line values, and the input batch
// (a .npy file, or image files preprocessed as docs/cli.md says).

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/types.h>

#include "nn_interpretability/upsample.h"

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

/// The input batch: one `.npy` file (float32 or float64, [N, C, H, W]; returned as float32) or image
/// files (see load_images). Throws CliError(kInputError) naming the file and the problem.
torch::Tensor load_input(const std::vector<std::string>& paths, const ImageOptions& options);

/// Whether `path` names a .npy file (by its extension).
bool is_npy_path(const std::string& path);

}  // namespace nni_cli
