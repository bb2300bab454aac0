#pragma once
// Batch-1 convolutions on the fast CPU backend, for the TorchScript path.
//
// LibTorch (1.13; the rule is in ConvUtils' use_mkldnn) sends a float32 CPU convolution with batch 1,
// a kernel of at most 3 in some dimension and an input of at most 20480 elements to its slow
// im2col + BLAS kernel, forward and backward; from batch 2 on it takes oneDNN. For the mid-size
// convolutions of a ResNet or VGG at CIFAR/64x64 sizes, oneDNN on two copies of the row is 3-6x
// faster than the slow kernel on one (measured, docs/benchmarks.md). So the TorchScript graphs the
// library runs call `nn_interpretability::conv2d` / `_convolution` in place of aten's: the same
// convolution, which for such a batch-1 input runs on [x; x] and keeps the first row. Row 0 of a
// convolution depends on row 0 only, so the result is the same up to the backends' rounding
// (float32, ~1e-6 relative); the copy's gradient is exactly zero. Anything else (other batch sizes,
// float64, CUDA, small convolutions where the copy costs more than it saves) calls aten unchanged.

#include <ATen/core/Tensor.h>
#include <c10/util/ArrayRef.h>

namespace torch {
namespace jit {
struct Graph;
}  // namespace jit
}  // namespace torch

namespace nn_interpretability {
namespace detail {

/// Replaces aten::conv2d (int-padding overload) and non-transposed aten::_convolution nodes of the
/// graph, in every block, by the library's batch-1-aware operators. Returns how many it replaced.
int use_batch_one_convolutions(torch::jit::Graph& graph);

/// Whether a convolution with these operands is one that the library runs on two copies of its row.
bool runs_batch_one_copy(const at::Tensor& input, const at::Tensor& weight, at::IntArrayRef stride,
                         at::IntArrayRef dilation, int64_t groups);

}  // namespace detail
}  // namespace nn_interpretability
