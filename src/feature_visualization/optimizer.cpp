#include "nn_interpretability/feature_visualization/optimizer.h"

#include <cmath>
#include <utility>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

namespace nn_interpretability {

GradientAscent::GradientAscent(OptimizerOptions options, std::string caller) : options_(std::move(options)) {
  const auto& o = options_;
  TORCH_CHECK_VALUE(o.iterations() >= 0, caller, ": optimizer.iterations must be >= 0, got ", o.iterations());
  TORCH_CHECK_VALUE(std::isfinite(o.learning_rate()) && o.learning_rate() > 0, caller,
                    ": optimizer.learning_rate must be a finite value > 0, got ", o.learning_rate());
  TORCH_CHECK_VALUE(o.momentum() >= 0 && o.momentum() < 1, caller, ": optimizer.momentum must be in [0, 1), got ",
                    o.momentum());
  if (o.stop_probability()) {
    TORCH_CHECK_VALUE(*o.stop_probability() > 0 && *o.stop_probability() <= 1, caller,
                      ": optimizer.stop_probability must be in (0, 1], got ", *o.stop_probability());
  }
  TORCH_CHECK_VALUE(o.progress_every() >= 1, caller, ": optimizer.progress_every must be >= 1, got ",
                    o.progress_every());
}

AscentRun GradientAscent::run(const torch::Tensor& variable, const Evaluate& evaluate, const Project& project) const {
  const auto& o = options_;
  const int64_t batch = variable.size(0);
  std::vector<int64_t> row_shape(variable.dim(), 1);
  row_shape[0] = batch;
  torch::Tensor first_moment = at::zeros_like(variable);   // Adam m, or SGD's velocity
  torch::Tensor second_moment = at::zeros_like(variable);  // Adam v
  torch::Tensor active = at::ones({batch}, variable.options().dtype(at::kBool));
  const bool stopping = o.stop_probability().has_value();

  AscentRun result;
  result.stop_iteration.assign(static_cast<size_t>(batch), -1);

  const double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  int64_t step = 0;
  for (; step < o.iterations(); ++step) {
    AscentEvaluation evaluation = evaluate(variable);
    // The gradient with respect to the optimized tensor only: no parameter gradient is computed,
    // nothing accumulates in any .grad.
    torch::Tensor gradient = torch::autograd::grad({evaluation.total.sum()}, {variable}, {}, /*retain_graph=*/false,
                                                   /*create_graph=*/false, /*allow_unused=*/true)[0];
    if (!gradient.defined()) gradient = at::zeros_like(variable);

    const bool report = o.progress() && ((step + 1) % o.progress_every() == 0 || step + 1 == o.iterations());
    torch::Tensor probabilities;
    if (stopping || report) probabilities = evaluation.class_probabilities();
    if (stopping) {
      torch::Tensor reached = active.logical_and(probabilities >= *o.stop_probability());
      torch::Tensor reached_cpu = reached.cpu();
      const bool* flags = reached_cpu.data_ptr<bool>();
      bool any_reached = false;
      for (int64_t i = 0; i < batch; ++i) {
        if (flags[i]) {
          result.stop_iteration[static_cast<size_t>(i)] = step;
          any_reached = true;
        }
      }
      if (any_reached) active = active.logical_and(reached.logical_not());
      bool any_active = false;
      for (int64_t i = 0; i < batch; ++i) any_active = any_active || result.stop_iteration[static_cast<size_t>(i)] < 0;
      if (!any_active) break;
    }

    {
      torch::NoGradGuard no_grad;
      // Stopped rows are frozen: no update, and the projection leaves them as they are.
      torch::Tensor mask = stopping ? active.to(variable.scalar_type()).view(row_shape) : torch::Tensor();
      if (mask.defined()) gradient = gradient * mask;
      torch::Tensor update;
      if (o.algorithm() == AmOptimizer::kAdam) {
        const double t = static_cast<double>(step + 1);
        first_moment.mul_(beta1).add_(gradient, 1 - beta1);
        second_moment.mul_(beta2).addcmul_(gradient, gradient, 1 - beta2);
        torch::Tensor denominator = (second_moment / (1 - std::pow(beta2, t))).sqrt_().add_(epsilon);
        update = (first_moment / denominator).mul_(o.learning_rate() / (1 - std::pow(beta1, t)));
      } else {
        first_moment.mul_(o.momentum()).add_(gradient);
        update = first_moment * o.learning_rate();
      }
      if (mask.defined()) update.mul_(mask);
      variable.add_(update);  // ascent
      torch::Tensor projected = project(variable, step + 1);
      if (!projected.is_same(variable)) {
        variable.copy_(mask.defined() ? at::where(mask.to(at::kBool), projected, variable) : projected);
      }
    }

    if (report) {
      AscentProgress progress;
      progress.iteration = step + 1;
      progress.objective = evaluation.objective.detach();
      progress.mean_objective = progress.objective.mean().item<double>();
      progress.probabilities = probabilities;
      progress.active = active.clone();
      o.progress()(progress);
    }
  }
  result.iterations_run = step;
  return result;
}

}  // namespace nn_interpretability
