#pragma once
// The state of one forward pass that captures layers: what each backend's mechanism reports when a
// requested layer runs, and what the rest of the forward pass gets instead of the layer's output.
// One session per forward pass, active in the calling thread only (thread-local).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "nn_interpretability/model/layer.h"

namespace nn_interpretability {
namespace detail {

/// How a call was seen: the three differ in what they can hand the rest of the forward pass.
enum class CallSource {
  kMark,        ///< mark_layer in the model's forward: a copy or the replacement is handed on
  kRewrite,     ///< a mechanism that sits between the layer and its users (Sequential, TorchScript)
  kObservation  ///< operator observation: the output cannot be swapped, only watched
};

class LayerSession {
 public:
  /// `requests` must outlive the session; `call_counts` (optional) gives each layer's known number of
  /// calls, which resolves negative call indices before the forward pass (needed to replace them).
  LayerSession(const std::vector<LayerRequest>& requests, std::vector<int64_t> call_counts = {});
  ~LayerSession();
  LayerSession(const LayerSession&) = delete;
  LayerSession& operator=(const LayerSession&) = delete;

  /// The session active in this thread, or nullptr.
  static LayerSession* current();

  size_t size() const { return slots_.size(); }
  const std::string& layer(size_t slot) const { return requests_[slot].layer(); }
  /// The slot capturing `layer`, or -1.
  int64_t slot_of(const std::string& layer) const;
  /// A backend's mechanism will see this slot's calls (so zero calls means "not called").
  void set_planned(size_t slot) { slots_[slot].planned = true; }
  bool planned(size_t slot) const { return slots_[slot].planned; }
  bool wants_replacement(size_t slot) const { return static_cast<bool>(requests_[slot].replace()); }

  /// One call of the slot's layer produced `value`; returns what the rest of the forward pass gets.
  torch::Tensor on_call(size_t slot, const torch::Tensor& value, CallSource source);

  /// After the forward pass: the captures, in request order. Throws a ValueError when a selected call
  /// does not exist, a captured value was modified in place afterwards, or a layer was not seen at all
  /// (with the message `failure(slot)`).
  std::vector<LayerCapture> finish(const std::function<std::string(size_t)>& failure) const;

  /// Calls seen so far per slot (describe_layers reads them even for unplanned layers).
  int64_t calls(size_t slot) const;
  /// The last value seen for the slot (undefined when none).
  torch::Tensor last_value(size_t slot) const;
  /// Whether the last value seen was modified in place after it was seen.
  bool modified_after_capture(size_t slot) const;

 private:
  struct Seen {
    torch::Tensor value;
    int64_t version = 0;
    CallSource source = CallSource::kMark;
  };
  struct Slot {
    bool planned = false;
    int64_t known_calls = -1;  // from call_counts, or -1
    std::vector<Seen> marked;  // calls seen through mark_layer (they win)
    std::vector<Seen> other;   // calls seen by the backend's own mechanism
  };
  bool selected(size_t slot, int64_t call_index) const;

  const std::vector<LayerRequest>& requests_;
  std::vector<Slot> slots_;
  LayerSession* previous_;
};

}  // namespace detail
}  // namespace nn_interpretability
