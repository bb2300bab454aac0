// Feature masks resolved for a batch.
#include "nn_interpretability/perturbation/feature_mask.h"

#include <map>
#include <sstream>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace nn_interpretability {
namespace {

void require_image(const torch::Tensor& input, const char* kind) {
  TORCH_CHECK_VALUE(input.dim() == 4, "a ", kind, " feature mask needs an image batch [N, C, H, W], got shape ",
                    input.sizes());
}

std::map<std::string, std::function<FeatureMask(const std::string&)>>& registered_kinds() {
  static std::map<std::string, std::function<FeatureMask(const std::string&)>> kinds;
  return kinds;
}

std::vector<int64_t> with_batch_one(const torch::Tensor& input) {
  std::vector<int64_t> shape = input.sizes().vec();
  shape[0] = 1;
  return shape;
}

}  // namespace

FeatureMask::FeatureMask() = default;

FeatureMask FeatureMask::pixels() {
  FeatureMask mask;
  mask.kind_ = Kind::kPixels;
  return mask;
}

FeatureMask FeatureMask::channels() {
  FeatureMask mask;
  mask.kind_ = Kind::kChannels;
  return mask;
}

FeatureMask FeatureMask::grid(int64_t patch_height, int64_t patch_width) {
  TORCH_CHECK_VALUE(patch_height >= 1 && patch_width >= 1, "FeatureMask::grid: patches must be at least 1 x 1, got ",
                    patch_height, " x ", patch_width);
  FeatureMask mask;
  mask.kind_ = Kind::kGrid;
  mask.patch_height_ = patch_height;
  mask.patch_width_ = patch_width;
  return mask;
}

FeatureMask FeatureMask::blocks(int64_t rows, int64_t columns) {
  TORCH_CHECK_VALUE(rows >= 1 && columns >= 1, "FeatureMask::blocks: at least 1 x 1 blocks, got ", rows, " x ", columns);
  FeatureMask mask;
  mask.kind_ = Kind::kBlocks;
  mask.patch_height_ = rows;
  mask.patch_width_ = columns;
  return mask;
}

FeatureMask FeatureMask::custom(torch::Tensor mask) {
  TORCH_CHECK_VALUE(mask.defined(), "FeatureMask::custom: the mask is an undefined tensor");
  TORCH_CHECK_VALUE(!at::isFloatingType(mask.scalar_type()) && !at::isComplexType(mask.scalar_type()) &&
                        mask.scalar_type() != at::kBool,
                    "FeatureMask::custom: the mask must hold integer feature ids, got dtype ", mask.scalar_type());
  FeatureMask result;
  result.kind_ = Kind::kCustom;
  result.mask_ = mask.detach().to(at::kLong);
  return result;
}

FeatureMask FeatureMask::computed(std::function<torch::Tensor(const torch::Tensor&)> make, std::string description) {
  TORCH_CHECK_VALUE(make != nullptr, "FeatureMask::computed: no function given");
  FeatureMask mask;
  mask.kind_ = Kind::kComputed;
  mask.make_ = std::move(make);
  mask.description_ = std::move(description);
  return mask;
}

void FeatureMask::register_kind(const std::string& name, std::function<FeatureMask(const std::string&)> parser) {
  registered_kinds()[name] = std::move(parser);
}

ResolvedFeatureMask FeatureMask::resolve_ids(const torch::Tensor& mask, const torch::Tensor& input) {
  ResolvedFeatureMask resolved;
  bool fits = mask.dim() == input.dim() && (mask.size(0) == 1 || mask.size(0) == input.size(0));
  for (int64_t d = 1; fits && d < mask.dim(); ++d) fits = mask.size(d) == 1 || mask.size(d) == input.size(d);
  TORCH_CHECK_VALUE(fits, "the feature mask of shape ", mask.sizes(), " does not fit the input of shape ",
                    input.sizes(), ": it needs the input's number of dimensions, 1 or N rows, and each other "
                    "dimension 1 or the input's");
  TORCH_CHECK_VALUE(mask.numel() > 0, "the feature mask is empty");
  const int64_t low = mask.min().item<int64_t>();
  TORCH_CHECK_VALUE(low >= 0, "the feature mask has a negative id (", low, "); ids are 0, 1, 2, ...");
  resolved.features = mask.max().item<int64_t>() + 1;
  resolved.ids = mask.to(input.device()).expand(input.sizes());
  return resolved;
}

ResolvedFeatureMask FeatureMask::resolve(const torch::Tensor& input) const {
  if (kind_ == Kind::kCustom) return resolve_ids(mask_, input);
  if (kind_ == Kind::kComputed) {
    torch::Tensor ids = make_(input);
    TORCH_CHECK_VALUE(ids.defined() && !at::isFloatingType(ids.scalar_type()) && ids.scalar_type() != at::kBool,
                      "the feature mask '", description_, "' must give integer ids, got ",
                      ids.defined() ? c10::toString(ids.scalar_type()) : "an undefined tensor");
    return resolve_ids(ids.to(at::kLong), input);
  }
  const auto options = input.options().dtype(at::kLong);
  ResolvedFeatureMask resolved;
  torch::Tensor ids;
  switch (kind_) {
    case Kind::kElements: {
      const int64_t per_row = input.numel() / std::max<int64_t>(input.size(0), 1);
      ids = at::arange(per_row, options).view(with_batch_one(input));
      resolved.features = per_row;
      break;
    }
    case Kind::kPixels: {
      require_image(input, "pixels");
      ids = at::arange(input.size(2) * input.size(3), options).view({1, 1, input.size(2), input.size(3)});
      resolved.features = input.size(2) * input.size(3);
      break;
    }
    case Kind::kChannels: {
      TORCH_CHECK_VALUE(input.dim() >= 2, "a channels feature mask needs an input [N, C, ...], got shape ", input.sizes());
      std::vector<int64_t> shape(static_cast<size_t>(input.dim()), 1);
      shape[1] = input.size(1);
      ids = at::arange(input.size(1), options).view(shape);
      resolved.features = input.size(1);
      break;
    }
    case Kind::kGrid: {
      require_image(input, "grid");
      const int64_t height = input.size(2), width = input.size(3);
      TORCH_CHECK_VALUE(patch_height_ <= height && patch_width_ <= width, "grid patches of ", patch_height_, " x ",
                        patch_width_, " are larger than the input's ", height, " x ", width);
      const int64_t columns = (width + patch_width_ - 1) / patch_width_;
      const int64_t rows = (height + patch_height_ - 1) / patch_height_;
      const torch::Tensor row = at::arange(height, options).div(patch_height_, "floor");
      const torch::Tensor column = at::arange(width, options).div(patch_width_, "floor");
      ids = (row.unsqueeze(1) * columns + column.unsqueeze(0)).view({1, 1, height, width});
      resolved.features = rows * columns;
      break;
    }
    case Kind::kBlocks: {
      require_image(input, "blocks");
      const int64_t height = input.size(2), width = input.size(3);
      TORCH_CHECK_VALUE(patch_height_ <= height && patch_width_ <= width, patch_height_, " x ", patch_width_,
                        " blocks do not fit the input's ", height, " x ", width, " pixels");
      // Pixel (y, x) is in block (⌊y · rows / H⌋, ⌊x · columns / W⌋): sizes differ by at most one.
      const torch::Tensor row = (at::arange(height, options) * patch_height_).div(height, "floor");
      const torch::Tensor column = (at::arange(width, options) * patch_width_).div(width, "floor");
      ids = (row.unsqueeze(1) * patch_width_ + column.unsqueeze(0)).view({1, 1, height, width});
      resolved.features = patch_height_ * patch_width_;
      break;
    }
    case Kind::kCustom:
    case Kind::kComputed:
      break;  // resolved above
  }
  resolved.ids = ids.expand(input.sizes());
  return resolved;
}

std::string FeatureMask::describe() const {
  std::ostringstream text;
  switch (kind_) {
    case Kind::kElements: return "elements";
    case Kind::kPixels: return "pixels";
    case Kind::kChannels: return "channels";
    case Kind::kGrid: text << "grid " << patch_height_ << "x" << patch_width_; return text.str();
    case Kind::kBlocks: text << "blocks " << patch_height_ << "x" << patch_width_; return text.str();
    case Kind::kCustom: text << "custom " << mask_.sizes(); return text.str();
    case Kind::kComputed: return description_;
  }
  return "";
}

FeatureMask FeatureMask::parse(const std::string& text) {
  if (text == "elements") return elements();
  if (text == "pixels") return pixels();
  if (text == "channels") return channels();
  const size_t colon = text.find(':');
  if (colon != std::string::npos) {
    const auto kind = registered_kinds().find(text.substr(0, colon));
    if (kind != registered_kinds().end()) return kind->second(text.substr(colon + 1));
  }
  const bool is_grid = text.rfind("grid:", 0) == 0, is_blocks = text.rfind("blocks:", 0) == 0;
  if (is_grid || is_blocks) {
    const std::string size = text.substr(is_grid ? 5 : 7);
    const size_t x = size.find('x');
    try {
      size_t used = 0;
      const int64_t height = std::stoll(size.substr(0, x), &used);
      const int64_t width = x == std::string::npos ? height : std::stoll(size.substr(x + 1));
      if (used == (x == std::string::npos ? size.size() : x)) return is_grid ? grid(height, width) : blocks(height, width);
    } catch (const std::exception&) {
    }
  }
  TORCH_CHECK_VALUE(false, "unknown feature mask '", text,
                    "': use elements, pixels, channels, grid:<h>x<w> (patches of h x w pixels), blocks:<r>x<c> (the image in r x c "
                    "blocks), grid:<n> / blocks:<n>", registered_kinds().count("slic") ? ", slic:<n> (superpixels)" : "");
}

}  // namespace nn_interpretability
