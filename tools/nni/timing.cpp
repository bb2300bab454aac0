#include "timing.h"

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <sstream>
#include <vector>

#include <torch/cuda.h>

namespace nni_cli {

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index() < 0 ? -1 : device.index());
}

double median_milliseconds(const std::function<void()>& call, int64_t repeat, const torch::Device& device) {
  call();  // warm-up
  synchronize(device);
  std::vector<double> times;
  for (int64_t k = 0; k < repeat; ++k) {
    const auto start = std::chrono::steady_clock::now();
    call();
    synchronize(device);
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  if (times.empty()) return 0;
  std::sort(times.begin(), times.end());
  const std::size_t middle = times.size() / 2;
  return times.size() % 2 ? times[middle] : (times[middle - 1] + times[middle]) / 2;
}

std::string timing_json(const std::string& method, double median_ms, int64_t calls, int64_t batch,
                        const torch::Device& device) {
  std::ostringstream json;
  json << std::setprecision(6) << "{\"method\":\"" << method << "\",\"median_ms\":" << median_ms
       << ",\"calls\":" << calls << ",\"batch\":" << batch << ",\"device\":\"" << device.str() << "\"}";
  return json.str();
}

}  // namespace nni_cli
