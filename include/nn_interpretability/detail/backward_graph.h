#pragma once
// A backward pass the library runs itself, node by node, over the autograd graph of one forward
// pass: the mechanism of the "modified backward" methods (LRP, DeepLIFT). Each node either runs its
// own backward (the gradient) or a rule computed from what the operator tape recorded. Running the
// nodes ourselves, instead of hooking autograd's engine, means a rule replaces the node's backward
// rather than adding to it (a convolution under a rule does not also compute its ordinary gradient),
// and nothing is ever attached to the graph or the model.

#include <functional>
#include <unordered_map>
#include <vector>

#include <torch/csrc/autograd/edge.h>
#include <torch/types.h>

namespace torch {
namespace autograd {
struct Node;
}  // namespace autograd
}  // namespace torch

namespace nn_interpretability {
namespace detail {

/// The part of an output's autograd graph that leads to one leaf (the input), in an order where
/// every node comes before the nodes it sends gradients to.
class BackwardGraph {
 public:
  using Node = torch::autograd::Node;
  /// What a node sends to each of its next edges, given what it received (one tensor per node input
  /// slot, undefined where nothing arrived). Return one entry per next edge (undefined = nothing).
  using NodeStep = std::function<std::vector<torch::Tensor>(Node& node, std::vector<torch::Tensor>&& received)>;

  /// `output` and `leaf` must be connected by autograd (the leaf requires grad); throws otherwise.
  BackwardGraph(const torch::Tensor& output, const torch::Tensor& leaf);

  const std::vector<Node*>& order() const { return order_; }
  /// Whether gradients sent along `edge` can reach the leaf.
  bool reaches_leaf(const torch::autograd::Edge& edge) const;
  bool reaches_leaf(const Node* node) const;
  /// The nodes (of this graph) that send to `node`.
  const std::vector<Node*>& senders(const Node* node) const;
  /// True when node is the leaf's accumulator.
  bool is_leaf(const Node* node) const { return node == leaf_node_; }

  /// Runs the pass: `output_value` enters at the output's node and slot; returns what reaches the leaf.
  torch::Tensor run(const torch::Tensor& output_value, const NodeStep& step) const;

  /// The node's own backward (the ordinary gradient).
  static std::vector<torch::Tensor> gradient(Node& node, std::vector<torch::Tensor>&& received);

 private:
  Node* root_ = nullptr;
  uint32_t root_slot_ = 0;
  Node* leaf_node_ = nullptr;
  std::vector<Node*> order_;
  std::unordered_map<const Node*, size_t> position_;
  std::vector<std::vector<Node*>> senders_;
};

}  // namespace detail
}  // namespace nn_interpretability
