#include "nn_interpretability/detail/weight_cache.h"

#include <c10/core/GradMode.h>

namespace nn_interpretability {
namespace detail {
namespace {

int64_t version_of(const torch::Tensor& tensor) { return tensor.defined() ? tensor._version() : -1; }

bool same(const torch::Tensor& a, const torch::Tensor& b) {
  return a.defined() == b.defined() && (!a.defined() || a.unsafeGetTensorImpl() == b.unsafeGetTensorImpl());
}

}  // namespace

torch::Tensor WeightCache::get(const std::vector<torch::Tensor>& sources, int what, double parameter,
                               const std::function<torch::Tensor()>& derive) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Entry& entry : entries_) {
      if (entry.what != what || entry.parameter != parameter || entry.sources.size() != sources.size()) continue;
      bool hit = true;
      for (size_t i = 0; i < sources.size() && hit; ++i)
        hit = same(entry.sources[i], sources[i]) && entry.versions[i] == version_of(sources[i]);
      if (hit) return entry.value;
    }
  }
  torch::Tensor value;
  {
    c10::AutoGradMode no_grad(false);
    value = derive();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  // Drop what an edited or replaced source made stale; then bound the size.
  std::vector<Entry> kept;
  kept.reserve(entries_.size() + 1);
  for (Entry& entry : entries_) {
    bool stale = false;
    for (size_t i = 0; i < entry.sources.size() && !stale; ++i)
      stale = entry.sources[i].defined() && entry.versions[i] != version_of(entry.sources[i]);
    if (!stale) kept.push_back(std::move(entry));
  }
  if (kept.size() >= kMaxEntries) kept.clear();
  Entry entry{sources, {}, what, parameter, value};
  for (const torch::Tensor& source : sources) entry.versions.push_back(version_of(source));
  kept.push_back(std::move(entry));
  entries_ = std::move(kept);
  return value;
}

}  // namespace detail
}  // namespace nn_interpretability
