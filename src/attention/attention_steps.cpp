// Attention probabilities recomputed from each attention's query, in one pass of the model.
#include "nn_interpretability/detail/attention_steps.h"

#include <cmath>
#include <memory>

#include <functional>
#include <map>

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>

#include "nn_interpretability/model/layer.h"

namespace nn_interpretability {
namespace detail {
namespace {

struct AttentionParameters {
  torch::Tensor in_weight, in_bias, out_weight, out_bias;
  int64_t heads = 1;
  bool batch_first = false;
};

// Every named submodule of the root, looked up by name: one walk of the module tree per call.
struct ModuleIndex {
  std::vector<std::string> names;  // in the tree's order (the forward order of a ViT's blocks)
  std::map<std::string, torch::jit::Module> by_name;
};

ModuleIndex index_modules(const torch::jit::Module& root) {
  ModuleIndex index;
  for (const auto& item : root.named_modules()) {
    index.names.push_back(item.name);
    index.by_name.emplace(item.name, item.value);
  }
  return index;
}

bool is_attention(const torch::jit::Module& module) {
  const auto name = module.type()->name();
  const std::string type = name ? name->qualifiedName() : "";
  return type.size() >= 18 && type.compare(type.size() - 18, 18, "MultiheadAttention") == 0;
}

torch::Tensor tensor_or_undefined(const torch::jit::Module& module, const char* name) {
  if (!module.hasattr(name)) return torch::Tensor();
  const c10::IValue value = module.attr(name);
  return value.isTensor() ? value.toTensor().detach() : torch::Tensor();
}

// The num_head constant of aten::_native_multi_head_attention in a traced module's graph; 0 if none.
int64_t traced_heads(const torch::jit::Module& module) {
  const auto method = module.find_method("forward");
  if (!method) return 0;
  std::shared_ptr<torch::jit::Graph> graph = torch::jit::toGraphFunction(method->function()).graph();
  std::function<int64_t(torch::jit::Block*)> search = [&](torch::jit::Block* block) -> int64_t {
    for (torch::jit::Node* node : block->nodes()) {
      if (node->kind().toQualString() == std::string("aten::_native_multi_head_attention") && node->inputs().size() > 4) {
        const auto heads = torch::jit::toIValue(node->input(4));
        if (heads && heads->isInt()) return heads->toInt();
      }
      for (torch::jit::Block* nested : node->blocks())
        if (const int64_t heads = search(nested)) return heads;
    }
    return 0;
  };
  return search(graph->block());
}

AttentionParameters parameters_of(const ModuleIndex& modules, const std::string& layer) {
  const auto found_module = modules.by_name.find(layer);
  TORCH_CHECK_VALUE(found_module != modules.by_name.end(), "no layer named '", layer, "'");
  const torch::jit::Module* module = &found_module->second;
  TORCH_CHECK_VALUE(is_attention(*module), "layer '", layer, "' is not a torch.nn.MultiheadAttention");
  TORCH_CHECK_VALUE(!module->hasattr("_qkv_same_embed_dim") || module->attr("_qkv_same_embed_dim").toBool(),
                    "layer '", layer, "' has separate key and value sizes (kdim/vdim), which is not supported");
  AttentionParameters parameters;
  parameters.in_weight = tensor_or_undefined(*module, "in_proj_weight");
  parameters.in_bias = tensor_or_undefined(*module, "in_proj_bias");
  const torch::jit::Module out = module->attr("out_proj").toModule();
  parameters.out_weight = tensor_or_undefined(out, "weight");
  parameters.out_bias = tensor_or_undefined(out, "bias");
  if (module->hasattr("num_heads")) {
    parameters.heads = module->attr("num_heads").toInt();
    parameters.batch_first = module->hasattr("batch_first") && module->attr("batch_first").toBool();
  } else {
    // A traced module keeps no Python attributes; its graph holds the head count as a constant of
    // the fused kernel it recorded (which only batch-first modules use).
    const auto found = traced_heads(*module);
    TORCH_CHECK_VALUE(found > 0, "layer '", layer, "' does not say its number of heads (a traced module without ",
                      "the fused attention kernel in its graph); export the model with torch.jit.script");
    parameters.heads = found;
    parameters.batch_first = true;
  }
  TORCH_CHECK_VALUE(parameters.in_weight.defined() && parameters.out_weight.defined(), "layer '", layer,
                    "' has no in_proj_weight / out_proj.weight");
  return parameters;
}

// softmax(Q Kᵀ / √d) per head [N, h, T, T] and the attention output [N, T, E] (batch first), for
// self-attention on `query`.
std::pair<torch::Tensor, torch::Tensor> self_attention(const AttentionParameters& p, const torch::Tensor& query) {
  const torch::Tensor x = p.batch_first ? query : query.transpose(0, 1);  // [N, T, E]
  const int64_t batch = x.size(0), tokens = x.size(1), embed = x.size(2);
  const int64_t depth = embed / p.heads;
  const torch::Tensor qkv = at::linear(x, p.in_weight.to(x.options()),
                                       p.in_bias.defined() ? p.in_bias.to(x.options()) : torch::Tensor());
  auto heads = [&](int64_t k) {
    return qkv.narrow(2, k * embed, embed).reshape({batch, tokens, p.heads, depth}).transpose(1, 2);
  };
  const torch::Tensor q = heads(0), k = heads(1), v = heads(2);
  const torch::Tensor probabilities = (q.matmul(k.transpose(-1, -2)) / std::sqrt(static_cast<double>(depth))).softmax(-1);
  torch::Tensor output = probabilities.matmul(v).transpose(1, 2).reshape({batch, tokens, embed});
  output = at::linear(output, p.out_weight.to(x.options()),
                      p.out_bias.defined() ? p.out_bias.to(x.options()) : torch::Tensor());
  return {probabilities, p.batch_first ? output : output.transpose(0, 1)};
}

// The query layer of `attention`: `name` beside it (resolved against its parent), or else `name` as a
// full dotted name.
std::string query_of(const ModuleIndex& modules, const std::string& attention, const std::string& name) {
  const size_t dot = attention.rfind('.');
  const std::string sibling = dot == std::string::npos ? name : attention.substr(0, dot + 1) + name;
  return modules.by_name.count(sibling) > 0 ? sibling : name;
}

struct Stash {
  torch::Tensor query;
  torch::Tensor probabilities;
  double difference = 0, scale = 0;
  bool query_seen = false;
};

}  // namespace

AttentionPass attention_forward(const Model& model, const torch::Tensor& input, const AttentionOptions& options,
                                bool in_graph) {
  const torch::jit::Module* root = model.backend().torchscript_module();
  TORCH_CHECK_VALUE(root != nullptr, "attention methods need a TorchScript model (scripted or traced) with "
                    "torch.nn.MultiheadAttention layers; the ", model.backend().describe(), " is not one");
  AttentionPass pass;
  const ModuleIndex modules = index_modules(*root);
  pass.layers = options.layers();
  if (pass.layers.empty())
    for (const std::string& name : modules.names)
      if (!name.empty() && is_attention(modules.by_name.at(name))) pass.layers.push_back(name);
  TORCH_CHECK_VALUE(!pass.layers.empty(), "the model has no torch.nn.MultiheadAttention layer");

  std::vector<std::shared_ptr<Stash>> stashes;
  std::vector<LayerRequest> requests;
  for (const std::string& layer : pass.layers) {
    const AttentionParameters parameters = parameters_of(modules, layer);
    auto stash = std::make_shared<Stash>();
    stashes.push_back(stash);
    const std::string query = query_of(modules, layer, options.query_layer());
    requests.push_back(LayerRequest(query).call(LayerCall::first()).replace([stash](const torch::Tensor& q) {
      stash->query = q;
      stash->query_seen = true;
      return q;
    }));
    requests.push_back(
        LayerRequest(layer).call(LayerCall::first()).replace([stash, parameters, layer, query, in_graph](const torch::Tensor& out) {
          TORCH_CHECK_VALUE(stash->query_seen, "the query layer '", query, "' of attention '", layer,
                            "' did not run before it; name the layer whose output the attention takes (query_layer)");
          TORCH_CHECK_VALUE(stash->query.dim() == 3 && stash->query.size(-1) == parameters.in_weight.size(1),
                            "the query layer '", query, "' outputs shape ", stash->query.sizes(), ", not the [N, T, ",
                            parameters.in_weight.size(1), "] tokens attention '", layer, "' takes");
          auto [probabilities, recomputed] = self_attention(parameters, stash->query);
          stash->probabilities = probabilities;
          stash->difference = (recomputed.detach() - out.detach()).abs().max().item<double>();
          stash->scale = out.detach().abs().max().item<double>();
          if (!in_graph) return out;
          // The real output's value with the recomputation's gradient only: both depend on the query,
          // so keeping the real output's graph too would count the path through later layers twice
          // (and a traced model's fused kernel has no backward at all).
          return out.detach() + (recomputed - recomputed.detach());
        }));
  }
  const LayersForward forward = forward_with_layers(model, input, requests);
  pass.output = forward.output;
  const double tolerance = input.scalar_type() == at::kDouble ? 1e-9 : 1e-4;
  for (size_t i = 0; i < pass.layers.size(); ++i) {
    TORCH_CHECK_VALUE(forward.layers[2 * i + 1].calls == 1, "attention '", pass.layers[i], "' ran ",
                      forward.layers[2 * i + 1].calls, " times in one forward pass; attention methods need each once");
    const Stash& stash = *stashes[i];
    TORCH_CHECK_VALUE(stash.difference <= tolerance * std::max(1.0, stash.scale), "attention '", pass.layers[i],
                      "' recomputed from the output of '", query_of(modules, pass.layers[i], options.query_layer()),
                      "' differs from its real output by ", stash.difference, " (of ", stash.scale,
                      "): that layer is not its query (set query_layer), or it is not plain self-attention (masks, "
                      "separate key / value inputs)");
    pass.probabilities.push_back(stash.probabilities);
  }
  return pass;
}

torch::Tensor fuse_heads(const torch::Tensor& per_head, HeadFusion fusion) {
  switch (fusion) {
    case HeadFusion::kMax:
      return std::get<0>(per_head.max(1));
    case HeadFusion::kMin:
      return std::get<0>(per_head.min(1));
    case HeadFusion::kMean:
      break;
  }
  return per_head.mean(1);
}

torch::Tensor token_map(const torch::Tensor& relevance, const torch::Tensor& input, const AttentionOptions& options,
                        const std::string& what) {
  // The class token's row as tokens [N, T, 1]: the reshape drops the class token, lays out the grid.
  torch::Tensor map = options.reshape().apply(relevance.select(1, 0).unsqueeze(2), input, what);
  if (options.upsample() != Upsample::kNone) {
    TORCH_CHECK_VALUE(input.dim() == 4, "upsampling needs an image input [N, C, H, W], got shape ", input.sizes());
    map = upsample_map(map, {input.size(2), input.size(3)}, options.upsample());
  }
  return map;
}

}  // namespace detail
}  // namespace nn_interpretability
