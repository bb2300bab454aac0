#include "cli_input.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <sys/stat.h>

#include <c10/util/Exception.h>

#include "nn_interpretability/detail/files.h"
#include "nn_interpretability/io/npy.h"
#include "nn_interpretability/cam/upsample.h"
#include "nn_interpretability/visualization/image_io.h"

namespace nni_cli {

std::string error_message(const std::exception& error) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&error)) return c10_error->what_without_backtrace();
  return error.what();
}

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

}  // namespace

std::string short_message(const std::string& message, bool verbose, std::size_t max_lines) {
  if (verbose) return message;
  const std::string marker = "The following operation failed in the TorchScript interpreter.";
  const auto at = message.find(marker);
  if (at != std::string::npos) {
    const std::string context = message.substr(0, at);
    const std::vector<std::string> lines = lines_of(message.substr(at));
    // The last traceback block ("Traceback of TorchScript, original code ...") holds the innermost
    // location; the error itself follows it, as the first line that is not indented.
    std::size_t last_traceback = 0;
    for (std::size_t i = 0; i < lines.size(); ++i)
      if (starts_with(lines[i], "Traceback of TorchScript")) last_traceback = i;
    std::string location;
    std::size_t error_begin = lines.size();
    for (std::size_t i = last_traceback + 1; i < lines.size(); ++i) {
      if (starts_with(lines[i], "  File ")) location = trim(lines[i]);
      if (!lines[i].empty() && lines[i][0] != ' ' && lines[i][0] != '\t') {
        error_begin = i;
        break;
      }
    }
    std::string error;
    std::size_t kept = 0;
    for (std::size_t i = error_begin; i < lines.size() && kept < 3; ++i) {
      if (trim(lines[i]).empty()) continue;
      error += (kept ? " " : "") + trim(lines[i]);
      ++kept;
    }
    if (error.empty()) error = "(no error text after the TorchScript traceback)";
    const std::size_t left_out = lines.size() - kept;
    std::ostringstream out;
    out << context << error;
    if (!location.empty()) out << " [" << location << "]";
    out << " (" << left_out << " lines of TorchScript traceback left out; --verbose prints them)";
    return out.str();
  }
  const std::vector<std::string> lines = lines_of(message);
  if (lines.size() <= max_lines) return message;
  std::string out;
  for (std::size_t i = 0; i < max_lines; ++i) out += lines[i] + "\n";
  return out + "... (" + std::to_string(lines.size() - max_lines) + " more lines; --verbose prints them)";
}

void require_regular_file(const std::string& path, const std::string& what, int code) {
  const std::string problem = nn_interpretability::detail::regular_file_problem(path);
  if (!problem.empty()) throw CliError(code, what + " '" + path + "': " + problem);
}

void check_output_file(const std::string& path, const std::string& option) {
  if (path.empty()) throw CliError(kUsageError, option + ": the path is empty");
  struct stat status {};
  if (::stat(path.c_str(), &status) == 0) {
    if (S_ISDIR(status.st_mode))
      throw CliError(kRuntimeError, option + " '" + path + "': is a directory; give a file name");
    if (!S_ISREG(status.st_mode)) return;  // a device or FIFO (e.g. /dev/null): written in place
  }
  const std::string directory = std::filesystem::path(path).parent_path().string();
  const std::string problem = nn_interpretability::detail::directory_write_problem(directory);
  if (!problem.empty())
    throw CliError(kRuntimeError, option + " '" + path + "': cannot create a file in the directory '" +
                                      (directory.empty() ? std::string(".") : directory) + "': " + problem);
}

void check_output_directory(const std::string& path, const std::string& option) {
  if (path.empty()) throw CliError(kUsageError, option + ": the path is empty");
  std::filesystem::path existing(path);
  // The nearest existing ancestor; it must be a directory where files (or subdirectories) can be made.
  std::error_code error;
  while (!existing.empty() && !std::filesystem::exists(std::filesystem::symlink_status(existing, error)))
    existing = existing.parent_path();
  const std::string directory = existing.empty() ? std::string(".") : existing.string();
  const std::string problem = nn_interpretability::detail::directory_write_problem(directory);
  if (!problem.empty()) {
    if (directory == path || (directory + "/") == path)
      throw CliError(kRuntimeError, option + " '" + path + "': " + problem);
    throw CliError(kRuntimeError, option + " '" + path + "': cannot create it in '" + directory + "': " + problem);
  }
}

int64_t parse_int(const std::string& text, const std::string& option) {
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE)
    throw CliError(kUsageError, option + ": expected an integer, got '" + text + "'");
  return static_cast<int64_t>(value);
}

double parse_double(const std::string& text, const std::string& option) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(value))
    throw CliError(kUsageError, option + ": expected a number, got '" + text + "'");
  return value;
}

namespace {
std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream stream(text);
  while (std::getline(stream, part, separator)) parts.push_back(part);
  if (!text.empty() && text.back() == separator) parts.emplace_back();
  return parts;
}
}  // namespace

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& option) {
  std::vector<int64_t> values;
  for (const auto& part : split(text, ',')) values.push_back(parse_int(part, option));
  if (values.empty()) throw CliError(kUsageError, option + ": expected a comma-separated list of integers");
  return values;
}

std::vector<double> parse_double_list(const std::string& text, const std::string& option) {
  std::vector<double> values;
  for (const auto& part : split(text, ',')) values.push_back(parse_double(part, option));
  if (values.empty()) throw CliError(kUsageError, option + ": expected a comma-separated list of numbers");
  return values;
}

bool is_npy_path(const std::string& path) {
  return path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
}

torch::Tensor load_images(const std::vector<std::string>& paths, const ImageOptions& options) {
  namespace vis = nn_interpretability::visualization;
  if (options.channels != 1 && options.channels != 3)
    throw CliError(kUsageError, "--channels: expected 1 or 3, got " + std::to_string(options.channels));
  if (!options.size.empty() &&
      (options.size.size() != 2 || options.size[0] <= 0 || options.size[1] <= 0))
    throw CliError(kUsageError, "--size: expected H,W (or one integer) with positive entries");
  if (options.mean.size() != options.std.size())
    throw CliError(kUsageError, "--mean and --std must have the same number of values");
  if (!options.mean.empty() && options.mean.size() != 1 &&
      static_cast<int64_t>(options.mean.size()) != options.channels)
    throw CliError(kUsageError, "--mean/--std: expected 1 or " + std::to_string(options.channels) +
                                    " values (one per channel), got " + std::to_string(options.mean.size()));
  for (double s : options.std)
    if (!(s > 0)) throw CliError(kUsageError, "--std: every value must be positive");

  std::vector<torch::Tensor> images;
  for (const auto& path : paths) {
    require_regular_file(path, "input image", kInputError);
    torch::Tensor image;
    try {
      image = vis::load_image(path, options.channels);  // [C, H, W] float32, decoded and scaled to [0, 1]
    } catch (const std::exception& error) {
      throw CliError(kInputError, "input image '" + path + "': " + error_message(error));
    }
    image = image.unsqueeze(0);
    if (!options.size.empty() && (image.size(2) != options.size[0] || image.size(3) != options.size[1]))
      image = nn_interpretability::upsample_map(image, {options.size[0], options.size[1]}, options.resize);
    if (!images.empty() && image.sizes() != images.front().sizes()) {
      std::ostringstream message;
      message << "input image '" << path << "' is " << image.size(2) << "x" << image.size(3) << " but '"
              << paths.front() << "' is " << images.front().size(2) << "x" << images.front().size(3)
              << "; give --size H,W to resize every image";
      throw CliError(kInputError, message.str());
    }
    images.push_back(image);
  }
  torch::Tensor batch = torch::cat(images, 0).contiguous();
  if (!options.mean.empty()) {
    const auto c = static_cast<int64_t>(options.mean.size());
    const torch::Tensor mean = torch::tensor(options.mean, torch::kFloat64).to(torch::kFloat32).view({1, c, 1, 1});
    const torch::Tensor std = torch::tensor(options.std, torch::kFloat64).to(torch::kFloat32).view({1, c, 1, 1});
    batch = (batch - mean) / std;
  }
  return batch;
}

torch::Tensor load_input(const std::vector<std::string>& paths, const ImageOptions& options,
                         torch::ScalarType dtype) {
  if (paths.empty()) throw CliError(kUsageError, "--input: give a .npy file or one or more image files");
  if (paths.size() == 1 && is_npy_path(paths.front())) {
    const std::string& path = paths.front();
    require_regular_file(path, "input", kInputError);
    torch::Tensor input;
    try {
      input = nn_interpretability::read_npy(path);
    } catch (const std::exception& error) {
      throw CliError(kInputError, "input " + error_message(error));
    }
    std::ostringstream problem;
    if (input.scalar_type() != torch::kFloat32 && input.scalar_type() != torch::kFloat64)
      problem << "has dtype " << input.scalar_type() << "; expected float32 (or float64)";
    else if (input.dim() != 4)
      problem << "has shape " << input.sizes() << "; expected a batch [N, C, H, W] (4 dimensions)";
    else if (input.size(0) == 0)
      problem << "is an empty batch (shape " << input.sizes() << ")";
    else if (!torch::isfinite(input).all().item<bool>())
      problem << "contains NaN or infinite values";
    if (!problem.str().empty()) throw CliError(kInputError, "input '" + path + "' " + problem.str());
    return input.to(dtype).contiguous();
  }
  for (const auto& path : paths)
    if (is_npy_path(path))
      throw CliError(kUsageError, "--input: a .npy file must be the only input, got " +
                                      std::to_string(paths.size()) + " inputs");
  return load_images(paths, options).to(dtype);
}

}  // namespace nni_cli
