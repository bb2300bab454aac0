// nni: attributions of a TorchScript model from the command line. See docs/cli.md.
//
//   nni methods
//   nni layers     --model M.pt --input-shape 1,3,224,224
//   nni preprocess --input a.png b.png --size 224 --mean ... --std ... --output x.npy
//   nni attribute  --model M.pt --input x.npy --method grad_cam --layer layer4 --output maps.npy

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <c10/util/Exception.h>
#include <torch/cuda.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/types.h>
#include <torch/utils.h>

#include "arguments.h"
#include "cli_common.h"
#include "cli_input.h"
#include "evaluate.h"
#include "cli_target.h"
#include "method_options.h"
#include "png_output.h"
#include "timing.h"
#include "nn_interpretability/core/threads.h"
#include "nn_interpretability/perturbation/feature_mask.h"
#include "nn_interpretability/visualization/superpixels.h"
#include "nn_interpretability/detail/result_checks.h"
#include "nn_interpretability/gradient/integrated_gradients.h"
#include "nn_interpretability/model/layer.h"
#include "nn_interpretability/io/npy.h"
#include "nn_interpretability/registry/registry.h"
#include "nn_interpretability/model/torchscript.h"
#include "nn_interpretability/cam/upsample.h"
#include "nn_interpretability/version.h"
#include "nn_interpretability/visualization/channel_reduction.h"
#include "nn_interpretability/visualization/colormap.h"
#include "nn_interpretability/visualization/image_io.h"
#include "nn_interpretability/visualization/normalize.h"
#include "nn_interpretability/visualization/overlay.h"

namespace nni = nn_interpretability;
using namespace nni_cli;

namespace {

// ================================================================== argument parsing

// ================================================================== help texts

const char* kMainHelp =
    R"(nni: attributions (saliency maps, integrated gradients, SmoothGrad, the CAM family) of a
TorchScript model, from the command line.

Usage:
  nni methods                                   list the methods, one line each
  nni layers --model M.pt --input-shape 1,3,224,224
                                                list the model's layers with their output shapes
  nni preprocess --input IMG... --output X.npy [image options]
                                                write the batch the model would see
  nni attribute --model M.pt --input X --method NAME --output OUT.npy [options]
                                                compute attributions
  nni evaluate --model M.pt --input X --methods all --metrics deletion,insertion,road,mprt,sparseness --output DIR
                                                the report card: methods x evaluation metrics
  nni COMMAND --help                            the command's options
  nni --version

Exit codes: 0 ok, 1 attribution or runtime error, 2 usage error (unknown command, option, method or
layer; bad value), 3 input file error (missing, unreadable or invalid input or target file; target
count mismatch), 4 model load error. Documentation: docs/cli.md.
)";

const char* kLayersHelp =
    R"(Usage: nni layers --model M.pt --input-shape N,C,H,W [--device cpu|cuda]

Lists every layer of the TorchScript model by its dotted name, with the shape of its output for a
random input of the given shape and, for a module called several times, the number of calls (select
one with --layer NAME@first, NAME@last or NAME@<k>; the last is the default). "unreachable" marks
layers whose output cannot be captured, with the reason; one forward pass serves all layers.
)";

const char* kImageHelp =
    R"(Image inputs (PNG, JPEG, anything OpenCV decodes), in this order:
  decode                  to RGB (--channels 3, default) or gray (--channels 1)
  --size H,W | S          resize to H x W (one integer: S x S); default: keep the size (all equal)
  --resize MODE           bilinear (default) | nearest | bicubic; align_corners = false, no antialiasing
  scale                   divide by 255, to [0, 1]
  --mean M[,M..] --std S[,S..]
                          normalize each channel: (x - mean) / std (1 value or one per channel)
)";

const char* kPreprocessHelp =
    R"(Usage: nni preprocess --input IMG [IMG...] --output X.npy [--size H,W] [--resize MODE]
                      [--mean ...] [--std ...] [--channels 1|3]

Writes the float32 batch [N, C, H, W] that `nni attribute` would give the model.
)";

const char* kAttributeHelp =
    R"(Usage: nni attribute --model M.pt --input X --method NAME --output OUT.npy [options]

  --model M.pt            TorchScript model (torch.jit.script / torch.jit.trace, then .save)
  --input X.npy | IMG...  a .npy batch [N, C, H, W] (float32; float64 is converted) or image files
  --method NAME           see `nni methods`
  --output OUT.npy        raw attributions, float32 (.npy version 1.0)
  --png DIR               also write one PNG per example: heatmap overlays for layer maps, a signed
                          blue-white-red map otherwise
  --device D              cpu (default) | cuda | cuda:K
  --batch-size B          examples per call (default 16); a progress bar shows on stderr
  --shard I/N             only batches I, I+N, I+2N, ... (0 <= I < N); see docs/cli.md to reassemble
  --repeat K              then time K more calls on the first batch (after one warm-up) and print
                          {"method":...,"median_ms":...,"calls":K,...} on stdout
  --quiet                 no progress bar or summary on stderr
  --dtype T               float32 (default) | float64: the input is converted to T before explaining;
                          it must match the model's parameters (the output file stays float32)
  --verbose               full error messages (TorchScript tracebacks are otherwise cut short)
  --no-optimize           no-grad passes (Score-CAM's masked inputs, the predicted class) run the
                          model's own graph, not an inference-optimized copy (slower)
  --fold-batch-norm       gradient passes run a frozen copy with BatchNorm folded into the
                          convolutions: faster, but rounding can flip a ReLU at a near-tie (see
                          docs/model_access.md); off by default
  --threads N             LibTorch threads (default: every core this process may use, from its CPU
                          affinity and cgroup quota; OpenBLAS gets one)

)";

int run_methods() {
  std::size_t width = 0;
  for (const auto& info : nni::methods()) width = std::max(width, info.name.size());
  for (const auto& info : nni::methods())
    std::cout << std::left << std::setw(static_cast<int>(width) + 2) << info.name << info.summary
              << (info.needs_layer ? " [needs --layer]" : "") << '\n';
  return kOk;
}

// ================================================================== nni layers

int run_layers(const std::vector<std::string>& argv) {
  if (wants_help(argv)) {
    std::cout << kLayersHelp;
    return kOk;
  }
  const Arguments args =
      parse_arguments(argv, {{"model", true, false}, {"input-shape", true, false}, {"device", true, false}}, "layers");
  const std::string model_path = args.require("model", "layers");
  const std::vector<int64_t> shape = parse_int_list(args.require("input-shape", "layers"), "--input-shape");
  for (int64_t dim : shape)
    if (dim <= 0) throw CliError(kUsageError, "--input-shape: every dimension must be positive");
  if (shape.size() < 2) throw CliError(kUsageError, "--input-shape: expected N,C,H,W (at least N and one more)");
  const torch::Device device = parse_device(args.get_or("device", "cpu"));
  torch::jit::Module module = load_model(model_path, device);
  const nni::Model model(module);

  torch::manual_seed(0);
  // In the model's own floating-point dtype (a float64 export gets a float64 input).
  const torch::Tensor reference = model.backend().reference_parameter();
  const torch::Tensor input =
      torch::rand(shape).to(device, reference.defined() ? reference.scalar_type() : torch::kFloat);
  try {
    const torch::Tensor output = model.forward(input);
    std::cout << "(output)  " << shape_string(output.sizes()) << '\n';
  } catch (const std::exception& error) {
    throw CliError(kRuntimeError, "the model cannot run on an input of shape " + shape_string(shape) + ": " +
                                      error_message(error));
  }
  // One forward pass for every layer: shape, number of calls, or why it cannot be reached.
  const std::vector<nni::LayerDescription> layers = nni::describe_layers(model, input);
  if (layers.empty()) std::cout << "(the model has no named layers)\n";
  std::size_t width = 0, shape_width = 0;
  std::vector<std::string> shapes;
  for (const auto& layer : layers) {
    width = std::max(width, layer.name.size());
    shapes.push_back(layer.calls > 0 && layer.reachable ? shape_string(layer.output_shape) : "");
    shape_width = std::max(shape_width, shapes.back().size());
  }
  std::size_t reachable = 0;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const nni::LayerDescription& layer = layers[i];
    std::cout << std::left << std::setw(static_cast<int>(width) + 2) << layer.name;
    if (!layer.reachable) {
      std::cout << "unreachable: " << layer.reason << '\n';
      continue;
    }
    ++reachable;
    if (layer.calls == 0) {
      std::cout << "not run for this input: " << layer.reason << '\n';
      continue;
    }
    std::cout << std::setw(static_cast<int>(shape_width) + 2) << shapes[i];
    if (layer.calls > 1) std::cout << layer.calls << " calls (the last by default; NAME@first, NAME@<k>)";
    std::cout << '\n';
  }
  if (!layers.empty()) std::cout << "(" << reachable << " of " << layers.size() << " layers reachable)\n";
  return kOk;
}

// ================================================================== nni preprocess

int run_preprocess(const std::vector<std::string>& argv) {
  if (wants_help(argv)) {
    std::cout << kPreprocessHelp << '\n' << kImageHelp;
    return kOk;
  }
  const Arguments args = parse_arguments(argv,
                                         {{"input", true, true},
                                          {"output", true, false},
                                          {"size", true, false},
                                          {"resize", true, false},
                                          {"mean", true, false},
                                          {"std", true, false},
                                          {"channels", true, false}},
                                         "preprocess");
  args.require("input", "preprocess");
  const std::string output = args.require("output", "preprocess");
  check_output_file(output, "--output");
  const torch::Tensor batch = load_input(args.all("input"), image_options(args));
  try {
    nni::write_npy(output, batch);
  } catch (const std::exception& error) {
    throw CliError(kRuntimeError, error_message(error));
  }
  std::cerr << "nni: wrote " << output << ": float32 " << batch.sizes() << '\n';
  return kOk;
}

// ================================================================== nni attribute

int run_attribute(const std::vector<std::string>& argv) {
  if (wants_help(argv)) {
    std::cout << kAttributeHelp << kTargetHelp << '\n' << method_options_help() << '\n' << kImageHelp << "\nMethods: " << nni::method_names()
              << '\n';
    return kOk;
  }
  std::vector<OptionSpec> specs = {{"model", true, false},
                                   {"input", true, true},
                                   {"method", true, false},
                                   {"output", true, false},
                                   {"output-index", true, false},
                                   {"input-name", true, false},
                                   {"fixed-input", true, true},
                                   {"png", true, false},
                                   {"device", true, false},
                                   {"batch-size", true, false},
                                   {"shard", true, false},
                                   {"repeat", true, false},
                                   {"quiet", false, false},
                                   {"size", true, false},
                                   {"resize", true, false},
                                   {"mean", true, false},
                                   {"std", true, false},
                                   {"channels", true, false},
                                   {"dtype", true, false},
                                   {"verbose", false, false},
                                   {"threads", true, false},
                                   {"no-optimize", false, false},
                                   {"fold-batch-norm", false, false}};
  const std::vector<OptionSpec> method_specs = method_option_specs();
  specs.insert(specs.end(), method_specs.begin(), method_specs.end());
  const std::vector<OptionSpec> target_specs = target_option_specs();
  specs.insert(specs.end(), target_specs.begin(), target_specs.end());
  const Arguments args = parse_arguments(argv, specs, "attribute");
  // ---------------------------------------------------------------- everything checkable before loading
  const std::string model_path = args.require("model", "attribute");
  args.require("input", "attribute");
  const std::string method_name = args.require("method", "attribute");
  const std::string output_path = args.require("output", "attribute");
  const bool quiet = args.has("quiet");
  const bool verbose = args.has("verbose");
  torch::ScalarType dtype = torch::kFloat32;
  if (args.has("dtype")) {
    const std::string& name = args.get("dtype");
    if (name == "float32") dtype = torch::kFloat32;
    else if (name == "float64") dtype = torch::kFloat64;
    else throw CliError(kUsageError, "--dtype: expected float32 or float64, got '" + name + "'");
  }

  // The method options, read and checked from the methods' schemas (method_options.h).
  const nni::MethodConfig config = method_config(args, method_name);
  const nni::MethodInfo& info = nni::method_info(method_name);
  const nni::MethodInfo& effective = innermost_method(method_name, config);  // smoothgrad: its base

  auto positive = [&](const std::string& option, int64_t fallback) {
    if (!args.has(option)) return fallback;
    const int64_t value = parse_int(args.get(option), "--" + option);
    if (value < 1) throw CliError(kUsageError, "--" + option + ": must be at least 1, got " + args.get(option));
    return value;
  };

  const int64_t batch_size = positive("batch-size", 16);
  int64_t shard_index = 0, shard_count = 1;
  if (args.has("shard")) {
    const std::string& text = args.get("shard");
    const auto slash = text.find('/');
    if (slash == std::string::npos) throw CliError(kUsageError, "--shard: expected I/N, got '" + text + "'");
    shard_index = parse_int(text.substr(0, slash), "--shard");
    shard_count = parse_int(text.substr(slash + 1), "--shard");
    if (shard_count < 1 || shard_index < 0 || shard_index >= shard_count)
      throw CliError(kUsageError, "--shard: expected I/N with 0 <= I < N, got '" + text + "'");
  }
  if (args.has("threads")) {
    const int64_t threads = parse_int(args.get("threads"), "--threads");
    if (threads < 1 || threads > 4096) throw CliError(kUsageError, "--threads: must be between 1 and 4096");
    nni::set_threads(static_cast<int>(threads));
  }
  int64_t repeat = 0;
  if (args.has("repeat")) {
    repeat = parse_int(args.get("repeat"), "--repeat");
    if (repeat < 0) throw CliError(kUsageError, "--repeat: must be >= 0");
  }
  const ImageOptions images_options = image_options(args);
  const torch::Device device = parse_device(args.get_or("device", "cpu"));
  // The outputs can be written: checked now, not after the attributions were computed.
  check_output_file(output_path, "--output");
  if (args.has("png")) check_output_directory(args.get("png"), "--png");

  // ---------------------------------------------------------------- inputs, model, method
  const torch::Tensor input = load_input(args.all("input"), images_options, dtype);  // CPU [N, C, H, W]
  const int64_t examples = input.size(0);
  const TargetSpec target = parse_targets(args, examples);
  nni::FixedInputs fixed_inputs;
  if (args.has("fixed-input")) {
    for (const std::string& item : args.all("fixed-input")) {
      const auto equals = item.find('=');
      if (equals == std::string::npos || equals == 0 || equals + 1 == item.size())
        throw CliError(kUsageError, "--fixed-input: expected NAME=FILE.npy, got '" + item + "'");
      const std::string name = item.substr(0, equals), path = item.substr(equals + 1);
      if (fixed_inputs.count(name)) throw CliError(kUsageError, "--fixed-input: '" + name + "' is given twice");
      torch::Tensor value;
      try {
        value = nni::read_npy(path);
      } catch (const std::exception& error) {
        throw CliError(kInputError, "--fixed-input " + name + ": " + error_message(error));
      }
      if (value.dim() > 0 && value.size(0) != 1 && value.size(0) != examples)
        throw CliError(kInputError, "--fixed-input " + name + " '" + path + "' has " + std::to_string(value.size(0)) +
                                        " rows; expected one per example (" + std::to_string(examples) +
                                        ") or one for all");
      if (value.is_floating_point() && value.scalar_type() != dtype) value = value.to(dtype);
      fixed_inputs[name] = value;
    }
  }

  torch::jit::Module module = load_model(model_path, device);
  if (const auto parameters = model_dtype(module); parameters && *parameters != dtype) {
    const std::string name = c10::toString(*parameters);
    if (*parameters == torch::kFloat64)
      throw CliError(kUsageError, "the model's parameters are Double; pass --dtype float64 (or cast the model to "
                                  "float32)");
    if (*parameters == torch::kFloat32)
      throw CliError(kUsageError, "the model's parameters are Float; pass --dtype float32 (the default), or cast "
                                  "the model to float64");
    throw CliError(kUsageError, "the model's parameters are " + name +
                                    "; nni explains float32 and float64 models: cast the model to float32 "
                                    "(model.float()) and export it again");
  }
  // Per-example fixed inputs follow the batches: the model is built per batch from these options.
  const nni::TorchScriptOptions model_options = nni::TorchScriptOptions()
                                                    .optimize(!args.has("no-optimize"))
                                                    .fold_batch_norm(args.has("fold-batch-norm"))
                                                    .output(args.get_or("output-index", ""))
                                                    .input(args.get_or("input-name", ""));
  auto model_for_rows = [&](int64_t begin, int64_t end) {
    nni::FixedInputs rows;
    for (const auto& item : fixed_inputs) {
      const torch::Tensor& value = item.second;
      rows[item.first] = (value.dim() == 0 || value.size(0) == 1 ? value : value.slice(0, begin, end)).to(device);
    }
    try {
      return nni::Model(module, nni::TorchScriptOptions(model_options).fixed_inputs(rows));
    } catch (const std::exception& error) {
      throw CliError(kUsageError, error_message(error));
    }
  };
  const nni::Model model = model_for_rows(0, std::min<int64_t>(examples, 1));
  if (effective.needs_layer) {
    if (config.layer().empty())
      throw CliError(kUsageError, "method '" + effective.name + "' needs --layer NAME; layers of this model: " +
                                      join(nni::layer_names(model)));
    const std::vector<std::string> names = nni::layer_names(model);
    if (std::find(names.begin(), names.end(), config.layer()) == names.end())
      throw CliError(kUsageError, "--layer: unknown layer '" + config.layer() + "'; layers of this model: " +
                                      (names.empty() ? std::string("(none)") : join(names)));
  }
  std::shared_ptr<nni::Attribution> method;
  try {
    method = nni::make_method(method_name, model, config);
  } catch (const std::exception& error) {
    throw CliError(kUsageError, "method '" + method_name + "': " + error_message(error));
  }

  // ---------------------------------------------------------------- the batches of this shard
  const int64_t batches = (examples + batch_size - 1) / batch_size;
  std::vector<int64_t> selected;
  for (int64_t b = shard_index; b < batches; b += shard_count) selected.push_back(b);
  bool per_example_fixed = false;
  for (const auto& item : fixed_inputs) per_example_fixed = per_example_fixed || (item.second.dim() > 0 && item.second.size(0) > 1);
  // One call: --targets gives [rows, K, ...]. Per-example fixed inputs need the method built on
  // those rows' model (its graph functions are rebuilt, some 10-100 ms per batch).
  auto explain = [&](int64_t begin, int64_t end) {
    const torch::Tensor x = input.slice(0, begin, end).to(device);
    std::shared_ptr<nni::Attribution> rows_method = method;
    if (per_example_fixed) rows_method = nni::make_method(method_name, model_for_rows(begin, end), config);
    const std::vector<nni::Target> targets = target.for_rows(begin, end, device, x, rows_method->model());
    return (target.several() ? rows_method->attribute(x, targets) : rows_method->attribute(x, targets.front())).detach();
  };
  auto run_batch = [&](int64_t b) {
    const int64_t begin = b * batch_size, end = std::min(examples, begin + batch_size);
    try {
      return explain(begin, end);
    } catch (const CliError&) {
      throw;
    } catch (const std::exception& error) {
      std::ostringstream message;
      message << method_name << " failed on batch " << b << " (examples " << begin << ".." << end - 1
              << "): " << short_message(error_message(error), verbose);
      throw CliError(kRuntimeError, message.str());
    }
  };

  std::vector<torch::Tensor> results;
  std::vector<int64_t> rows;
  ProgressBar progress(static_cast<int64_t>(selected.size()), !quiet);
  for (std::size_t k = 0; k < selected.size(); ++k) {
    results.push_back(run_batch(selected[k]).to(torch::kCPU, torch::kFloat32));
    const int64_t begin = selected[k] * batch_size, end = std::min(examples, begin + batch_size);
    for (int64_t r = begin; r < end; ++r) rows.push_back(r);
    progress.update(static_cast<int64_t>(k + 1));
  }
  progress.finish();
  torch::Tensor attributions;
  if (!results.empty()) {
    attributions = torch::cat(results, 0);
  } else {
    // An empty shard: zero rows of the shape one example would give.
    torch::Tensor shape_probe;
    try {
      shape_probe = explain(0, 1);
    } catch (const std::exception& error) {
      throw CliError(kRuntimeError, method_name + " failed: " + short_message(error_message(error), verbose));
    }
    std::vector<int64_t> shape = shape_probe.sizes().vec();
    shape[0] = 0;
    attributions = torch::empty(shape, torch::kFloat32);
    if (!quiet) warn("shard " + args.get("shard") + " holds no batch; writing an empty result");
  }
  // The library's methods check their results; this covers every method, whatever its checks.
  try {
    nni::detail::check_finite_result(attributions, "the attributions");
  } catch (const std::exception& error) {
    throw CliError(kRuntimeError,
                   method_name + ": " + error_message(error) + "; nothing was written to '" + output_path + "'");
  }
  try {
    nni::write_npy(output_path, attributions);
  } catch (const std::exception& error) {
    throw CliError(kRuntimeError, error_message(error));
  }
  if (!quiet)
    std::cerr << "nni: wrote " << output_path << ": " << method_name << " attributions, float32 "
              << attributions.sizes() << '\n';

  if (args.has("png") && !rows.empty()) {
    const torch::Tensor row_index = torch::tensor(rows, torch::kInt64);
    const bool layer_map = info.result == nni::ResultKind::kFromBase ? effective.layer_map : info.layer_map;
    const bool normalized_by_user = !images_options.mean.empty();
    const torch::Tensor images = input.index_select(0, row_index).to(torch::kFloat32);
    const std::vector<std::string> labels = target.labels();
    for (size_t k = 0; k < labels.size(); ++k)  // --targets: one PNG per example and class
      write_pngs(args.get("png"), target.several() ? attributions.select(1, static_cast<int64_t>(k)) : attributions,
                 images, rows, layer_map, images_options, normalized_by_user,
                 target.several() ? method_name + "_" + labels[k] : method_name);
    if (!quiet)
      std::cerr << "nni: wrote " << rows.size() * labels.size() << " PNG files to " << args.get("png") << '\n';
  }

  // ---------------------------------------------------------------- timing
  if (repeat > 0 && !selected.empty()) {
    const int64_t b = selected.front();
    const int64_t rows_in_batch = std::min(examples, (b + 1) * batch_size) - b * batch_size;
    const double median = median_milliseconds([&] { run_batch(b); }, repeat, device);
    std::cout << timing_json(method_name, median, repeat, rows_in_batch, device) << std::endl;
  }
  return kOk;
}

int dispatch(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << kMainHelp;
    return kUsageError;
  }
  const std::string& command = args.front();
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kMainHelp;
    return kOk;
  }
  if (command == "--version") {
    std::cout << "nni " << NN_INTERPRETABILITY_VERSION_STRING << '\n';
    return kOk;
  }
  if (command == "methods") {
    if (wants_help(rest)) {
      std::cout << "Usage: nni methods\n\nLists the attribution methods, one line each.\n";
      return kOk;
    }
    if (!rest.empty()) throw CliError(kUsageError, "nni methods: takes no arguments");
    return run_methods();
  }
  if (command == "layers") return run_layers(rest);
  if (command == "preprocess") return run_preprocess(rest);
  if (command == "attribute") return run_attribute(rest);
  if (command == "evaluate") return run_evaluate(rest);
  throw CliError(kUsageError, "unknown command '" + command + "'; commands: methods, layers, preprocess, attribute, evaluate");
}

// --features slic:<n>: SLIC superpixels of each batch, on every image rescaled to [0, 1] first (inputs
// may be normalized).
void register_superpixel_masks() {
  nni::FeatureMask::register_kind("slic", [](const std::string& argument) {
    size_t used = 0;
    int64_t segments = 0;
    try {
      segments = std::stoll(argument, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    TORCH_CHECK_VALUE(used > 0 && used == argument.size() && segments >= 1, "--features slic:<n> takes a number of ",
                      "superpixels >= 1, got 'slic:", argument, "'");
    return nni::FeatureMask::computed(
        [segments](const torch::Tensor& input) {
          const torch::Tensor flat = input.detach().flatten(1);
          const torch::Tensor low = std::get<0>(flat.min(1)).view({-1, 1, 1, 1});
          const torch::Tensor range = (std::get<0>(flat.max(1)).view({-1, 1, 1, 1}) - low).clamp_min(1e-12);
          return nn_interpretability::visualization::slic_superpixels(
              (input.detach() - low) / range, nn_interpretability::visualization::SlicOptions().segments(segments));
        },
        "slic " + argument);
  });
}

}  // namespace

int main(int argc, char** argv) {
  register_superpixel_masks();
  nni::set_threads();
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return dispatch(args);
  } catch (const CliError& error) {
    std::cerr << "nni: error: " << error.what() << '\n';
    return error.code();
  } catch (const std::exception& error) {
    std::cerr << "nni: error: " << error_message(error) << '\n';
    return kRuntimeError;
  }
}
