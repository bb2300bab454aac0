// libFuzzer target: torch::jit::load on arbitrary bytes -- what nn_interpretability's
// TorchScript support (include/nn_interpretability/model/torchscript.h, `nni` CLI --model) does with a
// user's model file.
//
// The bytes are loaded from memory (torch::jit::load(std::istream&)), on the CPU. A module that
// loads is walked (named_modules / named_parameters), as nn_interpretability's model backend
// does when it lists layers and checks the parameter dtype. c10::Error is the documented
// failure; anything else that escapes, and any sanitizer report, is a finding. NOTE: LibTorch
// itself is not instrumented, so coverage feedback comes only from the few inline headers this
// file compiles; the target is a robustness smoke test of the loader (ASan still sees heap
// errors through its interceptors), not a coverage-guided fuzz of LibTorch internals.
//
// Known finding (LibTorch 1.13, Debian): a model whose code/ entry renames a declared
// attribute (e.g. `training` -> `traininrb`) makes torch::jit::load throw std::out_of_range
// ("Argument passed to at() was not in the map.") instead of c10::Error; this target finds it
// within seconds from the seed corpus. To fuzz past it for memory errors, set
// NNI_FUZZ_ALLOW_STD_EXCEPTIONS=1: std::exception is then swallowed too (sanitizer reports,
// signals and non-std exceptions still crash).

#include <torch/script.h>

#include "fuzz_common.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <string>

namespace {

void load_and_walk(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  nni_fuzz::expect_ok_or_c10_error([&] {
    torch::jit::Module module = torch::jit::load(in, torch::kCPU);
    std::size_t count = 0;
    for (const auto& m : module.named_modules()) count += m.name.size();
    for (const auto& p : module.named_parameters())
      count += static_cast<std::size_t>(p.value.numel());
    (void)count;
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool allow_std = std::getenv("NNI_FUZZ_ALLOW_STD_EXCEPTIONS") != nullptr;
  if (!allow_std) {
    load_and_walk(data, size);
    return 0;
  }
  try {
    load_and_walk(data, size);
  } catch (const std::exception&) {
    // Tolerated only on request; see the top of this file.
  }
  return 0;
}
