#include "arguments.h"

#include <algorithm>
#include <iostream>
#include <optional>

#include "cli_input.h"

namespace nni_cli {
namespace {

bool is_option(const std::string& arg) { return arg.size() > 2 && arg.compare(0, 2, "--") == 0; }

}  // namespace

std::string Arguments::require(const std::string& name, const std::string& command) const {
  if (!has(name))
    throw CliError(kUsageError, "nni " + command + ": --" + name + " is required (see nni " + command + " --help)");
  return get(name);
}

Arguments parse_arguments(const std::vector<std::string>& args, const std::vector<OptionSpec>& specs,
                          const std::string& command) {
  Arguments parsed;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!is_option(arg))
      throw CliError(kUsageError, "nni " + command + ": unexpected argument '" + arg + "' (see nni " + command +
                                      " --help)");
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const auto spec = std::find_if(specs.begin(), specs.end(), [&](const OptionSpec& s) { return name == s.name; });
    if (spec == specs.end())
      throw CliError(kUsageError, "nni " + command + ": unknown option '--" + name + "' (see nni " + command +
                                      " --help)");
    if (parsed.has(name)) throw CliError(kUsageError, "nni " + command + ": --" + name + " is given twice");
    std::vector<std::string> values;
    if (!spec->takes_value) {
      if (inline_value) throw CliError(kUsageError, "nni " + command + ": --" + name + " takes no value");
    } else if (inline_value) {
      values.push_back(*inline_value);
    } else if (spec->multi) {
      while (i + 1 < args.size() && !is_option(args[i + 1])) values.push_back(args[++i]);
    } else if (i + 1 < args.size()) {
      values.push_back(args[++i]);
    }
    if (spec->takes_value && values.empty())
      throw CliError(kUsageError, "nni " + command + ": --" + name + " needs a value");
    parsed.set(name, std::move(values));
  }
  return parsed;
}

bool wants_help(const std::vector<std::string>& args) {
  return std::any_of(args.begin(), args.end(), [](const std::string& a) { return a == "--help" || a == "-h"; });
}

void warn(const std::string& message) { std::cerr << "nni: warning: " << message << '\n'; }

}  // namespace nni_cli
