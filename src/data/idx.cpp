#include <nn_interpretability/data/idx.h>

#include "io.h"

#include <ATen/ops/empty.h>
#include <c10/util/Exception.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace nn_interpretability {
namespace data {
namespace {

constexpr std::uint8_t kUnsignedByte = 0x08;
constexpr int kMaxDims = 16;
// Sizes above this (2^48 elements) are certainly corrupt and would overflow products.
constexpr std::uint64_t kMaxElements = std::uint64_t{1} << 48;

const char* idx_type_name(std::uint8_t type) {
  switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "unknown";
  }
}

std::string hex_magic(const std::array<std::uint8_t, 4>& m) {
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "0x%02X%02X%02X%02X", m[0], m[1], m[2], m[3]);
  return buffer;
}

std::string hex_byte(std::uint8_t b) {
  char buffer[8];
  std::snprintf(buffer, sizeof(buffer), "0x%02X", b);
  return buffer;
}

/// An IDX file: the header's dimensions (dims[0] is the full count) and the first
/// `data.size(0)` entries as uint8.
struct IdxData {
  std::vector<int64_t> dims;
  at::Tensor data;
};

/// `where` is the public function the caller called, named in every error.
IdxData read_idx_data(const std::string& path, std::optional<int64_t> limit, const char* where) {
  if (limit) detail::apply_limit(limit, 0);  // validates
  auto stream = detail::ByteStream::open(path, where);
  std::array<std::uint8_t, 4> magic{};
  const std::size_t got = stream->read(magic.data(), magic.size());
  NNI_CHECK_FILE(got == magic.size(), where, path, "truncated file (", got, " bytes, too short for an IDX header)");
  NNI_CHECK_FILE(magic[0] == 0 && magic[1] == 0 && magic[3] >= 1 && magic[3] <= kMaxDims, where, path,
                 "bad magic number ", hex_magic(magic), ": not an IDX file (expected 0x0000TTDD with type TT and 1 to ",
                 kMaxDims, " dimensions DD, e.g. 0x00000803 for images)");
  NNI_CHECK_FILE(magic[2] == kUnsignedByte, where, path, "unsupported IDX element type ", hex_byte(magic[2]), " (",
                 idx_type_name(magic[2]), "): only unsigned byte (0x08) is supported");
  const int ndim = magic[3];
  std::vector<std::uint8_t> raw(static_cast<std::size_t>(ndim) * 4);
  stream->read_exact(raw.data(), raw.size(), "IDX dimension sizes");
  std::vector<int64_t> dims(static_cast<std::size_t>(ndim));
  std::uint64_t total = 1;
  for (int d = 0; d < ndim; ++d) {
    const std::uint8_t* b = raw.data() + 4 * d;
    const std::uint32_t size = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                               (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]};
    dims[static_cast<std::size_t>(d)] = size;
    if (size != 0) {
      NNI_CHECK_FILE(total <= kMaxElements / size, where, path,
                     "corrupt IDX header (the dimension sizes multiply to more than 2^48 elements)");
      total *= size;
    } else {
      total = 0;
    }
  }
  const std::uint64_t available = stream->max_remaining();
  NNI_CHECK_FILE(total <= available, where, path, "truncated file (the IDX header declares ", total,
                 " data bytes but the ", stream->compressed() ? "compressed file can hold at most " : "file has only ",
                 available, ")");
  std::uint64_t item = 1;
  for (int d = 1; d < ndim; ++d) item *= static_cast<std::uint64_t>(dims[static_cast<std::size_t>(d)]);
  const int64_t count = detail::apply_limit(limit, dims[0]);
  std::vector<int64_t> shape = dims;
  shape[0] = count;
  at::Tensor data = at::empty(shape, at::TensorOptions().dtype(at::kByte));
  stream->read_exact(data.data_ptr<std::uint8_t>(), static_cast<std::size_t>(count * item),
                     "IDX data");
  if (count == dims[0]) stream->verify_end();
  return {std::move(dims), std::move(data)};
}

IdxData read_image_data(const std::string& path, std::optional<int64_t> limit, const char* where) {
  IdxData idx = read_idx_data(path, limit, where);
  NNI_CHECK_FILE(idx.dims.size() == 3, where, path,
                 "wrong dimensions (expected an IDX image file with 3 dimensions [N, rows, cols] but it has ",
                 idx.dims.size(), ")");
  return idx;
}

IdxData read_label_data(const std::string& path, std::optional<int64_t> limit, const char* where) {
  IdxData idx = read_idx_data(path, limit, where);
  NNI_CHECK_FILE(idx.dims.size() == 1, where, path,
                 "wrong dimensions (expected an IDX label file with 1 dimension [N] but it has ", idx.dims.size(),
                 ")");
  return idx;
}

at::Tensor images_from(const IdxData& idx) {
  return detail::unit_float_from_bytes(idx.data).unsqueeze(1);
}

at::Tensor labels_from(const IdxData& idx) { return idx.data.to(at::kLong); }

// `name` or `name.gz` in `dir`, whichever is a regular file.
std::string find_idx_file(const std::string& dir, const std::string& name, const char* where) {
  const std::string plain = detail::join_path(dir, name);
  if (nn_interpretability::detail::is_regular_file(plain)) return plain;
  const std::string gz = plain + ".gz";
  if (nn_interpretability::detail::is_regular_file(gz)) return gz;
  NNI_CHECK_FILE(false, where, dir, name, " not found (neither '", plain, "' nor '", gz, "' is a regular file)");
  return {};
}

LabeledImages read_image_label_pair(const std::string& images_path, const std::string& labels_path,
                                    std::optional<int64_t> limit, const char* where) {
  const IdxData labels = read_label_data(labels_path, limit, where);
  const IdxData images = read_image_data(images_path, limit, where);
  TORCH_CHECK_VALUE(images.dims[0] == labels.dims[0], where, ": label count mismatch: '", images_path, "' holds ",
                    images.dims[0], " images but '", labels_path, "' holds ", labels.dims[0], " labels");
  return {images_from(images), labels_from(labels)};
}

LabeledImages load_part(const std::string& dir, const char* prefix, std::optional<int64_t> limit,
                        const char* where) {
  const std::string p = prefix;
  const std::string images = find_idx_file(dir, p + "-images-idx3-ubyte", where);
  const std::string labels = find_idx_file(dir, p + "-labels-idx1-ubyte", where);
  return read_image_label_pair(images, labels, limit, where);
}

void write_idx(const std::string& path, const std::vector<int64_t>& dims, const std::uint8_t* data,
               std::size_t size, const char* where) {
  std::vector<std::uint8_t> bytes = {0, 0, kUnsignedByte, static_cast<std::uint8_t>(dims.size())};
  for (int64_t d : dims) {
    NNI_CHECK_FILE(d >= 0 && d <= 0xFFFFFFFFll, where, path, "IDX dimension ", d, " out of range");
    const auto u = static_cast<std::uint32_t>(d);
    bytes.insert(bytes.end(), {static_cast<std::uint8_t>(u >> 24), static_cast<std::uint8_t>(u >> 16),
                               static_cast<std::uint8_t>(u >> 8), static_cast<std::uint8_t>(u)});
  }
  bytes.insert(bytes.end(), data, data + size);
  detail::write_file(path, bytes.data(), bytes.size(), where);
}

}  // namespace

at::Tensor read_idx_ubyte(const std::string& path, std::optional<int64_t> limit) {
  return read_idx_data(path, limit, "read_idx_ubyte").data;
}

at::Tensor read_idx_images(const std::string& path, std::optional<int64_t> limit) {
  return images_from(read_image_data(path, limit, "read_idx_images"));
}

at::Tensor read_idx_labels(const std::string& path, std::optional<int64_t> limit) {
  return labels_from(read_label_data(path, limit, "read_idx_labels"));
}

LabeledImages read_idx(const std::string& images_path, const std::string& labels_path,
                       std::optional<int64_t> limit) {
  return read_image_label_pair(images_path, labels_path, limit, "read_idx");
}

LabeledImages load_mnist_idx(const std::string& dir, Split split, std::optional<int64_t> limit) {
  constexpr const char* kWhere = "load_mnist_idx";
  switch (split) {
    case Split::kTrain: return load_part(dir, "train", limit, kWhere);
    case Split::kTest: return load_part(dir, "t10k", limit, kWhere);
    case Split::kAll: {
      LabeledImages train = load_part(dir, "train", limit, kWhere);
      const int64_t rest = limit ? *limit - train.size() : -1;
      if (limit && rest <= 0) return train;
      LabeledImages test =
          load_part(dir, "t10k", limit ? std::optional<int64_t>(rest) : std::nullopt, kWhere);
      NNI_CHECK_FILE(train.images.sizes().slice(1) == test.images.sizes().slice(1), kWhere, dir,
                     "wrong dimensions (train images are ", train.images.sizes().slice(1), " but test images are ",
                     test.images.sizes().slice(1), ")");
      return detail::concat({train, test}, train.images.size(1), train.images.size(2),
                            train.images.size(3));
    }
  }
  TORCH_CHECK_VALUE(false, kWhere, ": unknown split");
  return {};
}

void write_idx_images(const std::string& path, const at::Tensor& images) {
  TORCH_CHECK_VALUE(images.defined(), "write_idx_images: undefined tensor");
  at::Tensor x = images;
  if (x.dim() == 4) {
    TORCH_CHECK_VALUE(x.size(1) == 1, "write_idx_images: expected one channel, got shape ",
                      x.sizes());
    x = x.squeeze(1);
  }
  TORCH_CHECK_VALUE(x.dim() == 3, "write_idx_images: expected [N, H, W] or [N, 1, H, W], got ",
                    images.sizes());
  if (x.is_floating_point()) {
    x = x.to(at::kCPU, at::kDouble);
    TORCH_CHECK_VALUE(x.numel() == 0 || (x.min().item<double>() >= 0.0 && x.max().item<double>() <= 1.0),
                      "write_idx_images: floating point values must lie in [0, 1]");
    x = x.mul(255.0).round_().to(at::kByte);
  } else {
    TORCH_CHECK_VALUE(x.scalar_type() == at::kByte,
                      "write_idx_images: expected uint8 or floating point images, got ",
                      x.scalar_type());
  }
  x = x.to(at::kCPU).contiguous();
  write_idx(path, x.sizes().vec(), x.data_ptr<std::uint8_t>(), static_cast<std::size_t>(x.numel()),
            "write_idx_images");
}

void write_idx_labels(const std::string& path, const at::Tensor& labels) {
  TORCH_CHECK_VALUE(labels.defined() && labels.dim() == 1,
                    "write_idx_labels: expected labels of shape [N]");
  TORCH_CHECK_VALUE(!labels.is_floating_point() && !labels.is_complex() &&
                        labels.scalar_type() != at::kBool,
                    "write_idx_labels: expected integer labels, got ", labels.scalar_type());
  at::Tensor y = labels.to(at::kCPU, at::kLong);
  TORCH_CHECK_VALUE(y.numel() == 0 || (y.min().item<int64_t>() >= 0 && y.max().item<int64_t>() <= 255),
                    "write_idx_labels: labels must lie in 0..255");
  y = y.to(at::kByte).contiguous();
  write_idx(path, y.sizes().vec(), y.data_ptr<std::uint8_t>(), static_cast<std::size_t>(y.numel()),
            "write_idx_labels");
}

}  // namespace data
}  // namespace nn_interpretability
