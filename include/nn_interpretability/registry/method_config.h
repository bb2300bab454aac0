#pragma once
// A method's settings by option name, as the registry, the command-line tool and the benchmark pass
// them: any method's options without one hand-written field per option.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace nn_interpretability {

/// The value of one option: a flag, an integer, a real number or a word (a layer, a choice, a method).
using OptionValue = std::variant<bool, int64_t, double, std::string>;

/// Option values by name, as each method's schema spells them ("steps", "rows_per_call", "layer").
/// Unset options take the method's own default; options a method does not have are ignored by it
/// (nn_interpretability::unused_options lists them). Values are checked against the method's schema
/// when the method is built (make_method), with messages naming the option.
///
/// Example:
///   auto config = nn_interpretability::MethodConfig().layer("layer4").set("upsample", "bilinear");
///   auto method = nn_interpretability::make_method("grad_cam", model, config);
class MethodConfig {
 public:
  MethodConfig& set(const std::string& name, OptionValue value) { return store(name, std::move(value)); }
  MethodConfig& set(const std::string& name, bool value) { return store(name, value); }
  MethodConfig& set(const std::string& name, double value) { return store(name, value); }
  MethodConfig& set(const std::string& name, std::string value) { return store(name, std::move(value)); }
  MethodConfig& set(const std::string& name, const char* value) { return store(name, std::string(value)); }
  /// Any integer type (int, int64_t, uint64_t seeds below 2^63).
  template <typename Integer, typename = std::enable_if_t<std::is_integral<Integer>::value &&
                                                           !std::is_same<Integer, bool>::value>>
  MethodConfig& set(const std::string& name, Integer value) {
    return store(name, static_cast<int64_t>(value));
  }

  /// The layer of the CAM family (the one option most callers set): set("layer", name).
  MethodConfig& layer(std::string name) { return set("layer", std::move(name)); }
  /// The layer, or "" when unset.
  std::string layer() const;

  bool has(const std::string& name) const { return values_.count(name) != 0; }
  /// The value, or nullptr when unset.
  const OptionValue* find(const std::string& name) const;
  /// The names of the options set, in alphabetical order.
  std::vector<std::string> names() const;
  /// Removes an option (back to the method's default).
  MethodConfig& unset(const std::string& name);

  /// Typed reads for a method's factory: unset gives nullopt; a value of another type throws a
  /// c10::ValueError naming the option (an integer is accepted where a real number is expected).
  std::optional<bool> get_bool(const std::string& name) const;
  std::optional<int64_t> get_int(const std::string& name) const;
  std::optional<double> get_double(const std::string& name) const;
  std::optional<std::string> get_string(const std::string& name) const;

 private:
  MethodConfig& store(const std::string& name, OptionValue value);

  std::map<std::string, OptionValue> values_;
};

/// A value as text, for messages and help ("true", "50", "0.15", "bilinear").
std::string to_string(const OptionValue& value);

}  // namespace nn_interpretability
