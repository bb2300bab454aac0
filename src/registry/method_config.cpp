#include "nn_interpretability/registry/method_config.h"

#include <sstream>

#include <c10/util/Exception.h>

namespace nn_interpretability {
namespace {

const char* type_name(const OptionValue& value) {
  switch (value.index()) {
    case 0: return "a flag (bool)";
    case 1: return "an integer";
    case 2: return "a real number";
    default: return "a word (string)";
  }
}

[[noreturn]] void wrong_type(const std::string& name, const OptionValue& value, const char* expected) {
  TORCH_CHECK_VALUE(false, "option '", name, "' must be ", expected, ", got ", type_name(value), " (",
                    to_string(value), ")");
  throw;  // unreachable
}

}  // namespace

std::string to_string(const OptionValue& value) {
  if (const bool* flag = std::get_if<bool>(&value)) return *flag ? "true" : "false";
  if (const int64_t* integer = std::get_if<int64_t>(&value)) return std::to_string(*integer);
  if (const double* real = std::get_if<double>(&value)) {
    std::ostringstream text;
    text << *real;
    return text.str();
  }
  return std::get<std::string>(value);
}

MethodConfig& MethodConfig::store(const std::string& name, OptionValue value) {
  TORCH_CHECK_VALUE(!name.empty(), "MethodConfig: an option name must not be empty");
  values_[name] = std::move(value);
  return *this;
}

std::string MethodConfig::layer() const { return get_string("layer").value_or(""); }

const OptionValue* MethodConfig::find(const std::string& name) const {
  const auto found = values_.find(name);
  return found == values_.end() ? nullptr : &found->second;
}

std::vector<std::string> MethodConfig::names() const {
  std::vector<std::string> names;
  for (const auto& item : values_) names.push_back(item.first);
  return names;
}

MethodConfig& MethodConfig::unset(const std::string& name) {
  values_.erase(name);
  return *this;
}

std::optional<bool> MethodConfig::get_bool(const std::string& name) const {
  const OptionValue* value = find(name);
  if (value == nullptr) return std::nullopt;
  if (const bool* flag = std::get_if<bool>(value)) return *flag;
  wrong_type(name, *value, "a flag (bool)");
}

std::optional<int64_t> MethodConfig::get_int(const std::string& name) const {
  const OptionValue* value = find(name);
  if (value == nullptr) return std::nullopt;
  if (const int64_t* integer = std::get_if<int64_t>(value)) return *integer;
  wrong_type(name, *value, "an integer");
}

std::optional<double> MethodConfig::get_double(const std::string& name) const {
  const OptionValue* value = find(name);
  if (value == nullptr) return std::nullopt;
  if (const double* real = std::get_if<double>(value)) return *real;
  if (const int64_t* integer = std::get_if<int64_t>(value)) return static_cast<double>(*integer);
  wrong_type(name, *value, "a real number");
}

std::optional<std::string> MethodConfig::get_string(const std::string& name) const {
  const OptionValue* value = find(name);
  if (value == nullptr) return std::nullopt;
  if (const std::string* word = std::get_if<std::string>(value)) return *word;
  wrong_type(name, *value, "a word (string)");
}

}  // namespace nn_interpretability
