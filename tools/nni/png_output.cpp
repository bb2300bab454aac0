#include "png_output.h"

#include <filesystem>
#include <iomanip>
#include <sstream>
#include <system_error>

#include "arguments.h"
#include "nn_interpretability/cam/upsample.h"
#include "nn_interpretability/visualization/channel_reduction.h"
#include "nn_interpretability/visualization/colormap.h"
#include "nn_interpretability/visualization/image_io.h"
#include "nn_interpretability/visualization/normalize.h"
#include "nn_interpretability/visualization/overlay.h"

namespace nni = nn_interpretability;

namespace nni_cli {

void write_pngs(const std::string& directory, const torch::Tensor& attributions, const torch::Tensor& images,
                const std::vector<int64_t>& rows, bool layer_map, const ImageOptions& image, bool normalized_by_user,
                const std::string& method) {
  namespace vis = nni::visualization;
  if (attributions.dim() != 4 || images.dim() != 4) {
    warn("--png: the attributions are not image-shaped [N, C, H, W]; no PNG written");
    return;
  }
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (!std::filesystem::is_directory(directory))
    throw CliError(kRuntimeError, "--png: cannot create the directory '" + directory + "'");
  const int64_t height = images.size(2), width = images.size(3);
  torch::Tensor pictures;
  torch::Tensor map = attributions.to(torch::kFloat32);
  if (map.size(1) != 1) map = vis::reduce_channels(map, vis::ChannelReduction::Sum);
  if (layer_map) {
    if (map.size(2) != height || map.size(3) != width)
      map = nni::upsample_map(map, {height, width}, nni::Upsample::kBilinear);
    const torch::Tensor heat = vis::normalize_min_max(map);
    const int64_t channels = images.size(1);
    if (channels == 1 || channels == 3) {
      vis::OverlayOptions options;
      torch::Tensor background = images;
      if (normalized_by_user) {
        options.mean(image.mean).stddev(image.std);
      } else if (images.min().item<double>() < 0 || images.max().item<double>() > 1) {
        background = vis::normalize_min_max(images);  // an unknown scale: stretched to [0, 1] for display
      }
      pictures = vis::overlay(heat, background, options);
    } else {
      pictures = vis::apply_colormap(heat, vis::Colormap::Jet);
    }
  } else {
    pictures = vis::apply_colormap(vis::normalize_symmetric(map), vis::Colormap::BlueWhiteRed);
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::ostringstream name;
    name << std::setw(5) << std::setfill('0') << rows[i] << '_' << method << ".png";
    const std::string path = (std::filesystem::path(directory) / name.str()).string();
    try {
      vis::save_png(path, pictures[static_cast<int64_t>(i)]);
    } catch (const std::exception& caught) {
      throw CliError(kRuntimeError, "--png: " + error_message(caught));
    }
  }
}

}  // namespace nni_cli
