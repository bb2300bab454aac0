#include "cli_input.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <c10/util/Exception.h>

#include "nn_interpretability/npy.h"
#include "nn_interpretability/upsample.h"
#include "nn_interpretability/visualization/image_io.h"

namespace nni_cli {

std::string error_message(const std::exception& error) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&error)) return c10_error->what_without_backtrace();
  return error.what();
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
    if (!std::filesystem::exists(path)) throw CliError(kInputError, "input image '" + path + "': no such file");
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

torch::Tensor load_input(const std::vector<std::string>& paths, const ImageOptions& options) {
  if (paths.empty()) throw CliError(kUsageError, "--input: give a .npy file or one or more image files");
  if (paths.size() == 1 && is_npy_path(paths.front())) {
    const std::string& path = paths.front();
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
    return input.to(torch::kFloat32).contiguous();
  }
  for (const auto& path : paths)
    if (is_npy_path(path))
      throw CliError(kUsageError, "--input: a .npy file must be the only input, got " +
                                      std::to_string(paths.size()) + " inputs");
  return load_images(paths, options);
}

}  // namespace nni_cli
