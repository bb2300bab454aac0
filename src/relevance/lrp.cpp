// LRP: one recorded forward pass, then one backward pass of our own in which every layer's
// gradient is replaced by the composite's rule (docs/model_access.md, "Modified backward passes").
#include "nn_interpretability/relevance/lrp.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "nn_interpretability/detail/backward_graph.h"
#include "nn_interpretability/detail/input_gradient.h"
#include "nn_interpretability/detail/operator_tape.h"
#include "nn_interpretability/detail/relevance_layers.h"
#include "nn_interpretability/detail/result_checks.h"
#include "nn_interpretability/detail/weight_cache.h"

namespace nn_interpretability {
namespace {

using detail::NodeKind;
using Node = torch::autograd::Node;

// Nodes that only move values (views, copies, concatenation, indexing): their gradient is the
// relevance routed unchanged, so they are not reported as "gradient instead of a rule".
bool is_routing(const std::string& name) {
  static const char* const kPrefixes[] = {
      "View",     "Reshape",   "UnsafeView", "Permute",  "Transpose", "TBackward", "Expand",      "Squeeze",
      "Unsqueeze", "Slice",    "Select",     "Cat",      "Stack",     "Split",     "Unbind",      "Clone",
      "Index",    "Gather",    "ConstantPad", "AsStrided", "Alias",   "ToCopy",    "CopySlices",  "Copy",
      "Repeat",   "Roll",      "Flip",       "PixelShuffle", "PixelUnshuffle", "Narrow", "Contiguous",
      "ReflectionPad", "ReplicationPad", "UpsampleNearest", "Max", "AdaptiveMax", "Unfold", "Flatten",
      "AddBackward", "SubBackward", "Lift", "Detach"};
  std::string bare = name;
  const size_t colon = bare.rfind("::");
  if (colon != std::string::npos) bare = bare.substr(colon + 2);
  for (const char* prefix : kPrefixes)
    if (bare.compare(0, std::strlen(prefix), prefix) == 0) return true;
  return false;
}

std::vector<torch::Tensor> only(Node& node, size_t slot, torch::Tensor value) {
  std::vector<torch::Tensor> sent(node.num_outputs());
  sent[slot] = std::move(value);
  return sent;
}

torch::Tensor sum_to_shape(const torch::Tensor& value, at::IntArrayRef shape) {
  return value.sizes() == shape ? value : at::sum_to(value, shape);
}

}  // namespace

Lrp::Lrp(Model model, LrpOptions options)
    : ModelAttribution(std::move(model)),
      options_(std::move(options)),
      weights_(std::make_shared<detail::WeightCache>()) {}

torch::Tensor Lrp::compute(const torch::Tensor& input, const Target& target) {
  return propagate(input, target).attributions;
}

LrpResult Lrp::attribute_with_delta(const torch::Tensor& input, const Target& target) {
  return detail::naming_errors(class_name(), [&] {
    if (input.defined()) check_input_shape(input);
    model_.check_input(input, class_name().c_str());
    return propagate(input, target);
  });
}

LrpResult Lrp::propagate(const torch::Tensor& input, const Target& target) {
  const Composite& composite = options_.composite();
  torch::AutoGradMode grad_enabled(true);
  torch::Tensor leaf = input.detach().requires_grad_(true);
  detail::OperatorTape tape;
  torch::Tensor output;
  {
    detail::OperatorRecording recording(tape);
    output = model_.forward(leaf);
  }
  TORCH_CHECK_VALUE(output.requires_grad(), "the model output does not depend on the input through autograd (does ",
                    "the forward detach it or run under NoGradGuard?)");
  // The relevance at the output: each output element's share of the score, output ⊙ ∂score/∂output
  // (the logit itself for a class target).
  const Target resolved = target.resolved(output.detach());
  torch::Tensor scores = resolved.scores(output);
  TORCH_CHECK_VALUE(scores.requires_grad(), "the target's scores do not depend on the input");
  const torch::Tensor score_gradient =
      torch::autograd::grad({scores}, {output}, {at::ones_like(scores)}, /*retain_graph=*/true)[0];
  // Gradient composites (guided backprop, deconvnet) start from the gradient itself.
  const torch::Tensor output_relevance =
      composite.starts_from_gradient() ? score_gradient : output.detach() * score_gradient;

  const detail::BackwardGraph graph(output, leaf);
  const detail::RelevanceLayers layers(graph, tape, composite.merges_batch_norm(), weights_.get());
  const auto owners = detail::parameter_owners(model_);
  auto owner = [&](const void* data) {
    auto found = owners.find(data);
    return found == owners.end() ? std::string() : found->second;
  };

  LrpResult result;
  std::unordered_set<std::string> unruled;
  std::unordered_set<std::string> named_layers;
  auto record = [&](const Node& node, const std::string& name, LayerKind kind, const LrpRule& rule, bool first,
                    std::string merged) {
    result.layers.push_back({name.empty() ? node.name() : name, kind, rule.describe(), first, std::move(merged)});
  };

  auto step = [&](Node& node, std::vector<torch::Tensor>&& relevance) -> std::vector<torch::Tensor> {
    const NodeKind kind = layers.kind(&node);
    const detail::TapedOperator* op = layers.op(&node);
    switch (kind) {
      case NodeKind::kAffine: {
        const detail::AffineLayer& layer = layers.affine(&node);
        const LayerKind layer_kind = layer.convolution ? LayerKind::kConvolution : LayerKind::kLinear;
        const bool first = layers.is_first_layer(&node);
        const std::string name = owner(layer.weight_data);
        if (!name.empty()) named_layers.insert(name);
        const LrpRule rule = composite.rule_for(layer_kind, first, name);
        std::string merged;
        if (layer.merged_batch_norm != nullptr) {
          merged = owner(layer.batch_norm_weight_data);
          if (merged.empty()) merged = layer.merged_batch_norm->name();
        }
        record(node, name, layer_kind, rule, first, std::move(merged));
        if (rule.kind() == LrpRule::Kind::kGradient && layer.merged_batch_norm == nullptr)
          return only(node, layer.input_slot, layer.backward(relevance[0], layer.weight));
        return only(node, layer.input_slot, detail::affine_relevance(rule, layer, relevance[0], weights_.get()));
      }
      case NodeKind::kBatchNorm: {
        if (layers.is_merged(&node)) return only(node, 0, std::move(relevance[0]));
        const LrpRule rule = composite.rule_for(LayerKind::kBatchNorm, false, "");
        record(node, "", LayerKind::kBatchNorm, rule, false, "");
        if (rule.kind() == LrpRule::Kind::kPass) return only(node, 0, std::move(relevance[0]));
        return detail::BackwardGraph::gradient(node, std::move(relevance));
      }
      case NodeKind::kAveragePool: {
        const LrpRule rule = composite.rule_for(LayerKind::kAveragePool, false, "");
        record(node, "", LayerKind::kAveragePool, rule, false, "");
        if (rule.kind() != LrpRule::Kind::kNorm && rule.kind() != LrpRule::Kind::kEpsilon)
          return detail::BackwardGraph::gradient(node, std::move(relevance));
        const double s = rule.kind() == LrpRule::Kind::kNorm ? rule.stabilizer() : rule.parameter();
        const torch::Tensor quotient = relevance[0] / detail::stabilize(op->output(0), s);
        std::vector<torch::Tensor> sent = detail::BackwardGraph::gradient(node, {quotient});
        sent[0] = op->input(0) * sent[0];
        return sent;
      }
      case NodeKind::kSum: {
        const LrpRule rule = composite.rule_for(LayerKind::kSum, false, "");
        record(node, "", LayerKind::kSum, rule, false, "");
        if (rule.kind() != LrpRule::Kind::kNorm && rule.kind() != LrpRule::Kind::kEpsilon)
          return detail::BackwardGraph::gradient(node, std::move(relevance));
        const double s = rule.kind() == LrpRule::Kind::kNorm ? rule.stabilizer() : rule.parameter();
        const torch::Tensor a = op->input(0), b = op->input(1);
        double alpha = op->scalar(2, 1.0);
        if (op->name == "aten::sub" || op->name == "aten::sub_") alpha = -alpha;
        const torch::Tensor quotient = relevance[0] / detail::stabilize(op->output(0), s);
        std::vector<torch::Tensor> sent(node.num_outputs());
        sent[0] = sum_to_shape(a * quotient, a.sizes());
        sent[1] = sum_to_shape((b * alpha) * quotient, b.sizes());
        return sent;
      }
      case NodeKind::kActivation:
      case NodeKind::kScale: {
        const LrpRule rule = composite.rule_for(LayerKind::kActivation, false, "");
        if (rule.is_relu_rule() && detail::is_relu_backward(node)) {
          // Guided: the ReLU's own backward of the positive part; deconvnet: the positive part as is.
          if (rule.kind() == LrpRule::Kind::kDeconvnet) return only(node, 0, relevance[0].clamp_min(0));
          return detail::BackwardGraph::gradient(node, {relevance[0].clamp_min(0)});
        }
        if (rule.kind() != LrpRule::Kind::kPass) return detail::BackwardGraph::gradient(node, std::move(relevance));
        // The input that depends on the model's input gets the relevance, summed back to its shape
        // where it was broadcast.
        size_t slot = 0;
        for (size_t i = 0; i < node.num_outputs(); ++i)
          if (graph.reaches_leaf(node.next_edge(i))) {
            slot = i;
            break;
          }
        const torch::Tensor operand = op != nullptr ? op->input(slot) : torch::Tensor();
        torch::Tensor sent = relevance[0];
        if (operand.defined()) sent = sum_to_shape(sent, operand.sizes());
        return only(node, slot, std::move(sent));
      }
      case NodeKind::kMaxPool:
        return detail::BackwardGraph::gradient(node, std::move(relevance));
      case NodeKind::kOther:
        if (!is_routing(node.name())) unruled.insert(node.name());
        return detail::BackwardGraph::gradient(node, std::move(relevance));
    }
    return detail::BackwardGraph::gradient(node, std::move(relevance));
  };
  torch::Tensor relevance = graph.run(output_relevance, step);
  TORCH_CHECK_VALUE(relevance.defined(), "no relevance reached the input (every path to it carries zero)");
  for (const auto& entry : composite.layer_rules()) {
    bool matched = false;
    for (const std::string& name : named_layers)
      matched |= name == entry.first || (name.size() > entry.first.size() &&
                                         name.compare(0, entry.first.size(), entry.first) == 0 &&
                                         name[entry.first.size()] == '.');
    TORCH_CHECK_VALUE(matched, "the composite names layer \"", entry.first,
                      "\", but no convolution or linear layer of this model belongs to it",
                      named_layers.empty() ? std::string(" (this model's layers have no names)") : std::string());
  }
  detail::check_finite_result(relevance, "the relevance");
  result.attributions = relevance.detach();
  result.scores = scores.detach();
  // A gradient composite's result is a gradient: no conservation to check.
  if (!composite.starts_from_gradient()) result.delta = result.attributions.flatten(1).sum(1) - result.scores;
  result.gradient_nodes.assign(unruled.begin(), unruled.end());
  std::sort(result.gradient_nodes.begin(), result.gradient_nodes.end());
  return result;
}

}  // namespace nn_interpretability
