// nni_bench --breakdown: where a method's time goes beyond its floor, timed with public calls only.
#include <algorithm>
#include <cstdio>

#include <fmt/format.h>
#include <torch/csrc/autograd/autograd.h>

#include "bench.h"

namespace nni_bench {


/// Times the public calls of the CAM family: the layer forward, the checks, the methods themselves,
/// against the plain forward (no grad).
namespace {

void run_cam_breakdown(const BenchModel& model, int64_t batch, const torch::Device& device) {
  const torch::Tensor input = make_input(model, batch, device);
  const torch::Tensor labels = make_labels(batch, device);
  const nni::Model nmodel = model.model();
  const auto forward = model.forward;
  const std::string layer = model.cam_layer;
  const int rounds = batch == 1 ? (model.name == "mnist_cnn" ? 1000 : 60) : 20;
  torch::NoGradGuard no_grad;
  const nni::LayerForward captured = nni::forward_with_layer(nmodel, input, layer);
  const torch::Tensor activation = captured.activation.detach();
  const torch::Tensor output = captured.output;
  std::vector<Probe> probes = {
      {"forward (no grad): the CAM floor", [&] { (void)forward(input); }},
      {"forward_with_layer (no grad)", [&] { (void)nni::forward_with_layer(nmodel, input, layer); }},
      {"Model::check_input", [&] { nmodel.check_input(input, "bench"); }},
      {"layer_names(model) (named_modules walk)", [&] { (void)nni::layer_names(nmodel); }},
      {"Target(labels).class_indices(output)", [&] { (void)nni::Target(labels).class_indices(output); }}};
  if (model.name != "mnist_cnn") {  // CAM needs global average pooling + linear after the layer
    probes.push_back({"Cam::attribute", call(std::make_shared<nni::Cam>(nmodel, nni::CamOptions(layer)), input, labels)});
  }
  // Score-CAM (MNIST CNN only: on ResNet-18 one call takes seconds): the masked forwards alone.
  if (model.name != "mnist_cnn") {
    run_probes(fmt::format("breakdown {} batch {}: CAM family at {} (no grad)", model.name, batch, layer), probes,
               rounds, device);
    return;
  }
  const int64_t channels = activation.size(1);
  const int64_t chunk = std::min<int64_t>(64, batch * channels);
  const torch::Tensor examples = torch::arange(0, chunk, labels.options()).div(channels, "floor");
  probes.push_back({"Score-CAM one chunk: plain forward of the same rows", [=] {
                      (void)forward(input.index_select(0, examples));
                    }});
  probes.push_back({"ScoreCam::attribute",
                    call(std::make_shared<nni::ScoreCam>(nmodel, nni::ScoreCamOptions(layer)), input, labels)});
  probes.push_back({"forward (no grad) of channels x N rows: the Score-CAM floor",
                    make_forward_floor(model, make_copies(input, channels))});
  run_probes(fmt::format("breakdown {} batch {}: CAM family at {} (no grad)", model.name, batch, layer), probes,
             batch == 1 ? 300 : 20, device);
}

/// The perturbation family on one example: the engine and the methods against the plain forward of
/// as many rows (their floor), and the extra clean row the engine adds.
void run_perturbation_breakdown(const BenchModel& model, const torch::Device& device) {
  const torch::Tensor input = make_input(model, 1, device);
  const torch::Tensor labels = make_labels(1, device);
  const nni::Model nmodel = model.model();
  const nni::Target target(labels);
  const auto forward = model.forward;
  const int rounds = model.name == "mnist_cnn" ? 400 : 10;
  const nni::Occlusion occlusion(nmodel, nni::OcclusionOptions().window({input.size(1), 8, 8}).strides({1, 4, 4}));
  const int64_t windows = occlusion.windows(input);
  const nni::FeatureMask grid = nni::FeatureMask::blocks(4, 4);
  const nni::PerturbationEngine engine(nmodel, nni::PerturbationEngineOptions().rows_per_call(64));
  const torch::Tensor copies = make_copies(input, windows);
  const torch::Tensor examples = torch::zeros({windows}, labels.options());
  std::vector<Probe> probes = {
      {fmt::format("floor: forward (no grad) of {} rows", windows), make_forward_floor(model, copies)},
      {fmt::format("forward (no grad) of {} rows (clean row riding along)", windows + 1),
       make_forward_floor(model, make_copies(input, windows + 1))},
      {"Model::check_input", [&] { nmodel.check_input(input, "bench"); }},
      {"engine.run on the copies as they are", [&] {
         (void)engine.run(input, target, windows, [&](int64_t first, int64_t count) {
           return nni::PerturbedRows{copies.slice(0, first, first + count), examples.slice(0, first, first + count)};
         });
       }},
      {"Occlusion::attribute 8x8 windows, stride 4",
       call(std::make_shared<nni::Occlusion>(occlusion), input, labels)},
      {"FeatureMask::blocks(4, 4) resolved", [&] { (void)grid.resolve(input); }},
      {"forward (no grad) of 16 rows", make_forward_floor(model, make_copies(input, 16))},
      {"FeatureAblation::attribute 4x4 blocks",
       call(std::make_shared<nni::FeatureAblation>(nmodel, nni::FeatureAblationOptions().feature_mask(grid).rows_per_call(64)),
            input, labels)}};
  run_probes(fmt::format("breakdown {} batch 1: perturbation family (no grad)", model.name), probes, rounds, device);
}

}  // namespace

/// The first table rebuilds a gradient method's call step by step from the floor with public calls;
/// the second times the per-call checks alone; the third compares path methods with floors on
/// different data.
void run_breakdown(const BenchModel& model, int64_t batch, const torch::Device& device) {
  const torch::Tensor input = make_input(model, batch, device);
  const torch::Tensor labels = make_labels(batch, device);
  const nni::Model nmodel = model.model();
  const nni::Target target(labels);
  const auto forward = model.forward;
  const int rounds = batch == 1 ? (model.name == "mnist_cnn" ? 1000 : 60) : 20;
  auto steps = [&](const torch::Tensor& x, const torch::Tensor& y, const nni::Target& t) {
    std::vector<Probe> probes;
    probes.push_back({"A floor: leaf, forward, gather().sum(), grad", make_floor(model, x, y)});
    probes.push_back({"B A through nni::Model::forward (output checks)", [&, x, y] {
                        torch::Tensor leaf = x.detach().requires_grad_(true);
                        torch::Tensor score = nmodel.forward(leaf).gather(1, y.unsqueeze(1)).sum();
                        (void)torch::autograd::grad({score}, {leaf});
                      }});
    probes.push_back({"C B with squeeze + ones_like grad_outputs, allow_unused", [&, x, y] {
                        torch::Tensor leaf = x.detach().requires_grad_(true);
                        torch::Tensor scores = nmodel.forward(leaf).gather(1, y.unsqueeze(1)).squeeze(1);
                        (void)torch::autograd::grad({scores}, {leaf}, {at::ones_like(scores)}, false, false, true);
                      }});
    probes.push_back({"D C with Target::scores (index .to, min/max .item())", [&, x, t] {
                        torch::Tensor leaf = x.detach().requires_grad_(true);
                        torch::Tensor scores = t.scores(nmodel.forward(leaf));
                        (void)torch::autograd::grad({scores}, {leaf}, {at::ones_like(scores)}, false, false, true);
                      }});
    probes.push_back({"E D with Model::check_input (isfinite().all().item())", [&, x, t] {
                        nmodel.check_input(x, "bench");
                        torch::Tensor leaf = x.detach().requires_grad_(true);
                        torch::Tensor scores = t.scores(nmodel.forward(leaf));
                        (void)torch::autograd::grad({scores}, {leaf}, {at::ones_like(scores)}, false, false, true);
                      }});
    probes.push_back({"F VanillaGradient::attribute", call(std::make_shared<nni::VanillaGradient>(nmodel), x, y)});
    probes.push_back({"G GuidedBackprop::attribute", call(std::make_shared<nni::GuidedBackprop>(nmodel), x, y)});
    return probes;
  };
  run_probes(fmt::format("breakdown {} batch {}: input_gradient step by step", model.name, batch),
             steps(input, labels, target), rounds, device);

  torch::Tensor output;
  {
    torch::NoGradGuard no_grad;
    output = forward(input);
  }
  run_probes(fmt::format("breakdown {} batch {}: checks alone", model.name, batch),
             {{"forward (no grad)", [&] { torch::NoGradGuard g; (void)forward(input); }},
              {"Model::check_input", [&] { nmodel.check_input(input, "bench"); }},
              {"input.isfinite().all().item()", [&] { (void)input.isfinite().all().item<bool>(); }},
              {"backend().tensors() (parameter + buffer list)", [&] { (void)nmodel.backend().tensors(); }},
              {"Target(labels).scores(output)", [&] { (void)target.scores(output); }},
              {"output.gather(1, labels)", [&] { (void)output.gather(1, labels.unsqueeze(1)); }},
              {"forward with graph", [&] {
                 torch::Tensor leaf = input.detach().requires_grad_(true);
                 (void)forward(leaf);
               }}},
             rounds, device);

  run_cam_breakdown(model, batch, device);
  if (batch == 1) run_perturbation_breakdown(model, device);

  if (batch != 1) return;
  // Path methods at 50 × N rows: is the floor's repeated input representative?
  const int64_t rows = kPathSamples * batch;
  const torch::Tensor repeated = input.repeat({kPathSamples, 1, 1, 1});
  const torch::Tensor repeated_labels = labels.repeat({kPathSamples});
  torch::manual_seed(2);
  const torch::Tensor noisy = repeated + 0.3 * torch::randn_like(repeated);
  const torch::Tensor alphas = torch::linspace(0.01, 0.99, kPathSamples, repeated.options()).view({-1, 1, 1, 1});
  const torch::Tensor points = (alphas * input).contiguous();
  run_probes(fmt::format("breakdown {} batch {}: 50 x N rows", model.name, batch),
             {{"floor on the input repeated 50 times", make_floor(model, repeated, repeated_labels)},
              {"floor on 50 noisy copies", make_floor(model, noisy, repeated_labels)},
              {"floor on 50 IG path points", make_floor(model, points, repeated_labels)},
              {"VanillaGradient on the repeated input",
               call(std::make_shared<nni::VanillaGradient>(nmodel), repeated, repeated_labels)},
              {"VanillaGradient on 50 noisy copies", call(std::make_shared<nni::VanillaGradient>(nmodel), noisy, repeated_labels)},
              {"randn 50 x N noise + mul + add (SmoothGrad's noise)", [&] {
                 torch::Tensor n = torch::randn(repeated.sizes(), repeated.options());
                 n.mul_(0.3).add_(repeated);
               }},
              {"isfinite().all().item() on 50 x N rows", [&] { (void)repeated.isfinite().all().item<bool>(); }},
              {"SmoothGrad n=50 spb=50",
               call(std::make_shared<nni::SmoothGrad>(nni::VanillaGradient(nmodel),
                                                      nni::SmoothGradOptions().samples(50).rows_per_call(0).seed(0)),
                    input, labels)},
              {"IntegratedGradients steps=50 one call",
               call(std::make_shared<nni::IntegratedGradients>(nmodel, nni::IntegratedGradientsOptions().steps(50)),
                    input, labels)}},
             batch == 1 && model.name == "mnist_cnn" ? 60 : 5, device);
  (void)rows;
}

}  // namespace nni_bench
