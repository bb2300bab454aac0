#pragma once
// Feature masks: which input elements a perturbation method turns on and off together.

#include <cstdint>
#include <functional>
#include <string>

#include <torch/types.h>

namespace nn_interpretability {

/// A feature mask resolved for one batch: integer ids [N, ...] (an expanded view; row i is example
/// i's mask) shaped like the input, and the number of features, max id + 1. An id no element of an
/// example carries is a feature of no effect there (its attribution maps to no element).
struct ResolvedFeatureMask {
  torch::Tensor ids;     ///< int64 [N, ...], the input's shape
  int64_t features = 0;  ///< ids are 0 .. features - 1
};

/// How input elements group into features.
///
///   FeatureMask::elements()          every element its own feature (Captum's default)
///   FeatureMask::pixels()            each pixel of [N, C, H, W], all channels together: H·W features
///   FeatureMask::channels()          each channel of [N, C, ...]: C features
///   FeatureMask::grid(8, 8)          8 × 8 patches of [N, C, H, W] across channels (edge patches smaller)
///   FeatureMask::blocks(4, 4)        the image cut into 4 × 4 blocks across channels: 16 features at any size
///   FeatureMask::custom(mask)        the user's integer ids, shape [1 or N, ...] broadcastable to the
///                                    input ([1, 1, H, W]: one mask for the batch, shared by channels)
///
///   FeatureMask::computed(f, "name")  ids made from each batch by `f(input)` (e.g. superpixels)
///
/// Superpixels (SLIC) need OpenCV: `FeatureMask::custom(visualization::slic_superpixels(images))`
/// (nn_interpretability/visualization/superpixels.h), or `slic:<n>` once a program has registered it
/// (the command-line tool does).
class FeatureMask {
 public:
  /// Every element its own feature.
  FeatureMask();
  static FeatureMask elements() { return FeatureMask(); }
  static FeatureMask pixels();
  static FeatureMask channels();
  static FeatureMask grid(int64_t patch_height, int64_t patch_width);
  static FeatureMask blocks(int64_t rows, int64_t columns);
  static FeatureMask custom(torch::Tensor mask);
  /// Ids computed from each input batch by `make` (checked as a custom mask); `description` for messages.
  static FeatureMask computed(std::function<torch::Tensor(const torch::Tensor& input)> make, std::string description);

  /// The ids for `input` [N, ...]; throws with the shapes when the mask does not fit.
  ResolvedFeatureMask resolve(const torch::Tensor& input) const;

  /// "elements", "pixels", "channels", "grid 8x8", "custom [1, 1, 28, 28]".
  std::string describe() const;

  /// Parses the command line's --features: elements, pixels, channels, grid:<h>x<w> (or grid:<n>),
  /// blocks:<r>x<c> (or blocks:<n>), and <name>:<argument> for every registered name.
  static FeatureMask parse(const std::string& text);

  /// Makes parse("<name>:<argument>") call `parser(argument)`; a program that links OpenCV
  /// registers "slic" this way (tools/nni). Not thread-safe against concurrent parse calls.
  static void register_kind(const std::string& name, std::function<FeatureMask(const std::string& argument)> parser);

 private:
  enum class Kind { kElements, kPixels, kChannels, kGrid, kBlocks, kCustom, kComputed };
  static ResolvedFeatureMask resolve_ids(const torch::Tensor& mask, const torch::Tensor& input);
  Kind kind_ = Kind::kElements;
  int64_t patch_height_ = 0, patch_width_ = 0;
  torch::Tensor mask_;
  std::function<torch::Tensor(const torch::Tensor&)> make_;
  std::string description_;
};

}  // namespace nn_interpretability
