#include "cli_target.h"

#include <sstream>

#include <torch/torch.h>

#include "cli_input.h"
#include "nn_interpretability/io/npy.h"

namespace nni = nn_interpretability;

namespace nni_cli {

const char* kTargetHelp =
    R"(Targets (docs/targets.md):
  --target T              predicted (default) | a class index for all | a .npy file of N class indices
  --targets C1,C2,...     several classes at once: the output is [N, K, ...] (one map per class)
  --target-fn F           what is explained of the output (default: class):
                            class         the class's score of a classifier [N, classes]
                            softmax       its softmax probability; log_softmax: its log
                            logsumexp     logsumexp over the classes (no --target)
                            regression    the output itself, [N] or [N, 1] (no --target)
                            segmentation  [N, K, H, W]: the class's scores summed over --target-mask,
                                          or over the pixels predicted as the class
                            box           [N, boxes, 4 + K]: the box best matching --target-box,
                                          its class score plus its IoU (see Target::box)
  --target-mask M.npy     segmentation pixels: [N, H, W] or [1, H, W], bool or 0/1
  --target-box B          box target: x1,y1,x2,y2 for all, or a .npy [N, 4]
  --iou T                 box target: the IoU a predicted box must reach (default 0.5)
  --output-index I|KEY    a model returning a tuple, list or dict: the entry explained (index or key;
                          KEY1+KEY2 joins entries on the last dimension, e.g. boxes+scores)
  --input-name NAME       a model with several inputs: the forward argument explained (default: first)
  --fixed-input NAME=X.npy [NAME=X.npy ...]
                          the values of the other arguments (one row per example, or one for all)
)";

std::vector<OptionSpec> target_option_specs() {
  return {{"target", true, false},     {"targets", true, false},    {"target-fn", true, false},
          {"target-mask", true, false}, {"target-box", true, false}, {"iou", true, false}};
}

namespace {

std::string sizes_text(torch::IntArrayRef sizes) {
  std::ostringstream text;
  text << sizes;
  return text.str();
}

torch::Tensor read_file(const std::string& path, const std::string& option) {
  try {
    return nni::read_npy(path);
  } catch (const std::exception& error) {
    throw CliError(kInputError, option + ": " + error_message(error));
  }
}

void read_class_indices(TargetSpec& spec, const std::string& text, int64_t batch) {
  torch::Tensor indices = read_file(text, "--target");
  const auto type = indices.scalar_type();
  if (type != torch::kInt64 && type != torch::kInt32 && type != torch::kUInt8)
    throw CliError(kInputError, "target '" + text + "' has dtype " + std::string(c10::toString(type)) +
                                    "; expected integer class indices (int64, int32 or uint8)");
  if (indices.dim() != 1)
    throw CliError(kInputError, "target '" + text + "' has shape " + sizes_text(indices.sizes()) +
                                    "; expected [N], one class index per example");
  if (indices.size(0) != batch)
    throw CliError(kInputError, "target '" + text + "' has " + std::to_string(indices.size(0)) +
                                    " class indices but the input has " + std::to_string(batch) + " examples");
  if (batch > 0 && indices.min().item<int64_t>() < 0)
    throw CliError(kInputError, "target '" + text + "' contains a negative class index");
  spec.classes = TargetSpec::Classes::kIndices;
  spec.indices = indices.to(torch::kInt64);
}

}  // namespace

TargetSpec parse_targets(const Arguments& args, int64_t examples) {
  TargetSpec spec;
  const std::string function = args.get_or("target-fn", "class");
  using F = TargetSpec::Function;
  if (function == "class") spec.function = F::kClass;
  else if (function == "softmax") spec.function = F::kSoftmax;
  else if (function == "log_softmax") spec.function = F::kLogSoftmax;
  else if (function == "logsumexp") spec.function = F::kLogSumExp;
  else if (function == "regression") spec.function = F::kRegression;
  else if (function == "segmentation") spec.function = F::kSegmentation;
  else if (function == "box") spec.function = F::kBox;
  else
    throw CliError(kUsageError, "--target-fn: expected class, softmax, log_softmax, logsumexp, regression, "
                                "segmentation or box, got '" + function + "'");

  if (args.has("target") && args.has("targets"))
    throw CliError(kUsageError, "--target and --targets: give one of them");
  const bool classless = spec.function == F::kLogSumExp || spec.function == F::kRegression;
  if (classless && (args.has("target") || args.has("targets")))
    throw CliError(kUsageError, "--target-fn " + function + " explains no class: drop --target / --targets");

  if (args.has("targets")) {
    spec.list = parse_int_list(args.get("targets"), "--targets");
    for (int64_t c : spec.list)
      if (c < 0) throw CliError(kUsageError, "--targets: a class index must be >= 0, got " + std::to_string(c));
    spec.classes = TargetSpec::Classes::kList;
  } else if (args.has("target") && args.get("target") != "predicted") {
    const std::string& text = args.get("target");
    const bool looks_numeric = !text.empty() && text.find_first_not_of("+-0123456789") == std::string::npos;
    if (looks_numeric) {
      spec.classes = TargetSpec::Classes::kIndex;
      spec.index = parse_int(text, "--target");
      if (spec.index < 0) throw CliError(kUsageError, "--target: a class index must be >= 0, got " + text);
    } else if (is_npy_path(text)) {
      read_class_indices(spec, text, examples);
    } else {
      throw CliError(kUsageError, "--target: expected 'predicted', a class index or a .npy file, got '" + text + "'");
    }
  }

  const bool needs_class = spec.function == F::kSegmentation || spec.function == F::kBox;
  if (needs_class && (spec.classes == TargetSpec::Classes::kPredicted ||
                      (spec.function == F::kSegmentation && spec.classes == TargetSpec::Classes::kIndices)))
    throw CliError(kUsageError, "--target-fn " + function + " needs the class: --target C" +
                                    (spec.function == F::kBox ? std::string(", a .npy of N classes") : std::string()) +
                                    " or --targets C1,C2,...");

  if (args.has("target-mask")) {
    if (spec.function != F::kSegmentation)
      throw CliError(kUsageError, "--target-mask is for --target-fn segmentation");
    torch::Tensor mask = read_file(args.get("target-mask"), "--target-mask");
    if (mask.dim() < 2 || (mask.size(0) != 1 && mask.size(0) != examples))
      throw CliError(kInputError, "--target-mask '" + args.get("target-mask") + "' has shape " +
                                      sizes_text(mask.sizes()) + "; expected [N, H, W] with N = " +
                                      std::to_string(examples) + " or [1, H, W] for every example");
    spec.mask = mask;
  }
  if (args.has("target-box") || args.has("iou")) {
    if (spec.function != F::kBox) throw CliError(kUsageError, "--target-box and --iou are for --target-fn box");
  }
  if (spec.function == F::kBox) {
    if (!args.has("target-box")) throw CliError(kUsageError, "--target-fn box needs --target-box x1,y1,x2,y2 or FILE.npy");
    const std::string& text = args.get("target-box");
    if (is_npy_path(text)) {
      torch::Tensor boxes = read_file(text, "--target-box");
      if (!boxes.is_floating_point() || boxes.dim() != 2 || boxes.size(1) != 4 || boxes.size(0) != examples)
        throw CliError(kInputError, "--target-box '" + text + "' has shape " + sizes_text(boxes.sizes()) +
                                        " and dtype " + std::string(c10::toString(boxes.scalar_type())) +
                                        "; expected floating point [" + std::to_string(examples) + ", 4]");
      spec.boxes = boxes.to(torch::kFloat64);
    } else {
      const std::vector<double> values = parse_double_list(text, "--target-box");
      if (values.size() != 4) throw CliError(kUsageError, "--target-box: expected x1,y1,x2,y2, got '" + text + "'");
      spec.boxes = torch::tensor(values, torch::kFloat64).view({1, 4});
    }
    if (args.has("iou")) {
      spec.iou = parse_double(args.get("iou"), "--iou");
      if (!(spec.iou >= 0 && spec.iou <= 1)) throw CliError(kUsageError, "--iou: must be in [0, 1]");
    }
  }
  return spec;
}

std::vector<std::string> TargetSpec::labels() const {
  if (!several()) return {"target"};
  std::vector<std::string> result;
  for (int64_t c : list) result.push_back("class" + std::to_string(c));
  return result;
}

std::vector<nni::Target> TargetSpec::for_rows(int64_t begin, int64_t end, const torch::Device& device,
                                              const torch::Tensor& batch, const nni::Model& model) const {
  // The classes, one Target each (several only for --targets).
  std::vector<nni::Target> classes_of;
  switch (classes) {
    case Classes::kPredicted:
      classes_of.emplace_back();
      break;
    case Classes::kIndex:
      classes_of.emplace_back(index);
      break;
    case Classes::kIndices:
      classes_of.emplace_back(indices.slice(0, begin, end).to(device));
      break;
    case Classes::kList:
      for (int64_t c : list) classes_of.emplace_back(c);
      break;
  }
  std::vector<nni::Target> result;
  for (size_t k = 0; k < classes_of.size(); ++k) {
    const nni::Target& target = classes_of[k];
    switch (function) {
      case Function::kClass:
        result.push_back(target);
        break;
      case Function::kSoftmax:
      case Function::kLogSoftmax: {
        // The class is fixed here, on the clean batch: a score function sees perturbed copies too.
        torch::Tensor chosen;
        if (classes == Classes::kPredicted) {
          torch::NoGradGuard no_grad;
          chosen = target.class_indices(model.forward(batch));
        } else if (classes == Classes::kIndices) {
          chosen = indices.slice(0, begin, end).to(device);
        } else {
          chosen = torch::full({end - begin}, classes == Classes::kIndex ? index : list[k],
                               torch::TensorOptions().dtype(torch::kLong).device(device));
        }
        const bool log = function == Function::kLogSoftmax;
        result.emplace_back(nni::ScoreFunction([chosen, log](const torch::Tensor& output) {
          TORCH_CHECK_VALUE(output.dim() == 2, "--target-fn ", log ? "log_softmax" : "softmax",
                            " needs an output [N, classes], got ", output.sizes());
          const torch::Tensor classes = nni::tile_rows(chosen, output.size(0), "the target classes");
          const torch::Tensor p = log ? output.log_softmax(1) : output.softmax(1);
          return p.gather(1, classes.to(output.device()).unsqueeze(1)).squeeze(1);
        }));
        break;
      }
      case Function::kLogSumExp:
        result.emplace_back(nni::ScoreFunction([](const torch::Tensor& output) {
          TORCH_CHECK_VALUE(output.dim() == 2, "--target-fn logsumexp needs an output [N, classes], got ",
                            output.sizes());
          return output.logsumexp(1);
        }));
        break;
      case Function::kRegression:
        result.push_back(nni::Target::regression());
        break;
      case Function::kSegmentation: {
        const int64_t c = classes == Classes::kIndex ? index : list[k];
        if (mask.defined()) {
          const torch::Tensor rows = mask.size(0) == 1 ? mask : mask.slice(0, begin, end);
          result.push_back(nni::Target::segmentation(c, rows.to(device)));
        } else {
          result.push_back(nni::Target::predicted_pixels(c));
        }
        break;
      }
      case Function::kBox: {
        const torch::Tensor rows = boxes.size(0) == 1 ? boxes : boxes.slice(0, begin, end);
        result.push_back(nni::Target::box(rows.to(device), target, iou));
        break;
      }
    }
  }
  return result;
}

}  // namespace nni_cli
