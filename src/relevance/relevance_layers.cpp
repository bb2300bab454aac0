#include "nn_interpretability/detail/relevance_layers.h"

#include <algorithm>
#include <cstring>
#include <functional>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/nn/module.h>

#include "nn_interpretability/model/model_backend.h"

namespace nn_interpretability {
namespace detail {
namespace {

using Node = torch::autograd::Node;

bool starts_with(const std::string& text, const char* prefix) {
  return text.compare(0, std::strlen(prefix), prefix) == 0;
}

bool one_of(const std::string& name, std::initializer_list<const char*> names) {
  for (const char* candidate : names)
    if (name == candidate) return true;
  return false;
}

// LibTorch names generated nodes "ReluBackward0"; strip a namespace if a build adds one.
std::string short_name(const Node& node) {
  std::string name = node.name();
  const size_t colon = name.rfind("::");
  return colon == std::string::npos ? name : name.substr(colon + 2);
}

// What a WeightCache entry holds.
enum DerivedWeight { kMergedWeight = 1, kMergedBias, kPositive, kNegative, kGammaUp, kGammaDown, kOnes, kSquare };

bool is_activation(const std::string& name) {
  static const char* const kActivations[] = {
      "ReluBackward0",       "ReluBackward1",         "LeakyReluBackward0",  "LeakyReluBackward1",
      "EluBackward0",        "EluBackward1",          "CeluBackward0",       "CeluBackward1",
      "GeluBackward0",       "GeluBackward1",         "SiluBackward0",       "MishBackward0",
      "SigmoidBackward0",    "TanhBackward0",         "HardtanhBackward0",   "HardtanhBackward1",
      "HardswishBackward0",  "HardsigmoidBackward0",  "SoftplusBackward0",   "ThresholdBackward0",
      "ThresholdBackward1",  "PreluBackward0",        "PreluKernelBackward0", "LogSigmoidBackward0",
      "ClampBackward0",      "ClampBackward1",        "ClampMinBackward0",   "ClampMaxBackward0",
      "SeluBackward0",       "RreluWithNoiseBackward0", "SoftshrinkBackward0", "HardshrinkBackward0"};
  for (const char* candidate : kActivations)
    if (name == candidate) return true;
  return false;
}

std::vector<int64_t> ones_shape(int64_t leading, int64_t middle, int64_t trailing_ones) {
  std::vector<int64_t> shape;
  if (leading > 0) shape.push_back(1);
  shape.push_back(middle);
  for (int64_t i = 0; i < trailing_ones; ++i) shape.push_back(1);
  return shape;
}

// A channel vector [C] shaped to broadcast over a convolution's or dense layer's output.
torch::Tensor per_output_channel(const torch::Tensor& values, const AffineLayer& layer) {
  if (!layer.convolution) return values.view({1, -1});
  return values.view(ones_shape(1, -1, layer.output.dim() - 2));
}

bool read_convolution(const TapedOperator& op, AffineLayer& layer) {
  layer.convolution = true;
  layer.input = op.input(0);
  layer.weight = op.input(1);
  layer.bias = op.input(2);
  if (!layer.input.defined() || !layer.weight.defined()) return false;
  const bool generic = one_of(op.name, {"aten::convolution", "aten::_convolution", "aten::convolution_overrideable"});
  layer.stride = op.int_list(3);
  layer.padding = op.int_list(4);
  layer.dilation = op.int_list(5);
  if (layer.stride.empty() || layer.padding.empty() || layer.dilation.empty()) return false;  // e.g. padding="same"
  if (generic) {
    layer.transposed = op.flag(6, false);
    layer.output_padding = op.int_list(7);
    layer.groups = static_cast<int64_t>(op.scalar(8, 1));
  } else {
    layer.transposed = false;
    layer.output_padding.assign(layer.stride.size(), 0);
    layer.groups = static_cast<int64_t>(op.scalar(6, 1));
  }
  if (layer.output_padding.empty()) layer.output_padding.assign(layer.stride.size(), 0);
  return true;
}

}  // namespace

torch::Tensor AffineLayer::forward(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) const {
  if (convolution) {
    const c10::optional<torch::Tensor> bias = b.defined() ? c10::optional<torch::Tensor>(b) : c10::nullopt;
    return at::convolution(x, w, bias, stride, padding, dilation, transposed, output_padding, groups);
  }
  return b.defined() ? at::addmm(b, x, w) : at::mm(x, w);
}

torch::Tensor AffineLayer::backward(const torch::Tensor& g, const torch::Tensor& w) const {
  if (convolution) {
    return std::get<0>(at::convolution_backward(g, input, w, c10::nullopt, stride, padding, dilation, transposed,
                                                output_padding, groups, {true, false, false}));
  }
  return at::mm(g, w.t());
}

torch::Tensor AffineLayer::output_without_bias() const {
  if (!bias.defined()) return output;
  return output - per_output_channel(bias, *this);
}

torch::Tensor stabilize(const torch::Tensor& value, double stabilizer) {
  return at::where(value >= 0, value + stabilizer, value - stabilizer);
}

RelevanceLayers::RelevanceLayers(const BackwardGraph& graph, const OperatorTape& tape, bool merge_batch_norm,
                                 WeightCache* cache) {
  for (Node* node : graph.order()) {
    if (graph.is_leaf(node)) continue;
    const std::string name = short_name(*node);
    NodeKind kind = NodeKind::kOther;
    const TapedOperator* op = nullptr;
    auto reaches = [&](size_t slot) { return slot < node->num_outputs() && graph.reaches_leaf(node->next_edge(slot)); };
    if (starts_with(name, "ConvolutionBackward") || starts_with(name, "MkldnnConvolutionBackward") ||
        starts_with(name, "CudnnConvolutionBackward") || starts_with(name, "SlowConv")) {
      op = tape.find(node, {"aten::convolution", "aten::_convolution", "aten::convolution_overrideable",
                            "aten::conv2d", "aten::conv1d", "aten::conv3d"});
      AffineLayer layer;
      if (op != nullptr && reaches(0) && !reaches(1) && !reaches(2) && read_convolution(*op, layer)) {
        layer.input_slot = 0;
        layer.output = op->output(0);
        layer.weight_data = layer.weight.data_ptr();
        kind = NodeKind::kAffine;
        affine_.emplace(node, std::move(layer));
      }
    } else if (name == "AddmmBackward0" || name == "MmBackward0") {
      const bool addmm = name == "AddmmBackward0";
      op = tape.find(node, {addmm ? "aten::addmm" : "aten::mm"});
      const size_t x_slot = addmm ? 1 : 0, w_slot = addmm ? 2 : 1;
      if (op != nullptr && reaches(x_slot) && !reaches(w_slot) && !(addmm && reaches(0))) {
        AffineLayer layer;
        layer.convolution = false;
        layer.input_slot = x_slot;
        layer.input = op->input(x_slot);
        layer.weight = op->input(w_slot);
        if (layer.weight.defined()) layer.weight_data = layer.weight.data_ptr();
        if (addmm) {
          const double beta = op->scalar(3, 1.0), alpha = op->scalar(4, 1.0);
          layer.bias = op->input(0);
          if (beta != 1.0 && layer.bias.defined()) layer.bias = layer.bias * beta;
          if (alpha != 1.0) layer.weight = layer.weight * alpha;
        }
        layer.output = op->output(0);
        if (layer.input.defined() && layer.weight.defined() && layer.input.dim() == 2) {
          kind = NodeKind::kAffine;
          affine_.emplace(node, std::move(layer));
        }
      }
    } else if (name.find("BatchNorm") != std::string::npos) {
      op = tape.find(node, {"aten::batch_norm", "aten::native_batch_norm", "aten::_native_batch_norm_legit_no_training",
                            "aten::_native_batch_norm_legit", "aten::cudnn_batch_norm", "aten::miopen_batch_norm"});
      kind = NodeKind::kBatchNorm;
    } else if (one_of(name, {"AvgPool2DBackward0", "AvgPool3DBackward0", "AdaptiveAvgPool2DBackward0",
                             "AdaptiveAvgPool3DBackward0", "MeanBackward0", "MeanBackward1", "SumBackward0",
                             "SumBackward1"})) {
      const auto& ops = tape.operators_of(node);
      if (!ops.empty()) {
        op = ops.front();
        if (op->input(0).defined() && op->output(0).defined()) kind = NodeKind::kAveragePool;
      }
    } else if (name == "AddBackward0" || name == "SubBackward0") {
      op = tape.find(node, {"aten::add", "aten::add_", "aten::sub", "aten::sub_"});
      if (op != nullptr && reaches(0) && reaches(1) && op->input(0).defined() && op->input(1).defined())
        kind = NodeKind::kSum;
    } else if (is_activation(name)) {
      kind = NodeKind::kActivation;
      op = tape.operators_of(node).empty() ? nullptr : tape.operators_of(node).front();
    } else if (one_of(name, {"MulBackward1", "DivBackward1", "NegBackward0"}) ||
               (name == "MulBackward0" && reaches(0) != reaches(1)) ||
               (name == "DivBackward0" && reaches(0) && !reaches(1))) {
      kind = NodeKind::kScale;
      op = tape.operators_of(node).empty() ? nullptr : tape.operators_of(node).front();
    } else if (starts_with(name, "MaxPool") || starts_with(name, "AdaptiveMaxPool")) {
      kind = NodeKind::kMaxPool;
      op = tape.operators_of(node).empty() ? nullptr : tape.operators_of(node).front();
    }
    kinds_[node] = kind;
    if (op != nullptr) ops_[node] = op;
  }

  // Canonizer: a BatchNorm in eval mode that is the only consumer of a convolution's or dense
  // layer's output (through the batch-one convolution's row copy, if any) is merged into it.
  if (merge_batch_norm) {
    for (auto& [node, layer] : affine_) {
      if (layer.transposed) continue;
      const Node* consumer = node;
      while (true) {
        const auto& senders = graph.senders(consumer);
        if (senders.size() != 1) {
          consumer = nullptr;
          break;
        }
        consumer = senders.front();
        const std::string name = short_name(*consumer);
        if (name == "CloneBackward0") continue;
        if (name == "SliceBackward0") {
          const TapedOperator* slice = tape.find(consumer, {"aten::slice"});
          if (slice != nullptr && slice->scalar(1, -1) == 0) continue;
          consumer = nullptr;
        }
        break;
      }
      if (consumer == nullptr || kinds_[consumer] != NodeKind::kBatchNorm) continue;
      const TapedOperator* bn = ops_.count(consumer) ? ops_[consumer] : nullptr;
      if (bn == nullptr) continue;
      const bool no_training_flag = bn->name == "aten::_native_batch_norm_legit_no_training";
      const bool training = no_training_flag ? false : bn->flag(5, true);
      const double eps = bn->scalar(no_training_flag ? 6 : 7, 1e-5);
      const torch::Tensor mean = bn->input(3), var = bn->input(4);
      if (training || !mean.defined() || !var.defined()) continue;
      const torch::Tensor gamma = bn->input(1), beta = bn->input(2);
      const torch::Tensor scale = (gamma.defined() ? gamma : at::ones_like(var)) / at::sqrt(var + eps);
      const torch::Tensor shift = (beta.defined() ? beta : at::zeros_like(mean)) - mean * scale;
      const int64_t channels = layer.convolution ? layer.weight.size(0) : layer.weight.size(1);
      if (scale.numel() != channels) continue;
      layer.batch_norm_weight_data = gamma.defined() ? gamma.data_ptr() : nullptr;
      const std::vector<torch::Tensor> sources{layer.weight, layer.bias, gamma, beta, mean, var};
      auto merged_weight = [&] {
        return layer.convolution ? layer.weight * scale.view(ones_shape(0, -1, layer.weight.dim() - 1))
                                 : layer.weight * scale.view({1, -1});
      };
      auto merged_bias = [&] { return layer.bias.defined() ? layer.bias * scale + shift : shift; };
      torch::Tensor weight = cache != nullptr ? cache->get(sources, kMergedWeight, eps, merged_weight) : merged_weight();
      torch::Tensor bias = cache != nullptr ? cache->get(sources, kMergedBias, eps, merged_bias) : merged_bias();
      layer.weight = std::move(weight);
      layer.bias = std::move(bias);
      layer.output = layer.output * per_output_channel(scale, layer) + per_output_channel(shift, layer);
      layer.merged_batch_norm = consumer;
      merged_[consumer] = node;
    }
  }

  // First layers: no convolution or dense layer between them and the input. Leaf side first.
  std::unordered_map<const Node*, bool> below;
  const auto& order = graph.order();
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Node* node = *it;
    bool any = false;
    if (!graph.is_leaf(node)) {
      for (const auto& edge : node->next_edges()) {
        if (!graph.reaches_leaf(edge)) continue;
        const Node* child = edge.function.get();
        auto kind = kinds_.find(child);
        if ((kind != kinds_.end() && kind->second == NodeKind::kAffine) || below[child]) any = true;
      }
    }
    below[node] = any;
    auto kind = kinds_.find(node);
    if (kind != kinds_.end() && kind->second == NodeKind::kAffine) first_[node] = !any;
  }
}

NodeKind RelevanceLayers::kind(const Node* node) const {
  auto found = kinds_.find(node);
  return found == kinds_.end() ? NodeKind::kOther : found->second;
}

const AffineLayer& RelevanceLayers::affine(const Node* node) const { return affine_.at(node); }

bool RelevanceLayers::is_first_layer(const Node* node) const {
  auto found = first_.find(node);
  return found != first_.end() && found->second;
}

const TapedOperator* RelevanceLayers::op(const Node* node) const {
  auto found = ops_.find(node);
  return found == ops_.end() ? nullptr : found->second;
}

std::unordered_map<const void*, std::string> parameter_owners(const Model& model) {
  std::unordered_map<const void*, std::string> owners;
  auto owner_of = [](const std::string& parameter) {
    const size_t dot = parameter.rfind('.');
    return dot == std::string::npos ? std::string() : parameter.substr(0, dot);
  };
  if (auto module = model.backend().module()) {
    for (const auto& item : module->named_parameters(/*recurse=*/true))
      if (item.value().defined()) owners.emplace(item.value().data_ptr(), owner_of(item.key()));
  } else if (const torch::jit::Module* scripted = model.backend().torchscript_module()) {
    for (const auto& item : scripted->named_parameters(/*recurse=*/true))
      if (item.value.defined()) owners.emplace(item.value.data_ptr(), owner_of(item.name));
  }
  return owners;
}

torch::Tensor affine_relevance(const LrpRule& rule, const AffineLayer& layer, const torch::Tensor& relevance,
                               WeightCache* cache) {
  using Kind = LrpRule::Kind;
  const torch::Tensor& x = layer.input;
  const torch::Tensor& w = layer.weight;
  const torch::Tensor bias = rule.ignores_bias() ? torch::Tensor() : layer.bias;
  const double s = rule.stabilizer();
  auto positive = [](const torch::Tensor& t) { return t.defined() ? t.clamp_min(0) : t; };
  auto negative = [](const torch::Tensor& t) { return t.defined() ? t.clamp_max(0) : t; };
  // A weight derived from w, kept between calls when there is a cache.
  auto derived = [&](int what, double parameter, const std::function<torch::Tensor()>& derive) {
    return cache != nullptr ? cache->get({w}, what, parameter, derive) : derive();
  };
  switch (rule.kind()) {
    case Kind::kEpsilon:
    case Kind::kNorm: {
      const torch::Tensor z = rule.ignores_bias() ? layer.output_without_bias() : layer.output;
      return x * layer.backward(relevance / stabilize(z, rule.kind() == Kind::kEpsilon ? rule.parameter() : s), w);
    }
    case Kind::kZPlus:
    case Kind::kAlphaBeta:
    case Kind::kGamma: {
      // After a ReLU the input is non-negative: the x⁻ terms vanish exactly and are skipped.
      const bool non_negative = x.min().item<double>() >= 0;
      const torch::Tensor xp = non_negative ? x : positive(x);
      const torch::Tensor xn = non_negative ? torch::Tensor() : negative(x);
      torch::Tensor w_up, w_down, b_up, b_down;  // weights for positive contributions and for negative ones
      if (rule.kind() == Kind::kGamma) {
        const double g = rule.parameter();
        w_up = derived(kGammaUp, g, [&] { return w + g * positive(w); });
        w_down = derived(kGammaDown, g, [&] { return w + g * negative(w); });
        b_up = bias.defined() ? bias + g * positive(bias) : bias;
        b_down = bias.defined() ? bias + g * negative(bias) : bias;
      } else {
        w_up = derived(kPositive, 0, [&] { return positive(w); });
        w_down = derived(kNegative, 0, [&] { return negative(w); });
        b_up = positive(bias);
        b_down = negative(bias);
      }
      // The share of the contributions of one sign: inputs of the same sign through w_same, of the
      // other sign through w_other; `bias_same` joins the first.
      auto share = [&](const torch::Tensor& r, const torch::Tensor& w_same, const torch::Tensor& w_other,
                       const torch::Tensor& bias_same, const torch::Tensor& mask) {
        torch::Tensor z = layer.forward(xp, w_same, bias_same);
        if (!non_negative) z = z + layer.forward(xn, w_other, torch::Tensor());
        torch::Tensor q = r / stabilize(z, s);
        if (mask.defined()) q = q * mask;
        torch::Tensor result = xp * layer.backward(q, w_same);
        if (!non_negative) result = result + xn * layer.backward(q, w_other);
        return result;
      };
      if (rule.kind() == Kind::kGamma) {
        const torch::Tensor& z = layer.output;
        return share(relevance, w_up, w_down, b_up, (z > 0).to(z.scalar_type())) +
               share(relevance, w_down, w_up, b_down, (z < 0).to(z.scalar_type()));
      }
      const double alpha = rule.kind() == Kind::kZPlus ? 1.0 : rule.parameter();
      const double beta = rule.kind() == Kind::kZPlus ? 0.0 : rule.beta();
      torch::Tensor result = share(relevance, w_up, w_down, b_up, torch::Tensor());
      if (alpha != 1.0) result = result * alpha;
      if (beta != 0.0) result = result - beta * share(relevance, w_down, w_up, b_down, torch::Tensor());
      return result;
    }
    case Kind::kZBox: {
      const torch::Tensor low = rule.low().to(x.options()).expand(x.sizes());
      const torch::Tensor high = rule.high().to(x.options()).expand(x.sizes());
      const torch::Tensor w_up = derived(kPositive, 0, [&] { return positive(w); });
      const torch::Tensor w_down = derived(kNegative, 0, [&] { return negative(w); });
      const torch::Tensor z = rule.ignores_bias() ? layer.output_without_bias() : layer.output;
      const torch::Tensor q = relevance / stabilize(z - layer.forward(low, w_up, positive(bias)) -
                                                         layer.forward(high, w_down, negative(bias)),
                                                     s);
      return x * layer.backward(q, w) - low * layer.backward(q, w_up) - high * layer.backward(q, w_down);
    }
    case Kind::kFlat:
    case Kind::kWSquare: {
      const torch::Tensor ones = at::ones_like(x);
      const torch::Tensor w_used = rule.kind() == Kind::kFlat ? derived(kOnes, 0, [&] { return at::ones_like(w); })
                                                              : derived(kSquare, 0, [&] { return w * w; });
      const torch::Tensor b_used = rule.kind() == Kind::kFlat || !bias.defined() ? torch::Tensor() : bias * bias;
      return layer.backward(relevance / stabilize(layer.forward(ones, w_used, b_used), s), w_used);
    }
    case Kind::kPass:
      TORCH_CHECK_VALUE(relevance.sizes() == x.sizes(), "the pass rule needs a layer whose output is shaped like its ",
                        "input; got ", x.sizes(), " -> ", relevance.sizes());
      return relevance;
    case Kind::kGradient:
      return layer.backward(relevance, w);
  }
  TORCH_INTERNAL_ASSERT(false, "unknown LRP rule");
}

}  // namespace detail
}  // namespace nn_interpretability
