#pragma once
// The report card's figures (metrics/report_card.h): the mean deletion and insertion curves of every
// method, and one example's maps as the model is randomized from the top layer down.

#include <opencv2/core/mat.hpp>

#include "nn_interpretability/metrics/report_card.h"

namespace nn_interpretability::visualization {

/// Deletion (left) and insertion (right) panels, one line per method, probability 0..1 over the share
/// of pixels changed; RGB CV_8UC3 (save_png). Throws when the card holds no curve.
cv::Mat report_curves_figure(const nn_interpretability::metrics::ReportCard& card);

/// Rows: methods; columns: the original map, then the map after each cascading randomization step
/// (the layer randomized last in the title), each scaled to [0, 1] and coloured with Inferno.
cv::Mat report_randomization_figure(const nn_interpretability::metrics::ReportCard& card);

}  // namespace nn_interpretability::visualization
