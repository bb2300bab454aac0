#include "nn_interpretability/detail/backward_graph.h"

#include <unordered_set>
#include <utility>

#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/variable.h>

namespace nn_interpretability {
namespace detail {

BackwardGraph::BackwardGraph(const torch::Tensor& output, const torch::Tensor& leaf) {
  TORCH_CHECK_VALUE(output.grad_fn() != nullptr, "the model output does not depend on the input through autograd");
  root_ = output.grad_fn().get();
  root_slot_ = output.output_nr();
  leaf_node_ = torch::autograd::impl::gradient_edge(leaf).function.get();
  TORCH_CHECK(leaf_node_ != nullptr, "the input has no gradient accumulator");

  // Which nodes reach the leaf: an iterative post-order walk (graphs of deep models are deep).
  std::unordered_map<const Node*, bool> reaches;
  std::vector<std::pair<Node*, size_t>> stack{{root_, 0}};
  reaches[root_] = false;
  std::vector<Node*> post_order;
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->num_outputs()) {
      Node* child = node->next_edge(next++).function.get();
      if (child != nullptr && reaches.emplace(child, child == leaf_node_).second && child != leaf_node_)
        stack.emplace_back(child, 0);
      continue;
    }
    bool any = node == leaf_node_;
    for (const auto& edge : node->next_edges()) {
      const Node* child = edge.function.get();
      if (child != nullptr && reaches[child]) any = true;
    }
    reaches[node] = any;
    post_order.push_back(node);
    stack.pop_back();
  }
  TORCH_CHECK_VALUE(reaches[root_], "the target's scores do not depend on the input through autograd (does the forward "
                                    "detach it or run under NoGradGuard?)");

  // Topological order of the reaching nodes: reverse post-order, then the leaf.
  for (auto it = post_order.rbegin(); it != post_order.rend(); ++it)
    if (reaches[*it]) order_.push_back(*it);
  order_.push_back(leaf_node_);
  for (size_t i = 0; i < order_.size(); ++i) position_[order_[i]] = i;
  senders_.resize(order_.size());
  for (Node* node : order_) {
    if (node == leaf_node_) continue;
    for (const auto& edge : node->next_edges()) {
      auto found = position_.find(edge.function.get());
      if (found != position_.end()) senders_[found->second].push_back(node);
    }
  }
}

bool BackwardGraph::reaches_leaf(const torch::autograd::Edge& edge) const {
  return edge.function != nullptr && position_.count(edge.function.get()) != 0;
}

bool BackwardGraph::reaches_leaf(const Node* node) const { return position_.count(node) != 0; }

const std::vector<BackwardGraph::Node*>& BackwardGraph::senders(const Node* node) const {
  static const std::vector<Node*> none;
  auto found = position_.find(node);
  return found == position_.end() ? none : senders_[found->second];
}

std::vector<torch::Tensor> BackwardGraph::gradient(Node& node, std::vector<torch::Tensor>&& received) {
  return node(std::move(received));
}

torch::Tensor BackwardGraph::run(const torch::Tensor& output_value, const NodeStep& step) const {
  c10::AutoGradMode no_grad(false);
  std::vector<std::vector<torch::Tensor>> buffers(order_.size());
  buffers[0].resize(root_->num_inputs());
  buffers[0][root_slot_] = output_value;
  for (size_t index = 0; index + 1 < order_.size(); ++index) {
    Node* node = order_[index];
    std::vector<torch::Tensor> received = std::move(buffers[index]);
    received.resize(node->num_inputs());
    bool any = false;
    for (const auto& tensor : received) any |= tensor.defined();
    if (!any) continue;  // nothing reached this node (e.g. a zero-relevance branch)
    std::vector<torch::Tensor> sent;
    try {
      sent = step(*node, std::move(received));
    } catch (const c10::Error& error) {
      TORCH_CHECK(false, "the modified backward pass failed at autograd node ", node->name(), ": ",
                  error.what_without_backtrace());
    }
    TORCH_INTERNAL_ASSERT(sent.size() == node->num_outputs(), "a backward step returned ", sent.size(),
                          " values for ", node->num_outputs(), " edges of ", node->name());
    for (size_t slot = 0; slot < sent.size(); ++slot) {
      if (!sent[slot].defined()) continue;
      const auto& edge = node->next_edge(slot);
      auto found = position_.find(edge.function.get());
      if (found == position_.end()) continue;
      // As autograd's engine does after each node: a gradient of a broadcast operand (x · scale
      // with scale [N, C, 1, 1]) is summed back to the operand's shape.
      const torch::autograd::InputMetadata& metadata = edge.function->input_metadata(edge.input_nr);
      if (!metadata.is_same_shape(sent[slot]) && metadata.is_expandable_to_shape(sent[slot]))
        sent[slot] = metadata.reduce_grad(sent[slot]);
      auto& target = buffers[found->second];
      if (target.size() <= edge.input_nr) target.resize(edge.input_nr + 1);
      if (target[edge.input_nr].defined()) {
        target[edge.input_nr] = target[edge.input_nr] + sent[slot];
      } else {
        target[edge.input_nr] = std::move(sent[slot]);
      }
    }
  }
  std::vector<torch::Tensor>& at_leaf = buffers.back();
  return at_leaf.empty() ? torch::Tensor() : at_leaf[0];
}

}  // namespace detail
}  // namespace nn_interpretability
