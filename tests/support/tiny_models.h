#pragma once
// Tiny models with answers that can be worked out by hand, shared by the test executables.

#include <torch/torch.h>

namespace nni_test {

/// out = x · Wᵀ + b: every gradient method's answer is a row of W.
inline torch::nn::Linear linear_model(int64_t inputs, int64_t outputs) {
  torch::nn::Linear model(inputs, outputs);
  torch::NoGradGuard no_grad;
  model->weight.copy_(torch::arange(inputs * outputs, torch::kFloat).view({outputs, inputs}).sub(5.0).div(7.0));
  model->bias.copy_(torch::linspace(-1, 1, outputs));
  return model;
}

/// Linear → ReLU → Linear, built with the nn::ReLU module.
inline torch::nn::Sequential relu_mlp(int64_t inputs, int64_t hidden, int64_t outputs, uint64_t seed = 0) {
  torch::manual_seed(seed);
  return torch::nn::Sequential(torch::nn::Linear(inputs, hidden), torch::nn::ReLU(),
                               torch::nn::Linear(hidden, outputs));
}

/// The same network as relu_mlp, but calling the functional torch::relu in its forward.
struct FunctionalReluMlpImpl : torch::nn::Module {
  FunctionalReluMlpImpl(int64_t inputs, int64_t hidden, int64_t outputs) {
    first = register_module("first", torch::nn::Linear(inputs, hidden));
    second = register_module("second", torch::nn::Linear(hidden, outputs));
  }
  torch::Tensor forward(torch::Tensor x) { return second(torch::relu(first(x))); }
  torch::nn::Linear first{nullptr}, second{nullptr};
};
TORCH_MODULE(FunctionalReluMlp);

/// A small CNN on [N, 1, 8, 8] inputs with three ReLUs (two nn::ReLU modules, one functional),
/// a max pool and a dropout, to exercise every path in one model.
struct SmallCnnImpl : torch::nn::Module {
  explicit SmallCnnImpl(int64_t classes = 3) {
    conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3).padding(1)));
    conv2 = register_module("conv2", torch::nn::Conv2d(4, 6, 3));
    fc1 = register_module("fc1", torch::nn::Linear(6 * 2 * 2, 16));
    fc2 = register_module("fc2", torch::nn::Linear(16, classes));
    relu = register_module("relu", torch::nn::ReLU());
    dropout = register_module("dropout", torch::nn::Dropout(0.5));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = relu(conv1(x));
    x = torch::max_pool2d(x, 2);
    x = torch::relu(conv2(x));
    x = relu(fc1(x.flatten(1)));
    return fc2(dropout(x));
  }
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  torch::nn::ReLU relu{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(SmallCnn);

/// f(x) = Σ x² per example, as a single-class output: its gradient is 2x and its integrated
/// gradients from a zero baseline are exactly x².
inline torch::Tensor sum_of_squares(const torch::Tensor& x) { return x.square().flatten(1).sum(1, true); }

/// [N, 1, 8, 8] -> 10 classes, class weights scaled ×20 so that images in [0, 1] can reach confident
/// predictions. Layers: "0" conv 1→4, "1" ReLU [N,4,8,8], "2" conv 4→6, "3" ReLU [N,6,6,6],
/// "4" flatten, "5" linear 216→10. Used by the activation-maximization tests.
inline torch::nn::Sequential ten_class_cnn_8x8(uint64_t seed = 0) {
  torch::manual_seed(seed);
  torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3).padding(1)), torch::nn::ReLU(),
                            torch::nn::Conv2d(4, 6, 3), torch::nn::ReLU(), torch::nn::Flatten(),
                            torch::nn::Linear(216, 10));
  {
    torch::NoGradGuard no_grad;
    net->ptr(5)->as<torch::nn::Linear>()->weight.mul_(20.0);
  }
  net->eval();
  return net;
}

/// A tiny generator: codes [N, 4] -> images [N, 1, 8, 8] in [0, 1] (Sigmoid output).
inline torch::nn::Sequential tiny_generator_8x8() {
  torch::manual_seed(2);
  torch::nn::Sequential net(torch::nn::Linear(4, 64), torch::nn::Sigmoid(),
                            torch::nn::Unflatten(torch::nn::UnflattenOptions(1, {1, 8, 8})));
  net->eval();
  return net;
}

}  // namespace nni_test
