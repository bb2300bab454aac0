#pragma once
// The attention methods' shared pass: every attention's probabilities, recomputed from its query
// and checked against its real output (attention_options.h says why and how).

#include <string>
#include <vector>

#include <torch/types.h>

#include "nn_interpretability/attention/attention_options.h"
#include "nn_interpretability/core/target.h"
#include "nn_interpretability/model/model.h"

namespace nn_interpretability {
namespace detail {

struct AttentionPass {
  torch::Tensor output;                      ///< the model output
  std::vector<std::string> layers;           ///< the attention modules, in forward order
  std::vector<torch::Tensor> probabilities;  ///< per layer [N, heads, T, T], rows summing to 1
};

/// One forward pass of `model` on `input` with every attention's probabilities. With `in_graph`
/// (grad mode), the probabilities are part of the output's autograd graph.
AttentionPass attention_forward(const Model& model, const torch::Tensor& input, const AttentionOptions& options,
                                bool in_graph);

/// One layer's heads combined [N, T, T].
torch::Tensor fuse_heads(const torch::Tensor& per_head, HeadFusion fusion);

/// The class-token row of R [N, T, T] as a map [N, 1, h, w] (options.reshape, then options.upsample).
torch::Tensor token_map(const torch::Tensor& relevance, const torch::Tensor& input, const AttentionOptions& options,
                        const std::string& what);

}  // namespace detail
}  // namespace nn_interpretability
