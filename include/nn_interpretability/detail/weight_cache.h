#pragma once
// Tensors derived from a model's weights (a BatchNorm merged in, the positive part, the square),
// kept between calls of one method: at batch 1 deriving them costs as much as the convolutions.
// An entry is valid while every source tensor is the same tensor at the same version counter (an
// in-place edit of a weight bumps it); entries hold their sources, so an address is never reused
// while its entry lives. Thread-safe.

#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include <torch/types.h>

namespace nn_interpretability {
namespace detail {

class WeightCache {
 public:
  /// The tensor derived as `derive()` from `sources` (undefined sources allowed) for purpose `what`
  /// (with `parameter`, e.g. γ), computed once per version of the sources.
  torch::Tensor get(const std::vector<torch::Tensor>& sources, int what, double parameter,
                    const std::function<torch::Tensor()>& derive);

 private:
  struct Entry {
    std::vector<torch::Tensor> sources;
    std::vector<int64_t> versions;
    int what;
    double parameter;
    torch::Tensor value;
  };
  static constexpr size_t kMaxEntries = 4096;
  std::mutex mutex_;
  std::vector<Entry> entries_;
};

}  // namespace detail
}  // namespace nn_interpretability
