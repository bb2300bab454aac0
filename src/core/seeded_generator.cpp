#include "nn_interpretability/detail/seeded_generator.h"

#include <ATen/CPUGeneratorImpl.h>

namespace nn_interpretability {
namespace detail {

at::Generator seeded_generator(uint64_t seed, int64_t example, int64_t sample) {
  auto mix = [](uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  return at::detail::createCPUGenerator(mix(mix(mix(seed) ^ static_cast<uint64_t>(example)) ^ static_cast<uint64_t>(sample)));
}

}  // namespace detail
}  // namespace nn_interpretability
