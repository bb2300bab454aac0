#pragma once
// How a layer's output becomes the [N, C, h, w] map grid the CAM family works on: convolutional
// layers already are; vision transformers give tokens [N, 1 + h·w, C] (class token first) and Swin
// gives channels-last [N, h, w, C].

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/types.h>

namespace nn_interpretability {

/// A rearrangement of a layer's output into [N, C, h, w]. It must only move and drop elements
/// (reshape, permute, slice), never compute: the CAM base applies the same rearrangement to the
/// activation and to its gradient, which is exact only for such maps.
///
/// Example (torchvision's vit_b_16, patch 16, class token first):
///   GradCamOptions("encoder.layers.encoder_layer_11.ln_1").reshape(LayerReshape::tokens())
class LayerReshape {
 public:
  /// A function of (activation, model input) returning the [N, C, h, w] rearrangement.
  using Function = std::function<torch::Tensor(const torch::Tensor& activation, const torch::Tensor& input)>;

  /// No rearrangement (the default): the layer's output must already be [N, C, h, w].
  LayerReshape() = default;
  static LayerReshape none() { return LayerReshape(); }
  /// Tokens [N, prefix_tokens + h·w, C] → [N, C, h, w]: the first `prefix_tokens` tokens (the class
  /// token; 2 with a distillation token) are dropped and the rest laid out row-major on an h × w
  /// grid. `grid` = {h, w} when given; otherwise inferred from the input's H × W (the grid with the
  /// input's aspect ratio, i.e. a square patch size: h·w tokens, h / w = H / W).
  static LayerReshape tokens(int64_t prefix_tokens = 1, std::vector<int64_t> grid = {});
  /// Channels-last [N, h, w, C] → [N, C, h, w] (Swin transformer stages, ConvNeXt-style blocks).
  static LayerReshape channels_last();
  /// A rearrangement of one's own; `description` names it in messages.
  static LayerReshape custom(Function function, std::string description = "custom");

  /// Parses the command line's spelling: "none", "vit" (= tokens()), "tokens:<prefix>",
  /// "tokens:<prefix>:<h>x<w>", "swin" or "channels_last". Throws a c10::ValueError otherwise.
  static LayerReshape parse(const std::string& text);

  /// The rearranged tensor; throws a c10::ValueError naming `layer` when the shape does not fit.
  torch::Tensor apply(const torch::Tensor& activation, const torch::Tensor& input, const std::string& layer) const;

  bool is_none() const { return kind_ == Kind::kNone; }
  /// As parse() spells it ("none", "tokens:1", "tokens:1:14x14", "channels_last") or the description.
  std::string to_string() const;

 private:
  enum class Kind { kNone, kTokens, kChannelsLast, kCustom };
  Kind kind_ = Kind::kNone;
  int64_t prefix_tokens_ = 1;
  std::vector<int64_t> grid_;
  Function function_;
  std::string description_;
};

}  // namespace nn_interpretability
