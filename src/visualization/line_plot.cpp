#include "nn_interpretability/visualization/line_plot.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include <c10/util/Exception.h>
#include <opencv2/imgproc.hpp>

namespace nn_interpretability::visualization {
namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

// Matplotlib's tab20 order, strong colours first: 20 series stay distinguishable.
const std::array<cv::Scalar, 20> kPalette = {
    cv::Scalar(31, 119, 180),  cv::Scalar(255, 127, 14), cv::Scalar(44, 160, 44),   cv::Scalar(214, 39, 40),
    cv::Scalar(148, 103, 189), cv::Scalar(140, 86, 75),  cv::Scalar(227, 119, 194), cv::Scalar(127, 127, 127),
    cv::Scalar(188, 189, 34),  cv::Scalar(23, 190, 207), cv::Scalar(174, 199, 232), cv::Scalar(255, 187, 120),
    cv::Scalar(152, 223, 138), cv::Scalar(255, 152, 150), cv::Scalar(197, 176, 213), cv::Scalar(196, 156, 148),
    cv::Scalar(247, 182, 210), cv::Scalar(199, 199, 199), cv::Scalar(219, 219, 141), cv::Scalar(158, 218, 229)};

std::string tick_text(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3g", value);
  return text;
}

}  // namespace

cv::Mat render_line_plot(const std::vector<PlotSeries>& series, const LinePlotOptions& options) {
  TORCH_CHECK_VALUE(!series.empty(), "render_line_plot: no series to plot");
  TORCH_CHECK_VALUE(options.width() >= 200 && options.height() >= 150, "render_line_plot: the figure must be at least ",
                    "200 x 150 pixels, got ", options.width(), " x ", options.height());
  double x_min = INFINITY, x_max = -INFINITY, y_min = INFINITY, y_max = -INFINITY;
  for (const PlotSeries& line : series) {
    TORCH_CHECK_VALUE(line.x.size() == line.y.size() && !line.x.empty(), "render_line_plot: series '", line.name,
                      "' has ", line.x.size(), " x values and ", line.y.size(), " y values");
    for (size_t i = 0; i < line.x.size(); ++i) {
      TORCH_CHECK_VALUE(std::isfinite(line.x[i]) && std::isfinite(line.y[i]), "render_line_plot: series '", line.name,
                        "' holds NaN or Inf at point ", i);
      x_min = std::min(x_min, line.x[i]);
      x_max = std::max(x_max, line.x[i]);
      y_min = std::min(y_min, line.y[i]);
      y_max = std::max(y_max, line.y[i]);
    }
  }
  if (options.y_min() < options.y_max()) {
    y_min = options.y_min();
    y_max = options.y_max();
  }
  if (x_max <= x_min) x_max = x_min + 1;
  if (y_max <= y_min) y_max = y_min + 1;

  cv::Mat canvas(options.height(), options.width(), CV_8UC3, cv::Scalar(255, 255, 255));
  int legend_width = 0;
  for (const PlotSeries& line : series) {
    int baseline = 0;
    legend_width = std::max(legend_width, cv::getTextSize(line.name, kFont, 0.4, 1, &baseline).width);
  }
  legend_width += 40;
  const int left = 74, right = options.width() - legend_width - 10, top = options.title().empty() ? 15 : 35,
            bottom = options.height() - 45;
  TORCH_CHECK_VALUE(right - left >= 80, "render_line_plot: the legend leaves no room for the plot; make the figure wider");
  auto to_pixel = [&](double x, double y) {
    return cv::Point(left + static_cast<int>(std::lround((x - x_min) / (x_max - x_min) * (right - left))),
                     bottom - static_cast<int>(std::lround((y - y_min) / (y_max - y_min) * (bottom - top))));
  };
  const cv::Scalar axis(0, 0, 0), grid(225, 225, 225);
  for (int t = 0; t <= 4; ++t) {
    const double fx = x_min + (x_max - x_min) * t / 4.0, fy = y_min + (y_max - y_min) * t / 4.0;
    const cv::Point px = to_pixel(fx, y_min), py = to_pixel(x_min, fy);
    cv::line(canvas, cv::Point(px.x, top), cv::Point(px.x, bottom), grid, 1);
    cv::line(canvas, cv::Point(left, py.y), cv::Point(right, py.y), grid, 1);
    cv::putText(canvas, tick_text(fx), cv::Point(px.x - 12, bottom + 16), kFont, 0.4, axis, 1, cv::LINE_AA);
    cv::putText(canvas, tick_text(fy), cv::Point(24, py.y + 4), kFont, 0.4, axis, 1, cv::LINE_AA);
  }
  cv::rectangle(canvas, cv::Point(left, top), cv::Point(right, bottom), axis, 1);
  for (size_t s = 0; s < series.size(); ++s) {
    const cv::Scalar& color = kPalette[s % kPalette.size()];
    const PlotSeries& line = series[s];
    for (size_t i = 1; i < line.x.size(); ++i)
      cv::line(canvas, to_pixel(line.x[i - 1], line.y[i - 1]), to_pixel(line.x[i], line.y[i]), color, 2, cv::LINE_AA);
    const int y = top + 12 + static_cast<int>(s) * 16;
    cv::line(canvas, cv::Point(right + 12, y - 4), cv::Point(right + 32, y - 4), color, 2, cv::LINE_AA);
    cv::putText(canvas, line.name, cv::Point(right + 36, y), kFont, 0.4, axis, 1, cv::LINE_AA);
  }
  if (!options.title().empty())
    cv::putText(canvas, options.title(), cv::Point(left, 22), kFont, 0.55, axis, 1, cv::LINE_AA);
  if (!options.x_label().empty())
    cv::putText(canvas, options.x_label(), cv::Point((left + right) / 2 - 60, options.height() - 10), kFont, 0.45, axis, 1,
                cv::LINE_AA);
  if (!options.y_label().empty()) {
    // Drawn horizontally, then rotated into the left margin.
    int baseline = 0;
    const cv::Size size = cv::getTextSize(options.y_label(), kFont, 0.45, 1, &baseline);
    cv::Mat label(size.height + baseline + 4, size.width + 4, CV_8UC3, cv::Scalar(255, 255, 255));
    cv::putText(label, options.y_label(), cv::Point(2, size.height + 1), kFont, 0.45, axis, 1, cv::LINE_AA);
    cv::Mat rotated;
    cv::rotate(label, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
    const int y0 = std::max(0, (top + bottom) / 2 - rotated.rows / 2);
    if (y0 + rotated.rows <= canvas.rows && rotated.cols <= 40) rotated.copyTo(canvas(cv::Rect(0, y0, rotated.cols, rotated.rows)));
  }
  return canvas;  // the palette is given in RGB order, so the canvas is RGB
}

}  // namespace nn_interpretability::visualization
