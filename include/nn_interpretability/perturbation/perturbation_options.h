#pragma once
// The options every perturbation method shares: its baseline, its feature mask and the engine's.

#include <cstdint>

#include <torch/arg.h>

#include "nn_interpretability/perturbation/baseline.h"
#include "nn_interpretability/perturbation/feature_mask.h"
#include "nn_interpretability/perturbation/perturbation_engine.h"

namespace nn_interpretability {

/// CRTP base of a perturbation method's options struct (as CamOptionsBase is for CAMs): the setters
/// return the derived struct, so `ShapleyValueSamplingOptions().samples(50).baseline(0.5)` chains.
template <typename Derived>
struct PerturbationOptionsBase {
  /// What removed features take (default: 0).
  Derived& baseline(Baseline value) { baseline_ = std::move(value); return self(); }
  const Baseline& baseline() const { return baseline_; }
  /// How elements group into features (default: every element its own). Occlusion ignores it.
  Derived& feature_mask(FeatureMask value) { feature_mask_ = std::move(value); return self(); }
  const FeatureMask& feature_mask() const { return feature_mask_; }
  /// Perturbed rows per forward call (PerturbationEngineOptions::rows_per_call).
  Derived& rows_per_call(int64_t value) { engine_.rows_per_call(value); return self(); }
  int64_t rows_per_call() const { return engine_.rows_per_call(); }
  Derived& memory_budget(int64_t value) { engine_.memory_budget(value); return self(); }
  int64_t memory_budget() const { return engine_.memory_budget(); }
  /// Called after each chunk of rows with (done, total).
  Derived& progress(PerturbationProgress value) { engine_.progress(std::move(value)); return self(); }
  const PerturbationEngineOptions& engine_options() const { return engine_; }

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
  Baseline baseline_;
  FeatureMask feature_mask_;
  PerturbationEngineOptions engine_;
};

}  // namespace nn_interpretability
