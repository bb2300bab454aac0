#pragma once
// Input checks the metrics share (private to src/metrics).

#include <cstdint>
#include <vector>

#include <ATen/core/Generator.h>
#include <torch/types.h>

namespace nn_interpretability {
namespace metrics {
namespace detail {

/// Attributions [N, ...] with N ≥ 1 and every value finite, as float64 rows [N, elements]; `metric`
/// names the caller in messages.
torch::Tensor checked_rows(const torch::Tensor& attributions, const char* metric);

/// The mask broadcast to the attributions, as bool rows [N, elements]; every example's mask must hold
/// at least one element.
torch::Tensor checked_mask(const torch::Tensor& mask, const torch::Tensor& attributions, const char* metric);

/// rank[e, i]: the place of element i in row e's order (decreasing when `descending`), ties by
/// position (a stable sort); `rows` [N, n].
torch::Tensor ranks(const torch::Tensor& rows, bool descending);

/// Each pixel's relevance, [N, P] float64: `attributions` summed over the channels for image batches
/// [N, C, ...] (P: the positions after the channel dimension), the elements themselves for [N, F].
/// `attributions` must have the input's shape, or one channel of it (a CAM map upsampled to the input).
torch::Tensor pixel_relevance(const torch::Tensor& attributions, const torch::Tensor& input, const char* metric);

/// The input's shape with one channel ([N, 1, ...]; [N, F] as it is): what a pixel mask [N, P] is viewed
/// as to broadcast over the channels.
std::vector<int64_t> pixel_shape(const torch::Tensor& input);

/// A CPU generator of its own for sample `sample` of example `example`: draws that do not depend on
/// how rows are chunked, the device or the global seed.
at::Generator sample_generator(uint64_t seed, int64_t example, int64_t sample);

/// The draws a user gave a sampling metric instead of its own: [N, S, ...] (per example) or [S, ...]
/// (shared) for `input` [N, ...]; checked (shape, finite) and S returned.
int64_t given_samples(const torch::Tensor& given, const torch::Tensor& input, const char* metric);

/// Rows `rows` [R] of the work list (row r: draw r % S of example r / S) of the `given` draws, on the
/// input's dtype and device.
torch::Tensor given_rows(const torch::Tensor& given, const torch::Tensor& input, const torch::Tensor& rows, int64_t samples);

/// Throws "<metric>: <what> in example(s) i, j, ..." where `bad` [N] is true.
void refuse_rows(const torch::Tensor& bad, const char* metric, const char* what);

}  // namespace detail
}  // namespace metrics
}  // namespace nn_interpretability
