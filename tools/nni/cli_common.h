#pragma once
// Pieces the nni commands share: the device, the model file, the image options, lists for messages,
// and the progress bar of long runs.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/script.h>
#include <torch/types.h>

#include "arguments.h"
#include "cli_input.h"

namespace nni_cli {

/// "cpu", "cuda" or "cuda:N"; a usage error otherwise or when CUDA is not available.
torch::Device parse_device(const std::string& text);
/// A TorchScript file loaded on `device` in eval mode as saved; a clear error (exit code 4) for a
/// missing file, a torch.save pickle or anything else unreadable.
torch::jit::Module load_model(const std::string& path, const torch::Device& device);
/// The floating-point dtype of the model's parameters, when it has any.
std::optional<torch::ScalarType> model_dtype(const torch::jit::Module& module);
std::string join(const std::vector<std::string>& items);
std::string shape_string(torch::IntArrayRef sizes);
/// --size, --resize, --mean, --std, --channels.
ImageOptions image_options(const Arguments& args);

// A progress bar on stderr: redrawn in place on a terminal; elsewhere (a log file) one line at every
// tenth of the batches.
class ProgressBar {
 public:
  ProgressBar(int64_t total, bool enabled, std::string unit = "batches")
      : total_(total), unit_(std::move(unit)), enabled_(enabled && total > 1), terminal_(isatty(fileno(stderr)) != 0) {
    if (terminal_) draw(0);
  }
  void update(int64_t done) {
    if (!enabled_) return;
    if (terminal_) {
      draw(done);
    } else if (done * 10 / total_ != (done - 1) * 10 / total_ || done == total_) {
      draw(done);
      std::cerr << '\n';
    }
  }
  void finish() {
    if (enabled_ && terminal_) std::cerr << '\n';
  }

 private:
  void draw(int64_t done) {
    if (!enabled_) return;
    constexpr int64_t kWidth = 30;
    const int64_t filled = total_ > 0 ? done * kWidth / total_ : kWidth;
    std::cerr << (terminal_ ? "\r[" : "[") << std::string(static_cast<std::size_t>(filled), '#')
              << std::string(static_cast<std::size_t>(kWidth - filled), ' ') << "] " << done << '/' << total_
              << ' ' << unit_ << std::flush;
  }
  int64_t total_;
  std::string unit_;
  bool enabled_;
  bool terminal_;
};

}  // namespace nni_cli
