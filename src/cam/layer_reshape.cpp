#include "nn_interpretability/cam/layer_reshape.h"

#include <cmath>
#include <sstream>
#include <utility>

#include <c10/util/Exception.h>

namespace nn_interpretability {
namespace {

std::vector<int64_t> token_grid(int64_t tokens, const torch::Tensor& input, const std::string& layer) {
  TORCH_CHECK_VALUE(input.dim() >= 3, "layer '", layer, "': the token grid cannot be inferred from an input of shape ",
                    input.sizes(), "; give it with LayerReshape::tokens(prefix, {h, w})");
  const int64_t height = input.size(-2);
  const int64_t width = input.size(-1);
  // h·w = tokens with h / w = H / W.
  const auto rows = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(tokens) * height / width)));
  TORCH_CHECK_VALUE(rows > 0 && tokens % rows == 0 && rows * width == (tokens / rows) * height, "layer '", layer,
                    "' has ", tokens, " spatial tokens, which is no grid with the input's aspect ratio ", height,
                    " × ", width, "; give the grid with LayerReshape::tokens(prefix, {h, w}) (--reshape tokens:P:HxW)");
  return {rows, tokens / rows};
}

int64_t parse_count(const std::string& text, const std::string& whole) {
  size_t used = 0;
  int64_t value = -1;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  TORCH_CHECK_VALUE(used == text.size() && value >= 0, "reshape '", whole, "': '", text, "' is not a count; ",
                    "expected none, vit, tokens:<prefix>, tokens:<prefix>:<h>x<w>, swin or channels_last");
  return value;
}

}  // namespace

LayerReshape LayerReshape::tokens(int64_t prefix_tokens, std::vector<int64_t> grid) {
  TORCH_CHECK_VALUE(prefix_tokens >= 0, "LayerReshape::tokens: prefix_tokens must be >= 0, got ", prefix_tokens);
  TORCH_CHECK_VALUE(grid.empty() || (grid.size() == 2 && grid[0] > 0 && grid[1] > 0),
                    "LayerReshape::tokens: the grid must be {h, w} with h, w > 0");
  LayerReshape reshape;
  reshape.kind_ = Kind::kTokens;
  reshape.prefix_tokens_ = prefix_tokens;
  reshape.grid_ = std::move(grid);
  return reshape;
}

LayerReshape LayerReshape::channels_last() {
  LayerReshape reshape;
  reshape.kind_ = Kind::kChannelsLast;
  return reshape;
}

LayerReshape LayerReshape::custom(Function function, std::string description) {
  TORCH_CHECK_VALUE(static_cast<bool>(function), "LayerReshape::custom: the function is empty");
  LayerReshape reshape;
  reshape.kind_ = Kind::kCustom;
  reshape.function_ = std::move(function);
  reshape.description_ = std::move(description);
  return reshape;
}

LayerReshape LayerReshape::parse(const std::string& text) {
  if (text.empty() || text == "none") return none();
  if (text == "vit" || text == "tokens") return tokens();
  if (text == "swin" || text == "channels_last") return channels_last();
  const std::string prefix = "tokens:";
  TORCH_CHECK_VALUE(text.compare(0, prefix.size(), prefix) == 0, "unknown reshape '", text,
                    "'; expected none, vit, tokens:<prefix>, tokens:<prefix>:<h>x<w>, swin or channels_last");
  const std::string rest = text.substr(prefix.size());
  const size_t colon = rest.find(':');
  const int64_t count = parse_count(rest.substr(0, colon), text);
  if (colon == std::string::npos) return tokens(count);
  const std::string grid = rest.substr(colon + 1);
  const size_t cross = grid.find('x');
  TORCH_CHECK_VALUE(cross != std::string::npos, "reshape '", text, "': the grid must be written <h>x<w>, e.g. 14x14");
  return tokens(count, {parse_count(grid.substr(0, cross), text), parse_count(grid.substr(cross + 1), text)});
}

torch::Tensor LayerReshape::apply(const torch::Tensor& activation, const torch::Tensor& input,
                                  const std::string& layer) const {
  switch (kind_) {
    case Kind::kNone:
      return activation;
    case Kind::kChannelsLast:
      TORCH_CHECK_VALUE(activation.dim() == 4, "layer '", layer, "' outputs shape ", activation.sizes(),
                        "; the channels_last reshape needs [N, h, w, C]");
      return activation.permute({0, 3, 1, 2});
    case Kind::kTokens: {
      TORCH_CHECK_VALUE(activation.dim() == 3, "layer '", layer, "' outputs shape ", activation.sizes(),
                        "; the tokens reshape needs [N, tokens, C]");
      const int64_t spatial = activation.size(1) - prefix_tokens_;
      TORCH_CHECK_VALUE(spatial > 0, "layer '", layer, "' has ", activation.size(1), " tokens, not more than the ",
                        prefix_tokens_, " prefix token(s) to drop");
      const std::vector<int64_t> grid = grid_.empty() ? token_grid(spatial, input, layer) : grid_;
      TORCH_CHECK_VALUE(grid[0] * grid[1] == spatial, "layer '", layer, "' has ", spatial,
                        " spatial tokens after dropping ", prefix_tokens_, ", not the ", grid[0], " × ", grid[1],
                        " grid given");
      return activation.slice(1, prefix_tokens_)
          .reshape({activation.size(0), grid[0], grid[1], activation.size(2)})
          .permute({0, 3, 1, 2});
    }
    case Kind::kCustom: {
      torch::Tensor result = function_(activation, input);
      TORCH_CHECK_VALUE(result.defined() && result.dim() == 4 && result.size(0) == activation.size(0), "layer '",
                        layer, "': the ", description_, " reshape returned ",
                        result.defined() ? c10::str("shape ", result.sizes()) : std::string("an undefined tensor"),
                        "; it must return [N, C, h, w] with N = ", activation.size(0));
      return result;
    }
  }
  return activation;
}

std::string LayerReshape::to_string() const {
  switch (kind_) {
    case Kind::kNone: return "none";
    case Kind::kChannelsLast: return "channels_last";
    case Kind::kTokens: {
      std::ostringstream text;
      text << "tokens:" << prefix_tokens_;
      if (!grid_.empty()) text << ':' << grid_[0] << 'x' << grid_[1];
      return text.str();
    }
    case Kind::kCustom: return description_;
  }
  return "none";
}

}  // namespace nn_interpretability
