#pragma once
// Private random generators for reproducible draws: one per (seed, example, sample), so that a
// result depends neither on the chunking, nor on the batch an example comes in, nor on the global seed.

#include <cstdint>

#include <ATen/core/Generator.h>

namespace nn_interpretability {
namespace detail {

/// A CPU generator seeded by splitmix64 of the three numbers (nearby seeds give unrelated streams).
at::Generator seeded_generator(uint64_t seed, int64_t example, int64_t sample);

}  // namespace detail
}  // namespace nn_interpretability
