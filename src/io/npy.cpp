#include "nn_interpretability/io/npy.h"

#include <algorithm>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <c10/util/Exception.h>
#include <torch/types.h>

#include "nn_interpretability/detail/files.h"

namespace nn_interpretability {
namespace {

// The callers named in every error (detail/files.h).
constexpr char kRead[] = "read_npy";
constexpr char kWrite[] = "write_npy";

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;

bool host_is_little_endian() {
  const std::uint16_t one = 1;
  unsigned char first = 0;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

// ----------------------------------------------------------------------------- dtypes

struct DtypeEntry {
  const char* code;  // kind + item size, e.g. "f4"
  const char* name;
  torch::ScalarType type;
  std::size_t itemsize;
};

constexpr DtypeEntry kDtypes[] = {
    {"f4", "float32", torch::kFloat32, 4}, {"f8", "float64", torch::kFloat64, 8},
    {"i8", "int64", torch::kInt64, 8},     {"i4", "int32", torch::kInt32, 4},
    {"u1", "uint8", torch::kUInt8, 1},     {"b1", "bool", torch::kBool, 1},
};

const char* kSupportedDtypes =
    "supported: float32 '<f4', float64 '<f8', int64 '<i8', int32 '<i4', uint8 '|u1', bool '|b1' "
    "(little-endian)";

// ----------------------------------------------------------------------------- header parsing

// The value of one key of the header dict.
struct HeaderValue {
  enum class Kind { kString, kBool, kTuple, kOther } kind = Kind::kOther;
  std::string text;               // kString
  bool flag = false;              // kBool
  std::vector<std::uint64_t> ints;  // kTuple
};

// A small parser for the Python dict literal numpy writes. It accepts what numpy's own reader
// (ast.literal_eval) accepts for valid headers, and reports where a malformed one goes wrong.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : text_(text), path_(path) {}

  std::vector<std::pair<std::string, HeaderValue>> parse_dict() {
    std::vector<std::pair<std::string, HeaderValue>> entries;
    skip_space();
    expect('{');
    skip_space();
    while (peek() != '}') {
      std::string key = parse_string();
      skip_space();
      expect(':');
      skip_space();
      HeaderValue value = parse_value();
      entries.emplace_back(std::move(key), std::move(value));
      skip_space();
      if (peek() == ',') {
        ++pos_;
        skip_space();
      } else if (peek() != '}') {
        fail("expected ',' or '}'");
      }
    }
    ++pos_;
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the dict");
    return entries;
  }

 private:
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r'))
      ++pos_;
  }

  [[noreturn]] void fail(const std::string& what) const {
    NNI_CHECK_FILE(false, kRead, path_, "corrupt header (", what, " at character ", pos_, " of the header dict ",
                   quoted_excerpt(), ")");
    std::abort();  // unreachable: NNI_CHECK_FILE(false, ...) always throws
  }

  std::string quoted_excerpt() const {
    std::string excerpt;
    for (char c : text_.substr(0, 120)) excerpt += (c >= 32 && c < 127) ? c : '?';
    if (text_.size() > 120) excerpt += "...";
    return "\"" + excerpt + "\"";
  }

  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }

  std::string parse_string() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    ++pos_;
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\') fail("escape sequences are not supported");
      out += text_[pos_++];
    }
    if (pos_ >= text_.size()) fail("unterminated string");
    ++pos_;
    return out;
  }

  std::uint64_t parse_uint() {
    if (!(peek() >= '0' && peek() <= '9')) fail("expected a non-negative integer");
    std::uint64_t value = 0;
    while (peek() >= '0' && peek() <= '9') {
      const std::uint64_t digit = static_cast<std::uint64_t>(peek() - '0');
      if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) fail("integer too large");
      value = value * 10 + digit;
      ++pos_;
    }
    if (peek() == 'L') ++pos_;  // Python 2 long literals, in files written long ago
    return value;
  }

  // Skips a bracketed value we do not interpret (e.g. a structured dtype's list), bounded by the text.
  void skip_bracketed() {
    int depth = 0;
    do {
      const char c = peek();
      if (c == '\0') fail("unterminated bracket");
      if (c == '\'' || c == '"') {
        parse_string();
        continue;
      }
      if (c == '[' || c == '(' || c == '{') ++depth;
      if (c == ']' || c == ')' || c == '}') --depth;
      ++pos_;
    } while (depth > 0);
  }

  HeaderValue parse_value() {
    HeaderValue value;
    const char c = peek();
    if (c == '\'' || c == '"') {
      value.kind = HeaderValue::Kind::kString;
      value.text = parse_string();
    } else if (text_.compare(pos_, 4, "True") == 0) {
      value.kind = HeaderValue::Kind::kBool;
      value.flag = true;
      pos_ += 4;
    } else if (text_.compare(pos_, 5, "False") == 0) {
      value.kind = HeaderValue::Kind::kBool;
      value.flag = false;
      pos_ += 5;
    } else if (c == '(') {
      value.kind = HeaderValue::Kind::kTuple;
      ++pos_;
      skip_space();
      bool need_comma_for_one = true;
      while (peek() != ')') {
        value.ints.push_back(parse_uint());
        skip_space();
        if (peek() == ',') {
          ++pos_;
          skip_space();
          need_comma_for_one = false;
        } else if (peek() != ')') {
          fail("expected ',' or ')' in the shape");
        }
      }
      // "(3)" is the integer 3 in Python, not a tuple.
      if (value.ints.size() == 1 && need_comma_for_one) fail("a one-element shape needs a trailing comma");
      ++pos_;
    } else if (c == '[' || c == '{') {
      value.kind = HeaderValue::Kind::kOther;
      skip_bracketed();
    } else {
      fail("expected a value");
    }
    return value;
  }

  const std::string& text_;
  const std::string& path_;
  std::size_t pos_ = 0;
};

struct Header {
  const DtypeEntry* dtype = nullptr;
  bool fortran_order = false;
  std::vector<std::uint64_t> shape;
};

const DtypeEntry& parse_descr(const std::string& descr, const std::string& path) {
  auto unsupported = [&](const std::string& why) {
    NNI_CHECK_FILE(false, kRead, path, "unsupported dtype '", descr, "'", why, "; ", kSupportedDtypes);
  };
  std::string code = descr;
  char order = '=';
  if (!code.empty() && (code[0] == '<' || code[0] == '>' || code[0] == '|' || code[0] == '=')) {
    order = code[0];
    code = code.substr(1);
  }
  for (const auto& entry : kDtypes) {
    if (code != entry.code) continue;
    if (entry.itemsize > 1) {
      if (order == '>') unsupported(" (big-endian)");
      if (order == '|') unsupported(" (no byte order for a multi-byte type)");
    }
    return entry;
  }
  unsupported("");
  return kDtypes[0];  // unreachable
}

Header parse_header(const std::string& text, const std::string& path) {
  HeaderParser parser(text, path);
  const auto entries = parser.parse_dict();
  const HeaderValue* descr = nullptr;
  const HeaderValue* fortran = nullptr;
  const HeaderValue* shape = nullptr;
  for (const auto& entry : entries) {
    const HeaderValue** slot = nullptr;
    if (entry.first == "descr") slot = &descr;
    else if (entry.first == "fortran_order") slot = &fortran;
    else if (entry.first == "shape") slot = &shape;
    else NNI_CHECK_FILE(false, kRead, path, "corrupt header (unexpected key '", entry.first, "')");
    NNI_CHECK_FILE(*slot == nullptr, kRead, path, "corrupt header (key '", entry.first, "' given twice)");
    *slot = &entry.second;
  }
  NNI_CHECK_FILE(descr && fortran && shape, kRead, path,
                 "corrupt header (the dict must have the keys 'descr', 'fortran_order' and 'shape')");
  NNI_CHECK_FILE(descr->kind == HeaderValue::Kind::kString || descr->kind == HeaderValue::Kind::kOther, kRead,
                 path, "corrupt header ('descr' must be a string)");
  NNI_CHECK_FILE(descr->kind == HeaderValue::Kind::kString, kRead, path, "unsupported dtype (a structured dtype); ",
                 kSupportedDtypes);
  NNI_CHECK_FILE(fortran->kind == HeaderValue::Kind::kBool, kRead, path,
                 "corrupt header ('fortran_order' must be True or False)");
  NNI_CHECK_FILE(shape->kind == HeaderValue::Kind::kTuple, kRead, path,
                 "corrupt header ('shape' must be a tuple of integers)");
  Header header;
  header.dtype = &parse_descr(descr->text, path);
  header.fortran_order = fortran->flag;
  header.shape = shape->ints;
  NNI_CHECK_FILE(header.shape.size() <= 64, kRead, path, "corrupt header (", header.shape.size(), " dimensions)");
  return header;
}

std::uint32_t little_endian(const unsigned char* bytes, std::size_t count) {
  std::uint32_t value = 0;
  for (std::size_t i = count; i-- > 0;) value = (value << 8) | bytes[i];
  return value;
}

}  // namespace

torch::Tensor read_npy(const std::string& path) {
  TORCH_CHECK(host_is_little_endian(), "read_npy: big-endian hosts are not supported");
  // Refused before anything is read: a FIFO would block, /dev/zero never ends, a directory fails
  // obscurely. The open does not block and the check is on the opened file (detail/files.h).
  detail::ReadableFile file(path, kRead);
  const std::uint64_t file_size = file.size();

  unsigned char preamble[12] = {};
  NNI_CHECK_FILE(file_size >= 10, kRead, path, "not a .npy file (", file_size,
                 " bytes, shorter than the 10-byte preamble)");
  file.read_exactly(preamble, 8, "the preamble");
  NNI_CHECK_FILE(std::memcmp(preamble, kMagic, kMagicSize) == 0, kRead, path,
                 "not a .npy file (bad magic string; expected \\x93NUMPY)");
  const int major = preamble[6], minor = preamble[7];
  NNI_CHECK_FILE((major == 1 || major == 2 || major == 3) && minor == 0, kRead, path,
                 "unsupported .npy format version ", major, ".", minor, " (supported: 1.0, 2.0, 3.0)");
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  const std::uint64_t preamble_size = 8 + length_bytes;
  NNI_CHECK_FILE(file_size >= preamble_size, kRead, path, "truncated (the file ends in the preamble)");
  file.read_exactly(preamble + 8, length_bytes, "the preamble");
  const std::uint64_t header_length = little_endian(preamble + 8, length_bytes);
  NNI_CHECK_FILE(header_length <= file_size - preamble_size, kRead, path, "truncated (the header is ",
                 header_length, " bytes but only ", file_size - preamble_size, " bytes follow the preamble)");
  std::string header_text(static_cast<std::size_t>(header_length), '\0');
  file.read_exactly(header_text.data(), header_text.size(), "the header");
  for (char c : header_text) NNI_CHECK_FILE(c != '\0', kRead, path, "corrupt header (it contains a NUL byte)");
  const Header header = parse_header(header_text, path);

  // Element count and byte count, guarded against overflow and against the file's size.
  const std::uint64_t available = file_size - preamble_size - header_length;
  const std::uint64_t itemsize = header.dtype->itemsize;
  std::uint64_t numel = 1;
  bool overflow = false;
  for (std::uint64_t dim : header.shape) {
    if (dim != 0 && numel > std::numeric_limits<std::uint64_t>::max() / dim) overflow = true;
    else numel *= dim;
  }
  for (std::uint64_t dim : header.shape) if (dim == 0) { numel = 0; overflow = false; }
  const std::uint64_t limit = static_cast<std::uint64_t>(std::numeric_limits<int64_t>::max()) / 8;
  NNI_CHECK_FILE(!overflow && numel <= limit, kRead, path, "corrupt header (the shape is too large)");
  const std::uint64_t data_bytes = numel * itemsize;
  std::ostringstream shape_text;
  shape_text << "(";
  for (std::size_t i = 0; i < header.shape.size(); ++i) shape_text << (i ? ", " : "") << header.shape[i];
  shape_text << (header.shape.size() == 1 ? ",)" : ")");
  NNI_CHECK_FILE(available >= data_bytes, kRead, path, "truncated data (shape ", shape_text.str(), " of ",
                 header.dtype->name, " needs ", data_bytes, " bytes, the file has ", available, " after the header)");
  NNI_CHECK_FILE(available == data_bytes, kRead, path, "size mismatch (shape ", shape_text.str(), " of ",
                 header.dtype->name, " needs ", data_bytes, " bytes, the file has ", available, " after the header)");

  // Fortran order: the data is the C-order data of the transposed array.
  std::vector<int64_t> storage_shape;
  for (std::uint64_t dim : header.shape) storage_shape.push_back(static_cast<int64_t>(dim));
  if (header.fortran_order) std::reverse(storage_shape.begin(), storage_shape.end());
  const torch::ScalarType read_type = header.dtype->type == torch::kBool ? torch::kUInt8 : header.dtype->type;
  torch::Tensor tensor = torch::empty(storage_shape, torch::TensorOptions().dtype(read_type));
  if (data_bytes > 0) {
    file.read_exactly(tensor.data_ptr(), static_cast<std::size_t>(data_bytes), "the data");
  }
  if (header.dtype->type == torch::kBool) tensor = tensor.ne(0);
  if (header.fortran_order && tensor.dim() > 1) {
    std::vector<int64_t> reversed;
    for (int64_t d = tensor.dim() - 1; d >= 0; --d) reversed.push_back(d);
    tensor = tensor.permute(reversed).contiguous();
  }
  return tensor;
}

void write_npy(const std::string& path, const torch::Tensor& tensor) {
  TORCH_CHECK(host_is_little_endian(), "write_npy: big-endian hosts are not supported");
  NNI_CHECK_FILE(tensor.defined(), kWrite, path, "the tensor is undefined");
  const char* descr = nullptr;
  switch (tensor.scalar_type()) {
    case torch::kFloat32: descr = "<f4"; break;
    case torch::kFloat64: descr = "<f8"; break;
    case torch::kInt64: descr = "<i8"; break;
    case torch::kInt32: descr = "<i4"; break;
    case torch::kUInt8: descr = "|u1"; break;
    case torch::kBool: descr = "|b1"; break;
    default:
      TORCH_CHECK_TYPE(false, kWrite, ": '", path, "': unsupported dtype ", tensor.scalar_type(),
                       " (supported: float32, float64, int64, int32, uint8, bool)");
  }
  const torch::Tensor data = tensor.detach().to(torch::kCPU).contiguous();

  std::ostringstream dict;
  dict << "{'descr': '" << descr << "', 'fortran_order': False, 'shape': (";
  for (int64_t i = 0; i < data.dim(); ++i) dict << (i ? ", " : "") << data.size(i);
  dict << (data.dim() == 1 ? ",), }" : "), }");
  std::string header = dict.str();
  // Pad with spaces and end with a newline so that preamble (10 bytes) + header is a multiple of 64.
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  NNI_CHECK_FILE(header.size() <= 65535, kWrite, path, "the header is too long for format 1.0");

  const unsigned char preamble[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                      static_cast<unsigned char>(header.size() & 0xff),
                                      static_cast<unsigned char>(header.size() >> 8)};
  const auto bytes = static_cast<std::size_t>(data.numel() * data.element_size());
  // Atomically: a temporary file renamed over `path`, so that a failure (full disk) or a concurrent
  // writer never leaves a truncated or mixed file (detail/files.h).
  detail::write_file_atomically(path,
                                {{preamble, sizeof(preamble)},
                                 {header.data(), header.size()},
                                 {bytes > 0 ? data.data_ptr() : nullptr, bytes}},
                                kWrite);
}

}  // namespace nn_interpretability
