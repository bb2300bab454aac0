#include "nn_interpretability/cam/score_cam.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "nn_interpretability/detail/cam_steps.h"
#include "nn_interpretability/perturbation/perturbation_engine.h"

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
  // Row r of the work list is (example r / K, channel r % K), scored on the perturbation engine for
  // the target resolved on the clean input: a class target's softmax probability (the paper's
  // score), any other target's own score.
  const torch::Tensor flat = activation.reshape({batch * channels, 1, activation.size(2), activation.size(3)});
  const int64_t row_bytes = input.numel() / input.size(0) * static_cast<int64_t>(input.element_size());
  const PerturbationEngine engine(model_, PerturbationEngineOptions()
                                              .rows_per_call(options_.rows_per_call())
                                              .memory_budget(options_.memory_budget())
                                              .class_probabilities(true));
  const auto long_options = input.options().dtype(at::kLong);
  const torch::Tensor weights =
      engine.scores(pass.target, batch * channels, row_bytes, [&](int64_t first, int64_t count) {
        // A constant channel gives an all-zero mask.
        const torch::Tensor masks =
            detail::min_max_scaled(upsample_map(flat.slice(0, first, first + count), {height, width}, Upsample::kBilinear));
        const torch::Tensor examples = at::arange(first, first + count, long_options).div(channels, /*rounding_mode=*/"floor");
        return PerturbedRows{input.index_select(0, examples) * masks, examples};
      }).to(activation.scalar_type());
  return weights.view({batch, channels, 1, 1});
}

}  // namespace nn_interpretability
