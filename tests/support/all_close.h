#pragma once
// Catch2 matcher: torch::allclose with a readable failure message.

#include <sstream>
#include <string>

#include "support/catch_torch.h"
#include <torch/torch.h>

namespace nni_test {

class AllCloseMatcher : public Catch::MatcherBase<torch::Tensor> {
 public:
  AllCloseMatcher(torch::Tensor expected, double rtol, double atol)
      : expected_(std::move(expected)), rtol_(rtol), atol_(atol) {}

  bool match(const torch::Tensor& actual) const override {
    if (!actual.defined() || actual.sizes() != expected_.sizes()) return false;
    return torch::allclose(actual.to(torch::kCPU, torch::kDouble), expected_.to(torch::kCPU, torch::kDouble), rtol_,
                           atol_);
  }

  std::string describe() const override {
    std::ostringstream out;
    out << "is close to (rtol " << rtol_ << ", atol " << atol_ << ") a tensor of shape " << expected_.sizes();
    if (expected_.numel() <= 16) out << ":\n" << expected_;
    return out.str();
  }

 private:
  torch::Tensor expected_;
  double rtol_, atol_;
};

inline AllCloseMatcher AllClose(torch::Tensor expected, double rtol = 1e-5, double atol = 1e-6) {
  return AllCloseMatcher(std::move(expected), rtol, atol);
}

/// Largest absolute difference, for messages.
inline double max_abs_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

}  // namespace nni_test

namespace Catch {
template <>
struct StringMaker<torch::Tensor> {
  static std::string convert(const torch::Tensor& tensor) {
    std::ostringstream out;
    if (!tensor.defined()) return "undefined tensor";
    out << "tensor of shape " << tensor.sizes();
    if (tensor.numel() <= 16) out << ":\n" << tensor;
    return out.str();
  }
};
}  // namespace Catch
