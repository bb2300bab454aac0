// libFuzzer target: read_cifar10_bin, the CIFAR-10 binary batch reader (records of 1 label
// byte + 3072 pixel bytes; plain or gzip, detected from the content).
//
// The input is written to a scratch file and read whole and with a limit taken from its last
// byte (-1..3; -1 must be rejected). c10::Error is the documented failure; anything else that
// escapes, and any sanitizer report, is a finding.

#include <nn_interpretability/data/cifar10.h>

#include "fuzz_common.h"

#include <cstddef>
#include <cstdint>
#include <optional>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace nd = nn_interpretability::data;
  static const nni_fuzz::ScratchFile file("data_batch_1.bin");

  const std::optional<int64_t> limit =
      size > 0 ? std::optional<int64_t>(static_cast<int64_t>(data[size - 1] % 5) - 1)
               : std::nullopt;

  const std::string& p = file.write(data, size);
  nni_fuzz::expect_ok_or_c10_error([&] { (void)nd::read_cifar10_bin(p); });
  nni_fuzz::expect_ok_or_c10_error([&] { (void)nd::read_cifar10_bin(p, limit); });
  return 0;
}
