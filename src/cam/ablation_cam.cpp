// Ablation-CAM: each channel's weight is the relative drop of the score when the channel is zeroed.
#include "nn_interpretability/cam/ablation_cam.h"

#include <algorithm>
#include <vector>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "nn_interpretability/model/layer.h"

namespace nn_interpretability {

AblationCam::AblationCam(Model model, AblationCamOptions options)
    : CamMethod(std::move(model), options.map_options(), "AblationCam", /*uses_gradients=*/false),
      options_(std::move(options)) {
  check_rows_per_call("AblationCam", options_.rows_per_call(), options_.memory_budget());
}

torch::Tensor AblationCam::layer_weights(const CamLayer& layer, const CamPass& pass) {
  const torch::Tensor& output = layer.output;  // the layer's own layout, which the replacement must have
  const int64_t rows = output.size(0);
  const int64_t channels = layer.activation.size(1);
  // Its passes mix examples in one batch, which a forward tiling per-example inputs cannot pair.
  TORCH_CHECK_VALUE(rows == 1 || !model_.backend().has_per_example_inputs(), "the model holds per-example fixed ",
                    "inputs (TorchScriptOptions::fixed_inputs), which this method's mixed batches cannot pair with ",
                    "their examples: explain one example per call");
  const int64_t row_elements = output.numel() / std::max<int64_t>(rows, 1);
  const auto long_options = pass.output.options().dtype(at::kLong);

  // Which channel of the rearranged activation each element of one output row is (-1: dropped by
  // the reshape, e.g. a class token), found by rearranging the element indices themselves.
  std::vector<int64_t> row_shape = output.sizes().vec();
  row_shape[0] = 1;
  const torch::Tensor positions =
      map_options().reshape.apply(at::arange(row_elements, long_options).view(row_shape), pass.input.slice(0, 0, 1),
                                  layer.name);  // [1, K, h, w]
  const torch::Tensor channel_ids = at::arange(channels, long_options).view({1, channels, 1, 1}).expand_as(positions);
  const torch::Tensor channel_of =
      at::full({row_elements}, -1, long_options).scatter_(0, positions.reshape(-1), channel_ids.reshape(-1));

  const torch::Tensor classes = pass.target.class_indices(pass.output);  // undefined for a score function
  auto scores_of = [&](const torch::Tensor& model_output, const torch::Tensor& examples) {
    return classes.defined() ? model_output.gather(1, classes.index_select(0, examples).unsqueeze(1)).squeeze(1)
                             : pass.target.select_rows(examples).scores(model_output);
  };
  const torch::Tensor original = scores_of(pass.output, at::arange(rows, long_options));  // y_c, [rows]
  TORCH_CHECK_VALUE((original != 0).all().item<bool>(), "the target score is exactly 0 for some example; ",
                    "Ablation-CAM's relative drop (y - y_k) / y is undefined there");

  const int64_t ablated_rows = rows * channels;  // row r: example r / K with channel r % K set to 0
  torch::Tensor ablated = at::empty({ablated_rows}, pass.output.options());
  const int64_t input_row_bytes =
      pass.input.numel() / std::max<int64_t>(rows, 1) * static_cast<int64_t>(pass.input.element_size());
  const int64_t per_call = copies_per_call(options_.rows_per_call(), ablated_rows, /*batch=*/1, input_row_bytes,
                                           options_.memory_budget());
  std::vector<int64_t> chunk_shape = output.sizes().vec();
  // The call replaced, counted from the first: replacing "the last call" would make every ablated
  // pass count the calls in a pass of its own first (twice the forward work).
  LayerRequest request(layer.name);
  if (!request.call().is_all() && request.call().index() < 0)
    request.call(LayerCall::index(layer.calls + request.call().index()));
  for (int64_t start = 0; start < ablated_rows; start += per_call) {
    const int64_t end = std::min(ablated_rows, start + per_call);
    const torch::Tensor row_ids = at::arange(start, end, long_options);
    const torch::Tensor examples = row_ids.div(channels, /*rounding_mode=*/"floor");
    const torch::Tensor zeroed = channel_of.unsqueeze(0) == row_ids.remainder(channels).unsqueeze(1);
    chunk_shape[0] = end - start;
    const torch::Tensor replacement =
        output.index_select(0, examples).reshape({end - start, row_elements}).masked_fill(zeroed, 0).view(chunk_shape);
    const LayersForward forward = forward_with_layers(model_, pass.input.index_select(0, examples),
                                                      {LayerRequest(request).replace_with(replacement)});
    ablated.slice(0, start, end).copy_(scores_of(forward.output, examples));
  }
  const torch::Tensor drop = original.unsqueeze(1) - ablated.view({rows, channels});
  return (drop / original.unsqueeze(1)).view({rows, channels, 1, 1});
}

}  // namespace nn_interpretability
