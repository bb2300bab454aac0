// Hardening matrix: every registered method (iterated from nni::methods(), so a newly registered
// method joins automatically) × every scenario below, each run with grad mode enabled and under a
// torch::NoGradGuard. Bad inputs must throw a c10::Error with a message naming the problem; the
// inputs that must work must work (and agree with the plain contiguous input). After every call,
// successful or not, the model is bit-identical (parameters, buffers, requires_grad, no .grad,
// train/eval flags), the global grad mode is as before and the TorchScript graph-executor optimizer
// flag is unchanged. Two more test cases: concurrency and bit-reproducibility on CPU.
//
// docs/hardening.md describes the matrix and the behaviours it pins.
#include "support/catch_torch.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "nn_interpretability/nn_interpretability.h"
#include "nn_interpretability/registry/registry.h"
#include "nn_interpretability/model/torchscript.h"
#include "support/all_close.h"
#include "support/model_snapshot.h"

namespace nni = nn_interpretability;
using Catch::Matchers::Contains;

namespace {

constexpr int64_t kChannels = 3;  // 3 input channels, so that channels-last is a real layout change
constexpr int64_t kClasses = 3;

// conv 3→4, ReLU, conv 4→6, ReLU, GAP, Flatten, Linear(6, 3) on [N, 3, 8, 8]. Layer "3" is the last
// ReLU, feeding the global average pooling, so every CAM method (CAM included) applies.
torch::nn::Sequential eval_model() {
  torch::manual_seed(1234);
  torch::nn::Sequential model(torch::nn::Conv2d(torch::nn::Conv2dOptions(kChannels, 4, 3).padding(1)),  // "0"
                              torch::nn::ReLU(),                                                          // "1"
                              torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 6, 3).padding(1)),            // "2"
                              torch::nn::ReLU(),                                                          // "3"
                              torch::nn::AdaptiveAvgPool2d(1),                                            // "4"
                              torch::nn::Flatten(),                                                       // "5"
                              torch::nn::Linear(6, kClasses));                                            // "6"
  model->eval();
  return model;
}
const char* const kLayer = "3";
const char* const kFlatLayer = "5";  // Flatten: output [N, 6], not 4-D

// The same shape of network in train mode, with a BatchNorm (buffers a train-mode forward updates)
// and a dropout before the explained layer (so CAM's GAP + linear structure still holds).
torch::nn::Sequential train_model() {
  torch::manual_seed(4321);
  torch::nn::Sequential model(torch::nn::Conv2d(torch::nn::Conv2dOptions(kChannels, 4, 3).padding(1)),  // "0"
                              torch::nn::BatchNorm2d(4),                                                  // "1"
                              torch::nn::ReLU(),                                                          // "2"
                              torch::nn::Dropout(0.3),                                                    // "3"
                              torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 6, 3).padding(1)),            // "4"
                              torch::nn::ReLU(),                                                          // "5"
                              torch::nn::AdaptiveAvgPool2d(1),                                            // "6"
                              torch::nn::Flatten(),                                                       // "7"
                              torch::nn::Linear(6, kClasses));                                            // "8"
  model->train();
  return model;
}
const char* const kTrainLayer = "5";

// Small settings: every method reads what applies to it.
nni::MethodConfig config_for(const nni::MethodInfo& info, const std::string& layer) {
  nni::MethodConfig config;
  config.set("samples", 2).set("steps", 3).set("rows_per_call", 8).set("seed", 7);
  if (info.needs_layer) config.layer(layer);
  return config;
}

torch::Tensor good_input(int64_t batch = 2) {
  torch::manual_seed(99);
  return torch::rand({batch, kChannels, 8, 8});
}

torch::jit::Module& tuple_module() {
  static torch::jit::Module module = [] {
    torch::jit::Module loaded = torch::jit::load(std::string(NNI_SOURCE_DIR) + "/tests/fixtures/tuple_output_scripted.pt");
    loaded.eval();
    return loaded;
  }();
  return module;
}

// ModelSnapshot for a TorchScript module: parameter and buffer values, requires_grad, .grad, mode.
struct JitSnapshot {
  std::vector<torch::Tensor> values;
  std::vector<bool> requires_grad, has_grad;
  bool training = false;
  static JitSnapshot of(const torch::jit::Module& module) {
    JitSnapshot s;
    for (const auto& p : module.named_parameters(true)) {
      s.values.push_back(p.value.detach().clone());
      s.requires_grad.push_back(p.value.requires_grad());
      s.has_grad.push_back(p.value.grad().defined());
    }
    for (const auto& b : module.named_buffers(true)) {
      s.values.push_back(b.value.detach().clone());
      s.requires_grad.push_back(b.value.requires_grad());
      s.has_grad.push_back(b.value.grad().defined());
    }
    s.training = module.is_training();
    return s;
  }
  std::string difference(const JitSnapshot& o) const {
    if (values.size() != o.values.size()) return "tensor count changed";
    std::string why;
    for (size_t i = 0; i < values.size(); ++i) {
      if (!values[i].equal(o.values[i])) why += "value " + std::to_string(i) + " changed; ";
      if (requires_grad[i] != o.requires_grad[i]) why += "requires_grad changed; ";
      if (has_grad[i] != o.has_grad[i]) why += "gained a .grad; ";
    }
    if (training != o.training) why += "train/eval mode changed; ";
    return why;
  }
};

// What one cell may touch; everything is checked unchanged after the call.
struct Models {
  torch::nn::Sequential eval = eval_model();
  torch::nn::Sequential train = train_model();
};

using Call = std::function<void(const nni::MethodInfo&, Models&)>;
using Expected = std::function<std::vector<std::string>(const nni::MethodInfo&)>;

std::shared_ptr<nni::Attribution> make(const nni::MethodInfo& info, const nni::Model& model,
                                       const std::string& layer = kLayer) {
  return info.make(model, config_for(info, layer));
}

// A bad-input scenario: the call must throw a c10::Error whose message contains one of the phrases.
struct BadScenario {
  std::string name;
  bool layer_methods_only;
  bool input_check;  // Model::check_input's checks: the message starts with the method's class name
  Call call;
  Expected expected;
};

Expected phrase(std::string text) {
  return [text](const nni::MethodInfo&) { return std::vector<std::string>{text}; };
}

// The bad inputs. Phrases are pinned to the library's actual messages; the input checks
// (Model::check_input) also start with the method's class name, e.g. "GradCam: empty batch ...".
std::vector<BadScenario> bad_scenarios() {
  const torch::Tensor good = good_input();
  auto attribute = [](torch::Tensor input, nni::Target target = nni::Target()) -> Call {
    return [input, target](const nni::MethodInfo& info, Models& models) {
      make(info, models.eval)->attribute(input, target);
    };
  };
  auto with_value = [good](int64_t at, float value) {
    torch::Tensor x = good.clone();
    x.view(-1)[at] = value;
    return x;
  };
  // A method's own shape needs are checked first (Attribution::check_input_shape): Score-CAM and
  // Guided Grad-CAM need an image batch [N, C, H, W], the saliency map a channel dimension.
  auto rank_message = [](const nni::MethodInfo& info) -> std::vector<std::string> {
    if (info.name == "score_cam") return {"ScoreCam: the input must be an image batch [N, C, H, W], got shape [8]"};
    if (info.name == "full_grad") return {"FullGrad: the input must be an image batch [N, C, H, W], got shape [8]"};
    if (info.name == "rise") return {"Rise: the input must be an image batch [N, C, H, W], got shape [8]"};
    if (info.name == "guided_grad_cam")
      return {"GuidedGradCam: the input must be an image batch [N, C, H, W], got shape [8]"};
    if (info.name == "saliency")
      return {"SaliencyMap: the input must be a batch [N, C, ...] with a channel dimension (rank >= 3), "
              "got shape [8]"};
    return {"the input must be a batch [N, ...] of rank >= 2, got shape [8]"};
  };
  // Every method, SmoothGrad included (it checks the clean batch first), reports the caller's batch.
  // A [N] output is a regression model's: a class index on it is refused.
  auto one_d_message = [](const nni::MethodInfo&) -> std::string {
    return "the model output is [N] (one value per example), so there are no classes to pick";
  };
  return {
      {"wrong rank (1-D input)", false, true, attribute(torch::rand({8})), rank_message},
      {"wrong channel count", false, false, attribute(torch::rand({2, 1, 8, 8})), phrase("failed on an input of shape [2, 1, 8, 8]")},
      {"int input", false, true, attribute(torch::ones({2, kChannels, 8, 8}, torch::kInt)),
       phrase("the input must be a floating-point tensor, got Int")},
      {"double input", false, true, attribute(good.to(torch::kDouble)),
       phrase("the input dtype Double differs from the model's parameter dtype Float; convert the input with .to(Float)")},
      {"half input", false, true, attribute(good.to(torch::kHalf)),
       phrase("the input dtype Half differs from the model's parameter dtype Float")},
      {"empty batch", false, true, attribute(torch::rand({0, kChannels, 8, 8})), phrase("empty batch (input shape [0, 3, 8, 8])")},
      {"NaN input", false, true, attribute(with_value(70, std::numeric_limits<float>::quiet_NaN())),
       phrase("contains NaN or Inf (1 NaN, 0 Inf values)")},
      {"Inf input", false, true, attribute(with_value(5, -std::numeric_limits<float>::infinity())),
       phrase("contains NaN or Inf (0 NaN, 1 Inf values)")},
      {"target out of range", false, false, attribute(good, 3),
       phrase("target class 3 is out of range: the model has 3 classes (valid: 0..2)")},
      {"negative target", false, false, attribute(good, -1), phrase("target class -1 is out of range")},
      {"target tensor of the wrong length", false, false, attribute(good, torch::tensor({0, 1, 2})),
       phrase("got 3 class indices for a batch of 2")},
      // The Target refuses a float tensor when it is built, i.e. inside the call expression.
      {"target tensor of float dtype", false, false,
       [good](const nni::MethodInfo& info, Models& models) {
         make(info, models.eval)->attribute(good, torch::tensor({0.0f, 1.0f}));
       },
       phrase("class indices must be an integer tensor, got Float")},
      {"unknown layer (message lists the valid names)", true, false,
       [good](const nni::MethodInfo& info, Models& models) {
         make(info, models.eval, "no_such_layer")->attribute(good);
       },
       phrase("unknown layer 'no_such_layer'; the module torch::nn::SequentialImpl has these layers: 0, 1, 2, 3, 4, 5, 6")},
      {"layer whose output is not 4-D (Flatten)", true, false,
       [good](const nni::MethodInfo& info, Models& models) { make(info, models.eval, kFlatLayer)->attribute(good); },
       phrase("layer '5' outputs shape [2, 6]")},
      {"1-D output: module with a forward function", false, false,
       [good](const nni::MethodInfo& info, Models& models) {
         torch::nn::Sequential net = models.eval;
         nni::Model model(net.ptr(), [net](const torch::Tensor& x) mutable { return net->forward(x).sum(1); });
         make(info, model)->attribute(good, 0);
       },
       [one_d_message](const nni::MethodInfo& info) -> std::vector<std::string> { return {one_d_message(info)}; }},
      {"1-D output: plain forward function", false, false,
       [good](const nni::MethodInfo& info, Models& models) {
         torch::nn::Sequential net = models.eval;
         nni::Model model(nni::ForwardFunction([net](const torch::Tensor& x) mutable { return net->forward(x).sum(1); }));
         make(info, model)->attribute(good, 0);
       },
       [one_d_message](const nni::MethodInfo& info) -> std::vector<std::string> {
         // A plain function has no layers. Layer methods run the forward pass (and check its output)
         // before they look for the layer, so today they report the output too; the unknown-layer
         // error would be an acceptable alternative order.
         if (info.needs_layer) return {one_d_message(info), "unknown layer '3'; the forward function has these layers"};
         if (info.name == "full_grad") return {"shows no layers, so their biases are unknown"};
         return {one_d_message(info)};
       }},
      {"TorchScript model returning a tuple", false, false,
       [](const nni::MethodInfo& info, Models&) {
         nni::Model model(tuple_module());
         make(info, model)->attribute(torch::rand({2, 1, 8, 8}), 0);
       },
       [](const nni::MethodInfo& info) -> std::vector<std::string> {
         // The module has no layer "3"; layer methods report the tuple today (the forward pass comes
         // first), the unknown-layer error would be an acceptable alternative order.
         const char* tuple = "the TorchScript model returns a tuple of 2 entries, not one tensor";
         if (info.needs_layer) return {tuple, "unknown layer '3'"};
         return {tuple};
       }},
  };
}

// Scenarios that must work. Each returns nothing; failures are reported with CHECKs inside.
struct GoodScenario {
  std::string name;
  std::function<void(const nni::MethodInfo&, Models&)> run;
};

std::vector<GoodScenario> good_scenarios() {
  auto same_as_contiguous = [](torch::Tensor (*transform)(const torch::Tensor&)) {
    return [transform](const nni::MethodInfo& info, Models& models) {
      const torch::Tensor x = good_input();
      const torch::Tensor y = transform(x);
      REQUIRE(torch::equal(x, y));
      auto method = make(info, models.eval);
      const torch::Tensor expected = method->attribute(x);
      const torch::Tensor actual = method->attribute(y);
      CHECK(expected.isfinite().all().item<bool>());
      CHECK_THAT(actual, nni_test::AllClose(expected, 1e-5, 1e-6));
    };
  };
  return {
      {"non-contiguous (transposed) input",
       same_as_contiguous([](const torch::Tensor& x) {
         torch::Tensor y = x.transpose(2, 3).contiguous().transpose(2, 3);
         REQUIRE(!y.is_contiguous());
         return y;
       })},
      {"channels-last input",
       same_as_contiguous([](const torch::Tensor& x) {
         torch::Tensor y = x.contiguous(at::MemoryFormat::ChannelsLast);
         REQUIRE(!y.is_contiguous());
         return y;
       })},
      {"model in train mode with BatchNorm and dropout",
       [](const nni::MethodInfo& info, Models& models) {
         const torch::Tensor x = good_input(3);
         torch::Tensor result;
         if (info.name == "full_grad") {  // train-mode BatchNorm has no bias to decompose: refused
           CHECK_THROWS_WITH(make(info, models.train, kTrainLayer)->attribute(x), Contains("training mode"));
           CHECK(models.train->is_training());
           return;
         }
         REQUIRE_NOTHROW(result = make(info, models.train, kTrainLayer)->attribute(x));
         CHECK(result.size(0) == 3);
         CHECK(result.isfinite().all().item<bool>());
         CHECK(models.train->is_training());
         for (const auto& module : models.train->modules()) CHECK(module->is_training());
       }},
  };
}

// The invariants checked after every call.
struct Invariants {
  nni_test::ModelSnapshot eval, train;
  JitSnapshot jit;
  bool grad_mode;
  bool optimize;
  static Invariants of(Models& models) {
    return {nni_test::ModelSnapshot::of(*models.eval), nni_test::ModelSnapshot::of(*models.train),
            JitSnapshot::of(tuple_module()), torch::GradMode::is_enabled(), torch::jit::getGraphExecutorOptimize()};
  }
  void check_unchanged(Models& models) const {
    CHECK(eval.difference(nni_test::ModelSnapshot::of(*models.eval)) == "");
    CHECK(train.difference(nni_test::ModelSnapshot::of(*models.train)) == "");
    CHECK(jit.difference(JitSnapshot::of(tuple_module())) == "");
    CHECK(torch::GradMode::is_enabled() == grad_mode);
    CHECK(torch::jit::getGraphExecutorOptimize() == optimize);
  }
};

bool contains_any(const std::string& message, const std::vector<std::string>& phrases) {
  for (const auto& p : phrases)
    if (message.find(p) != std::string::npos) return true;
  return false;
}

// The attention methods explain transformers: their matrix runs on the ViT (below).
bool explains_attention(const nni::MethodInfo& info) { return info.name.find("attention") != std::string::npos; }

int64_t run_matrix(bool grad_enabled) {
  Models models;
  int64_t cases = 0;
  for (const auto& info : nni::methods()) {
    if (explains_attention(info)) continue;
    for (const auto& scenario : bad_scenarios()) {
      if (scenario.layer_methods_only && !info.needs_layer) continue;
      INFO("method " << info.name << ", bad input: " << scenario.name << ", grad mode "
                     << (grad_enabled ? "enabled" : "NoGradGuard"));
      ++cases;
      torch::AutoGradMode mode(grad_enabled);
      const Invariants before = Invariants::of(models);
      std::string message;
      bool threw_c10 = false;
      try {
        scenario.call(info, models);
      } catch (const c10::Error& error) {
        threw_c10 = true;
        message = error.what_without_backtrace();
      } catch (const std::exception& error) {
        message = std::string("(not a c10::Error) ") + error.what();
      }
      const std::vector<std::string> expected = scenario.expected(info);
      INFO("message: " << message);
      INFO("expected one of: " << [&] {
        std::string all;
        for (const auto& p : expected) all += "\"" + p + "\" ";
        return all;
      }());
      if (std::getenv("NNI_HARDENING_VERBOSE") != nullptr && grad_enabled)
        std::cout << info.name << " | " << scenario.name << " | " << message << "\n";
      CHECK(threw_c10);
      CHECK(contains_any(message, expected));
      if (scenario.input_check) {
        // "GradCam: the input ...": a class name, a colon, then the problem.
        const std::string prefix = message.substr(0, message.find(": "));
        CHECK(!prefix.empty());
        CHECK(prefix.size() < message.size());
        CHECK(prefix.find(' ') == std::string::npos);
      }
      before.check_unchanged(models);
    }
    for (const auto& scenario : good_scenarios()) {
      INFO("method " << info.name << ", must work: " << scenario.name << ", grad mode "
                     << (grad_enabled ? "enabled" : "NoGradGuard"));
      ++cases;
      torch::AutoGradMode mode(grad_enabled);
      const Invariants before = Invariants::of(models);
      try {
        scenario.run(info, models);
      } catch (const std::exception& error) {
        FAIL_CHECK("threw: " << error.what());
      }
      before.check_unchanged(models);
    }
  }
  return cases;
}

}  // namespace

TEST_CASE("Hardening matrix: every registered method × every scenario keeps the model and global state intact",
          "[hardening]") {
  const auto& registry = nni::methods();
  REQUIRE(!registry.empty());
  int64_t layer_methods = 0, attention_methods = 0;
  for (const auto& info : registry) layer_methods += info.needs_layer ? 1 : 0;
  for (const auto& info : registry) attention_methods += explains_attention(info) ? 1 : 0;
  int64_t bad_all = 0, bad_layer_only = 0;
  for (const auto& s : bad_scenarios()) (s.layer_methods_only ? bad_layer_only : bad_all) += 1;
  const int64_t good = static_cast<int64_t>(good_scenarios().size());
  const int64_t methods = static_cast<int64_t>(registry.size()) - attention_methods;
  const int64_t per_mode = methods * (bad_all + good) + layer_methods * bad_layer_only;

  const bool optimize_before = torch::jit::getGraphExecutorOptimize();
  int64_t cases = 0;
  SECTION("grad mode enabled") {
    REQUIRE(torch::GradMode::is_enabled());
    cases = run_matrix(true);
    CHECK(torch::GradMode::is_enabled());
  }
  SECTION("under NoGradGuard") {
    torch::NoGradGuard no_grad;
    cases = run_matrix(false);
    CHECK(!torch::GradMode::is_enabled());
  }
  CHECK(cases == per_mode);
  CHECK(torch::jit::getGraphExecutorOptimize() == optimize_before);
  std::cout << "hardening matrix: " << methods << " methods (" << layer_methods << " layer methods) x ("
            << bad_all << " bad-input + " << good << " must-work scenarios, + " << bad_layer_only
            << " layer-only bad-input scenarios) = " << cases << " cases per grad mode, " << 2 * per_mode
            << " with both grad modes" << std::endl;
}

namespace {

struct ThreadResults {
  std::vector<torch::Tensor> guided, grad_cam;
  std::string error;
  bool state_kept = true;  // grad mode and the (thread-local) optimizer flag unchanged after every call
};

// `iterations` calls of each method, from `threads` threads started together.
std::vector<ThreadResults> explain_concurrently(int threads, int iterations,
                                                const std::function<std::shared_ptr<nni::Attribution>(int)>& guided,
                                                const std::function<std::shared_ptr<nni::Attribution>(int)>& grad_cam,
                                                const torch::Tensor& input) {
  std::vector<ThreadResults> results(threads);
  std::atomic<int> ready{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      try {
        auto g = guided(t);
        auto c = grad_cam(t);
        ready.fetch_add(1);
        while (ready.load() < threads) std::this_thread::yield();
        const bool grad_mode = torch::GradMode::is_enabled();
        const bool optimize = torch::jit::getGraphExecutorOptimize();
        for (int i = 0; i < iterations; ++i) {
          results[t].guided.push_back(g->attribute(input));
          results[t].grad_cam.push_back(c->attribute(input));
          if (torch::GradMode::is_enabled() != grad_mode || torch::jit::getGraphExecutorOptimize() != optimize)
            results[t].state_kept = false;
        }
      } catch (const std::exception& error) {
        results[t].error = error.what();
        ready.fetch_add(1);
      }
    });
  }
  for (auto& thread : pool) thread.join();
  return results;
}

}  // namespace

TEST_CASE("Two threads explaining the same model give bit-identical results to a single thread (CPU)",
          "[hardening][concurrency]") {
  torch::nn::Sequential net = eval_model();
  torch::jit::Module scripted = torch::jit::load(std::string(NNI_SOURCE_DIR) + "/tests/fixtures/relu_cnn_scripted.pt");
  scripted.eval();
  struct Case {
    std::string description;
    nni::Model model;
    torch::Tensor input;
  };
  // relu_cnn_scripted: conv-ReLU-conv-ReLU-flatten-linear-ReLU-linear on [N, 1, 8, 8]; "3" is a 4-D ReLU.
  std::vector<Case> cases{{"C++ nn::Sequential", nni::Model(net), good_input(4)},
                          {"TorchScript (scripted)", nni::Model(scripted), torch::rand({4, 1, 8, 8})}};
  const auto before = nni_test::ModelSnapshot::of(*net);
  const JitSnapshot scripted_before = JitSnapshot::of(scripted);
  const bool grad_mode = torch::GradMode::is_enabled();
  const bool optimize = torch::jit::getGraphExecutorOptimize();
  for (const auto& c : cases) {
    INFO("model: " << c.description);
    const nni::Model& model = c.model;
    const torch::Tensor& x = c.input;
    const torch::Tensor guided_reference = nni::GuidedBackprop(model).attribute(x);
    const torch::Tensor grad_cam_reference = nni::GradCam(model, nni::GradCamOptions(kLayer)).attribute(x);
    REQUIRE(guided_reference.abs().sum().item<double>() > 0);
    REQUIRE(grad_cam_reference.abs().sum().item<double>() > 0);

    auto shared_guided = std::make_shared<nni::GuidedBackprop>(model);
    auto shared_grad_cam = std::make_shared<nni::GradCam>(model, nni::GradCamOptions(kLayer));
    for (bool shared : {false, true}) {
      INFO((shared ? "objects shared by the threads" : "one object per thread"));
      auto results = explain_concurrently(
          2, 20,
          [&](int) -> std::shared_ptr<nni::Attribution> {
            if (shared) return shared_guided;
            return std::make_shared<nni::GuidedBackprop>(model);
          },
          [&](int) -> std::shared_ptr<nni::Attribution> {
            if (shared) return shared_grad_cam;
            return std::make_shared<nni::GradCam>(model, nni::GradCamOptions(kLayer));
          },
          x);
      for (size_t t = 0; t < results.size(); ++t) {
        INFO("thread " << t);
        CHECK(results[t].error == "");
        CHECK(results[t].state_kept);
        REQUIRE(results[t].guided.size() == 20);
        REQUIRE(results[t].grad_cam.size() == 20);
        int guided_equal = 0, grad_cam_equal = 0;
        for (int i = 0; i < 20; ++i) {
          guided_equal += torch::equal(results[t].guided[i], guided_reference) ? 1 : 0;
          grad_cam_equal += torch::equal(results[t].grad_cam[i], grad_cam_reference) ? 1 : 0;
        }
        CHECK(guided_equal == 20);
        CHECK(grad_cam_equal == 20);
      }
    }
  }
  CHECK(before.difference(nni_test::ModelSnapshot::of(*net)) == "");
  CHECK(scripted_before.difference(JitSnapshot::of(scripted)) == "");
  CHECK(torch::GradMode::is_enabled() == grad_mode);
  CHECK(torch::jit::getGraphExecutorOptimize() == optimize);
}

TEST_CASE("Every registered method, shared by two threads, gives the single-threaded result bit for bit (CPU)",
          "[hardening][concurrency]") {
  torch::nn::Sequential net = eval_model();
  nni::Model model(net);
  const torch::Tensor x = good_input(2);
  const auto before = nni_test::ModelSnapshot::of(*net);
  for (const auto& info : nni::methods()) {
    if (explains_attention(info)) continue;  // on the ViT, in the attention matrix
    INFO("method " << info.name);
    auto method = make(info, model);
    const torch::Tensor reference = method->attribute(x);
    std::vector<std::vector<torch::Tensor>> results(2);
    std::vector<std::string> errors(2);
    std::vector<std::thread> pool;
    for (int t = 0; t < 2; ++t) {
      pool.emplace_back([&, t] {
        try {
          for (int i = 0; i < 5; ++i) results[t].push_back(method->attribute(x));
        } catch (const std::exception& error) {
          errors[t] = error.what();
        }
      });
    }
    for (auto& thread : pool) thread.join();
    for (int t = 0; t < 2; ++t) {
      CHECK(errors[t] == "");
      for (const auto& result : results[t]) CHECK(torch::equal(result, reference));
    }
  }
  CHECK(before.difference(nni_test::ModelSnapshot::of(*net)) == "");
}

TEST_CASE("Hardening matrix for the attention methods on torchvision's ViT (scripted and traced)",
          "[hardening][attention]") {
  const std::string directory = std::string(NNI_SOURCE_DIR) + "/tests/fixtures/cam_reference/";
  torch::manual_seed(77);
  const torch::Tensor good = torch::rand({2, 3, 32, 32}, torch::kDouble);
  int64_t cases = 0;
  for (const char* file : {"vit_scripted.pt", "vit_traced.pt"}) {
    torch::jit::Module module = torch::jit::load(directory + file);
    const nni::Model model(module);
    auto with_value = [&](int64_t at, double value) {
      torch::Tensor x = good.clone();
      x.view(-1)[at] = value;
      return x;
    };
    struct Bad {
      std::string name;
      torch::Tensor input;
      nni::Target target;
      std::string phrase;
    };
    const std::vector<Bad> bad = {
        {"wrong rank", torch::rand({8}, torch::kDouble), nni::Target(), "of rank >= 2, got shape [8]"},
        {"wrong channel count", torch::rand({2, 1, 32, 32}, torch::kDouble), nni::Target(),
         "failed on an input of shape [2, 1, 32, 32]"},
        {"int input", torch::ones({2, 3, 32, 32}, torch::kInt), nni::Target(), "must be a floating-point tensor, got Int"},
        {"float input", good.to(torch::kFloat), nni::Target(), "differs from the model's parameter dtype Double"},
        {"empty batch", torch::rand({0, 3, 32, 32}, torch::kDouble), nni::Target(), "empty batch"},
        {"NaN input", with_value(70, std::numeric_limits<double>::quiet_NaN()), nni::Target(), "1 NaN, 0 Inf values"},
        {"Inf input", with_value(5, std::numeric_limits<double>::infinity()), nni::Target(), "0 NaN, 1 Inf values"},
        {"target out of range", good, nni::Target(5), "target class 5 is out of range: the model has 5 classes"},
        {"negative target", good, nni::Target(-1), "target class -1 is out of range"},
        {"target tensor of the wrong length", good, nni::Target(torch::tensor({0, 1, 2})),
         "got 3 class indices for a batch of 2"},
        {"segmentation target on a classifier", good, nni::Target::predicted_pixels(1),
         "needs a model output [N, classes, *spatial]"},
    };
    const JitSnapshot before = JitSnapshot::of(module);
    for (const auto& info : nni::methods()) {
      if (!explains_attention(info)) continue;
      for (bool grad_enabled : {true, false}) {
        torch::AutoGradMode mode(grad_enabled);
        INFO("model " << file << ", method " << info.name << ", grad mode " << grad_enabled);
        const auto method = info.make(model, nni::MethodConfig());
        for (const Bad& scenario : bad) {
          INFO("bad input: " << scenario.name);
          ++cases;
          CHECK_THROWS_WITH(method->attribute(scenario.input, scenario.target), Contains(scenario.phrase));
        }
        ++cases;
        const auto wrong_query = info.make(model, nni::MethodConfig().set("query_layer", "mlp"));
        CHECK_THROWS_WITH(wrong_query->attribute(good), Contains("did not run before it"));
        // Must work: non-contiguous and channels-last inputs give the contiguous input's map.
        ++cases;
        const torch::Tensor expected = method->attribute(good);
        CHECK(expected.isfinite().all().item<bool>());
        CHECK_THAT(method->attribute(good.transpose(2, 3).contiguous().transpose(2, 3)),
                   nni_test::AllClose(expected, 1e-10, 1e-12));
        CHECK_THAT(method->attribute(good.contiguous(at::MemoryFormat::ChannelsLast)),
                   nni_test::AllClose(expected, 1e-10, 1e-12));
        // Two threads sharing the object: the single-threaded result, bit for bit.
        ++cases;
        std::vector<torch::Tensor> results(2);
        std::vector<std::string> errors(2);
        std::vector<std::thread> pool;
        for (int t = 0; t < 2; ++t)
          pool.emplace_back([&, t] {
            try {
              torch::AutoGradMode thread_mode(grad_enabled);
              results[t] = method->attribute(good);
            } catch (const std::exception& error) {
              errors[t] = error.what();
            }
          });
        for (auto& thread : pool) thread.join();
        for (int t = 0; t < 2; ++t) {
          CHECK(errors[t] == "");
          CHECK((results[t].defined() && torch::equal(results[t], expected)));
        }
        CHECK(torch::GradMode::is_enabled() == grad_enabled);
        CHECK(before.difference(JitSnapshot::of(module)) == "");
      }
    }
  }
  CHECK(cases == 2 * 2 * 2 * (11 + 3));
}

TEST_CASE("SmoothGrad (seeded), Score-CAM and integrated gradients are bit-reproducible on CPU",
          "[hardening][determinism]") {
  torch::nn::Sequential net = eval_model();
  nni::Model model(net);
  const torch::Tensor x = good_input(3);

  SECTION("SmoothGrad with a seed") {
    for (const char* base : {"vanilla_gradient", "guided_backprop", "integrated_gradients"}) {
      INFO("base " << base);
      auto config =
          nni::MethodConfig().set("base", base).set("samples", 5).set("rows_per_call", 6).set("steps", 3).set("seed", 123);
      auto first = nni::make_method("smoothgrad", model, config)->attribute(x);
      torch::manual_seed(0);  // the global generator's state must not matter
      auto second = nni::make_method("smoothgrad", model, config)->attribute(x);
      auto method = nni::make_method("smoothgrad", model, config);
      auto third = method->attribute(x);
      auto fourth = method->attribute(x);
      CHECK(torch::equal(first, second));
      CHECK(torch::equal(first, third));
      CHECK(torch::equal(first, fourth));
      auto other_seed = nni::make_method("smoothgrad", model, config.set("seed", 124))->attribute(x);
      CHECK(!torch::equal(first, other_seed));
    }
  }
  SECTION("Score-CAM, several batch sizes") {
    torch::Tensor reference;
    for (int64_t batch_size : {1, 3, 8, 64}) {
      INFO("batch size " << batch_size);
      nni::ScoreCam method(model, nni::ScoreCamOptions(kLayer).rows_per_call(batch_size));
      auto first = method.attribute(x);
      auto second = method.attribute(x);
      CHECK(torch::equal(first, second));
      if (!reference.defined()) reference = first;
      // Across batch sizes only closeness is promised (a batched convolution may sum in another order);
      // on the CPU build this was written against the results are in fact bit-identical.
      CHECK_THAT(first, nni_test::AllClose(reference, 1e-5, 1e-7));
    }
  }
  SECTION("Integrated gradients") {
    for (int64_t internal : {0, 1, 2}) {
      INFO("rows per call " << internal);
      nni::IntegratedGradients method(model, nni::IntegratedGradientsOptions().steps(7).rows_per_call(internal));
      auto first = method.attribute(x);
      auto second = method.attribute(x);
      CHECK(torch::equal(first, second));
      CHECK(torch::equal(first, nni::IntegratedGradients(model, nni::IntegratedGradientsOptions().steps(7).rows_per_call(internal)).attribute(x)));
    }
  }
}
