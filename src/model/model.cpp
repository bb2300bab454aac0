#include "nn_interpretability/model/model.h"

#include <cmath>
#include "nn_interpretability/detail/buffer_restorer.h"
#include "nn_interpretability/detail/checks.h"

#include <c10/util/Exception.h>
#include <torch/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>


namespace nn_interpretability {
namespace detail {
namespace {

class FunctionBackend final : public ModelBackend {
 public:
  explicit FunctionBackend(ForwardFunction forward) : forward_(std::move(forward)) {}
  torch::Tensor forward(const torch::Tensor& input) override { return forward_(input); }
  std::vector<torch::Tensor> tensors() const override { return {}; }
  std::string describe() const override { return "forward function"; }
  std::string copy_unavailable_reason() const override {
    return "a forward function has no parameters the library can copy; give the module or the TorchScript model";
  }

 private:
  ForwardFunction forward_;
};

}  // namespace
}  // namespace detail

Model::Model(std::shared_ptr<torch::nn::Module> module, ForwardFunction forward)
    : Model(detail::make_module_backend(std::move(module), std::move(forward), /*forward_is_module_forward=*/false)) {}

Model Model::deep_copy() const {
  std::shared_ptr<ModelBackend> copy = backend_->deep_copy();
  TORCH_CHECK_VALUE(copy != nullptr, "nn_interpretability::Model: cannot copy the ", backend_->describe(), ": ",
                    backend_->copy_unavailable_reason());
  return Model(std::move(copy));
}

Model::Model(std::shared_ptr<detail::ModelBackend> backend) : backend_(std::move(backend)) {
  TORCH_CHECK_VALUE(backend_ != nullptr, "nn_interpretability::Model: the backend is null");
}

Model::Model(ForwardFunction forward) {
  TORCH_CHECK_VALUE(static_cast<bool>(forward), "nn_interpretability::Model: the forward function is empty");
  backend_ = std::make_shared<detail::FunctionBackend>(std::move(forward));
}

namespace detail {

void check_batch(const torch::Tensor& input, const char* method) {
  TORCH_CHECK_VALUE(input.defined(), method, ": the input tensor is undefined");
  TORCH_CHECK_TYPE(input.is_floating_point(), method, ": the input must be a floating-point tensor, got ",
                   input.scalar_type());
  TORCH_CHECK_VALUE(input.dim() >= 2, method, ": the input must be a batch [N, ...] of rank >= 2, got shape ",
                    input.sizes());
  TORCH_CHECK_VALUE(input.size(0) > 0, method, ": empty batch (input shape ", input.sizes(), ")");
  TORCH_CHECK_VALUE(input.numel() > 0, method, ": the input has no elements (shape ", input.sizes(), ")");
  // One reduction and one sync on the fast path: a finite sum means no NaN or Inf (a sum that
  // overflows falls through to the exact check). Message arguments are evaluated only on failure.
  if (std::isfinite(input.sum().item<double>())) return;
  TORCH_CHECK_VALUE(input.isfinite().all().item<bool>(), method, ": the input contains NaN or Inf (",
                    input.isnan().sum().item<int64_t>(), " NaN, ", input.isinf().sum().item<int64_t>(),
                    " Inf values)");
}

}  // namespace detail

void Model::check_input(const torch::Tensor& input, const char* method) const {
  detail::check_batch(input, method);
  const torch::Tensor tensor = backend_->reference_parameter();
  if (tensor.defined()) {
    TORCH_CHECK_TYPE(tensor.scalar_type() == input.scalar_type(), method, ": the input dtype ",
                     input.scalar_type(), " differs from the model's parameter dtype ", tensor.scalar_type(),
                     "; convert the input with .to(", tensor.scalar_type(), ")");
    TORCH_CHECK_VALUE(tensor.device() == input.device(), method, ": the input is on ", input.device(),
                      " but the model is on ", tensor.device());
  }
}

namespace detail {

torch::Tensor checked_forward(const ModelBackend& backend, const torch::Tensor& input,
                              const std::function<torch::Tensor()>& forward) {
  BufferRestorer restore_buffers(backend);
  torch::Tensor output;
  try {
    output = forward();
  } catch (const c10::Error& error) {
    TORCH_CHECK_VALUE(false, "the ", backend.describe(), " failed on an input of shape ", input.sizes(),
                      " and dtype ", input.scalar_type(), ": ", error.what_without_backtrace());
  } catch (const std::exception& error) {
    // TorchScript's interpreter reports runtime errors as torch::jit::JITException, a
    // std::runtime_error: they, too, must name the input's shape and dtype.
    TORCH_CHECK_VALUE(false, "the ", backend.describe(), " failed on an input of shape ", input.sizes(),
                      " and dtype ", input.scalar_type(), ": ", error.what());
  }
  TORCH_CHECK_VALUE(output.defined(), "the ", backend.describe(), " returned an undefined tensor");
  TORCH_CHECK_VALUE(output.dim() >= 1, "the ", backend.describe(),
                    " must return a batch of scores [N, ...] (e.g. [N, classes]), got a 0-d tensor");
  TORCH_CHECK_VALUE(output.size(0) == input.size(0), "the ", backend.describe(), " returned ", output.size(0),
                    " rows for a batch of ", input.size(0));
  TORCH_CHECK_VALUE(output.numel() > 0, "the ", backend.describe(), " returned an empty output of shape ",
                    output.sizes());
  // NaN or Inf scores would turn into maps that look finite (gradients of NaN are often 0) or are all
  // NaN (Score-CAM). One reduction and one sync on the fast path, as in check_batch: a finite sum
  // means no NaN or Inf; a sum that overflows falls through to the exact per-row check.
  if (output.is_floating_point() && !std::isfinite(output.detach().sum().item<double>())) {
    const torch::Tensor bad_rows = output.detach().isfinite().logical_not().reshape({output.size(0), -1}).any(1).nonzero().flatten().cpu();
    if (bad_rows.numel() > 0) {
      std::string rows;
      for (int64_t i = 0; i < std::min<int64_t>(bad_rows.numel(), 10); ++i)
        rows += (i ? ", " : "") + std::to_string(bad_rows[i].item<int64_t>());
      if (bad_rows.numel() > 10) rows += ", ... (" + std::to_string(bad_rows.numel()) + " rows)";
      TORCH_CHECK_VALUE(false, "the ", backend.describe(), " returned NaN or Inf scores in row",
                        bad_rows.numel() > 1 ? "s " : " ", rows, " (of ", output.size(0), ") for an input of shape ",
                        input.sizes(), " and dtype ", input.scalar_type(),
                        "; the model overflows or divides by zero on these examples, so no explanation of them "
                        "would mean anything");
    }
  }
  return output;
}

}  // namespace detail

torch::Tensor Model::forward(const torch::Tensor& input) const {
  return detail::checked_forward(*backend_, input, [&] { return backend_->forward(input); });
}

}  // namespace nn_interpretability

namespace nn_interpretability {

torch::Tensor tile_rows(const torch::Tensor& fixed, int64_t rows, const std::string& name) {
  TORCH_CHECK_VALUE(fixed.defined(), name, " is an undefined tensor");
  if (fixed.dim() == 0 || fixed.size(0) == rows) return fixed;
  const int64_t own = fixed.size(0);
  TORCH_CHECK_VALUE(own > 0 && rows % own == 0, name, " has ", own, " rows but the pass has ", rows,
                    ", not a multiple: give it one row per example of the input explained, or one row for all");
  if (own == 1) {
    std::vector<int64_t> shape = fixed.sizes().vec();
    shape[0] = rows;
    return fixed.expand(shape);
  }
  std::vector<int64_t> times(static_cast<size_t>(fixed.dim()), 1);
  times[0] = rows / own;
  return fixed.repeat(times);
}

}  // namespace nn_interpretability
