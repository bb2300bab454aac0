#include "cli_common.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <c10/util/Exception.h>
#include <torch/cuda.h>
#include <torch/csrc/jit/serialization/import.h>

#include "nn_interpretability/cam/upsample.h"
#include "nn_interpretability/model/torchscript.h"

namespace nni = nn_interpretability;

namespace nni_cli {
namespace {

const char* kExportHint =
    "this file is not a TorchScript archive (saved with torch::save / torch.save?); export with "
    "torch.jit.script(model).save(path) or torch.jit.trace";

// Whether a failed load looks like a torch.save file: a zip archive without TorchScript's records
// (LibTorch then misses constants.pkl or the code), or a legacy pickle (first byte 0x80).
bool looks_like_torch_save(const std::string& path, const std::string& error) {
  if (error.find("constants.pkl") != std::string::npos || error.find("code/") != std::string::npos) return true;
  std::ifstream file(path, std::ios::binary);
  const int first = file.get();
  return first == 0x80;
}

}  // namespace


torch::Device parse_device(const std::string& text) {
  std::optional<torch::Device> device;
  try {
    device = torch::Device(text);
  } catch (const std::exception&) {
    throw CliError(kUsageError, "--device: expected cpu, cuda or cuda:K, got '" + text + "'");
  }
  if (!device->is_cpu() && !device->is_cuda())
    throw CliError(kUsageError, "--device: expected cpu, cuda or cuda:K, got '" + text + "'");
  if (device->is_cuda() && !torch::cuda::is_available())
    throw CliError(kRuntimeError, "--device " + text + ": CUDA is not available on this machine");
  return *device;
}

// How to export a model, for messages about files that are not TorchScript archives.
torch::jit::Module load_model(const std::string& path, const torch::Device& device) {
  const std::string prefix = "cannot load TorchScript model '" + path + "': ";
  // Before anything opens it: a FIFO would block the loader, /dev/zero would never end.
  require_regular_file(path, "cannot load TorchScript model", kModelError);
  // LibTorch 1.13 can crash (SIGSEGV) on some corrupt archives (found by fuzz/fuzz_model_load): parse
  // the file once in a child process first, so a corrupt file gets an error, not a crash.
  const pid_t child = fork();
  if (child == 0) {
    try {
      torch::jit::load(path);
    } catch (...) {
      _exit(3);  // an ordinary load error: the parent reproduces it with its message
    }
    _exit(0);
  }
  if (child > 0) {
    int status = 0;
    // Anything but 0 or 3 is a crash: a signal, or a sanitizer's own exit code after one.
    if (waitpid(child, &status, 0) == child &&
        !(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 3)))
      throw CliError(kModelError, prefix + "the file is corrupt: LibTorch crashed while parsing it");
  }
  torch::jit::Module module;
  try {
    module = torch::jit::load(path);
  } catch (const std::exception& caught) {
    const std::string reason = error_message(caught);
    if (looks_like_torch_save(path, reason))
      throw CliError(kModelError, prefix + kExportHint + " (LibTorch: " + short_message(reason, false, 2) + ")");
    throw CliError(kModelError, prefix + reason);
  }
  // C++ torch::save(module, path) writes an archive that loads, but holds only parameters: no code.
  if (!module.find_method("forward")) throw CliError(kModelError, prefix + kExportHint + " (it has no forward method)");
  try {
    module.eval();
    module.to(device);
  } catch (const std::exception& caught) {
    throw CliError(kModelError, prefix + error_message(caught));
  }
  return module;
}

// The dtype of the model's floating-point parameters (or buffers), if it has any.
std::optional<torch::ScalarType> model_dtype(const torch::jit::Module& module) {
  for (const torch::Tensor& parameter : module.parameters())
    if (parameter.is_floating_point()) return parameter.scalar_type();
  for (const torch::Tensor& buffer : module.buffers())
    if (buffer.is_floating_point()) return buffer.scalar_type();
  return std::nullopt;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string shape_string(torch::IntArrayRef sizes) {
  std::ostringstream out;
  out << sizes;
  return out.str();
}

ImageOptions image_options(const Arguments& args) {
  ImageOptions options;
  if (args.has("size")) {
    options.size = parse_int_list(args.get("size"), "--size");
    if (options.size.size() == 1) options.size.push_back(options.size.front());
    if (options.size.size() != 2 || options.size[0] <= 0 || options.size[1] <= 0)
      throw CliError(kUsageError, "--size: expected H,W or one positive integer, got '" + args.get("size") + "'");
  }
  if (args.has("resize")) {
    const std::string& mode = args.get("resize");
    if (mode == "bilinear") options.resize = nni::Upsample::kBilinear;
    else if (mode == "nearest") options.resize = nni::Upsample::kNearest;
    else if (mode == "bicubic") options.resize = nni::Upsample::kBicubic;
    else throw CliError(kUsageError, "--resize: expected bilinear, nearest or bicubic, got '" + mode + "'");
  }
  if (args.has("mean")) options.mean = parse_double_list(args.get("mean"), "--mean");
  if (args.has("std")) options.std = parse_double_list(args.get("std"), "--std");
  if (args.has("channels")) options.channels = parse_int(args.get("channels"), "--channels");
  if (options.channels != 1 && options.channels != 3)
    throw CliError(kUsageError, "--channels: expected 1 or 3, got " + std::to_string(options.channels));
  if (options.mean.size() != options.std.size())
    throw CliError(kUsageError, "--mean and --std must have the same number of values");
  return options;
}

// ================================================================== nni methods

}  // namespace nni_cli
