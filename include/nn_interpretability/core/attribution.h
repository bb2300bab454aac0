#pragma once
// The one verb every method shares, and the base a method derives from.

#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "nn_interpretability/core/target.h"
#include "nn_interpretability/model/model.h"

namespace nn_interpretability {

/// An attribution method: explains a model's score for each example of a batch.
///
/// Results are raw (never normalized: that is the visualization module's job), on the input's
/// device, and shaped like the input unless the method's documentation says otherwise
/// (e.g. SaliencyMap returns [N, 1, H, W]). Methods never change the model they explain.
///
/// A method implements compute(); attribute() is the same for all of them: it checks the input
/// once (a batch, finite, the model's dtype and device) and makes every error name the method, so
/// no method repeats those checks and their messages cannot drift apart (docs/adding_a_method.md).
class Attribution {
 public:
  virtual ~Attribution() = default;

  /// Attributions of `target`'s score for each example of `input` [N, ...]. Every exception is a
  /// c10::Error whose message starts with the method's class name, e.g. "GradCam: ...".
  torch::Tensor attribute(const torch::Tensor& input, const Target& target = Target());

  /// Attributions of several targets in one call: [N, K, ...] for K targets, where [:, k] is what
  /// attribute(input, targets[k]) returns. Class targets (indices) run as one call on the K copies of
  /// the batch stacked (K·N rows: one batched forward and backward instead of K calls); other
  /// targets run one call each. Gradient CAMs share one forward pass among the K targets (one
  /// backward to the layer per target). `attribute(images, {3, 5, 7})`: three maps per image.
  torch::Tensor attribute(const torch::Tensor& input, const std::vector<Target>& targets);

  /// The method's registered name, as the command-line tool and the registry spell it ("grad_cam").
  virtual std::string name() const = 0;

  /// The C++ class name that starts every error message ("GradCam").
  virtual std::string class_name() const = 0;

  /// The model explained. Wrappers use it, e.g. to resolve "predicted class" on the clean input.
  virtual const Model& model() const = 0;

 protected:
  /// A shape the method needs beyond "a batch [N, ...]" (e.g. an image batch [N, C, H, W]): checked
  /// first, on a defined input, so the message says what the method needs. The default accepts any.
  virtual void check_input_shape(const torch::Tensor& input) const;

  /// The method itself. `input` has passed Model::check_input; errors thrown here need not name
  /// the method (attribute() adds the class name to any message that does not start with one).
  virtual torch::Tensor compute(const torch::Tensor& input, const Target& target) = 0;

  /// Several targets, stacked on dimension 1 ([N, K, ...]); `input` has passed the checks. The
  /// default stacks the batch for class targets and loops over the others (see attribute).
  virtual torch::Tensor compute_several(const torch::Tensor& input, const std::vector<Target>& targets);
};

/// The base of every method that explains one model (all but wrappers such as SmoothGrad).
class ModelAttribution : public Attribution {
 public:
  const Model& model() const override { return model_; }

 protected:
  explicit ModelAttribution(Model model) : model_(std::move(model)) {}

  Model model_;
};

namespace detail {

/// Runs `body`, rethrowing any c10::Error whose message does not already start with a class name
/// ("Name: ...") as the same error type with "<class_name>: " in front. Shared by attribute() and the
/// methods' extra entry points (e.g. IntegratedGradients::attribute_with_delta).
template <typename Body>
auto naming_errors(const std::string& class_name, Body&& body) -> decltype(body());

[[noreturn]] void rethrow_named(const std::string& class_name);

template <typename Body>
auto naming_errors(const std::string& class_name, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const c10::Error&) {
    rethrow_named(class_name);
  }
}

}  // namespace detail
}  // namespace nn_interpretability
