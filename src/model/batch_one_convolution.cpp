#include "nn_interpretability/detail/batch_one_convolution.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/ops/_convolution.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/conv2d.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/library.h>

#include <functional>

namespace nn_interpretability {
namespace detail {
namespace {

// Below this many multiply-adds per row the copy and oneDNN's set-up cost more than the slow
// kernel saves (measured: 3->32 channels at 32x32, 0.9 M, is 1.9x slower copied; 64->128 1x1 at
// 16x16, 2.1 M, is 1.6x faster).
constexpr double kMinMultiplyAdds = 1.5e6;

at::Tensor first_row_of_copy(const at::Tensor& input, const std::function<at::Tensor(const at::Tensor&)>& conv) {
  // A copy of the first row, not a view: an in-place op after the convolution (ResNet's relu_) on a view
  // would hide its backward node inside a CopySlices node, where the guided-backprop and deconvolution
  // rules, which look for ReluBackward0, would not see it.
  return conv(at::cat({input, input}, 0)).narrow(0, 0, 1).clone();
}

at::Tensor conv2d(const at::Tensor& input, const at::Tensor& weight, const c10::optional<at::Tensor>& bias,
                  at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups) {
  auto conv = [&](const at::Tensor& x) { return at::conv2d(x, weight, bias, stride, padding, dilation, groups); };
  return runs_batch_one_copy(input, weight, stride, dilation, groups) ? first_row_of_copy(input, conv) : conv(input);
}

at::Tensor convolution(const at::Tensor& input, const at::Tensor& weight, const c10::optional<at::Tensor>& bias,
                       at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation, bool transposed,
                       at::IntArrayRef output_padding, int64_t groups, bool benchmark, bool deterministic,
                       bool cudnn_enabled, bool allow_tf32) {
  auto conv = [&](const at::Tensor& x) {
    return at::_convolution(x, weight, bias, stride, padding, dilation, transposed, output_padding, groups, benchmark,
                            deterministic, cudnn_enabled, allow_tf32);
  };
  return !transposed && runs_batch_one_copy(input, weight, stride, dilation, groups) ? first_row_of_copy(input, conv)
                                                                                     : conv(input);
}

TORCH_LIBRARY_FRAGMENT(nn_interpretability, m) {
  m.def("conv2d(Tensor input, Tensor weight, Tensor? bias, int[] stride, int[] padding, int[] dilation, int groups) "
        "-> Tensor",
        &conv2d);
  m.def("_convolution(Tensor input, Tensor weight, Tensor? bias, int[] stride, int[] padding, int[] dilation, "
        "bool transposed, int[] output_padding, int groups, bool benchmark, bool deterministic, bool cudnn_enabled, "
        "bool allow_tf32) -> Tensor",
        &convolution);
}

int replace_in(torch::jit::Block* block, torch::jit::Graph& graph) {
  static const c10::Symbol conv2d_symbol = c10::Symbol::fromQualString("nn_interpretability::conv2d");
  static const c10::Symbol convolution_symbol = c10::Symbol::fromQualString("nn_interpretability::_convolution");
  int replaced = 0;
  for (auto it = block->nodes().begin(); it != block->nodes().end();) {
    torch::jit::Node* node = *it++;
    for (torch::jit::Block* inner : node->blocks()) replaced += replace_in(inner, graph);
    c10::Symbol target;
    if (node->matches("aten::conv2d(Tensor input, Tensor weight, Tensor? bias, int[2] stride, int[2] padding, "
                      "int[2] dilation, int groups) -> Tensor")) {
      target = conv2d_symbol;
    } else if (node->kind() == c10::aten::_convolution && node->inputs().size() == 13) {
      target = convolution_symbol;
    } else {
      continue;
    }
    torch::jit::WithInsertPoint point(node);
    torch::jit::Node* call = graph.create(target, node->inputs(), 1);
    graph.insertNode(call);
    call->output()->setType(node->output()->type());
    call->setSourceRange(node->sourceRange());
    node->output()->replaceAllUsesWith(call->output());
    node->destroy();
    ++replaced;
  }
  return replaced;
}

}  // namespace

bool runs_batch_one_copy(const at::Tensor& input, const at::Tensor& weight, at::IntArrayRef stride,
                         at::IntArrayRef dilation, int64_t groups) {
  if (!at::hasMKLDNN() || !at::globalContext().userEnabledMkldnn()) return false;
  if (input.dim() != 4 || weight.dim() != 4 || input.size(0) != 1 || !input.device().is_cpu() ||
      input.scalar_type() != at::kFloat || input.layout() != at::kStrided || groups != 1)
    return false;
  const int64_t kernel_h = weight.size(2), kernel_w = weight.size(3);
  // What LibTorch already sends to oneDNN at batch 1.
  if ((kernel_h > 3 && kernel_w > 3) || input.numel() > 20480) return false;
  // A 1x1 kernel without stride or dilation stays on the slow kernel single-threaded even at batch 2.
  bool strided_or_dilated = false;
  for (int64_t s : stride) strided_or_dilated |= s != 1;
  for (int64_t d : dilation) strided_or_dilated |= d != 1;
  if (kernel_h == 1 && kernel_w == 1 && !strided_or_dilated && at::get_num_threads() == 1) return false;
  const int64_t stride_h = stride.empty() ? 1 : stride[0], stride_w = stride.size() < 2 ? stride_h : stride[1];
  const double outputs = static_cast<double>(weight.size(0)) * (static_cast<double>(input.size(2)) / stride_h) *
                         (static_cast<double>(input.size(3)) / stride_w);
  const double multiply_adds = outputs * static_cast<double>(weight.size(1)) * kernel_h * kernel_w;
  return multiply_adds >= kMinMultiplyAdds;
}

int use_batch_one_convolutions(torch::jit::Graph& graph) { return replace_in(graph.block(), graph); }

}  // namespace detail
}  // namespace nn_interpretability
