// Grid figures: tiles scaled into square cells, column titles and row labels drawn with OpenCV's
// Hershey font. The canvas is RGB; save_png converts it to BGR when writing.

#include "nn_interpretability/visualization/grid.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <c10/util/Exception.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "nn_interpretability/visualization/image_io.h"

namespace nn_interpretability::visualization {
namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr int kThickness = 1;

// Height of one line of text, descenders and a little leading included.
int line_height(double scale) {
  int baseline = 0;
  const cv::Size size = cv::getTextSize("Ag", kFont, scale, kThickness, &baseline);
  return size.height + baseline + 3;
}

int text_width(const std::string& text, double scale) {
  int baseline = 0;
  return cv::getTextSize(text, kFont, scale, kThickness, &baseline).width;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) {
    parts.push_back(part);
  }
  return parts;
}

// Lines of `text`: '\n' breaks, and words are wrapped greedily to `max_width` when it is positive
// (a word wider than max_width gets a line of its own).
std::vector<std::string> layout_lines(const std::string& text, double scale, int max_width) {
  std::vector<std::string> lines;
  for (const std::string& paragraph : split(text, '\n')) {
    if (max_width <= 0) {
      lines.push_back(paragraph);
      continue;
    }
    std::string line;
    for (const std::string& word : split(paragraph, ' ')) {
      if (word.empty()) {
        continue;
      }
      const std::string candidate = line.empty() ? word : line + " " + word;
      if (!line.empty() && text_width(candidate, scale) > max_width) {
        lines.push_back(line);
        line = word;
      } else {
        line = candidate;
      }
    }
    lines.push_back(line);
  }
  return lines;
}

cv::Scalar to_scalar(const RgbColor& rgb) {
  return cv::Scalar(rgb[0], rgb[1], rgb[2]);  // the canvas is RGB, so no swap
}

void draw_lines(cv::Mat& canvas, const std::vector<std::string>& lines, int center_x, int left_x,
                int top_y, double scale, const cv::Scalar& color) {
  const int step = line_height(scale);
  int baseline = 0;
  const int ascent = cv::getTextSize("A", kFont, scale, kThickness, &baseline).height;
  for (size_t i = 0; i < lines.size(); ++i) {
    const int x = center_x >= 0 ? center_x - text_width(lines[i], scale) / 2 : left_x;
    const int y = top_y + static_cast<int>(i) * step + ascent + 1;
    cv::putText(canvas, lines[i], cv::Point(x, y), kFont, scale, color, kThickness, cv::LINE_AA);
  }
}

// One tile as an RGB CV_8UC3 cv::Mat at its own size.
cv::Mat tile_to_rgb(const at::Tensor& tile, int row, int column) {
  TORCH_CHECK_VALUE(tile.dim() >= 2 && tile.dim() <= 4,
                    "render_grid: tile (", row, ", ", column,
                    ") must be [H, W], [C, H, W] or [1, C, H, W], got ", tile.sizes());
  const int64_t channels = tile.dim() == 2 ? 1 : tile.size(tile.dim() - 3);
  TORCH_CHECK_VALUE(channels == 1 || channels == 3, "render_grid: tile (", row, ", ", column,
                    ") must have 1 (gray) or 3 (RGB) channels, got shape ", tile.sizes());
  const cv::Mat pixels = tensor_to_mat(tile, MatDepth::U8);
  if (pixels.channels() == 3) {
    return pixels;
  }
  cv::Mat rgb;
  cv::cvtColor(pixels, rgb, cv::COLOR_GRAY2RGB);
  return rgb;
}

}  // namespace

cv::Rect GridLayout::cell(int row, int column) const {
  return cv::Rect(label_width + padding + column * (tile_size + padding),
                  title_height + padding + row * (tile_size + caption_height + padding), tile_size, tile_size);
}

GridLayout grid_layout(int64_t rows, int64_t columns, const GridOptions& options) {
  TORCH_CHECK_VALUE(rows >= 0 && columns >= 0, "grid_layout: rows and columns must be ",
                    "non-negative, got ", rows, " x ", columns);
  TORCH_CHECK_VALUE(options.tile_size() >= 1 && options.tile_size() <= 4096,
                    "render_grid: tile_size must be in [1, 4096], got ", options.tile_size());
  TORCH_CHECK_VALUE(options.padding() >= 0 && options.padding() <= 1024,
                    "render_grid: padding must be in [0, 1024], got ", options.padding());
  TORCH_CHECK_VALUE(options.font_scale() > 0.0 && options.font_scale() <= 10.0,
                    "render_grid: font_scale must be in (0, 10], got ", options.font_scale());
  TORCH_CHECK_VALUE(static_cast<int64_t>(options.column_titles().size()) <= columns,
                    "render_grid: ", options.column_titles().size(), " column titles for ", columns,
                    " columns");
  TORCH_CHECK_VALUE(static_cast<int64_t>(options.row_labels().size()) <= rows, "render_grid: ",
                    options.row_labels().size(), " row labels for ", rows, " rows");
  TORCH_CHECK_VALUE(static_cast<int64_t>(options.tile_captions().size()) <= rows, "render_grid: ",
                    options.tile_captions().size(), " rows of tile captions for ", rows, " rows");
  bool any_caption = false;
  for (size_t r = 0; r < options.tile_captions().size(); ++r) {
    TORCH_CHECK_VALUE(static_cast<int64_t>(options.tile_captions()[r].size()) <= columns, "render_grid: ",
                      options.tile_captions()[r].size(), " tile captions in row ", r, " for ", columns, " columns");
    for (const std::string& caption : options.tile_captions()[r]) any_caption = any_caption || !caption.empty();
  }

  GridLayout layout;
  layout.rows = static_cast<int>(rows);
  layout.columns = static_cast<int>(columns);
  layout.tile_size = static_cast<int>(options.tile_size());
  layout.padding = static_cast<int>(options.padding());
  const double scale = options.font_scale();
  if (any_caption) layout.caption_height = line_height(scale);

  size_t title_lines = 0;
  for (const std::string& title : options.column_titles()) {
    title_lines = std::max(title_lines, layout_lines(title, scale, layout.tile_size).size());
  }
  if (title_lines > 0) {
    layout.title_height = layout.padding + static_cast<int>(title_lines) * line_height(scale);
  }
  int widest_label = 0;
  for (const std::string& label : options.row_labels()) {
    for (const std::string& line : layout_lines(label, scale, 0)) {
      widest_label = std::max(widest_label, text_width(line, scale));
    }
  }
  if (widest_label > 0) {
    layout.label_width = layout.padding + widest_label;
  }
  layout.width = layout.label_width + layout.padding + layout.columns * (layout.tile_size + layout.padding);
  layout.height = layout.title_height + layout.padding +
                  layout.rows * (layout.tile_size + layout.caption_height + layout.padding);
  return layout;
}

cv::Mat render_grid(const std::vector<std::vector<at::Tensor>>& tiles, const GridOptions& options) {
  size_t columns = 0;
  for (const auto& row : tiles) {
    columns = std::max(columns, row.size());
  }
  TORCH_CHECK_VALUE(!tiles.empty() && columns > 0, "render_grid: there are no tiles (empty grid)");
  const GridLayout layout =
      grid_layout(static_cast<int64_t>(tiles.size()), static_cast<int64_t>(columns), options);
  const double scale = options.font_scale();
  const cv::Scalar text_color = to_scalar(options.text_color());

  cv::Mat canvas(layout.height, layout.width, CV_8UC3, to_scalar(options.background()));
  for (size_t r = 0; r < tiles.size(); ++r) {
    for (size_t c = 0; c < tiles[r].size(); ++c) {
      const at::Tensor& tile = tiles[r][c];
      if (!tile.defined()) {
        continue;  // a blank cell
      }
      const cv::Mat rgb = tile_to_rgb(tile, static_cast<int>(r), static_cast<int>(c));
      const cv::Rect cell = layout.cell(static_cast<int>(r), static_cast<int>(c));
      // Fit in the cell keeping the aspect ratio; nearest neighbour keeps pixels crisp.
      const double factor = std::min(static_cast<double>(cell.width) / rgb.cols,
                                     static_cast<double>(cell.height) / rgb.rows);
      const int width = std::max(1, static_cast<int>(std::lround(rgb.cols * factor)));
      const int height = std::max(1, static_cast<int>(std::lround(rgb.rows * factor)));
      cv::Mat scaled;
      cv::resize(rgb, scaled, cv::Size(width, height), 0, 0,
                 factor >= 1.0 ? cv::INTER_NEAREST : cv::INTER_AREA);
      const cv::Rect target(cell.x + (cell.width - width) / 2, cell.y + (cell.height - height) / 2,
                            width, height);
      scaled.copyTo(canvas(target));
    }
  }
  for (size_t c = 0; c < options.column_titles().size(); ++c) {
    const cv::Rect cell = layout.cell(0, static_cast<int>(c));
    draw_lines(canvas, layout_lines(options.column_titles()[c], scale, layout.tile_size),
               cell.x + cell.width / 2, 0, layout.padding, scale, text_color);
  }
  for (size_t r = 0; r < options.row_labels().size(); ++r) {
    const cv::Rect cell = layout.cell(static_cast<int>(r), 0);
    const std::vector<std::string> lines = layout_lines(options.row_labels()[r], scale, 0);
    const int block = static_cast<int>(lines.size()) * line_height(scale);
    draw_lines(canvas, lines, -1, layout.padding, cell.y + (cell.height - block) / 2, scale,
               text_color);
  }
  for (size_t r = 0; r < options.tile_captions().size(); ++r) {
    for (size_t c = 0; c < options.tile_captions()[r].size(); ++c) {
      const std::string& caption = options.tile_captions()[r][c];
      if (caption.empty()) continue;
      const cv::Rect cell = layout.cell(static_cast<int>(r), static_cast<int>(c));
      draw_lines(canvas, {caption}, cell.x + cell.width / 2, 0, cell.y + cell.height, scale, text_color);
    }
  }
  return canvas;
}

}  // namespace nn_interpretability::visualization
