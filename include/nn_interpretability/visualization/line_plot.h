#pragma once
// Line plots of a few named series (the report card's deletion and insertion curves), drawn with
// OpenCV so that no plotting library is needed.

#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>
#include <torch/arg.h>

namespace nn_interpretability::visualization {

/// One line: points (x[i], y[i]), named in the legend.
struct PlotSeries {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
};

struct LinePlotOptions {
  TORCH_ARG(int, width) = 720;
  TORCH_ARG(int, height) = 480;
  TORCH_ARG(std::string, title) = "";
  TORCH_ARG(std::string, x_label) = "";
  TORCH_ARG(std::string, y_label) = "";
  /// The y range; when y_min >= y_max, the series' own range.
  TORCH_ARG(double, y_min) = 0;
  TORCH_ARG(double, y_max) = 0;
};

/// An RGB figure (CV_8UC3, RGB order; save_png writes it): axes with ticks, the series in up to 20
/// distinct colours, a legend on the right. Throws c10::ValueError for a series whose x and y differ
/// in length or hold NaN or Inf, or for no series.
cv::Mat render_line_plot(const std::vector<PlotSeries>& series, const LinePlotOptions& options = LinePlotOptions());

}  // namespace nn_interpretability::visualization
