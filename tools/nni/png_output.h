#pragma once
// `nni attribute --png`: one picture per explained example.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "cli_input.h"

namespace nni_cli {

/// Writes one PNG per example into `directory` (created if needed), named <row>_<method>.png: a
/// heatmap overlay on the input for layer maps, a signed blue-white-red map otherwise. `rows` are the
/// examples' indices in the whole input; `normalized_by_user` means the input was normalized with
/// `image`'s mean and std (undone for the background). Throws CliError(kRuntimeError) on failure.
void write_pngs(const std::string& directory, const torch::Tensor& attributions, const torch::Tensor& images,
                const std::vector<int64_t>& rows, bool layer_map, const ImageOptions& image, bool normalized_by_user,
                const std::string& method);

}  // namespace nni_cli
