// The perturbation engine: chunked no-grad forwards of perturbed rows, scored for a resolved target.
#include "nn_interpretability/perturbation/perturbation_engine.h"

#include <algorithm>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "nn_interpretability/model/model_backend.h"

namespace nn_interpretability {
namespace {

// The first row whose score is not finite, or -1 (one reduction and one sync when all are finite).
// A class target's scores are entries of the output (or of its softmax), which Model::forward has
// already checked finite: nothing to do for them.
int64_t first_non_finite(const torch::Tensor& scores, const Target& target) {
  if (target.is_class()) return -1;
  const torch::Tensor finite = at::isfinite(scores);
  if (finite.all().item<bool>()) return -1;
  return at::logical_not(finite).nonzero().select(1, 0)[0].item<int64_t>();
}

}  // namespace

PerturbationEngine::PerturbationEngine(Model model, PerturbationEngineOptions options)
    : model_(std::move(model)), options_(std::move(options)) {}

void PerturbationEngine::check_options(const char* owner, const PerturbationEngineOptions& options) {
  check_rows_per_call(owner, options.rows_per_call(), options.memory_budget());
}

torch::Tensor PerturbationEngine::scored(const torch::Tensor& output, const Target& target) const {
  return options_.class_probabilities() && target.is_class() && output.dim() == 2 ? output.softmax(1) : output;
}

CleanPass PerturbationEngine::finish_clean(torch::Tensor output, const Target& target, int64_t batch) const {
  CleanPass clean;
  clean.output = std::move(output);
  clean.target = target.resolved(clean.output);
  clean.scores = clean.target.scores(scored(clean.output, clean.target)).detach();
  TORCH_CHECK_VALUE(clean.scores.dim() == 1 && clean.scores.size(0) == batch, "the target gives scores of shape ",
                    clean.scores.sizes(), " for a batch of ", batch, "; one score per example is needed");
  const int64_t bad = first_non_finite(clean.scores, clean.target);
  TORCH_CHECK_VALUE(bad < 0, "the model's score for example ", bad, " of the input is NaN or infinite");
  return clean;
}

CleanPass PerturbationEngine::clean_pass(const torch::Tensor& input, const Target& target) const {
  torch::NoGradGuard no_grad;
  return finish_clean(model_.forward(input), target, input.size(0));
}

int64_t PerturbationEngine::rows_per_call(int64_t total, int64_t row_bytes) const {
  return copies_per_call(options_.rows_per_call(), total, /*batch=*/1, row_bytes, options_.memory_budget());
}

void PerturbationEngine::check_chunk(const PerturbedRows& rows, int64_t count) {
  TORCH_CHECK_VALUE(rows.inputs.defined() && rows.inputs.dim() >= 1 && rows.inputs.size(0) == count,
                    "internal: a perturbation chunk of ", count, " rows has inputs of shape ",
                    rows.inputs.defined() ? rows.inputs.sizes() : at::IntArrayRef{});
  TORCH_CHECK_VALUE(rows.examples.defined() && rows.examples.numel() == count, "internal: a perturbation chunk of ",
                    count, " rows names ", rows.examples.defined() ? rows.examples.numel() : 0, " examples");
}

void PerturbationEngine::score_chunk(const Target& resolved, int64_t first, int64_t total, const PerturbedRows& rows,
                                     torch::Tensor& scores) const {
  const int64_t count = rows.inputs.size(0);
  if (model_.backend().has_per_example_inputs()) {
    const bool one_example = (rows.examples == rows.examples[0]).all().item<bool>();
    TORCH_CHECK_VALUE(one_example, "the model holds per-example fixed inputs (TorchScriptOptions::fixed_inputs), "
                      "which perturbed rows of different examples cannot pair with: explain one example per call");
  }
  const torch::Tensor output =
      rows.layers.empty() ? model_.forward(rows.inputs) : forward_with_layers(model_, rows.inputs, rows.layers).output;
  const torch::Tensor chunk = resolved.select_rows(rows.examples).scores(scored(output, resolved)).detach();
  const int64_t bad = first_non_finite(chunk, resolved);
  TORCH_CHECK_VALUE(bad < 0, "the model's score is NaN or infinite on perturbed row ", first + bad, " (a copy of example ",
                    rows.examples[bad].item<int64_t>(), "): the perturbation or its baseline drives the model out of range");
  if (!scores.defined()) scores = at::empty({total}, chunk.options());
  scores.slice(0, first, first + count).copy_(chunk);
  if (options_.progress()) options_.progress()(first + count, total);
}

void PerturbationEngine::score_rows(const Target& resolved, int64_t start, int64_t total, int64_t per_call,
                                    const PerturbationGenerator& generate, torch::Tensor& scores) const {
  for (int64_t first = start; first < total; first += per_call) {
    const int64_t count = std::min(per_call, total - first);
    const PerturbedRows rows = generate(first, count);
    check_chunk(rows, count);
    score_chunk(resolved, first, total, rows, scores);
  }
}

torch::Tensor PerturbationEngine::scores(const Target& resolved, int64_t total, int64_t row_bytes,
                                         const PerturbationGenerator& generate) const {
  TORCH_CHECK_VALUE(total > 0, "internal: a perturbation work list needs at least one row, got ", total);
  torch::NoGradGuard no_grad;
  torch::Tensor scores;
  score_rows(resolved, 0, total, rows_per_call(total, row_bytes), generate, scores);
  return scores;
}

PerturbationRun PerturbationEngine::run(const torch::Tensor& input, const Target& target, int64_t total,
                                        const PerturbationGenerator& generate) const {
  TORCH_CHECK_VALUE(total > 0, "internal: a perturbation work list needs at least one row, got ", total);
  torch::NoGradGuard no_grad;
  const int64_t batch = input.size(0);
  const int64_t row_bytes = input.numel() / std::max<int64_t>(batch, 1) * static_cast<int64_t>(input.element_size());
  const int64_t per_call = rows_per_call(total, row_bytes);
  PerturbationRun run;
  if (model_.backend().is_training() || model_.backend().has_per_example_inputs()) {
    run.clean = clean_pass(input, target);
    score_rows(run.clean.target, 0, total, per_call, generate, run.scores);
    return run;
  }
  // The clean batch rides ahead of the first chunk.
  const int64_t count = std::min(per_call, total);
  const PerturbedRows rows = generate(0, count);
  check_chunk(rows, count);
  if (!rows.layers.empty()) {  // a layer replaced for the perturbed rows: the clean batch cannot join them
    run.clean = clean_pass(input, target);
    score_chunk(run.clean.target, 0, total, rows, run.scores);
    score_rows(run.clean.target, count, total, per_call, generate, run.scores);
    return run;
  }
  torch::Tensor output;
  try {
    output = model_.forward(at::cat({input, rows.inputs.to(input.options())}));
  } catch (const c10::Error&) {
    // Report what fails on the caller's batch itself (its shape, its rows) or on the perturbed rows
    // alone: run them apart, and let the same failure speak for them.
    run.clean = clean_pass(input, target);
    score_rows(run.clean.target, 0, total, per_call, generate, run.scores);
    return run;
  }
  run.clean = finish_clean(output.slice(0, 0, batch), target, batch);
  const torch::Tensor chunk =
      run.clean.target.select_rows(rows.examples).scores(scored(output.slice(0, batch), run.clean.target)).detach();
  const int64_t bad = first_non_finite(chunk, run.clean.target);
  TORCH_CHECK_VALUE(bad < 0, "the model's score is NaN or infinite on perturbed row ", bad, " (a copy of example ",
                    rows.examples[bad].item<int64_t>(), "): the perturbation or its baseline drives the model out of range");
  run.scores = at::empty({total}, chunk.options());
  run.scores.slice(0, 0, count).copy_(chunk);
  if (options_.progress()) options_.progress()(count, total);
  score_rows(run.clean.target, count, total, per_call, generate, run.scores);
  return run;
}

}  // namespace nn_interpretability
