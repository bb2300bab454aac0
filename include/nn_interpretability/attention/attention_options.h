#pragma once
// What the attention methods share: which attention modules, where their query comes from, how heads
// and tokens become a map.

#include <string>
#include <vector>

#include <torch/arg.h>

#include "nn_interpretability/cam/layer_reshape.h"
#include "nn_interpretability/cam/upsample.h"

namespace nn_interpretability {

/// How the heads of one attention layer are combined.
enum class HeadFusion { kMean, kMax, kMin };

/// The attention methods' options.
///
/// The attention probabilities A = softmax(QKᵀ/√d) of each torch.nn.MultiheadAttention are not an
/// output of the model (torchvision's ViT asks for need_weights=False, and on LibTorch 2.x the
/// probabilities only exist inside a fused kernel), so they are recomputed from the module's own
/// parameters and its query: the output of `query_layer`, the attention's sibling that produces its
/// input (torchvision's EncoderBlock: `ln_1`). The recomputed attention output is checked against the
/// module's real output in the same pass (1e-4 relative): a wrong query layer is an error, never a
/// wrong map. The model is not changed; for gradients, the recomputed output's gradient takes the
/// real one's place in the pass (the value stays the real one), so the probabilities are in the
/// autograd graph and every path to the score is counted once.
struct AttentionOptions {
  /// The attention modules, in forward order; empty (the default): every MultiheadAttention of the
  /// model, in named_modules() order (the forward order of ViT-style encoders).
  TORCH_ARG(std::vector<std::string>, layers) = {};
  /// The query's layer: a name beside the attention module ("ln_1" → for
  /// "encoder.layers.encoder_layer_0.self_attention", "encoder.layers.encoder_layer_0.ln_1"), or a
  /// full dotted name when no such sibling exists.
  TORCH_ARG(std::string, query_layer) = "ln_1";
  TORCH_ARG(HeadFusion, head_fusion) = HeadFusion::kMean;
  /// Tokens to grid: the class token first (its row is the map), the rest an h × w grid.
  TORCH_ARG(LayerReshape, reshape) = LayerReshape::tokens(1);
  /// kNone: the token-grid map [N, 1, h, w]; otherwise resized to the input's H × W.
  TORCH_ARG(Upsample, upsample) = Upsample::kNone;
};

}  // namespace nn_interpretability
