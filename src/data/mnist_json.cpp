#include <nn_interpretability/data/mnist_json.h>

#include "io.h"
#include "json.h"

#include <ATen/ops/empty.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nn_interpretability {
namespace data {
namespace {

constexpr int64_t kSide = 28;
constexpr int64_t kPixels = kSide * kSide;  // 784
constexpr int kDigits = 10;

/// One digit file as bytes [n * 784]; errors name `where`, the public function the caller called.
std::vector<std::uint8_t> read_digit_bytes(const std::string& path, const char* where) {
  const std::vector<std::uint8_t> text =
      nn_interpretability::detail::read_whole_file(path, where, detail::kMaxWholeFileBytes);
  const std::vector<double> values = detail::parse_json_member_number_array(
      std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), "data", path, where);
  NNI_CHECK_FILE(values.size() % kPixels == 0, where, path, "wrong dimensions (the \"data\" array has ",
                 values.size(), " values, not a multiple of 784 = 28x28)");
  std::vector<std::uint8_t> bytes(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    NNI_CHECK_FILE(v >= 0.0 && v <= 1.0, where, path, "bad pixel value ", v, " at index ", i, " (outside [0, 1])");
    bytes[i] = static_cast<std::uint8_t>(std::lround(v * 255.0));
  }
  return bytes;
}

/// Interleaves per-digit ranges [begin, end) of images: image 0 of each digit in digit order,
/// then image 1, ...; a digit whose range is used up is skipped.
LabeledImages interleave(const std::vector<std::vector<std::uint8_t>>& digits,
                         const std::vector<int64_t>& begin, const std::vector<int64_t>& end,
                         int64_t count) {
  at::Tensor images = at::empty({count, 1, kSide, kSide}, at::TensorOptions().dtype(at::kFloat));
  at::Tensor labels = at::empty({count}, at::TensorOptions().dtype(at::kLong));
  float* dst = images.data_ptr<float>();
  int64_t* lab = labels.data_ptr<int64_t>();
  int64_t out = 0;
  for (int64_t k = 0; out < count; ++k) {
    bool any = false;
    for (int d = 0; d < kDigits && out < count; ++d) {
      const int64_t index = begin[static_cast<std::size_t>(d)] + k;
      if (index >= end[static_cast<std::size_t>(d)]) continue;
      any = true;
      detail::bytes_to_unit_float(digits[static_cast<std::size_t>(d)].data() + index * kPixels,
                                  dst + out * kPixels, kPixels);
      lab[out] = d;
      ++out;
    }
    if (!any) break;
  }
  TORCH_INTERNAL_ASSERT(out == count);
  return {images, labels};
}

}  // namespace

LabeledImages read_mnist_json_digit(const std::string& path, int64_t label,
                                    std::optional<int64_t> limit) {
  if (limit) detail::apply_limit(limit, 0);  // validates
  const std::vector<std::uint8_t> bytes = read_digit_bytes(path, "read_mnist_json_digit");
  const int64_t count =
      detail::apply_limit(limit, static_cast<int64_t>(bytes.size()) / kPixels);
  at::Tensor images = at::empty({count, 1, kSide, kSide}, at::TensorOptions().dtype(at::kFloat));
  detail::bytes_to_unit_float(bytes.data(), images.data_ptr<float>(),
                              static_cast<std::size_t>(count * kPixels));
  at::Tensor labels = at::empty({count}, at::TensorOptions().dtype(at::kLong)).fill_(label);
  return {images, labels};
}

LabeledImages load_mnist_json(const std::string& dir, Split split, std::optional<int64_t> limit) {
  constexpr const char* kWhere = "load_mnist_json";
  if (limit) detail::apply_limit(limit, 0);  // validates
  std::vector<std::string> paths;
  for (int d = 0; d < kDigits; ++d) {
    paths.push_back(detail::join_path(dir, std::to_string(d) + ".json"));
    nn_interpretability::detail::require_regular_file(paths.back(), kWhere);
  }
  std::vector<std::vector<std::uint8_t>> digits;
  std::vector<int64_t> train_end;
  std::vector<int64_t> test_end;
  int64_t train_total = 0;
  int64_t test_total = 0;
  for (int d = 0; d < kDigits; ++d) {
    digits.push_back(read_digit_bytes(paths[static_cast<std::size_t>(d)], kWhere));
    const int64_t n = static_cast<int64_t>(digits.back().size()) / kPixels;
    const int64_t n_test = mnist_json_test_count(n);
    train_end.push_back(n - n_test);
    test_end.push_back(n);
    train_total += n - n_test;
    test_total += n_test;
  }
  const std::vector<int64_t> zeros(kDigits, 0);
  std::vector<LabeledImages> parts;
  int64_t taken = 0;
  if (split != Split::kTest) {
    const int64_t count = detail::apply_limit(limit, train_total);
    parts.push_back(interleave(digits, zeros, train_end, count));
    taken += count;
  }
  if (split != Split::kTrain) {
    const int64_t count = limit ? std::min(*limit - taken, test_total) : test_total;
    if (count > 0 || parts.empty()) {
      parts.push_back(interleave(digits, train_end, test_end, std::max<int64_t>(count, 0)));
    }
  }
  return detail::concat(parts, 1, kSide, kSide);
}

}  // namespace data
}  // namespace nn_interpretability
