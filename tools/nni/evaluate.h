#pragma once
// nni evaluate: the report card of several methods on a TorchScript model (docs/report_card.md).

#include <string>
#include <vector>

namespace nni_cli {

int run_evaluate(const std::vector<std::string>& argv);

}  // namespace nni_cli
