#include "nn_interpretability/visualization/report_card_figure.h"

#include <c10/util/Exception.h>
#include <opencv2/core.hpp>

#include "nn_interpretability/visualization/colormap.h"
#include "nn_interpretability/visualization/grid.h"
#include "nn_interpretability/visualization/line_plot.h"
#include "nn_interpretability/visualization/normalize.h"

namespace nn_interpretability::visualization {

/// Mean deletion (left) and insertion (right) curves of every method, side by side.
cv::Mat report_curves_figure(const nn_interpretability::metrics::ReportCard& card) {
  auto panel = [&](const std::map<std::string, torch::Tensor>& curves, const std::string& title) {
    std::vector<PlotSeries> series;
    const torch::Tensor fractions = card.curve_fractions.to(torch::kDouble).contiguous();
    for (const std::string& method : card.methods) {
      const auto found = curves.find(method);
      if (found == curves.end()) continue;
      const torch::Tensor y = found->second.to(torch::kDouble).contiguous();
      series.push_back({method, std::vector<double>(fractions.data_ptr<double>(), fractions.data_ptr<double>() + fractions.numel()),
                        std::vector<double>(y.data_ptr<double>(), y.data_ptr<double>() + y.numel())});
    }
    return render_line_plot(series, LinePlotOptions()
                                             .title(title)
                                             .x_label("share of pixels changed")
                                             .y_label("class probability")
                                             .y_min(0)
                                             .y_max(1));
  };
  std::vector<cv::Mat> panels;
  if (!card.deletion_curves.empty()) panels.push_back(panel(card.deletion_curves, "deletion (most relevant first): lower is better"));
  if (!card.insertion_curves.empty()) panels.push_back(panel(card.insertion_curves, "insertion: higher is better"));
  TORCH_CHECK_VALUE(!panels.empty(), "report_curves_figure: the report card holds no deletion or insertion curve");
  cv::Mat figure;
  cv::hconcat(panels, figure);
  return figure;
}

/// Rows: methods; columns: the original map, then after each cascading step; each map scaled to [0, 1].
cv::Mat report_randomization_figure(const nn_interpretability::metrics::ReportCard& card) {
  std::vector<std::vector<at::Tensor>> tiles;
  std::vector<std::string> labels;
  for (const std::string& method : card.methods) {
    const auto found = card.randomization_maps.find(method);
    if (found == card.randomization_maps.end()) continue;
    std::vector<at::Tensor> row;
    for (int64_t k = 0; k < found->second.size(0); ++k)
      row.push_back(apply_colormap(normalize_min_max(found->second[k].to(torch::kFloat).view({1, 1, found->second.size(1), -1})),
                                   Colormap::Inferno)
                        .squeeze(0));
    tiles.push_back(row);
    labels.push_back(method);
  }
  TORCH_CHECK_VALUE(!tiles.empty(), "report_randomization_figure: the report card holds no randomization maps (mprt)");
  std::vector<std::string> titles{"original"};
  for (const std::string& layer : card.randomization_layers) titles.push_back("-" + layer);
  return render_grid(tiles, GridOptions().column_titles(titles).row_labels(labels).tile_size(96));
}

}  // namespace nn_interpretability::visualization
