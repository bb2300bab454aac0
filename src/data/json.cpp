#include "json.h"

#include <nn_interpretability/detail/files.h>

#include <c10/util/Exception.h>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>

namespace nn_interpretability {
namespace data {
namespace detail {
namespace {

constexpr int kMaxDepth = 64;

class Parser {
 public:
  Parser(std::string_view text, const std::string& path, const char* where)
      : text_(text), path_(path), where_(where) {
    // Skip a UTF-8 byte order mark.
    if (text_.size() >= 3 && text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
  }

  [[noreturn]] void fail(const std::string& what) const {
    NNI_CHECK_FILE(false, where_, path_, "bad JSON at byte ", pos_, ": ", what);
    std::abort();  // unreachable: NNI_CHECK_FILE(false, ...) always throws
  }

  void skip_ws() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }

  char peek() {
    skip_ws();
    if (pos_ >= text_.size()) fail("unexpected end of input");
    return text_[pos_];
  }

  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "' but found " + describe());
    ++pos_;
  }

  std::string describe() const {
    if (pos_ >= text_.size()) return "end of input";
    const unsigned char c = static_cast<unsigned char>(text_[pos_]);
    if (c >= 0x20 && c < 0x7f) return std::string("'") + text_[pos_] + "'";
    return "byte " + std::to_string(static_cast<int>(c));
  }

  void expect_end() {
    skip_ws();
    if (pos_ != text_.size()) fail("unexpected " + describe() + " after the JSON value");
  }

  /// A JSON number (strict grammar), as a double.
  double number() {
    skip_ws();
    const std::size_t start = pos_;
    auto digit = [&](std::size_t i) { return i < text_.size() && text_[i] >= '0' && text_[i] <= '9'; };
    std::size_t i = pos_;
    if (i < text_.size() && text_[i] == '-') ++i;
    if (!digit(i)) fail("expected a number but found " + describe());
    if (text_[i] == '0') {
      ++i;
    } else {
      while (digit(i)) ++i;
    }
    if (i < text_.size() && text_[i] == '.') {
      ++i;
      if (!digit(i)) {
        pos_ = i;
        fail("expected a digit after the decimal point");
      }
      while (digit(i)) ++i;
    }
    if (i < text_.size() && (text_[i] == 'e' || text_[i] == 'E')) {
      ++i;
      if (i < text_.size() && (text_[i] == '+' || text_[i] == '-')) ++i;
      if (!digit(i)) {
        pos_ = i;
        fail("expected a digit in the exponent");
      }
      while (digit(i)) ++i;
    }
    double value = 0.0;
    const auto result = std::from_chars(text_.data() + start, text_.data() + i, value);
    if (result.ec != std::errc() || result.ptr != text_.data() + i || !std::isfinite(value)) {
      fail("number out of range");
    }
    pos_ = i;
    return value;
  }

  /// A JSON string; escapes are decoded for ASCII, other \u escapes become '?'.
  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      if (pos_ >= text_.size()) fail("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) fail("unterminated string");
      const char e = text_[pos_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          unsigned code = 0;
          for (int k = 0; k < 4; ++k) {
            if (pos_ >= text_.size()) fail("unterminated \\u escape");
            const char h = text_[pos_++];
            code <<= 4;
            if (h >= '0' && h <= '9') code |= static_cast<unsigned>(h - '0');
            else if (h >= 'a' && h <= 'f') code |= static_cast<unsigned>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F') code |= static_cast<unsigned>(h - 'A' + 10);
            else fail("bad \\u escape");
          }
          out.push_back(code < 0x80 ? static_cast<char>(code) : '?');
          break;
        }
        default: --pos_; fail("bad escape in string");
      }
    }
  }

  void literal(std::string_view word) {
    skip_ws();
    if (text_.substr(pos_, word.size()) != word) fail("unexpected " + describe());
    pos_ += word.size();
  }

  /// Validates and skips any JSON value.
  void skip_value(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than 64 levels");
    const char c = peek();
    if (c == '{') {
      ++pos_;
      if (peek() == '}') {
        ++pos_;
        return;
      }
      for (;;) {
        string();
        expect(':');
        skip_value(depth + 1);
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        expect('}');
        return;
      }
    }
    if (c == '[') {
      ++pos_;
      if (peek() == ']') {
        ++pos_;
        return;
      }
      for (;;) {
        skip_value(depth + 1);
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        expect(']');
        return;
      }
    }
    if (c == '"') {
      string();
      return;
    }
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == 'n') return literal("null");
    number();
  }

  std::vector<double> number_array() {
    if (peek() != '[') fail("expected an array of numbers but found " + describe());
    ++pos_;
    std::vector<double> values;
    if (peek() == ']') {
      ++pos_;
      return values;
    }
    for (;;) {
      if (peek() != '-' && (peek() < '0' || peek() > '9'))
        fail("expected a number in the array but found " + describe());
      values.push_back(number());
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect(']');
      return values;
    }
  }

  std::vector<double> member_number_array(const std::string& key) {
    if (peek() != '{') fail("expected an object but found " + describe());
    ++pos_;
    std::optional<std::vector<double>> found;
    if (peek() == '}') {
      ++pos_;
    } else {
      for (;;) {
        const std::string name = string();
        expect(':');
        if (name == key) {
          if (found) fail("duplicate member \"" + key + "\"");
          found = number_array();
        } else {
          skip_value(1);
        }
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        expect('}');
        break;
      }
    }
    expect_end();
    NNI_CHECK_FILE(found.has_value(), where_, path_, "bad JSON (no \"", key, "\" array in the top-level object)");
    return std::move(*found);
  }

 private:
  std::string_view text_;
  const std::string& path_;
  const char* where_;
  std::size_t pos_ = 0;
};

}  // namespace

std::vector<double> parse_json_number_array(std::string_view text, const std::string& path, const char* where) {
  Parser parser(text, path, where);
  std::vector<double> values = parser.number_array();
  parser.expect_end();
  return values;
}

std::vector<double> parse_json_member_number_array(std::string_view text, const std::string& key,
                                                   const std::string& path, const char* where) {
  Parser parser(text, path, where);
  return parser.member_number_array(key);
}

}  // namespace detail
}  // namespace data
}  // namespace nn_interpretability
