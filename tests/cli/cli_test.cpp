// The nni tool end to end: it is run as a separate process on the TorchScript fixtures, and its .npy
// output is compared with the library called directly on the same input and configuration.

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/catch_torch.h"
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/torch.h>

#include "nn_interpretability/nn_interpretability.h"
#include "nn_interpretability/io/npy.h"
#include "nn_interpretability/registry/registry.h"
#include "nn_interpretability/model/torchscript.h"
#include "nn_interpretability/visualization/image_io.h"
#include "nn_interpretability/visualization/superpixels.h"
#include "support/all_close.h"

namespace nni = nn_interpretability;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using nni_test::AllClose;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device device;
    path = fs::temp_directory_path() / ("nni_cli_test_" + std::to_string(device()) + std::to_string(device()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code error;
    fs::remove_all(path, error);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string read_text(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

std::string fixture(const std::string& name) { return std::string(NNI_SOURCE_DIR) + "/tests/fixtures/" + name; }

struct Run {
  int code;
  std::string out;
  std::string err;
};

// Runs `nni ARGS` (ARGS already quoted where needed) with stdout and stderr captured.
Run nni_run(const TempDir& dir, const std::string& args) {
  const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
  const std::string command = quote(NNI_CLI_PATH) + " " + args + " > " + quote(out) + " 2> " + quote(err);
  const int status = std::system(command.c_str());
  Run run{WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(out), read_text(err)};
  UNSCOPED_INFO("nni " << args << "\nexit code " << run.code << "\nstdout: " << run.out << "\nstderr: " << run.err);
  return run;
}

torch::jit::Module load_fixture(const std::string& name) {
  torch::jit::Module module = torch::jit::load(fixture(name));
  module.eval();
  return module;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

// A zip archive of stored (uncompressed) files, enough to fake a TorchScript file's records.
std::string stored_zip(const std::vector<std::pair<std::string, std::string>>& files) {
  auto crc32 = [](const std::string& data) {
    uint32_t crc = 0xffffffffu;
    for (unsigned char byte : data) {
      crc ^= byte;
      for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
  };
  auto u16 = [](std::string& out, uint32_t v) { out += static_cast<char>(v & 0xff), out += static_cast<char>(v >> 8 & 0xff); };
  auto u32 = [&](std::string& out, uint32_t v) { u16(out, v & 0xffff), u16(out, v >> 16); };
  std::string zip, central;
  for (const auto& [name, data] : files) {
    const auto offset = static_cast<uint32_t>(zip.size());
    const uint32_t crc = crc32(data), size = static_cast<uint32_t>(data.size());
    u32(zip, 0x04034b50), u16(zip, 20), u16(zip, 0), u16(zip, 0), u16(zip, 0), u16(zip, 0x21);
    u32(zip, crc), u32(zip, size), u32(zip, size), u16(zip, static_cast<uint32_t>(name.size())), u16(zip, 0);
    zip += name + data;
    u32(central, 0x02014b50), u16(central, 20), u16(central, 20), u16(central, 0), u16(central, 0), u16(central, 0);
    u16(central, 0x21), u32(central, crc), u32(central, size), u32(central, size);
    u16(central, static_cast<uint32_t>(name.size())), u16(central, 0), u16(central, 0), u16(central, 0);
    u16(central, 0), u32(central, 0), u32(central, offset);
    central += name;
  }
  const auto central_offset = static_cast<uint32_t>(zip.size());
  zip += central;
  u32(zip, 0x06054b50), u16(zip, 0), u16(zip, 0), u16(zip, static_cast<uint32_t>(files.size()));
  u16(zip, static_cast<uint32_t>(files.size())), u32(zip, static_cast<uint32_t>(central.size()));
  u32(zip, central_offset), u16(zip, 0);
  return zip;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A batch of images in [0, 1], as models see them after preprocessing.
torch::Tensor images(const std::vector<int64_t>& shape, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::rand(shape);
}

}  // namespace

TEST_CASE("nni methods lists every registered method, one line each") {
  TempDir dir;
  const Run run = nni_run(dir, "methods");
  REQUIRE(run.code == 0);
  const auto lines = lines_of(run.out);
  REQUIRE(lines.size() == nni::methods().size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& name = nni::methods()[i].name;
    CHECK(lines[i].compare(0, name.size() + 1, name + " ") == 0);
  }
}

TEST_CASE("The registry holds the thirty-four public methods under their command-line names") {
  const std::vector<std::string> expected = {"vanilla_gradient", "saliency",        "input_x_gradient", "guided_backprop",
                                             "deconvolution",    "integrated_gradients", "gradient_shap", "lrp", "deep_lift", "deep_lift_shap", "smoothgrad",   "cam",
                                             "grad_cam",         "guided_grad_cam", "grad_cam_pp",      "score_cam",
                                             "layer_cam",        "hires_cam",       "xgrad_cam",
                                             "grad_cam_elementwise", "eigen_cam", "eigen_grad_cam",  "ablation_cam",
                                             "full_grad", "attention_rollout", "gradient_attention_rollout",
                                             "occlusion", "feature_ablation", "shapley_value_sampling",
                                             "shapley_values", "kernel_shap", "lime", "feature_permutation", "rise"};
  std::vector<std::string> names;
  for (const auto& info : nni::methods()) names.push_back(info.name);
  CHECK(names == expected);
  const nni::Model model(load_fixture("tiny_vgg_scripted.pt"));
  for (const auto& info : nni::methods()) {
    const auto method = nni::make_method(info.name, model, nni::MethodConfig().layer("features.4"));
    REQUIRE(method);
    CHECK(method->name() == info.name);  // the CLI name is the method's own name
    CHECK(method->class_name() == info.class_name);
  }
  CHECK_THROWS_WITH(nni::make_method("nope", model, {}), Contains("unknown method 'nope'") && Contains("layer_cam"));
  CHECK_THROWS_WITH(nni::make_method("grad_cam", model, {}), Contains("needs a layer"));
}

TEST_CASE("make_method checks a config against the method's schema, naming the option") {
  const nni::Model model(load_fixture("tiny_vgg_scripted.pt"));
  const nni::MethodConfig layer = nni::MethodConfig().layer("features.4");
  CHECK_THROWS_WITH(nni::make_method("integrated_gradients", model, nni::MethodConfig().set("steps", 0)),
                    Contains("method 'integrated_gradients': option 'steps' must be >= 1, got 0"));
  CHECK_THROWS_WITH(nni::make_method("integrated_gradients", model, nni::MethodConfig().set("steps", "many")),
                    Contains("option 'steps' must be an integer, got 'many'"));
  CHECK_THROWS_WITH(nni::make_method("grad_cam", model, nni::MethodConfig(layer).set("upsample", "cubic")),
                    Contains("option 'upsample': expected one of none, bilinear, nearest, bicubic, got 'cubic'"));
  CHECK_THROWS_WITH(
      nni::make_method("smoothgrad", model, nni::MethodConfig().set("noise_level", 0.1).set("stdev", 0.1)),
      Contains("options 'noise_level' and 'stdev' exclude each other"));
  CHECK_THROWS_WITH(nni::make_method("smoothgrad", model, nni::MethodConfig().set("base", "smoothgrad")),
                    Contains("the base method cannot be smoothgrad itself"));
  CHECK_THROWS_WITH(nni::make_method("smoothgrad", model, nni::MethodConfig().set("base", "nope")),
                    Contains("unknown method 'nope'"));
  // smoothgrad's base brings its options: steps applies to smoothgrad over integrated_gradients only.
  const auto over_ig = nni::MethodConfig().set("base", "integrated_gradients").set("steps", 4).set("layer", "x");
  CHECK(nni::unused_options("smoothgrad", over_ig) == std::vector<std::string>{"layer"});
  CHECK(nni::unused_options("smoothgrad", nni::MethodConfig().set("steps", 4)) == std::vector<std::string>{"steps"});
  // Every option of every method has a name, a help line and a default shown in help; flags of one
  // name have one type (the command line has one flag per name).
  for (const auto& info : nni::methods()) {
    for (const auto& option : info.options) {
      INFO(info.name << " " << option.name);
      CHECK(!option.help.empty());
      CHECK((option.required || !option.default_value.empty()));
    }
  }
}

TEST_CASE("nni layers lists the dotted layer names with their output shapes") {
  TempDir dir;
  const Run run = nni_run(dir, "layers --model " + quote(fixture("tiny_vgg_scripted.pt")) + " --input-shape 1,3,16,16");
  REQUIRE(run.code == 0);
  auto line_of = [&](const std::string& name) {
    for (const auto& line : lines_of(run.out))
      if (line.compare(0, name.size() + 1, name + " ") == 0) return line;
    return std::string("(no line for " + name + ")");
  };
  CHECK_THAT(line_of("features.0"), Contains("[1, 8, 16, 16]"));
  CHECK_THAT(line_of("features.2"), Contains("[1, 8, 8, 8]"));
  CHECK_THAT(line_of("features.4"), Contains("[1, 16, 8, 8]"));
  CHECK_THAT(line_of("features.5"), Contains("[1, 16, 4, 4]"));
  CHECK_THAT(line_of("classifier.1"), Contains("[1, 32]"));
  CHECK_THAT(line_of("features"), Contains("[1, 16, 4, 4]"));
}

TEST_CASE("nni layers on torchvision models: every layer reachable in one pass, calls counted, reasons shown") {
  TempDir dir;
  const std::string real = std::string(NNI_SOURCE_DIR) + "/tests/fixtures/real_models/";
  const Run scripted = nni_run(dir, "layers --model " + quote(real + "densenet_scripted.pt") + " --input-shape 1,3,64,64");
  REQUIRE(scripted.code == 0);
  CHECK_THAT(scripted.out, Contains("features.denseblock1.denselayer1.norm1"));
  CHECK_THAT(scripted.out, !Contains("unreachable"));
  CHECK_THAT(scripted.out, Contains("layers reachable)"));
  const Run resnet = nni_run(dir, "layers --model " + quote(real + "resnet_traced.pt") + " --input-shape 1,3,64,64");
  REQUIRE(resnet.code == 0);
  for (const auto& line : lines_of(resnet.out))
    if (line.compare(0, 14, "layer4.0.relu ") == 0) CHECK_THAT(line, Contains("3 calls"));
  // Traced, an identity-in-eval module left no trace: the reason says so and what to do.
  const Run convnext = nni_run(dir, "layers --model " + quote(real + "convnext_traced.pt") + " --input-shape 1,3,64,64");
  REQUIRE(convnext.code == 0);
  CHECK_THAT(convnext.out, Contains("features.1.0.stochastic_depth") && Contains("unreachable: in this traced model") &&
                               Contains("torch.jit.script"));
}

TEST_CASE("nni attribute writes what the library computes for the same input and configuration") {
  TempDir dir;
  struct Case {
    std::string fixture;
    std::vector<int64_t> shape;
    std::string options;  // method and its options
    std::function<torch::Tensor(const nni::Model&, const torch::Tensor&)> expected;
  };
  using Opt = nni::Upsample;
  const std::vector<Case> cases = {
      {"tiny_vgg_scripted.pt", {5, 3, 16, 16}, "--method vanilla_gradient --batch-size 2",
       [](const nni::Model& m, const torch::Tensor& x) { return nni::VanillaGradient(m).attribute(x); }},
      {"tiny_vgg_scripted.pt", {5, 3, 16, 16}, "--method saliency",
       [](const nni::Model& m, const torch::Tensor& x) { return nni::SaliencyMap(m).attribute(x); }},
      {"relu_cnn_scripted.pt", {5, 1, 8, 8}, "--method input_x_gradient --target 2 --batch-size 3",
       [](const nni::Model& m, const torch::Tensor& x) { return nni::InputXGradient(m).attribute(x, 2); }},
      {"tiny_resnet_scripted.pt", {5, 3, 16, 16}, "--method guided_backprop --batch-size 4 --target 1",
       [](const nni::Model& m, const torch::Tensor& x) { return nni::GuidedBackprop(m).attribute(x, 1); }},
      {"relu_cnn_scripted.pt", {5, 1, 8, 8}, "--method deconvolution",
       [](const nni::Model& m, const torch::Tensor& x) { return nni::Deconvolution(m).attribute(x); }},
      {"tiny_vgg_scripted.pt", {5, 3, 16, 16}, "--method smoothgrad --base guided_backprop --samples 6 "
                                               "--noise-level 0.2 --seed 3 --batch-size 5",
       [](const nni::Model& m, const torch::Tensor& x) {
         return nni::SmoothGrad(nni::GuidedBackprop(m), nni::SmoothGradOptions().samples(6).noise_level(0.2).seed(3))
             .attribute(x);
       }},
      {"relu_cnn_scripted.pt", {5, 1, 8, 8}, "--method smoothgrad --samples 4 --stdev 0.1 --variant variance --seed 9",
       [](const nni::Model& m, const torch::Tensor& x) {
         return nni::SmoothGrad(nni::VanillaGradient(m), nni::SmoothGradOptions()
                                                             .samples(4)
                                                             .stdev(0.1)
                                                             .variant(nni::SmoothGradVariant::kVariance)
                                                             .seed(9))
             .attribute(x);
       }},
      {"relu_cnn_scripted.pt", {5, 1, 8, 8}, "--method integrated_gradients --steps 16 --batch-size 2",
       [](const nni::Model& m, const torch::Tensor& x) {
         return nni::IntegratedGradients(m, nni::IntegratedGradientsOptions().steps(16)).attribute(x);
       }},
      {"tiny_vgg_scripted.pt", {5, 3, 16, 16}, "--method grad_cam --layer features.4 --upsample bilinear --batch-size 2 --target 1",
       [](const nni::Model& m, const torch::Tensor& x) {
         return nni::GradCam(m, nni::GradCamOptions("features.4").upsample(Opt::kBilinear)).attribute(x, 1);
       }},
      {"tiny_vgg_scripted.pt", {5, 3, 16, 16}, "--method score_cam --layer features.4",
       [](const nni::Model& m, const torch::Tensor& x) {
         return nni::ScoreCam(m, nni::ScoreCamOptions("features.4")).attribute(x);
       }},
      {"tiny_resnet_scripted.pt", {5, 3, 16, 16}, "--method cam --layer layer2 --upsample nearest",
       [](const nni::Model& m, const torch::Tensor& x) {
         return nni::Cam(m, nni::CamOptions("layer2").upsample(Opt::kNearest)).attribute(x);
       }},
      {"tiny_vgg_scripted.pt", {5, 3, 16, 16}, "--method guided_grad_cam --layer features.4 --target 3",
       [](const nni::Model& m, const torch::Tensor& x) {
         return nni::GuidedGradCam(m, nni::GuidedGradCamOptions("features.4")).attribute(x, 3);
       }},
      {"tiny_resnet_scripted.pt", {5, 3, 16, 16}, "--method grad_cam_pp --layer layer2 --no-relu",
       [](const nni::Model& m, const torch::Tensor& x) {
         return nni::GradCamPlusPlus(m, nni::GradCamPlusPlusOptions("layer2").relu(false)).attribute(x);
       }},
      {"tiny_resnet_scripted.pt", {5, 3, 16, 16}, "--method layer_cam --layer layer2 --upsample bicubic",
       [](const nni::Model& m, const torch::Tensor& x) {
         return nni::LayerCam(m, nni::LayerCamOptions("layer2").upsample(Opt::kBicubic)).attribute(x);
       }},
      // The perturbation family's flags.
      {"tiny_vgg_scripted.pt", {3, 3, 16, 16}, "--method occlusion --window 3,4,4 --stride 3,2,2 --baseline 0.5 --target 1",
       [](const nni::Model& m, const torch::Tensor& x) {
         return nni::Occlusion(m, nni::OcclusionOptions().window({3, 4, 4}).strides({3, 2, 2}).baseline(0.5)).attribute(x, 1);
       }},
      {"tiny_vgg_scripted.pt", {3, 3, 16, 16}, "--method kernel_shap --features blocks:3x3 --samples 40 --seed 4 --rows-per-call 16",
       [](const nni::Model& m, const torch::Tensor& x) {
         return nni::KernelShap(m, nni::KernelShapOptions().feature_mask(nni::FeatureMask::blocks(3, 3)).samples(40).seed(4))
             .attribute(x);
       }},
      {"tiny_vgg_scripted.pt", {3, 3, 16, 16}, "--method lime --features grid:4x4 --samples 30 --fit ridge --alpha 1 --kernel-width 0.5",
       [](const nni::Model& m, const torch::Tensor& x) {
         return nni::Lime(m, nni::LimeOptions()
                                 .feature_mask(nni::FeatureMask::grid(4, 4))
                                 .samples(30)
                                 .fit(nni::SurrogateFit::kRidge)
                                 .alpha(1)
                                 .kernel_width(0.5))
             .attribute(x);
       }},
      {"tiny_vgg_scripted.pt", {3, 3, 16, 16}, "--method feature_ablation --features slic:6 --baseline blur:2",
       [](const nni::Model& m, const torch::Tensor& x) {
         // The tool rescales each image to [0, 1] before SLIC (inputs may be normalized).
         const torch::Tensor flat = x.flatten(1);
         const torch::Tensor low = std::get<0>(flat.min(1)).view({-1, 1, 1, 1});
         const torch::Tensor range = (std::get<0>(flat.max(1)).view({-1, 1, 1, 1}) - low).clamp_min(1e-12);
         const torch::Tensor ids = nn_interpretability::visualization::slic_superpixels(
             (x - low) / range, nn_interpretability::visualization::SlicOptions().segments(6));
         return nni::FeatureAblation(m, nni::FeatureAblationOptions()
                                            .feature_mask(nni::FeatureMask::custom(ids))
                                            .baseline(nni::Baseline::blurred(2)))
             .attribute(x);
       }},
      {"tiny_vgg_scripted.pt", {3, 3, 16, 16}, "--method rise --masks 50 --cells 4 --probability 0.4 --seed 2",
       [](const nni::Model& m, const torch::Tensor& x) {
         return nni::Rise(m, nni::RiseOptions().masks(50).cells(4).probability(0.4).seed(2)).attribute(x);
       }},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.fixture << " " << c.options) {
      const torch::Tensor input = images(c.shape, 11);
      nni::write_npy(dir.file("input.npy"), input);
      const Run run = nni_run(dir, "attribute --model " + quote(fixture(c.fixture)) + " --input " +
                                       quote(dir.file("input.npy")) + " --output " + quote(dir.file("out.npy")) +
                                       " " + c.options);
      REQUIRE(run.code == 0);
      CHECK(run.out.empty());  // stdout stays clean for --repeat's JSON
      const torch::Tensor written = nni::read_npy(dir.file("out.npy"));
      CHECK(written.scalar_type() == torch::kFloat32);
      const nni::Model model(load_fixture(c.fixture));
      const torch::Tensor expected = c.expected(model, input);
      CHECK_THAT(written, AllClose(expected, 1e-4, 1e-5));
      CHECK(expected.abs().sum().item<double>() > 0);  // a meaningful comparison, not zeros against zeros
    }
  }
}

TEST_CASE("nni attribute explains per-example targets read from a .npy file") {
  TempDir dir;
  const torch::Tensor input = images({4, 3, 16, 16}, 5);
  const torch::Tensor labels = torch::tensor({3, 0, 2, 1}, torch::kInt64);
  nni::write_npy(dir.file("input.npy"), input);
  nni::write_npy(dir.file("labels.npy"), labels.to(torch::kInt32));
  const Run run = nni_run(dir, "attribute --model " + quote(fixture("tiny_vgg_scripted.pt")) + " --input " +
                                   quote(dir.file("input.npy")) + " --method vanilla_gradient --target " +
                                   quote(dir.file("labels.npy")) + " --batch-size 3 --quiet --output " +
                                   quote(dir.file("out.npy")));
  REQUIRE(run.code == 0);
  CHECK(run.err.empty());  // --quiet
  const nni::Model model(load_fixture("tiny_vgg_scripted.pt"));
  CHECK_THAT(nni::read_npy(dir.file("out.npy")), AllClose(nni::VanillaGradient(model).attribute(input, labels), 1e-4, 1e-5));
}

TEST_CASE("nni attribute: segmentation, detection, regression, several targets and fixed inputs", "[cli][targets]") {
  TempDir dir;
  auto targets = [](const std::string& name) { return fixture("targets/" + name); };
  const torch::Tensor input = nni::read_npy(targets("input.npy"));
  const std::string common = " --input " + quote(targets("input.npy")) + " --dtype float64 --quiet --output " +
                             quote(dir.file("out.npy"));
  SECTION("segmentation: a dict entry, a class and a mask") {
    const Run run = nni_run(dir, "attribute --model " + quote(targets("fcn_scripted.pt")) +
                                     " --method grad_cam --layer backbone.conv2 --output-index out --target-fn "
                                     "segmentation --target 2 --target-mask " + quote(targets("fcn_mask.npy")) + common);
    REQUIRE(run.code == 0);
    const nni::Model model(torch::jit::load(targets("fcn_scripted.pt")), nni::TorchScriptOptions().output("out"));
    const torch::Tensor expected = nni::GradCam(model, nni::GradCamOptions("backbone.conv2"))
                                       .attribute(input, nni::Target::segmentation(2, nni::read_npy(targets("fcn_mask.npy"))));
    CHECK_THAT(nni::read_npy(dir.file("out.npy")), AllClose(expected, 1e-5, 1e-7));
    const Run predicted = nni_run(dir, "attribute --model " + quote(targets("fcn_scripted.pt")) +
                                           " --method vanilla_gradient --output-index out --target-fn segmentation "
                                           "--target 1" + common);
    REQUIRE(predicted.code == 0);
    CHECK_THAT(nni::read_npy(dir.file("out.npy")),
               AllClose(nni::read_npy(targets("fcn_gradient_class1_predicted.npy")), 1e-5, 1e-7));
    const Run no_entry = nni_run(dir, "attribute --model " + quote(targets("fcn_scripted.pt")) +
                                          " --method vanilla_gradient --target-fn segmentation --target 1" + common);
    CHECK(no_entry.code == 1);
    CHECK_THAT(no_entry.err, Contains("a dict with keys out") && Contains("--output-index"));
    const Run no_class = nni_run(dir, "attribute --model " + quote(targets("fcn_scripted.pt")) +
                                          " --method vanilla_gradient --output-index out --target-fn segmentation" + common);
    CHECK(no_class.code == 2);
    CHECK_THAT(no_class.err, Contains("needs the class"));
  }
  SECTION("detection: joined dict entries and a box target") {
    const Run run = nni_run(dir, "attribute --model " + quote(targets("detector_scripted.pt")) +
                                     " --method vanilla_gradient --output-index boxes+scores --target-fn box "
                                     "--target-box " + quote(targets("detector_boxes.npy")) + " --target " +
                                     quote(targets("detector_labels.npy")) + common);
    REQUIRE(run.code == 0);
    CHECK_THAT(nni::read_npy(dir.file("out.npy")), AllClose(nni::read_npy(targets("detector_gradient.npy")), 1e-5, 1e-7));
  }
  SECTION("regression, and a forward with a fixed second input") {
    Run run = nni_run(dir, "attribute --model " + quote(targets("regression_scripted.pt")) +
                               " --method vanilla_gradient --target-fn regression" + common);
    REQUIRE(run.code == 0);
    CHECK_THAT(nni::read_npy(dir.file("out.npy")), AllClose(nni::read_npy(targets("regression_gradient.npy")), 1e-5, 1e-7));
    run = nni_run(dir, "attribute --model " + quote(targets("two_input_scripted.pt")) +
                           " --method vanilla_gradient --input-name image --fixed-input mask=" +
                           quote(targets("two_input_mask.npy")) + " --target 3 --batch-size 1" + common);
    REQUIRE(run.code == 0);
    CHECK_THAT(nni::read_npy(dir.file("out.npy")),
               AllClose(nni::read_npy(targets("two_input_gradient_class3.npy")), 1e-5, 1e-7));
    run = nni_run(dir, "attribute --model " + quote(targets("two_input_scripted.pt")) +
                           " --method vanilla_gradient --target 3" + common);
    CHECK(run.code == 2);
    CHECK_THAT(run.err, Contains("argument 'mask'") && Contains("--fixed-input mask="));
    run = nni_run(dir, "attribute --model " + quote(targets("two_input_scripted.pt")) +
                           " --method vanilla_gradient --fixed-input mask" + common);
    CHECK(run.code == 2);
    CHECK_THAT(run.err, Contains("expected NAME=FILE.npy"));
  }
  SECTION("several classes at once: [N, K, ...]") {
    const torch::Tensor small = images({3, 3, 16, 16}, 8);
    nni::write_npy(dir.file("small.npy"), small);
    const Run run = nni_run(dir, "attribute --model " + quote(fixture("tiny_vgg_scripted.pt")) + " --input " +
                                     quote(dir.file("small.npy")) + " --method grad_cam --layer features.4 --targets 0,2 "
                                     "--quiet --png " + quote(dir.file("png")) + " --output " + quote(dir.file("out.npy")));
    REQUIRE(run.code == 0);
    const nni::Model model(load_fixture("tiny_vgg_scripted.pt"));
    nni::GradCam method(model, nni::GradCamOptions("features.4"));
    const torch::Tensor written = nni::read_npy(dir.file("out.npy"));
    REQUIRE(written.size(1) == 2);
    CHECK_THAT(written.select(1, 1), AllClose(method.attribute(small, 2), 1e-5, 1e-6));
    CHECK(fs::exists(dir.file("png/00002_grad_cam_class2.png")));
    const Run both = nni_run(dir, "attribute --model " + quote(fixture("tiny_vgg_scripted.pt")) + " --input " +
                                      quote(dir.file("small.npy")) + " --method grad_cam --layer features.4 --targets 0,2 "
                                      "--target 1 --output " + quote(dir.file("out.npy")));
    CHECK(both.code == 2);
    CHECK_THAT(both.err, Contains("give one of them"));
  }
}

TEST_CASE("Image inputs are resized, scaled to [0, 1] and normalized, in that order") {
  TempDir dir;
  // A 2x2 RGB image: red, green / blue, (128, 64, 255).
  const torch::Tensor pixels = torch::tensor({{{255.f, 0.f}, {0.f, 128.f}},  //
                                              {{0.f, 255.f}, {0.f, 64.f}},
                                              {{0.f, 0.f}, {255.f, 255.f}}});
  nni::visualization::save_png(dir.file("tiny.png"), pixels / 255);
  const torch::Tensor mean = torch::tensor({0.5f, 0.25f, 0.0f}).view({1, 3, 1, 1});
  const torch::Tensor std = torch::tensor({0.5f, 0.25f, 2.0f}).view({1, 3, 1, 1});
  const std::string common = "preprocess --input " + quote(dir.file("tiny.png")) +
                             " --mean 0.5,0.25,0 --std 0.5,0.25,2 --output " + quote(dir.file("x.npy"));

  SECTION("no resize") {
    REQUIRE(nni_run(dir, common).code == 0);
    CHECK_THAT(nni::read_npy(dir.file("x.npy")), AllClose((pixels.unsqueeze(0) / 255 - mean) / std, 1e-6, 1e-6));
  }
  SECTION("nearest: every pixel becomes a 2x2 block") {
    REQUIRE(nni_run(dir, common + " --size 4 --resize nearest").code == 0);
    const torch::Tensor block = pixels.repeat_interleave(2, 1).repeat_interleave(2, 2).unsqueeze(0);
    CHECK_THAT(nni::read_npy(dir.file("x.npy")), AllClose((block / 255 - mean) / std, 1e-6, 1e-6));
  }
  SECTION("bilinear, align_corners = false: weights 1, 3/4, 1/4, 0 along each axis") {
    REQUIRE(nni_run(dir, common + " --size 4,4").code == 0);
    const torch::Tensor w = torch::tensor({{1.f, 0.f}, {0.75f, 0.25f}, {0.25f, 0.75f}, {0.f, 1.f}});
    const torch::Tensor resized = torch::matmul(torch::matmul(w, pixels), w.t()).unsqueeze(0);  // [1, 3, 4, 4]
    const torch::Tensor got = nni::read_npy(dir.file("x.npy"));
    CHECK_THAT(got, AllClose((resized / 255 - mean) / std, 1e-6, 1e-6));
    // One value by hand: channel 0, row 1, column 1 = (9·255 + 3·0 + 3·0 + 1·128) / 16 / 255, then (x − 0.5) / 0.5.
    CHECK(got[0][0][1][1].item<float>() == Approx(((9 * 255.0 + 128.0) / 16 / 255 - 0.5) / 0.5).epsilon(1e-6));
  }
  SECTION("one mean and std for every channel, and a rectangular size") {
    REQUIRE(nni_run(dir, "preprocess --input " + quote(dir.file("tiny.png")) + " --mean 0.5 --std 0.5 --size 2,4 "
                             "--resize nearest --output " + quote(dir.file("x.npy")))
                .code == 0);
    const torch::Tensor wide = pixels.repeat_interleave(2, 2).unsqueeze(0);
    CHECK_THAT(nni::read_npy(dir.file("x.npy")), AllClose((wide / 255 - 0.5) / 0.5, 1e-6, 1e-6));
  }
}

TEST_CASE("nni attribute takes image files and writes one PNG per example with --png") {
  TempDir dir;
  torch::manual_seed(2);
  nni::visualization::save_png(dir.file("a.png"), torch::rand({3, 20, 20}));
  nni::visualization::save_png(dir.file("b.png"), torch::rand({3, 12, 24}));
  const std::string image_options = " --input " + quote(dir.file("a.png")) + " " + quote(dir.file("b.png")) +
                                    " --size 16 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225";
  REQUIRE(nni_run(dir, "preprocess" + image_options + " --output " + quote(dir.file("x.npy"))).code == 0);
  const torch::Tensor input = nni::read_npy(dir.file("x.npy"));
  REQUIRE(input.sizes() == torch::IntArrayRef({2, 3, 16, 16}));
  const nni::Model model(load_fixture("tiny_vgg_scripted.pt"));
  const std::string model_option = " --model " + quote(fixture("tiny_vgg_scripted.pt"));

  SECTION("a layer map: heatmap overlays") {
    const Run run = nni_run(dir, "attribute" + model_option + image_options +
                                     " --method grad_cam --layer features.4 --target 1 --output " + quote(dir.file("out.npy")) +
                                     " --png " + quote(dir.file("png")));
    REQUIRE(run.code == 0);
    CHECK_THAT(nni::read_npy(dir.file("out.npy")),
               AllClose(nni::GradCam(model, nni::GradCamOptions("features.4")).attribute(input, 1), 1e-4, 1e-5));
    for (const char* name : {"00000_grad_cam.png", "00001_grad_cam.png"}) {
      const torch::Tensor picture = nni::visualization::load_image(dir.file("png/" + std::string(name)));
      CHECK(picture.sizes() == torch::IntArrayRef({3, 16, 16}));
    }
    CHECK(std::distance(fs::directory_iterator(dir.file("png")), fs::directory_iterator()) == 2);
  }
  SECTION("a gradient map: signed blue-white-red maps") {
    const Run run = nni_run(dir, "attribute" + model_option + " --input " + quote(dir.file("x.npy")) +
                                     " --method vanilla_gradient --output " + quote(dir.file("out.npy")) +
                                     " --png " + quote(dir.file("png")));
    REQUIRE(run.code == 0);
    CHECK(fs::exists(dir.file("png/00000_vanilla_gradient.png")));
    CHECK(fs::exists(dir.file("png/00001_vanilla_gradient.png")));
  }
}

TEST_CASE("nni reports errors on stderr with the documented exit codes") {
  TempDir dir;
  const std::string vgg = quote(fixture("tiny_vgg_scripted.pt"));
  nni::write_npy(dir.file("x.npy"), images({5, 3, 16, 16}, 1));
  const std::string x = quote(dir.file("x.npy"));
  const std::string out = " --output " + quote(dir.file("out.npy"));
  auto attribute = [&](const std::string& model, const std::string& input, const std::string& options) {
    return nni_run(dir, "attribute --model " + model + " --input " + input + out + " " + options);
  };

  SECTION("usage errors: 2") {
    CHECK(nni_run(dir, "").code == 2);
    const Run command = nni_run(dir, "explain");
    CHECK(command.code == 2);
    CHECK_THAT(command.err, Contains("unknown command 'explain'"));
    CHECK(attribute(vgg, x, "--method saliency --frobnicate").code == 2);
    CHECK(attribute(vgg, x, "--method saliency --batch-size 0").code == 2);
    CHECK(attribute(vgg, x, "--method saliency --shard 2/2").code == 2);
    CHECK(attribute(vgg, x, "--method smoothgrad --samples many").code == 2);
    CHECK(attribute(vgg, x, "--method smoothgrad --stdev 0.1 --noise-level 0.1").code == 2);
    CHECK(attribute(vgg, x, "--method guided_grad_cam --layer features.4 --upsample none").code == 2);
    CHECK(nni_run(dir, "attribute --model " + vgg + " --input " + x + " --method saliency").code == 2);  // no --output
  }
  SECTION("an unknown method: 2, listing the valid names") {
    const Run run = attribute(vgg, x, "--method nope");
    CHECK(run.code == 2);
    CHECK_THAT(run.err, Contains("unknown method 'nope'"));
    for (const auto& info : nni::methods()) CHECK_THAT(run.err, Contains(info.name));
    CHECK(attribute(vgg, x, "--method smoothgrad --base nope").code == 2);
  }
  SECTION("an unknown or missing layer: 2, listing the model's layers") {
    const Run run = attribute(vgg, x, "--method grad_cam --layer features.9");
    CHECK(run.code == 2);
    CHECK_THAT(run.err, Contains("unknown layer 'features.9'") && Contains("features.4") && Contains("classifier.1"));
    const Run missing = attribute(vgg, x, "--method score_cam");
    CHECK(missing.code == 2);
    CHECK_THAT(missing.err, Contains("needs --layer") && Contains("features.4"));
  }
  SECTION("a missing or unloadable model: 4") {
    const Run missing = attribute(quote(dir.file("missing.pt")), x, "--method saliency");
    CHECK(missing.code == 4);
    CHECK_THAT(missing.err, Contains("cannot load TorchScript model '" + dir.file("missing.pt") + "'"));
    write_file(dir.file("corrupt.pt"), "this is not a TorchScript archive");
    const Run corrupt = attribute(quote(dir.file("corrupt.pt")), x, "--method saliency");
    CHECK(corrupt.code == 4);
    CHECK_THAT(corrupt.err, Contains("cannot load TorchScript model '" + dir.file("corrupt.pt") + "'"));
    // A zip whose version record says it comes from a far newer PyTorch.
    write_file(dir.file("future.pt"), stored_zip({{"archive/version", "99\n"}, {"archive/data.pkl", "."}}));
    const Run future = attribute(quote(dir.file("future.pt")), x, "--method saliency");
    CHECK(future.code == 4);
    CHECK_THAT(future.err, Contains("cannot load TorchScript model '" + dir.file("future.pt") + "'") &&
                               Contains("version"));
    CHECK(nni_run(dir, "layers --model " + quote(dir.file("corrupt.pt")) + " --input-shape 1,3,16,16").code == 4);
  }
  SECTION("bad .npy inputs: 3") {
    nni::write_npy(dir.file("ints.npy"), torch::zeros({5, 3, 16, 16}, torch::kInt64));
    const Run ints = attribute(vgg, quote(dir.file("ints.npy")), "--method saliency");
    CHECK(ints.code == 3);
    CHECK_THAT(ints.err, Contains("dtype"));
    nni::write_npy(dir.file("flat.npy"), torch::zeros({5, 768}));
    const Run flat = attribute(vgg, quote(dir.file("flat.npy")), "--method saliency");
    CHECK(flat.code == 3);
    CHECK_THAT(flat.err, Contains("[N, C, H, W]"));
    const std::string whole = read_text(dir.file("x.npy"));
    write_file(dir.file("short.npy"), whole.substr(0, whole.size() - 10));
    const Run truncated = attribute(vgg, quote(dir.file("short.npy")), "--method saliency");
    CHECK(truncated.code == 3);
    CHECK_THAT(truncated.err, Contains("truncated"));
    std::string corrupt = whole;
    corrupt.replace(corrupt.find("'shape'"), 7, "'shapo'");
    write_file(dir.file("corrupt.npy"), corrupt);
    const Run header = attribute(vgg, quote(dir.file("corrupt.npy")), "--method saliency");
    CHECK(header.code == 3);
    CHECK_THAT(header.err, Contains("corrupt header"));
    CHECK(attribute(vgg, quote(dir.file("none.npy")), "--method saliency").code == 3);
    CHECK(attribute(vgg, quote(dir.file("none.png")), "--method saliency").code == 3);
  }
  SECTION("targets: a length mismatch or a bad file is 3, an out-of-range class is 1") {
    nni::write_npy(dir.file("three.npy"), torch::tensor({0, 1, 2}, torch::kInt64));
    const Run mismatch = attribute(vgg, x, "--method saliency --target " + quote(dir.file("three.npy")));
    CHECK(mismatch.code == 3);
    CHECK_THAT(mismatch.err, Contains("3 class indices but the input has 5 examples"));
    nni::write_npy(dir.file("floats.npy"), torch::zeros({5}));
    CHECK(attribute(vgg, x, "--method saliency --target " + quote(dir.file("floats.npy"))).code == 3);
    const Run range = attribute(vgg, x, "--method saliency --target 99");
    CHECK(range.code == 1);
    CHECK_THAT(range.err, Contains("out of range"));
  }
}

TEST_CASE("Corrupt TorchScript files found by the fuzzer give exit code 4, not a crash") {
  TempDir dir;
  const std::string crashes = std::string(NNI_SOURCE_DIR) + "/fuzz/crashes/fuzz_model_load/";
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(crashes)) {
    if (entry.path().filename().string().rfind("crash-", 0) != 0) continue;
    const Run run = nni_run(dir, "layers --model " + quote(entry.path().string()) + " --input-shape 1,1,8,8");
    CHECK(run.code == 4);
    CHECK_THAT(run.err, Contains("cannot load TorchScript model"));
    ++checked;
  }
  CHECK(checked >= 2);
}

TEST_CASE("nni attribute --shard i/n processes exactly the batches i, i + n, ...") {
  TempDir dir;
  const torch::Tensor input = images({5, 3, 16, 16}, 4);
  nni::write_npy(dir.file("x.npy"), input);
  const std::string base = "attribute --model " + quote(fixture("tiny_vgg_scripted.pt")) + " --input " +
                           quote(dir.file("x.npy")) + " --method vanilla_gradient --batch-size 2";
  REQUIRE(nni_run(dir, base + " --output " + quote(dir.file("all.npy"))).code == 0);
  REQUIRE(nni_run(dir, base + " --shard 0/2 --output " + quote(dir.file("s0.npy"))).code == 0);
  REQUIRE(nni_run(dir, base + " --shard 1/2 --output " + quote(dir.file("s1.npy"))).code == 0);
  const torch::Tensor all = nni::read_npy(dir.file("all.npy"));
  const torch::Tensor s0 = nni::read_npy(dir.file("s0.npy"));
  const torch::Tensor s1 = nni::read_npy(dir.file("s1.npy"));
  // Batches: 0 = rows 0-1, 1 = rows 2-3, 2 = row 4.
  CHECK(s1.sizes() == torch::IntArrayRef({2, 3, 16, 16}));
  CHECK_THAT(s1, AllClose(all.slice(0, 2, 4), 1e-5, 1e-6));
  CHECK(s0.sizes() == torch::IntArrayRef({3, 3, 16, 16}));
  CHECK_THAT(s0, AllClose(torch::cat({all.slice(0, 0, 2), all.slice(0, 4, 5)}), 1e-5, 1e-6));
  // A shard with no batch gives zero rows of the right shape.
  REQUIRE(nni_run(dir, base + " --shard 3/4 --output " + quote(dir.file("s3.npy"))).code == 0);
  CHECK(nni::read_npy(dir.file("s3.npy")).sizes() == torch::IntArrayRef({0, 3, 16, 16}));
}

TEST_CASE("nni attribute --repeat K prints one parsable JSON line with the median time of K calls") {
  TempDir dir;
  nni::write_npy(dir.file("x.npy"), images({3, 3, 16, 16}, 8));
  const Run run = nni_run(dir, "attribute --model " + quote(fixture("tiny_vgg_scripted.pt")) + " --input " +
                                   quote(dir.file("x.npy")) + " --method grad_cam --layer features.4 --repeat 3 " +
                                   "--output " + quote(dir.file("out.npy")));
  REQUIRE(run.code == 0);
  const auto lines = lines_of(run.out);
  REQUIRE(lines.size() == 1);
  std::smatch match;
  const std::regex json(R"(^\{"method":"grad_cam","median_ms":([0-9.eE+-]+),"calls":3,"batch":3,"device":"cpu"\}$)");
  REQUIRE(std::regex_match(lines.front(), match, json));
  const double median = std::stod(match[1].str());
  CHECK(median > 0);
  CHECK(median < 60000);
  CHECK(fs::exists(dir.file("out.npy")));
}

TEST_CASE("nni attribute --device cuda runs on the GPU where there is one, and fails clearly where there is none") {
  TempDir dir;
  const torch::Tensor input = images({2, 3, 16, 16}, 6);
  nni::write_npy(dir.file("x.npy"), input);
  const Run run = nni_run(dir, "attribute --model " + quote(fixture("tiny_vgg_scripted.pt")) + " --input " +
                                   quote(dir.file("x.npy")) + " --method grad_cam --layer features.4 " +
                                   "--upsample bilinear --target 1 --device cuda --output " + quote(dir.file("out.npy")));
  if (!torch::cuda::is_available()) {
    CHECK(run.code == 1);
    CHECK_THAT(run.err, Contains("CUDA is not available"));
    return;
  }
  REQUIRE(run.code == 0);
  const nni::Model model(load_fixture("tiny_vgg_scripted.pt"));
  CHECK_THAT(nni::read_npy(dir.file("out.npy")),
             AllClose(nni::GradCam(model, nni::GradCamOptions("features.4").upsample(nni::Upsample::kBilinear))
                          .attribute(input, 1),
                      1e-3, 1e-4));
}

// ----------------------------------------------------------------------------- no silent wrong answers

namespace {

// A TorchScript module written in TorchScript source here, saved where the tool can load it.
void save_script_module(const std::string& path, const std::string& source,
                        const std::vector<std::pair<std::string, torch::Tensor>>& parameters) {
  torch::jit::Module module("TestModel");
  // Trainable parameters, as torch.jit.script exports them.
  for (const auto& [name, value] : parameters) module.register_parameter(name, value.clone().requires_grad_(true), false);
  module.define(source);
  module.save(path);
}

const char* kLinearSource = R"JIT(
def forward(self, x):
    return torch.matmul(x.flatten(1), self.weight.t())
)JIT";

// Runs under `timeout`: a regression that blocks (opening a FIFO) fails with 124 instead of hanging.
std::string timeout_prefix() { return "timeout 60 "; }

Run shell_run(const TempDir& dir, const std::string& command) {
  const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
  const std::string full = "(" + command + ") > " + quote(out) + " 2> " + quote(err);
  const int status = std::system(full.c_str());
  Run run{WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(out), read_text(err)};
  UNSCOPED_INFO(command << "\nexit code " << run.code << "\nstdout: " << run.out << "\nstderr: " << run.err);
  return run;
}

}  // namespace

TEST_CASE("nni refuses FIFOs, devices and directories as model, input and target files, without blocking",
          "[cli][files]") {
  TempDir dir;
  const std::string vgg = quote(fixture("tiny_vgg_scripted.pt"));
  nni::write_npy(dir.file("x.npy"), images({2, 3, 16, 16}, 1));
  const std::string fifo_npy = dir.file("pipe.npy"), fifo_pt = dir.file("pipe.pt"), fifo_png = dir.file("pipe.png");
  for (const auto& path : {fifo_npy, fifo_pt, fifo_png}) REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  fs::create_directories(dir.file("folder.npy"));
  const std::string tool = timeout_prefix() + quote(NNI_CLI_PATH);
  auto attribute = [&](const std::string& args) {
    return shell_run(dir, tool + " attribute --method saliency --output " + quote(dir.file("out.npy")) + " " + args);
  };

  const Run model = attribute("--model " + quote(fifo_pt) + " --input " + quote(dir.file("x.npy")));
  CHECK(model.code == 4);
  CHECK_THAT(model.err, Contains("cannot load TorchScript model '" + fifo_pt + "': is not a regular file (a FIFO)"));
  const Run input = attribute("--model " + vgg + " --input " + quote(fifo_npy));
  CHECK(input.code == 3);
  CHECK_THAT(input.err, Contains("input '" + fifo_npy + "': is not a regular file (a FIFO)"));
  const Run image = attribute("--model " + vgg + " --input " + quote(fifo_png) + " --size 16");
  CHECK(image.code == 3);
  CHECK_THAT(image.err, Contains("input image '" + fifo_png + "': is not a regular file (a FIFO)"));
  const Run zero = attribute("--model " + vgg + " --input /dev/zero --size 16");
  CHECK(zero.code == 3);
  CHECK_THAT(zero.err, Contains("input image '/dev/zero': is not a regular file (a character device)"));
  const Run folder = attribute("--model " + vgg + " --input " + quote(dir.file("folder.npy")));
  CHECK(folder.code == 3);
  CHECK_THAT(folder.err, Contains("is a directory"));
  const Run target = attribute("--model " + vgg + " --input " + quote(dir.file("x.npy")) + " --target " + quote(fifo_npy));
  CHECK(target.code == 3);
  CHECK_THAT(target.err, Contains("is not a regular file (a FIFO)"));
  const Run model_dir = attribute("--model " + quote(dir.file("folder.npy")) + " --input " + quote(dir.file("x.npy")));
  CHECK(model_dir.code == 4);
  CHECK_THAT(model_dir.err, Contains("is a directory"));
}

TEST_CASE("nni writes its outputs atomically and checks the output paths before computing", "[cli][atomic]") {
  TempDir dir;
  const std::string cnn = quote(fixture("relu_cnn_scripted.pt"));
  const torch::Tensor input = images({2000, 1, 8, 8}, 3);  // 512 kB of attributions
  nni::write_npy(dir.file("x.npy"), input);
  const std::string base = "attribute --model " + cnn + " --input " + quote(dir.file("x.npy")) +
                           " --method vanilla_gradient --batch-size 500 --quiet";

  SECTION("a write that fails midway (file-size limit, as a full disk) keeps the previous result whole") {
    const torch::Tensor previous = torch::arange(10, torch::kFloat32);
    nni::write_npy(dir.file("out.npy"), previous);
    const Run run = shell_run(dir, "trap '' XFSZ; ulimit -f 64; exec " + quote(NNI_CLI_PATH) + " " + base +
                                       " --output " + quote(dir.file("out.npy")));
    CHECK(run.code == 1);
    CHECK_THAT(run.err, Contains("writing '" + dir.file("out.npy") + "' failed: File too large"));
    CHECK(torch::equal(nni::read_npy(dir.file("out.npy")), previous));
    for (const auto& entry : fs::directory_iterator(dir.path))
      CHECK_THAT(entry.path().filename().string(), !Contains(".tmp-"));
  }
  SECTION("two runs writing the same file at once leave one complete result") {
    const std::string one = quote(NNI_CLI_PATH) + " " + base + " --output " + quote(dir.file("same.npy"));
    const Run run = shell_run(dir, one + " & " + one + " & wait");
    CHECK(run.code == 0);
    const nni::Model model(load_fixture("relu_cnn_scripted.pt"));
    CHECK_THAT(nni::read_npy(dir.file("same.npy")), AllClose(nni::VanillaGradient(model).attribute(input), 1e-4, 1e-5));
  }
  SECTION("bad output paths are refused up front with exit code 1, before the model is even loaded") {
    const std::string missing_model = "attribute --model " + quote(dir.file("no_model.pt")) + " --input " +
                                      quote(dir.file("x.npy")) + " --method saliency";
    fs::create_directories(dir.file("folder.npy"));
    const Run folder = nni_run(dir, missing_model + " --output " + quote(dir.file("folder.npy")));
    CHECK(folder.code == 1);
    CHECK_THAT(folder.err, Contains("--output '" + dir.file("folder.npy") + "': is a directory"));
    const Run no_dir = nni_run(dir, missing_model + " --output " + quote(dir.file("nope/out.npy")));
    CHECK(no_dir.code == 1);
    CHECK_THAT(no_dir.err, Contains("--output '" + dir.file("nope/out.npy") + "': cannot create a file in the "
                                    "directory '" + dir.file("nope") + "': no such directory"));
    write_file(dir.file("plain.txt"), "a file");
    const Run png = nni_run(dir, missing_model + " --output " + quote(dir.file("out.npy")) + " --png " +
                                     quote(dir.file("plain.txt/maps")));
    CHECK(png.code == 1);
    CHECK_THAT(png.err, Contains("--png '" + dir.file("plain.txt/maps") + "'") &&
                            Contains("is not a directory (it is a regular file)"));
    const Run preprocess = nni_run(dir, "preprocess --input " + quote(dir.file("x.npy")) + " --output " +
                                            quote(dir.file("folder.npy")));
    CHECK(preprocess.code == 1);
    CHECK_THAT(preprocess.err, Contains("is a directory"));
    CHECK(!fs::exists(dir.file("out.npy")));
  }
}

TEST_CASE("nni attribute reports NaN scores and models cut off from autograd instead of writing maps", "[cli][silent]") {
  TempDir dir;
  torch::manual_seed(12);
  const torch::Tensor weight = torch::randn({3, 4});
  torch::Tensor input = torch::rand({4, 1, 2, 2}) * 0.4;
  input[1][0][0][0] = 0.9;
  input[2][0][0][0] = 0.8;
  nni::write_npy(dir.file("x.npy"), input);
  const std::string common = " --input " + quote(dir.file("x.npy")) + " --output " + quote(dir.file("out.npy"));

  save_script_module(dir.file("nan.pt"), R"JIT(
def forward(self, x):
    scores = torch.matmul(x.flatten(1), self.weight.t())
    return torch.where(x.flatten(1)[:, 0:1] > 0.5, scores * float('nan'), scores)
)JIT",
                     {{"weight", weight}});
  for (const std::string method : {"vanilla_gradient", "integrated_gradients", "smoothgrad"}) {
    const Run run = nni_run(dir, "attribute --model " + quote(dir.file("nan.pt")) + common + " --method " + method);
    CHECK(run.code == 1);
    CHECK_THAT(run.err, Contains("returned NaN or Inf scores in rows 1, 2 (of 4)"));
    CHECK(!fs::exists(dir.file("out.npy")));
  }
  save_script_module(dir.file("detached.pt"), R"JIT(
def forward(self, x):
    return torch.matmul(torch.relu(x.flatten(1)).detach(), self.weight.t())
)JIT",
                     {{"weight", weight}});
  const Run detached = nni_run(dir, "attribute --model " + quote(dir.file("detached.pt")) + common + " --method saliency");
  CHECK(detached.code == 1);
  CHECK_THAT(detached.err, Contains("the target's scores do not depend on the input through autograd"));
  CHECK(!fs::exists(dir.file("out.npy")));
  // A huge noise level overflows the noisy copies: the message says so and names the option.
  save_script_module(dir.file("linear.pt"), kLinearSource, {{"weight", weight}});
  const Run noisy = nni_run(dir, "attribute --model " + quote(dir.file("linear.pt")) + common +
                                     " --method smoothgrad --samples 2 --noise-level 1e39");
  CHECK(noisy.code == 1);
  CHECK_THAT(noisy.err, Contains("the noisy samples overflowed") && Contains("--noise-level") &&
                            !Contains("the input contains NaN"));
  const Run steps = nni_run(dir, "attribute --model " + quote(dir.file("linear.pt")) + common +
                                     " --method integrated_gradients --steps 1000000000");
  CHECK(steps.code == 2);
  CHECK_THAT(steps.err, Contains("--steps: at most 100000, got 1000000000"));
}

TEST_CASE("nni explains model errors briefly: TorchScript failures, torch.save files, float64 models", "[cli][messages]") {
  TempDir dir;
  nni::write_npy(dir.file("x.npy"), images({2, 3, 8, 8}, 2));  // tiny_vgg needs 16 x 16
  const std::string common = " --input " + quote(dir.file("x.npy")) + " --output " + quote(dir.file("out.npy")) +
                             " --method vanilla_gradient";

  SECTION("a TorchScript runtime error: its last lines, the input's shape and dtype; --verbose for the traceback") {
    const Run run = nni_run(dir, "attribute --model " + quote(fixture("tiny_vgg_scripted.pt")) + common);
    CHECK(run.code == 1);
    CHECK_THAT(run.err, Contains("input of shape [2, 3, 8, 8] and dtype Float") &&
                            Contains("mat1 and mat2 shapes cannot be multiplied") && Contains("--verbose") &&
                            !Contains("Traceback of TorchScript"));
    CHECK(lines_of(run.err).size() <= 3);
    const Run verbose = nni_run(dir, "attribute --model " + quote(fixture("tiny_vgg_scripted.pt")) + common + " --verbose");
    CHECK(verbose.code == 1);
    CHECK_THAT(verbose.err, Contains("Traceback of TorchScript") && Contains("mat1 and mat2 shapes cannot be multiplied"));
    CHECK(lines_of(verbose.err).size() > lines_of(run.err).size());
  }
  SECTION("files saved with torch::save or torch.save: exit 4 and how to export") {
    torch::nn::Linear linear(4, 3);
    torch::save(linear, dir.file("cpp_save.pt"));
    for (const std::string& path : {dir.file("cpp_save.pt"), fixture("torch_save_state_dict.pt"),
                                    fixture("torch_save_legacy.pt")}) {
      const Run run = nni_run(dir, "attribute --model " + quote(path) + common);
      CHECK(run.code == 4);
      CHECK_THAT(run.err, Contains("cannot load TorchScript model '" + path + "'") &&
                              Contains("this file is not a TorchScript archive (saved with torch::save / torch.save?); "
                                       "export with torch.jit.script(model).save(path) or torch.jit.trace"));
    }
  }
  SECTION("a float64 model: --dtype float64, not .to(Double)") {
    torch::manual_seed(4);
    const torch::Tensor weight = torch::randn({3, 4}, torch::kDouble);
    save_script_module(dir.file("double.pt"), kLinearSource, {{"weight", weight}});
    const torch::Tensor input = torch::rand({2, 1, 2, 2}, torch::kDouble);
    nni::write_npy(dir.file("x64.npy"), input);
    const std::string args = "attribute --model " + quote(dir.file("double.pt")) + " --input " +
                             quote(dir.file("x64.npy")) + " --output " + quote(dir.file("out.npy")) +
                             " --method input_x_gradient --target 1";
    const Run run = nni_run(dir, args);
    CHECK(run.code == 2);
    CHECK_THAT(run.err, Contains("the model's parameters are Double; pass --dtype float64 (or cast the model to float32)") &&
                            !Contains(".to(Double)"));
    const Run converted = nni_run(dir, args + " --dtype float64");
    REQUIRE(converted.code == 0);
    const torch::Tensor written = nni::read_npy(dir.file("out.npy"));
    CHECK(written.scalar_type() == torch::kFloat32);
    const torch::Tensor expected = input * weight[1].view({1, 1, 2, 2});  // input x gradient of a linear model
    CHECK_THAT(written, AllClose(expected.to(torch::kFloat32), 1e-6, 1e-7));
    CHECK(nni_run(dir, args + " --dtype float16").code == 2);
  }
}

TEST_CASE("nni evaluate writes the report card: the table, the curves and the randomization grid") {
  TempDir dir;
  torch::manual_seed(7);
  nni::write_npy(dir.file("input.npy"), torch::rand({6, 3, 16, 16}));
  nni::write_npy(dir.file("labels.npy"), torch::tensor({0, 1, 2, 0, 1, 2}));
  const std::string common = "evaluate --model " + quote(fixture("tiny_vgg_scripted.pt")) + " --input " +
                             quote(dir.file("input.npy")) + " --labels " + quote(dir.file("labels.npy")) +
                             " --batch-size 4 --quiet --output " + quote(dir.file("report"));
  const Run run = nni_run(dir, common + " --methods vanilla_gradient,grad_cam,attention_rollout --layer features.4 "
                                        "--metrics deletion,insertion,mprt,sparseness");
  REQUIRE(run.code == 0);
  const auto rows = lines_of(read_text(dir.file("report/report.csv")));
  REQUIRE(rows.size() == 1 + 3 * 4);
  CHECK(rows[0] == "method,metric,mean,standard_error,count,undefined,seconds,higher_is_better,failure");
  CHECK(rows[1].rfind("vanilla_gradient,deletion,", 0) == 0);
  CHECK(rows[1].find(",6,") != std::string::npos);  // every example counted
  // A method that does not apply to a CNN leaves its message, the others their numbers.
  CHECK(rows[9].rfind("attention_rollout,deletion,,,0,0,", 0) == 0);
  CHECK(rows[9].find("the method failed") != std::string::npos);
  const std::string json = read_text(dir.file("report/report.json"));
  CHECK(json.find("\"deletion_curve\": [") != std::string::npos);
  CHECK(json.find("\"total_seconds\": ") != std::string::npos);
  for (const char* png : {"report/curves.png", "report/randomization.png"}) {
    const torch::Tensor image = nn_interpretability::visualization::load_image(dir.file(png));
    CHECK(image.size(1) > 100);
  }
  CHECK(nni_run(dir, common + " --methods vanilla_gradient --metrics nope").code == 2);
  CHECK(nni_run(dir, common + " --methods grad_cam").code == 2);  // needs --layer
  CHECK(nni_run(dir, common + " --methods no_such_method").code == 2);
}
