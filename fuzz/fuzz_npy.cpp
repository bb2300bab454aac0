// libFuzzer target: read_npy, the NumPy `.npy` reader (versions 1.0 / 2.0 / 3.0, C and Fortran
// order, f4 f8 i8 i4 u1 b1).
//
// The input is written to a scratch `.npy` file and read; a tensor that loads is also summed,
// so that every element is touched (catching a tensor that claims more memory than it owns).
// read_npy documents "malformed input never crashes" and c10::ValueError as its failure;
// anything else that escapes, and any sanitizer report, is a finding.

#include <nn_interpretability/io/npy.h>

#include "fuzz_common.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const nni_fuzz::ScratchFile file("fuzz.npy");
  const std::string& p = file.write(data, size);
  nni_fuzz::expect_ok_or_c10_error([&] {
    const torch::Tensor t = nn_interpretability::read_npy(p);
    if (t.numel() > 0) (void)t.to(torch::kDouble).sum().item<double>();
  });
  return 0;
}
