#pragma once
// Exact tensor comparison for the visualization tests, with both tensors printed on failure.

#include <sstream>
#include <string>

#include <ATen/ATen.h>

#include "support/catch_torch.h"

namespace nni_vis_test {

inline std::string show(const at::Tensor& t) {
  std::ostringstream out;
  out << t;
  return out.str();
}

inline void check_equal(const at::Tensor& actual, const at::Tensor& expected) {
  INFO("actual:\n" << show(actual) << "\nexpected:\n" << show(expected));
  REQUIRE(actual.sizes() == expected.sizes());
  CHECK(at::equal(actual, expected));
}

}  // namespace nni_vis_test
