// DeepLIFT: the batch and its baselines in one recorded forward pass of 2N rows, then one backward
// pass of our own: linear layers pass the multipliers on with their gradient, nonlinearities with
// Δy/Δx between each row and its baseline row (docs/methods/deep_lift.md).
#include "nn_interpretability/relevance/deep_lift.h"

#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "nn_interpretability/detail/backward_graph.h"
#include "nn_interpretability/detail/operator_tape.h"
#include "nn_interpretability/detail/relevance_layers.h"
#include "nn_interpretability/detail/result_checks.h"

namespace nn_interpretability {
namespace detail {
namespace {

using Node = torch::autograd::Node;

// [a - b] for the two halves [a; b] of a 2N-row tensor, repeated for both halves (as Captum does).
torch::Tensor half_difference(const torch::Tensor& value) {
  const int64_t half = value.size(0) / 2;
  const torch::Tensor difference = value.narrow(0, 0, half) - value.narrow(0, half, half);
  return at::cat({difference, difference}, 0);
}

bool paired_rows(const torch::Tensor& value, int64_t rows) { return value.defined() && value.dim() >= 1 && value.size(0) == rows; }

// The rescale rule at an elementwise nonlinearity: m_x = m_y · Δy/Δx, the gradient where |Δx| < eps.
std::vector<torch::Tensor> rescale(Node& node, const TapedOperator* op, std::vector<torch::Tensor>&& received,
                                   int64_t rows, double epsilon) {
  const torch::Tensor x = op != nullptr ? op->input(0) : torch::Tensor();
  const torch::Tensor y = op != nullptr ? op->output(0) : torch::Tensor();
  if (!paired_rows(x, rows) || !paired_rows(y, rows) || x.sizes() != y.sizes())
    return BackwardGraph::gradient(node, std::move(received));
  const torch::Tensor multiplier = received[0];
  std::vector<torch::Tensor> sent = BackwardGraph::gradient(node, std::move(received));
  const torch::Tensor dx = half_difference(x), dy = half_difference(y);
  sent[0] = at::where(dx.abs() < epsilon, sent[0], multiplier * dy / dx);
  return sent;
}

// The max-pooling rule (Shrikumar et al.; Captum's `maxpool`): the output differences against the
// larger of the two maxima, sent back to each half's maxima, summed over the halves, over Δx. The
// sending back is the pooling's own backward, which adds where windows overlap (Captum's
// max_unpool2d overwrites there, which breaks summation to delta for overlapping windows).
std::vector<torch::Tensor> max_pool(Node& node, const TapedOperator* op, std::vector<torch::Tensor>&& received,
                                    int64_t rows, double epsilon) {
  const torch::Tensor x = op != nullptr ? op->input(0) : torch::Tensor();
  const torch::Tensor y = op != nullptr ? op->output(0) : torch::Tensor();
  if (!paired_rows(x, rows) || !paired_rows(y, rows) || !paired_rows(received[0], rows))
    return BackwardGraph::gradient(node, std::move(received));
  const int64_t half = rows / 2;
  const torch::Tensor multiplier = received[0];
  const torch::Tensor dx = half_difference(x);
  const torch::Tensor unchanged = dx.abs() < epsilon;
  // The ordinary gradient only where the input did not change (often nowhere): a pooling backward saved.
  const bool any_unchanged = unchanged.any().item<bool>();
  const torch::Tensor ordinary =
      any_unchanged ? BackwardGraph::gradient(node, std::vector<torch::Tensor>(received))[0] : torch::Tensor();
  const torch::Tensor y_input = y.narrow(0, 0, half), y_baseline = y.narrow(0, half, half);
  const torch::Tensor larger = at::max(y_input, y_baseline);
  const torch::Tensor output_delta = at::cat({larger - y_baseline, y_input - larger}, 0);
  std::vector<torch::Tensor> weighted(received.size());
  weighted[0] = multiplier * output_delta;
  std::vector<torch::Tensor> sent = BackwardGraph::gradient(node, std::move(weighted));
  const torch::Tensor summed = sent[0].narrow(0, 0, half) + sent[0].narrow(0, half, half);
  const torch::Tensor ratio = at::cat({summed, summed}, 0) / dx;
  sent[0] = any_unchanged ? at::where(unchanged, ordinary, ratio) : ratio;
  return sent;
}

// What RevealCancel sends an affine layer: the upstream multipliers times m⁺ and times m⁻.
struct SplitMultipliers {
  torch::Tensor positive, negative;
};

// RevealCancel (Shrikumar et al. 2017, section 3.5.3) at a nonlinearity y = f(x) whose input is an
// affine layer's output x = W a + b and nothing else's: Δx is split into Δx⁺ and Δx⁻, the sums of the
// positive and of the negative terms W_ij Δa_j, and each half gets its own multiplier,
//   Δy⁺ = ½ (f(x₀ + Δx⁺) − f(x₀)) + ½ (f(x₀ + Δx) − f(x₀ + Δx⁻)),   m⁺ = Δy⁺ / Δx⁺,
//   Δy⁻ = ½ (f(x₀ + Δx⁻) − f(x₀)) + ½ (f(x₀ + Δx) − f(x₀ + Δx⁺)),   m⁻ = Δy⁻ / Δx⁻,
// so Δy⁺ + Δy⁻ = Δy and summation to delta still holds. f is evaluated by running the recorded
// operator again. Returns false where the rule does not apply (the caller then rescales).
bool reveal_cancel(Node& node, const TapedOperator* op, const RelevanceLayers& layers, const BackwardGraph& graph,
                   const torch::Tensor& received, int64_t rows, double epsilon, const Node** affine_node,
                   SplitMultipliers* split) {
  if (op == nullptr || node.num_outputs() < 1 || !paired_rows(received, rows)) return false;
  const Node* producer = node.next_edge(0).function.get();
  if (producer == nullptr || layers.kind(producer) != NodeKind::kAffine) return false;
  const std::vector<Node*>& consumers = graph.senders(producer);
  if (consumers.size() != 1 || consumers[0] != &node) return false;
  const AffineLayer& layer = layers.affine(producer);
  const torch::Tensor x = op->input(0), y = op->output(0);
  if (!paired_rows(x, rows) || !paired_rows(y, rows) || x.sizes() != y.sizes() || !paired_rows(layer.input, rows))
    return false;
  const int64_t half = rows / 2;
  const torch::Tensor none;
  const torch::Tensor da = half_difference(layer.input);
  const torch::Tensor w_positive = layer.weight.clamp_min(0), w_negative = layer.weight.clamp_max(0);
  const torch::Tensor da_positive = da.clamp_min(0), da_negative = da.clamp_max(0);
  const torch::Tensor dx_positive =
      layer.forward(da_positive, w_positive, none) + layer.forward(da_negative, w_negative, none);
  const torch::Tensor dx_negative =
      layer.forward(da_negative, w_positive, none) + layer.forward(da_positive, w_negative, none);
  if (dx_positive.sizes() != x.sizes()) return false;
  auto both_halves = [](const torch::Tensor& value) { return at::cat({value, value}, 0); };
  const torch::Tensor x0 = both_halves(x.narrow(0, half, half));
  const torch::Tensor y0 = both_halves(y.narrow(0, half, half)), y1 = both_halves(y.narrow(0, 0, half));
  const torch::Tensor f_positive = op->call_with_first_input(x0 + dx_positive);
  const torch::Tensor f_negative = op->call_with_first_input(x0 + dx_negative);
  const torch::Tensor dy_positive = 0.5 * (f_positive - y0) + 0.5 * (y1 - f_negative);
  const torch::Tensor dy_negative = 0.5 * (f_negative - y0) + 0.5 * (y1 - f_positive);
  // Where a half is ~0 it carries no contribution; its multiplier is the rescale one.
  const torch::Tensor dx = half_difference(x), dy = half_difference(y);
  std::vector<torch::Tensor> ones(1, at::ones_like(received));
  const torch::Tensor derivative = BackwardGraph::gradient(node, std::move(ones))[0];
  const torch::Tensor rescaled = at::where(dx.abs() < epsilon, derivative, dy / dx);
  split->positive = received * at::where(dx_positive.abs() < epsilon, rescaled, dy_positive / dx_positive);
  split->negative = received * at::where(dx_negative.abs() < epsilon, rescaled, dy_negative / dx_negative);
  *affine_node = producer;
  return true;
}

// The affine layer's multipliers under RevealCancel: a term W_ij Δa_j that was positive takes m⁺,
// a negative one m⁻.
torch::Tensor reveal_cancel_affine(const AffineLayer& layer, const SplitMultipliers& split, const torch::Tensor& received) {
  const torch::Tensor w_positive = layer.weight.clamp_min(0), w_negative = layer.weight.clamp_max(0);
  const torch::Tensor da = half_difference(layer.input);
  const torch::Tensor rising =
      layer.backward(split.positive, w_positive) + layer.backward(split.negative, w_negative);
  const torch::Tensor falling =
      layer.backward(split.negative, w_positive) + layer.backward(split.positive, w_negative);
  return at::where(da > 0, rising, at::where(da < 0, falling, layer.backward(received, layer.weight)));
}

torch::Tensor baseline_batch(const Baseline& baseline, const torch::Tensor& input) {
  TORCH_CHECK_VALUE(!baseline.is_distribution(), "a baseline distribution (", baseline.describe(),
                    ") is for DeepLiftShap; DeepLift takes one baseline per example");
  return baseline.resolve(input).contiguous();
}

}  // namespace

DeepLiftResult deep_lift(const Model& model, const torch::Tensor& input, const torch::Tensor& baselines,
                         const Target& target, DeepLiftRule rule, double epsilon) {
  TORCH_CHECK_VALUE(baselines.sizes() == input.sizes(), "the baselines have shape ", baselines.sizes(),
                    "; expected the input's ", input.sizes());
  TORCH_CHECK_VALUE(baselines.isfinite().all().item<bool>(), "the baseline contains NaN or Inf");
  const int64_t batch = input.size(0), rows = 2 * batch;
  torch::AutoGradMode grad_enabled(true);
  torch::Tensor leaf = at::cat({input.detach(), baselines.detach()}, 0).requires_grad_(true);
  OperatorTape tape;
  torch::Tensor output;
  try {
    OperatorRecording recording(tape);
    output = model.forward(leaf);
  } catch (const c10::ValueError& error) {
    // The message names the stacked batch; say which rows are the user's.
    std::string message = error.what_without_backtrace();
    const std::string stacked = "an input of shape " + c10::str(leaf.sizes());
    const size_t at = message.find(stacked);
    if (at != std::string::npos)
      message.replace(at, stacked.size(),
                      "an input of shape " + c10::str(input.sizes()) + " (stacked with its baselines: " +
                          c10::str(leaf.sizes()) + ")");
    TORCH_CHECK_VALUE(false, message);
  }
  TORCH_CHECK_VALUE(output.requires_grad(), "the model output does not depend on the input through autograd (does ",
                    "the forward detach it or run under NoGradGuard?)");
  const torch::Tensor output_input = output.narrow(0, 0, batch);
  const Target resolved = target.resolved(output_input.detach());
  const torch::Tensor scores = resolved.scores(output_input);
  TORCH_CHECK_VALUE(scores.requires_grad(), "the target's scores do not depend on the input");
  // Both halves start from the target's gradient (as Captum's backward of the stacked batch does):
  // the max-pooling rule weighs the baseline rows' multipliers too.
  const torch::Tensor both = scores.sum() + resolved.scores(output.narrow(0, batch, batch)).sum();
  const torch::Tensor score_gradient =
      torch::autograd::grad({both}, {output}, {at::ones_like(both)}, /*retain_graph=*/true)[0];

  const BackwardGraph graph(output, leaf);
  const RelevanceLayers layers(graph, tape, /*merge_batch_norm=*/false);
  std::unordered_map<const Node*, SplitMultipliers> split_at;  // RevealCancel: an affine layer's m⁺, m⁻
  auto step = [&](Node& node, std::vector<torch::Tensor>&& received) -> std::vector<torch::Tensor> {
    switch (layers.kind(&node)) {
      case NodeKind::kAffine: {
        // The gradient, for the input only (autograd's node would also compute the weight's).
        const AffineLayer& layer = layers.affine(&node);
        std::vector<torch::Tensor> sent(node.num_outputs());
        auto split = split_at.find(&node);
        sent[layer.input_slot] = split == split_at.end() ? layer.backward(received[0], layer.weight)
                                                         : reveal_cancel_affine(layer, split->second, received[0]);
        return sent;
      }
      case NodeKind::kActivation:
        if (rule == DeepLiftRule::kRevealCancel) {
          const Node* affine_node = nullptr;
          SplitMultipliers split;
          if (reveal_cancel(node, layers.op(&node), layers, graph, received[0], rows, epsilon, &affine_node, &split))
            split_at.emplace(affine_node, std::move(split));
        }
        return rescale(node, layers.op(&node), std::move(received), rows, epsilon);
      case NodeKind::kMaxPool:
        return max_pool(node, layers.op(&node), std::move(received), rows, epsilon);
      default:
        return BackwardGraph::gradient(node, std::move(received));
    }
  };
  const torch::Tensor multipliers = graph.run(score_gradient, step);
  TORCH_CHECK_VALUE(multipliers.defined(), "no multiplier reached the input");
  DeepLiftResult result;
  result.attributions = ((input - baselines) * multipliers.narrow(0, 0, batch)).detach();
  check_finite_result(result.attributions, "the attributions");
  const torch::Tensor baseline_scores = resolved.scores(output.narrow(0, batch, batch).detach());
  result.delta = result.attributions.flatten(1).sum(1) - (scores.detach() - baseline_scores);
  return result;
}

}  // namespace detail

DeepLift::DeepLift(Model model, DeepLiftOptions options)
    : ModelAttribution(std::move(model)), options_(std::move(options)) {
  TORCH_CHECK_VALUE(std::isfinite(options_.epsilon()) && options_.epsilon() >= 0,
                    "DeepLift: epsilon must be finite and >= 0, got ", options_.epsilon());
}

torch::Tensor DeepLift::compute(const torch::Tensor& input, const Target& target) {
  return detail::deep_lift(model_, input, detail::baseline_batch(options_.baseline(), input), target, options_.rule(),
                           options_.epsilon())
      .attributions;
}

DeepLiftResult DeepLift::attribute_with_delta(const torch::Tensor& input, const Target& target) {
  return detail::naming_errors(class_name(), [&] {
    if (input.defined()) check_input_shape(input);
    model_.check_input(input, class_name().c_str());
    return detail::deep_lift(model_, input, detail::baseline_batch(options_.baseline(), input), target,
                             options_.rule(), options_.epsilon());
  });
}

}  // namespace nn_interpretability
