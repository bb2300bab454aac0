#include "nn_interpretability/metrics/explainer.h"

#include <memory>
#include <mutex>

#include "nn_interpretability/registry/registry.h"

namespace nn_interpretability {
namespace metrics {

Explainer registered_explainer(const std::string& name, const MethodConfig& config) {
  (void)method_info(name);  // an unknown name fails now, listing the valid ones
  // The cache holds the model it was built on, so its backend cannot be freed and its address
  // reused by another model while the cache refers to it.
  struct Cache {
    std::mutex mutex;
    std::unique_ptr<Model> model;
    std::shared_ptr<Attribution> method;
  };
  auto cache = std::make_shared<Cache>();
  return [name, config, cache](const Model& model, const torch::Tensor& input, const Target& target) {
    std::shared_ptr<Attribution> method;
    {
      std::lock_guard<std::mutex> lock(cache->mutex);
      if (!cache->model || &cache->model->backend() != &model.backend()) {
        cache->method = make_method(name, model, config);
        cache->model = std::make_unique<Model>(model);
      }
      method = cache->method;
    }
    return method->attribute(input, target);
  };
}

}  // namespace metrics
}  // namespace nn_interpretability
