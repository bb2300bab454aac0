// SLIC superpixels: k-means on (CIELAB colour, position) in windows around grid seeds, then
// connected regions.
#include "nn_interpretability/visualization/superpixels.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <opencv2/imgproc.hpp>

#include "checks.h"

namespace nn_interpretability::visualization {
namespace {

struct Center {
  double l, a, b, y, x;
};

// The image as CIELAB planes (L 0–100, a and b about −128–127), each [H · W].
std::vector<std::vector<float>> lab_planes(const at::Tensor& image) {
  const int64_t channels = image.size(0), height = image.size(1), width = image.size(2);
  const at::Tensor hwc = image.permute({1, 2, 0}).contiguous().to(at::kFloat).clamp(0, 1);
  std::vector<std::vector<float>> planes(3, std::vector<float>(static_cast<size_t>(height * width), 0.0f));
  if (channels == 3) {
    cv::Mat rgb(static_cast<int>(height), static_cast<int>(width), CV_32FC3, hwc.data_ptr<float>());
    cv::Mat lab;
    cv::cvtColor(rgb, lab, cv::COLOR_RGB2Lab);  // float input in [0, 1]: L in 0–100
    for (int64_t i = 0; i < height * width; ++i) {
      const cv::Vec3f& v = lab.at<cv::Vec3f>(static_cast<int>(i / width), static_cast<int>(i % width));
      for (int c = 0; c < 3; ++c) planes[c][i] = v[c];
    }
  } else {
    const float* grey = hwc.data_ptr<float>();
    for (int64_t i = 0; i < height * width; ++i) planes[0][i] = 100.0f * grey[i * channels];
  }
  return planes;
}

// Labels 4-connected and renumbered 0 .. K − 1; regions below `smallest` pixels join the previous
// region met in scan order (SLIC's connectivity step).
std::vector<int64_t> connected(const std::vector<int64_t>& labels, int64_t height, int64_t width, int64_t smallest) {
  std::vector<int64_t> result(labels.size(), -1);
  int64_t next = 0;
  const int dy[4] = {-1, 0, 1, 0}, dx[4] = {0, -1, 0, 1};
  std::vector<int64_t> region;
  for (int64_t start = 0; start < height * width; ++start) {
    if (result[start] >= 0) continue;
    // A neighbour already labelled: where a too-small region goes.
    int64_t adjacent = -1;
    const int64_t sy = start / width, sx = start % width;
    for (int k = 0; k < 4; ++k) {
      const int64_t y = sy + dy[k], x = sx + dx[k];
      if (y >= 0 && y < height && x >= 0 && x < width && result[y * width + x] >= 0) adjacent = result[y * width + x];
    }
    region.assign(1, start);
    result[start] = next;
    for (size_t i = 0; i < region.size(); ++i) {
      const int64_t py = region[i] / width, px = region[i] % width;
      for (int k = 0; k < 4; ++k) {
        const int64_t y = py + dy[k], x = px + dx[k];
        if (y < 0 || y >= height || x < 0 || x >= width) continue;
        const int64_t q = y * width + x;
        if (result[q] < 0 && labels[q] == labels[start]) {
          result[q] = next;
          region.push_back(q);
        }
      }
    }
    if (static_cast<int64_t>(region.size()) < smallest && adjacent >= 0) {
      for (int64_t p : region) result[p] = adjacent;
    } else {
      ++next;
    }
  }
  return result;
}

std::vector<int64_t> slic_one(const at::Tensor& image, const SlicOptions& options) {
  const int64_t height = image.size(1), width = image.size(2);
  const std::vector<std::vector<float>> lab = lab_planes(image);
  const int64_t pixels = height * width;
  const double step = std::max(1.0, std::sqrt(static_cast<double>(pixels) / static_cast<double>(options.segments())));
  // Seeds on a grid of `step`, each moved to the lowest colour gradient of its 3 × 3 neighbourhood.
  auto gradient = [&](int64_t y, int64_t x) {
    if (y <= 0 || y >= height - 1 || x <= 0 || x >= width - 1) return std::numeric_limits<double>::infinity();
    double g = 0;
    for (int c = 0; c < 3; ++c) {
      const double gx = lab[c][y * width + x + 1] - lab[c][y * width + x - 1];
      const double gy = lab[c][(y + 1) * width + x] - lab[c][(y - 1) * width + x];
      g += gx * gx + gy * gy;
    }
    return g;
  };
  std::vector<Center> centers;
  for (double cy = step / 2; cy < height; cy += step) {
    for (double cx = step / 2; cx < width; cx += step) {
      int64_t by = static_cast<int64_t>(cy), bx = static_cast<int64_t>(cx);
      double best = gradient(by, bx);
      for (int64_t y = by - 1; y <= by + 1; ++y)
        for (int64_t x = bx - 1; x <= bx + 1; ++x)
          if (gradient(y, x) < best) {
            best = gradient(y, x);
            by = y;
            bx = x;
          }
      const int64_t p = std::clamp<int64_t>(by, 0, height - 1) * width + std::clamp<int64_t>(bx, 0, width - 1);
      centers.push_back({lab[0][p], lab[1][p], lab[2][p], static_cast<double>(p / width), static_cast<double>(p % width)});
    }
  }
  std::vector<int64_t> labels(static_cast<size_t>(pixels), 0);
  std::vector<double> distance(static_cast<size_t>(pixels));
  const double spatial = options.compactness() / step;  // m / S
  for (int64_t iteration = 0; iteration < options.iterations(); ++iteration) {
    std::fill(distance.begin(), distance.end(), std::numeric_limits<double>::infinity());
    for (size_t k = 0; k < centers.size(); ++k) {
      const Center& c = centers[k];
      const int64_t y0 = std::max<int64_t>(0, static_cast<int64_t>(c.y - step)), y1 = std::min<int64_t>(height - 1, static_cast<int64_t>(c.y + step));
      const int64_t x0 = std::max<int64_t>(0, static_cast<int64_t>(c.x - step)), x1 = std::min<int64_t>(width - 1, static_cast<int64_t>(c.x + step));
      for (int64_t y = y0; y <= y1; ++y)
        for (int64_t x = x0; x <= x1; ++x) {
          const int64_t p = y * width + x;
          const double dl = lab[0][p] - c.l, da = lab[1][p] - c.a, db = lab[2][p] - c.b;
          const double sy = (y - c.y) * spatial, sx = (x - c.x) * spatial;
          const double d = dl * dl + da * da + db * db + sy * sy + sx * sx;
          if (d < distance[p]) {
            distance[p] = d;
            labels[p] = static_cast<int64_t>(k);
          }
        }
    }
    std::vector<Center> sums(centers.size(), Center{0, 0, 0, 0, 0});
    std::vector<int64_t> counts(centers.size(), 0);
    for (int64_t p = 0; p < pixels; ++p) {
      Center& s = sums[labels[p]];
      s.l += lab[0][p];
      s.a += lab[1][p];
      s.b += lab[2][p];
      s.y += static_cast<double>(p / width);
      s.x += static_cast<double>(p % width);
      ++counts[labels[p]];
    }
    for (size_t k = 0; k < centers.size(); ++k) {
      if (counts[k] == 0) continue;  // an empty cluster keeps its place
      const double n = static_cast<double>(counts[k]);
      centers[k] = {sums[k].l / n, sums[k].a / n, sums[k].b / n, sums[k].y / n, sums[k].x / n};
    }
  }
  const int64_t smallest = std::max<int64_t>(1, pixels / static_cast<int64_t>(centers.size()) / 4);
  return connected(labels, height, width, smallest);
}

}  // namespace

at::Tensor slic_superpixels(const at::Tensor& images, const SlicOptions& options) {
  detail::check_batch(images, "slic_superpixels", "images");
  TORCH_CHECK_VALUE(images.size(1) == 1 || images.size(1) == 3, "slic_superpixels: images must have 1 or 3 channels, got ",
                    images.size(1));
  TORCH_CHECK_VALUE(options.segments() >= 1, "slic_superpixels: segments must be >= 1, got ", options.segments());
  TORCH_CHECK_VALUE(options.compactness() > 0 && std::isfinite(options.compactness()),
                    "slic_superpixels: compactness must be > 0, got ", options.compactness());
  TORCH_CHECK_VALUE(options.iterations() >= 1, "slic_superpixels: iterations must be >= 1, got ", options.iterations());
  const at::Tensor cpu = images.detach().to(at::kCPU);
  const int64_t batch = images.size(0), height = images.size(2), width = images.size(3);
  at::Tensor result = at::empty({batch, 1, height, width}, at::TensorOptions().dtype(at::kLong));
  for (int64_t n = 0; n < batch; ++n) {
    const std::vector<int64_t> labels = slic_one(cpu[n], options);
    std::copy(labels.begin(), labels.end(), result[n].data_ptr<int64_t>());
  }
  return result.to(images.device());
}

}  // namespace nn_interpretability::visualization
