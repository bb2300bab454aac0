#include "nn_interpretability/core/threads.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <ATen/Parallel.h>

#include "nn_interpretability/core/blas.h"

namespace nn_interpretability {
namespace {

int affinity_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
  return CPU_COUNT(&set);
}

// The cgroup directories this process is in: v2's unified path and v1's cpu controller path.
std::string cgroup_path(bool v2) {
  std::ifstream file("/proc/self/cgroup");
  std::string line;
  while (std::getline(file, line)) {
    // "hierarchy-id:controllers:path"
    const auto first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (v2 && line.compare(0, first, "0") == 0 && controllers.empty()) return path;
    if (!v2) {
      std::stringstream list(controllers);
      std::string name;
      while (std::getline(list, name, ','))
        if (name == "cpu") return path;
    }
  }
  return {};
}

// A quota in cores, or 0 when there is none; looked for in the process's cgroup and its parents.
double quota_cores() {
  auto parents = [](std::string path, auto&& read) -> double {
    while (true) {
      if (const double cores = read(path); cores > 0) return cores;
      if (path.empty() || path == "/") return 0;
      const auto slash = path.find_last_of('/');
      path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
    }
  };
  if (const std::string v2 = cgroup_path(true); !v2.empty()) {
    const double cores = parents(v2, [](const std::string& path) {
      std::ifstream file("/sys/fs/cgroup" + (path == "/" ? std::string() : path) + "/cpu.max");
      std::string quota;
      double period = 0;
      if (!(file >> quota >> period) || quota == "max" || period <= 0) return 0.0;
      try {
        return std::stod(quota) / period;
      } catch (const std::exception&) {
        return 0.0;
      }
    });
    if (cores > 0) return cores;
  }
  if (const std::string v1 = cgroup_path(false); !v1.empty()) {
    return parents(v1, [](const std::string& path) {
      for (const char* root : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
        const std::string dir = root + (path == "/" ? std::string() : path);
        std::ifstream quota_file(dir + "/cpu.cfs_quota_us"), period_file(dir + "/cpu.cfs_period_us");
        double quota = 0, period = 0;
        if (quota_file >> quota && period_file >> period && quota > 0 && period > 0) return quota / period;
      }
      return 0.0;
    });
  }
  return 0;
}

}  // namespace

int available_cores() {
  int cores = affinity_cores();
  if (cores <= 0) cores = static_cast<int>(std::max(1, at::get_num_interop_threads()));
  if (const double quota = quota_cores(); quota > 0) cores = std::min(cores, static_cast<int>(std::ceil(quota)));
  return std::max(1, cores);
}

ThreadSettings set_threads(int threads, int blas_threads) {
  if (threads <= 0) {
    // An explicit OMP_NUM_THREADS stands (LibTorch reads it too); otherwise every available core.
    const char* variable = std::getenv("OMP_NUM_THREADS");
    threads = variable != nullptr && std::atoi(variable) > 0 ? std::atoi(variable) : available_cores();
  }
  at::set_num_threads(threads);
  if (blas_threads <= 0) {
    // The user's OPENBLAS_NUM_THREADS stands; otherwise one thread (see threads.h).
    const char* variable = std::getenv("OPENBLAS_NUM_THREADS");
    blas_threads = variable != nullptr ? std::max(1, std::atoi(variable)) : 1;
  }
  set_blas_threads(blas_threads);
  return current_threads();
}

ThreadSettings current_threads() {
  ThreadSettings settings;
  settings.intra_op = at::get_num_threads();
  settings.blas = blas_info().threads;
  return settings;
}

}  // namespace nn_interpretability
