// Ablation-CAM: each channel's weight is the relative drop of the score when the channel is zeroed;
// the ablated rows run on the perturbation engine, the layer's output replaced per chunk.
#include "nn_interpretability/cam/ablation_cam.h"

#include <algorithm>
#include <memory>
#include <vector>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "nn_interpretability/model/layer.h"
#include "nn_interpretability/perturbation/perturbation_engine.h"

namespace nn_interpretability {
namespace {

/// Which channel of the rearranged activation each element of one row of the layer's own output is
/// (-1: dropped by the reshape, e.g. a class token), found by rearranging the element indices.
torch::Tensor channel_of_elements(const LayerReshape& reshape, const torch::Tensor& output, const torch::Tensor& rows,
                                  const std::string& layer, int64_t* channels) {
  const int64_t row_elements = output.numel() / std::max<int64_t>(output.size(0), 1);
  const auto long_options = output.options().dtype(at::kLong);
  std::vector<int64_t> row_shape = output.sizes().vec();
  row_shape[0] = 1;
  const torch::Tensor positions =
      reshape.apply(at::arange(row_elements, long_options).view(row_shape), rows.slice(0, 0, 1), layer);  // [1, K, h, w]
  *channels = positions.size(1);
  const torch::Tensor channel_ids = at::arange(*channels, long_options).view({1, *channels, 1, 1}).expand_as(positions);
  return at::full({row_elements}, -1, long_options).scatter_(0, positions.reshape(-1), channel_ids.reshape(-1));
}

}  // namespace

AblationCam::AblationCam(Model model, AblationCamOptions options)
    : CamMethod(std::move(model), options.map_options(), "AblationCam", /*uses_gradients=*/false),
      options_(std::move(options)),
      learned_(std::make_shared<LearnedState>()) {
  check_rows_per_call("AblationCam", options_.rows_per_call(), options_.memory_budget());
}

int64_t AblationCam::rows_per_pass(const torch::Tensor& rows, int64_t channels) const {
  const int64_t count = rows.size(0);
  const int64_t row_bytes = rows.numel() / std::max<int64_t>(count, 1) * static_cast<int64_t>(rows.element_size());
  return copies_per_call(options_.rows_per_call(), count * channels, /*batch=*/1, row_bytes, options_.memory_budget());
}

CamRideAlong AblationCam::ride_along(const torch::Tensor& rows) {
  // The layer's channel count and calls are known from an earlier call on rows of this kind; the first
  // call runs its capture pass alone. In train mode a bigger batch would change what the layers compute.
  Learned learned;
  {
    std::lock_guard<std::mutex> lock(learned_->mutex);
    learned = learned_->value;
  }
  const LayerCall call = LayerRequest(map_options().layers.front()).call();
  if (learned.channels <= 0 || call.is_all() || learned.row_shape != rows.sizes().slice(1).vec() ||
      learned.dtype != rows.scalar_type() || learned.device != rows.device() || model_.backend().is_training() ||
      model_.backend().has_per_example_inputs())
    return {};
  const int64_t count = rows.size(0);
  CamRideAlong ride;
  // The rows themselves do not count against rows_per_call: it bounds the ablated rows per pass.
  ride.copies = std::min(learned.channels, rows_per_pass(rows, learned.channels) / count);
  if (ride.copies <= 0) return {};
  ride.expected_calls = learned.calls;
  ride.call = call.index() >= 0 ? call.index() : learned.calls + call.index();
  const LayerReshape reshape = map_options().reshape;
  const std::string layer = map_options().layers.front();
  const int64_t copies = ride.copies, expected_channels = learned.channels;
  const torch::Tensor clean_rows = rows;
  // Copy j zeroes channel j in every row; the first block stays as it is.
  ride.change = [=](const torch::Tensor& output) {
    int64_t channels = 0;
    const torch::Tensor channel_of = channel_of_elements(reshape, output, clean_rows, layer, &channels);
    if (channels != expected_channels || output.size(0) != (1 + copies) * count) return torch::Tensor();
    // -2 for the rows themselves: no element is that channel (-1 marks the reshape's dropped ones).
    const torch::Tensor block =
        at::cat({at::full({1}, -2, channel_of.options()), at::arange(copies, channel_of.options())}).unsqueeze(1);
    const torch::Tensor zeroed = (channel_of.unsqueeze(0) == block).unsqueeze(1);  // [1 + copies, 1, elements]
    return output.reshape({1 + copies, count, channel_of.size(0)}).masked_fill(zeroed, 0).view(output.sizes());
  };
  return ride;
}

torch::Tensor AblationCam::layer_weights(const CamLayer& layer, const CamPass& pass) {
  const torch::Tensor& output = layer.output;  // the layer's own layout, which the replacement must have
  const int64_t rows = output.size(0);
  const int64_t channels = layer.activation.size(1);
  // Its passes mix examples in one batch, which a forward tiling per-example inputs cannot pair.
  TORCH_CHECK_VALUE(rows == 1 || !model_.backend().has_per_example_inputs(), "the model holds per-example fixed ",
                    "inputs (TorchScriptOptions::fixed_inputs), which this method's mixed batches cannot pair with ",
                    "their examples: explain one example per call");
  const auto long_options = pass.output.options().dtype(at::kLong);
  int64_t reshaped_channels = 0;
  const torch::Tensor channel_of = channel_of_elements(map_options().reshape, output, pass.input, layer.name,
                                                       &reshaped_channels);
  const int64_t row_elements = channel_of.size(0);

  const torch::Tensor classes = pass.target.class_indices(pass.output);  // undefined for a score function
  auto scores_of = [&](const torch::Tensor& model_output, const torch::Tensor& examples) {
    return classes.defined() ? model_output.gather(1, classes.index_select(0, examples).unsqueeze(1)).squeeze(1)
                             : pass.target.select_rows(examples).scores(model_output);
  };
  const torch::Tensor all_rows = at::arange(rows, long_options);
  const torch::Tensor original = scores_of(pass.output, all_rows);  // y_c, [rows]
  TORCH_CHECK_VALUE((original != 0).all().item<bool>(), "the target score is exactly 0 for some example; ",
                    "Ablation-CAM's relative drop (y - y_k) / y is undefined there");

  // The channels whose ablated scores rode along in the capture pass (copy j: channel j, every row).
  torch::Tensor ablated = at::empty({rows, channels}, pass.output.options());
  int64_t done = 0;
  if (pass.ride_along_output.defined()) {
    done = pass.ride_along_output.size(0) / rows;
    ablated.slice(1, 0, done).copy_(scores_of(pass.ride_along_output, all_rows.repeat({done})).view({done, rows}).t());
  }

  // The rest: row i of these passes is example i / left with channel done + i % left set to 0.
  const int64_t left = channels - done;
  const int64_t ablated_rows = rows * left;
  const int64_t per_call = rows_per_pass(pass.input, left);
  std::vector<int64_t> chunk_shape = output.sizes().vec();
  // The call replaced, counted from the first: replacing "the last call" would make every ablated
  // pass count the calls in a pass of its own first (twice the forward work).
  LayerRequest request(layer.name);
  if (!request.call().is_all() && request.call().index() < 0)
    request.call(LayerCall::index(layer.calls + request.call().index()));
  if (ablated_rows > 0) {
    const Target resolved = pass.target.resolved(pass.output);
    const PerturbationEngine engine(model_, PerturbationEngineOptions().rows_per_call(per_call));
    const int64_t row_bytes = pass.input.numel() / rows * static_cast<int64_t>(pass.input.element_size());
    const torch::Tensor scores = engine.scores(resolved, ablated_rows, row_bytes, [&](int64_t first, int64_t count) {
      const torch::Tensor row_ids = at::arange(first, first + count, long_options);
      const torch::Tensor examples = row_ids.div(left, /*rounding_mode=*/"floor");
      const torch::Tensor zeroed = channel_of.unsqueeze(0) == (row_ids.remainder(left) + done).unsqueeze(1);
      chunk_shape[0] = count;
      const torch::Tensor replacement =
          output.index_select(0, examples).reshape({count, row_elements}).masked_fill(zeroed, 0).view(chunk_shape);
      return PerturbedRows{pass.input.index_select(0, examples), examples, {LayerRequest(request).replace_with(replacement)}};
    });
    ablated.slice(1, done).copy_(scores.view({rows, left}));
  }

  {  // For the next call's capture pass.
    std::lock_guard<std::mutex> lock(learned_->mutex);
    learned_->value = {pass.input.sizes().slice(1).vec(), pass.input.scalar_type(), pass.input.device(), channels,
                       layer.calls};
  }
  const torch::Tensor drop = original.unsqueeze(1) - ablated;
  return (drop / original.unsqueeze(1)).view({rows, channels, 1, 1});
}

}  // namespace nn_interpretability
