#pragma once
// Grids: a figure of rows x columns of image tiles with column titles and row labels.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <opencv2/core/mat.hpp>
#include <opencv2/core/types.hpp>
#include <torch/arg.h>

namespace nn_interpretability::visualization {

/// An 8-bit RGB colour, e.g. {255, 0, 0} for red.
using RgbColor = std::array<std::uint8_t, 3>;

/// Options for `render_grid`.
///
/// Example:
///   auto options = GridOptions().tile_size(112).column_titles({"input", "saliency"}).row_labels({"7"});
struct GridOptions {
  /// Side in pixels of each square cell; tiles are scaled to fit (nearest neighbour, so MNIST's
  /// 28 px become 4 x 4 blocks at 112), keeping their aspect ratio, centred. Default: 112.
  TORCH_ARG(int64_t, tile_size) = 112;
  /// Gap in pixels between cells and around the figure. Default: 4.
  TORCH_ARG(int64_t, padding) = 4;
  /// Titles above the columns (at most one per column); wrapped at spaces to the tile width,
  /// '\n' breaks a line. Default: none.
  TORCH_ARG(std::vector<std::string>, column_titles) = {};
  /// Labels left of the rows (at most one per row); '\n' breaks a line. Default: none.
  TORCH_ARG(std::vector<std::string>, row_labels) = {};
  /// Captions below the tiles: captions[r][c] goes under tile (r, c), centred, one line (rows and
  /// entries may be missing or empty). Any caption adds a band of one text line below every row.
  /// Default: none.
  TORCH_ARG(std::vector<std::vector<std::string>>, tile_captions) = {};
  /// cv::FONT_HERSHEY_SIMPLEX scale of the text. Default: 0.45 (about 10 px capitals).
  TORCH_ARG(double, font_scale) = 0.45;
  /// Background colour, RGB. Default: white.
  TORCH_ARG(RgbColor, background) = {{255, 255, 255}};
  /// Text colour, RGB. Default: black.
  TORCH_ARG(RgbColor, text_color) = {{0, 0, 0}};
};

/// Where everything goes in a grid figure.
struct GridLayout {
  int width = 0;         ///< Figure width in pixels.
  int height = 0;        ///< Figure height in pixels.
  int title_height = 0;  ///< Height of the band of column titles (0 without titles).
  int label_width = 0;   ///< Width of the band of row labels (0 without labels).
  int rows = 0;
  int columns = 0;
  int tile_size = 0;
  int padding = 0;
  int caption_height = 0;  ///< Height of the caption band below each row (0 without captions).

  /// The cell of tile (row, column): x = label_width + padding + column * (tile_size + padding),
  /// y = title_height + padding + row * (tile_size + caption_height + padding), tile_size x tile_size.
  cv::Rect cell(int row, int column) const;
};

/// The layout `render_grid` uses for `rows` x `columns` tiles with these options.
///
/// Example:
///   cv::Rect where = grid_layout(2, 3, options).cell(1, 2);
GridLayout grid_layout(int64_t rows, int64_t columns, const GridOptions& options = GridOptions());

/// Renders rows of image tiles into one RGB figure (CV_8UC3, RGB order; write it with save_png).
///
/// Each tile is an image tensor in [0, 1]: [H, W], [C, H, W] or [1, C, H, W], C = 1 (gray) or 3
/// (RGB), any device; values outside [0, 1] are clamped. Rows may differ in length (the figure has
/// as many columns as the longest row); an undefined tensor leaves its cell blank.
///
/// Example:
///   cv::Mat figure = render_grid({{image, jet_map, overlay_image}}, GridOptions().column_titles(
///                                    {"input", "saliency", "overlay"}));
///   save_png("figure.png", figure);
cv::Mat render_grid(const std::vector<std::vector<at::Tensor>>& tiles,
                    const GridOptions& options = GridOptions());

}  // namespace nn_interpretability::visualization
