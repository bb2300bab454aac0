#pragma once
// What `nni attribute` explains: --target, --targets, --target-fn and their files (docs/cli.md).

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "arguments.h"
#include "nn_interpretability/core/target.h"
#include "nn_interpretability/model/model.h"

namespace nni_cli {

/// The targets of a run, read and checked before the model is loaded.
struct TargetSpec {
  enum class Function { kClass, kSoftmax, kLogSoftmax, kLogSumExp, kRegression, kSegmentation, kBox };
  enum class Classes { kPredicted, kIndex, kIndices, kList };
  Function function = Function::kClass;
  Classes classes = Classes::kPredicted;
  int64_t index = 0;
  torch::Tensor indices;        // [N] int64, CPU (--target FILE.npy)
  std::vector<int64_t> list;    // --targets 3,5,7
  torch::Tensor mask;           // --target-mask: [N or 1, *spatial], CPU
  torch::Tensor boxes;          // --target-box: [1 or N, 4], CPU
  double iou = 0.5;

  /// Whether the run explains several targets per example (--targets): results are [N, K, ...].
  bool several() const { return classes == Classes::kList; }
  /// A label per target, for PNG names: "class3", or "target" for one target.
  std::vector<std::string> labels() const;

  /// The targets for examples begin..end-1 of the input, on `device`. `batch` is those rows (some
  /// score functions need the predicted class of the clean batch, found with one no-grad forward).
  std::vector<nn_interpretability::Target> for_rows(int64_t begin, int64_t end, const torch::Device& device,
                                                    const torch::Tensor& batch,
                                                    const nn_interpretability::Model& model) const;
};

/// The option specs this module reads.
std::vector<OptionSpec> target_option_specs();

/// Reads --target, --targets, --target-fn, --target-mask, --target-box and --iou for an input of
/// `examples` examples. Usage errors (exit 2) for bad combinations, input errors (exit 3) for files.
TargetSpec parse_targets(const Arguments& args, int64_t examples);

/// The help lines of those options.
extern const char* kTargetHelp;

}  // namespace nni_cli
