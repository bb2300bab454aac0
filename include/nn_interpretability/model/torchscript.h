#pragma once
// Explaining TorchScript models exported from Python (torch.jit.script / torch.jit.trace).
//
// Example:
//   #include <nn_interpretability/model/torchscript.h>
//   torch::jit::Module module = torch::jit::load("model.pt");
//   nn_interpretability::GuidedBackprop method(module);   // Model converts implicitly

#include <torch/csrc/jit/api/module.h>

#include "nn_interpretability/model/model.h"
