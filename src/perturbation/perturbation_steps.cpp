// Steps the perturbation methods share.
#include "nn_interpretability/detail/perturbation_steps.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

namespace nn_interpretability {
namespace detail {

torch::Tensor coalition_rows(const torch::Tensor& input, const torch::Tensor& ids, const torch::Tensor& present,
                             const torch::Tensor& examples, const torch::Tensor& baselines) {
  const int64_t rows = examples.size(0);
  const torch::Tensor row_ids = ids.index_select(0, examples).reshape({rows, -1});           // [R, D]
  const torch::Tensor keep = present.to(input.device()).gather(1, row_ids).view_as(baselines);  // [R, ...]
  return at::where(keep, input.index_select(0, examples), baselines);
}

torch::Tensor features_to_input(const torch::Tensor& values, const torch::Tensor& ids) {
  const int64_t batch = ids.size(0);
  return values.to(ids.device()).gather(1, ids.reshape({batch, -1})).view(ids.sizes());
}

at::Generator seeded_generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

int64_t row_bytes(const torch::Tensor& input) {
  return input.numel() / std::max<int64_t>(input.size(0), 1) * static_cast<int64_t>(input.element_size());
}

}  // namespace detail
}  // namespace nn_interpretability
