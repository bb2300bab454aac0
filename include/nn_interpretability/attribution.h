#pragma once
// The one verb every method shares.

#include <string>

#include <torch/types.h>

#include "nn_interpretability/model.h"
#include "nn_interpretability/target.h"

namespace nn_interpretability {

/// An attribution method: explains a model's score for each example of a batch.
///
/// Results are raw (never normalized: that is the visualization module's job), on the input's
/// device, and shaped like the input unless the method's documentation says otherwise
/// (e.g. SaliencyMap returns [N, 1, H, W]). Methods never change the model they explain.
class Attribution {
 public:
  virtual ~Attribution() = default;

  /// Attributions of `target`'s score for each example of `input` [N, ...].
  virtual torch::Tensor attribute(const torch::Tensor& input, const Target& target = Target()) = 0;

  /// The method's name, as used in error messages and by the command-line tool.
  virtual std::string name() const = 0;

  /// The model explained. Wrappers use it, e.g. to resolve "predicted class" on the clean input.
  virtual const Model& model() const = 0;
};

}  // namespace nn_interpretability
