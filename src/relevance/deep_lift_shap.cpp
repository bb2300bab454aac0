// DeepLiftShap: DeepLIFT of every example against every baseline (rows example-major: row e·B + k
// is example e against baseline k), averaged over the baselines, whole examples per call.
#include "nn_interpretability/relevance/deep_lift_shap.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "nn_interpretability/detail/result_checks.h"

namespace nn_interpretability {

DeepLiftShap::DeepLiftShap(Model model, DeepLiftShapOptions options)
    : ModelAttribution(std::move(model)), options_(std::move(options)) {
  TORCH_CHECK_VALUE(options_.baselines().defined(), "DeepLiftShap: the baseline distribution is required ",
                    "(DeepLiftShapOptions().baselines(rows))");
  TORCH_CHECK_VALUE(options_.baselines().dim() >= 1 && options_.baselines().size(0) >= 1,
                    "DeepLiftShap: the baseline distribution is empty (shape ", options_.baselines().sizes(), ")");
  TORCH_CHECK_VALUE(std::isfinite(options_.epsilon()) && options_.epsilon() >= 0,
                    "DeepLiftShap: epsilon must be finite and >= 0, got ", options_.epsilon());
  check_rows_per_call("DeepLiftShap", options_.rows_per_call(), options_.memory_budget());
}

torch::Tensor DeepLiftShap::compute(const torch::Tensor& input, const Target& target) {
  return attribute_with_delta(input, target).attributions;
}

DeepLiftResult DeepLiftShap::attribute_with_delta(const torch::Tensor& input, const Target& target) {
  return detail::naming_errors(class_name(), [&] {
    if (input.defined()) check_input_shape(input);
    model_.check_input(input, class_name().c_str());
    const int64_t batch = input.size(0);
    torch::Tensor baselines = options_.baselines().detach().to(input.options());
    const at::IntArrayRef row = input.sizes().slice(1);
    if (!(baselines.dim() == input.dim() && baselines.sizes().slice(1) == row)) {
      // One baseline broadcastable to a row (a number, a per-channel value) is a distribution of one.
      TORCH_CHECK_VALUE(baselines.dim() < input.dim(), "the baselines have shape ", baselines.sizes(),
                        "; expected rows shaped like the input's ", row, " or one baseline broadcastable to a row");
      try {
        baselines = baselines.expand(row).unsqueeze(0).contiguous();
      } catch (const c10::Error&) {
        TORCH_CHECK_VALUE(false, "the baselines have shape ", options_.baselines().sizes(),
                          "; expected rows shaped like the input's ", row, " or one baseline broadcastable to a row");
      }
    }
    TORCH_CHECK_VALUE(baselines.isfinite().all().item<bool>(), "the baselines contain NaN or Inf");
    const int64_t choices = baselines.size(0);
    // The target once, on the clean input, then one per row of each chunk.
    // One no-grad pass of the batch resolves and checks the target (lengths, ranges) before the
    // rows are multiplied.
    const int64_t row_bytes = 2 * input[0].numel() * static_cast<int64_t>(input.element_size());
    const int64_t examples_per_call =
        copies_per_call(options_.rows_per_call(), batch, choices, row_bytes, options_.memory_budget());
    if (choices == 1 && examples_per_call >= batch) {
      // One baseline in one pass: DeepLIFT itself, which resolves the target on the input's rows.
      return detail::deep_lift(model_, input, baselines.expand_as(input).contiguous(), target, options_.rule(),
                               options_.epsilon());
    }
    Target resolved = target;
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor output = model_.forward(input);
      resolved = target.resolved(output);
      (void)resolved.scores(output);
    }
    std::vector<torch::Tensor> attributions, deltas;
    for (int64_t start = 0; start < batch; start += examples_per_call) {
      const int64_t count = std::min(examples_per_call, batch - start);
      const torch::Tensor examples = at::arange(start, start + count, at::TensorOptions().dtype(at::kLong));
      const torch::Tensor rows = examples.repeat_interleave(choices);
      const torch::Tensor inputs = input.index_select(0, rows.to(input.device()));
      std::vector<int64_t> tiling(static_cast<size_t>(input.dim()), 1);
      tiling[0] = count;
      const torch::Tensor references = baselines.repeat(tiling);
      const DeepLiftResult part = detail::deep_lift(model_, inputs, references, resolved.select_rows(rows),
                                                    options_.rule(), options_.epsilon());
      std::vector<int64_t> grouped{count, choices};
      grouped.insert(grouped.end(), input.sizes().begin() + 1, input.sizes().end());
      attributions.push_back(part.attributions.view(grouped).mean(1));
      deltas.push_back(part.delta.view({count, choices}).mean(1));
    }
    return DeepLiftResult{at::cat(attributions, 0), at::cat(deltas, 0)};
  });
}

}  // namespace nn_interpretability
