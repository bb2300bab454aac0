#pragma once
// `nni attribute --repeat K`: the median time of K calls, printed as one JSON line.

#include <cstdint>
#include <functional>
#include <string>

#include <torch/types.h>

namespace nni_cli {

/// Waits for the device's queued work (CUDA), so a timed call includes it.
void synchronize(const torch::Device& device);

/// Runs `call` once (warm-up), then `repeat` times, synchronizing `device` after each; returns the
/// median milliseconds.
double median_milliseconds(const std::function<void()>& call, int64_t repeat, const torch::Device& device);

/// {"method":...,"median_ms":...,"calls":K,"batch":B,"device":"cpu"}
std::string timing_json(const std::string& method, double median_ms, int64_t calls, int64_t batch,
                        const torch::Device& device);

}  // namespace nni_cli
