#pragma once
// The nni tool's command-line parsing: --name value, --name=value, flags, and options that take
// several values (up to the next option).

#include <map>
#include <string>
#include <vector>

namespace nni_cli {

/// One option a command accepts.
struct OptionSpec {
  std::string name;  ///< without the leading "--"
  bool takes_value;
  bool multi;  ///< takes one or more values, up to the next option
};

/// The options given, by name.
class Arguments {
 public:
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  const std::string& get(const std::string& name) const { return values_.at(name).front(); }
  std::string get_or(const std::string& name, const std::string& fallback) const {
    return has(name) ? get(name) : fallback;
  }
  const std::vector<std::string>& all(const std::string& name) const { return values_.at(name); }
  /// The value; throws a usage error "--name is required" when it is missing.
  std::string require(const std::string& name, const std::string& command) const;
  void set(const std::string& name, std::vector<std::string> values) { values_[name] = std::move(values); }

 private:
  std::map<std::string, std::vector<std::string>> values_;
};

/// Parses `args` against `specs`; unknown, repeated or valueless options are usage errors naming
/// `command`.
Arguments parse_arguments(const std::vector<std::string>& args, const std::vector<OptionSpec>& specs,
                          const std::string& command);

/// Whether --help or -h is among `args`.
bool wants_help(const std::vector<std::string>& args);

/// Prints "nni: warning: <message>" on stderr.
void warn(const std::string& message);

}  // namespace nni_cli
