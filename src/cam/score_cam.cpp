#include "nn_interpretability/cam/score_cam.h"

#include <algorithm>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "nn_interpretability/detail/cam_steps.h"

namespace nn_interpretability {

ScoreCam::ScoreCam(Model model, ScoreCamOptions options)
    : CamMethod(std::move(model), options.map_options(), "ScoreCam", /*uses_gradients=*/false),
      options_(std::move(options)) {
  check_rows_per_call("ScoreCam", options_.rows_per_call(), options_.memory_budget());
}

void ScoreCam::check_input_shape(const torch::Tensor& input) const {
  TORCH_CHECK_VALUE(input.dim() == 4, "the input must be an image batch [N, C, H, W], got shape ", input.sizes());
}

torch::Tensor ScoreCam::layer_weights(const CamLayer& layer, const CamPass& pass) {
  const torch::Tensor& activation = layer.activation;
  const torch::Tensor& input = pass.input;
  const int64_t batch = activation.size(0);
  const int64_t channels = activation.size(1);
  // Its passes mix examples in one batch, which a forward tiling per-example inputs cannot pair.
  TORCH_CHECK_VALUE(batch == 1 || !model_.backend().has_per_example_inputs(), "the model holds per-example fixed ",
                    "inputs (TorchScriptOptions::fixed_inputs), which this method's mixed batches cannot pair with ",
                    "their examples: explain one example per call");
  const int64_t height = input.size(2);
  const int64_t width = input.size(3);
  // The target was resolved on the clean input; the masked copies are scored for the same class.
  const torch::Tensor classes = pass.target.class_indices(pass.output);  // undefined for a score function

  // Row r of the flattened work list is (example r / K, channel r % K).
  const torch::Tensor flat = activation.reshape({batch * channels, 1, activation.size(2), activation.size(3)});
  torch::Tensor weights = at::empty({batch * channels}, activation.options());
  const int64_t masked_inputs = batch * channels;
  const int64_t row_bytes = input.numel() / input.size(0) * static_cast<int64_t>(input.element_size());
  const int64_t per_call =
      copies_per_call(options_.rows_per_call(), masked_inputs, /*batch=*/1, row_bytes, options_.memory_budget());
  for (int64_t start = 0; start < masked_inputs; start += per_call) {
    const int64_t end = std::min(masked_inputs, start + per_call);
    // A constant channel gives an all-zero mask.
    const torch::Tensor masks =
        detail::min_max_scaled(upsample_map(flat.slice(0, start, end), {height, width}, Upsample::kBilinear));
    const torch::Tensor examples =
        at::arange(start, end, pass.output.options().dtype(at::kLong)).div(channels, /*rounding_mode=*/"floor");
    torch::Tensor output = model_.forward(input.index_select(0, examples) * masks);
    torch::Tensor scores;
    if (classes.defined()) {
      scores = output.softmax(1).gather(1, classes.index_select(0, examples).unsqueeze(1)).squeeze(1);
    } else {
      scores = pass.target.select_rows(examples).scores(output);
    }
    weights.slice(0, start, end).copy_(scores);
  }
  return weights.view({batch, channels, 1, 1});
}

}  // namespace nn_interpretability
