#include "method_options.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <map>
#include <sstream>

#include "cli_input.h"

namespace nni = nn_interpretability;

namespace nni_cli {
namespace {

// Options renamed when every "multiply the batch" knob became rows_per_call (issue #14).
const std::map<std::string, std::string>& renamed_flags() {
  static const std::map<std::string, std::string> renamed = {
      {"internal-batch-size", "--rows-per-call R (integrated_gradients: rows per call, as before)"},
      {"samples-per-batch", "--rows-per-call R (smoothgrad: rows per call = noisy copies per call x batch)"},
      {"score-cam-batch-size", "--rows-per-call R (score_cam: masked inputs per call, as before)"},
  };
  return renamed;
}

// Every option name once, with the methods that have it, in registry order.
struct OptionEntry {
  nni::OptionSchema schema;
  std::vector<const nni::MethodInfo*> methods;
};

std::vector<OptionEntry> all_options() {
  std::vector<OptionEntry> entries;
  for (const auto& info : nni::methods()) {
    for (const auto& option : info.options) {
      auto found = std::find_if(entries.begin(), entries.end(),
                                [&](const OptionEntry& entry) { return entry.schema.name == option.name; });
      if (found == entries.end()) {
        entries.push_back({option, {&info}});
      } else {
        found->methods.push_back(&info);
      }
    }
  }
  return entries;
}

std::string number_text(double value) {
  std::ostringstream text;
  if (value == std::floor(value) && std::abs(value) < 1e15) text << static_cast<long long>(value);
  else text << value;
  return text.str();
}

std::string value_word(nni::OptionType type) {
  switch (type) {
    case nni::OptionType::kInt: return "N";
    case nni::OptionType::kDouble: return "X";
    case nni::OptionType::kChoice: return "MODE";
    case nni::OptionType::kMethod: return "METHOD";
    default: return "NAME";
  }
}

std::string join_words(const std::vector<std::string>& words, const std::string& last) {
  std::string text;
  for (std::size_t i = 0; i < words.size(); ++i)
    text += (i == 0 ? "" : i + 1 == words.size() ? " " + last + " " : ", ") + words[i];
  return text;
}

// Reads one given flag's text as the option's type, checking its range and choices.
nni::OptionValue parse_value(const nni::OptionSchema& option, const std::string& flag, const std::string& text) {
  double number = 0;
  nni::OptionValue value;
  switch (option.type) {
    case nni::OptionType::kInt: {
      const int64_t integer = parse_int(text, flag);
      number = static_cast<double>(integer);
      value = integer;
      break;
    }
    case nni::OptionType::kDouble:
      number = parse_double(text, flag);
      value = number;
      break;
    case nni::OptionType::kChoice:
      if (std::find(option.choices.begin(), option.choices.end(), text) == option.choices.end())
        throw CliError(kUsageError, flag + ": expected " + join_words(option.choices, "or") + ", got '" + text + "'");
      return text;
    case nni::OptionType::kMethod:
      try {
        nni::method_info(text);
      } catch (const std::exception&) {
        throw CliError(kUsageError, flag + ": unknown method '" + text + "'; valid methods: " + nni::method_names());
      }
      return text;
    default:
      return text;
  }
  if (option.minimum && number < *option.minimum)
    throw CliError(kUsageError, flag + ": must be >= " + number_text(*option.minimum) + ", got " + text);
  if (option.maximum && number > *option.maximum)
    throw CliError(kUsageError, flag + ": at most " + number_text(*option.maximum) + ", got " + text);
  return value;
}

// Wraps help text at 100 columns, continuation lines indented under the first.
std::string wrapped(const std::string& text) {
  constexpr std::size_t kIndent = 26, kWidth = 100;
  std::istringstream words(text);
  std::string word, line, out;
  while (words >> word) {
    if (!line.empty() && kIndent + line.size() + 1 + word.size() > kWidth) {
      out += line + "\n" + std::string(kIndent, ' ');
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  return out + line;
}

}  // namespace

std::string flag_name(const std::string& option) {
  std::string flag = option;
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

std::vector<OptionSpec> method_option_specs() {
  std::vector<OptionSpec> specs;
  for (const auto& entry : all_options()) {
    const std::string flag = flag_name(entry.schema.name);
    if (entry.schema.type == nni::OptionType::kBool) {
      specs.push_back({flag, false, false});
      specs.push_back({"no-" + flag, false, false});
    } else {
      specs.push_back({flag, true, false});
    }
  }
  for (const auto& renamed : renamed_flags()) specs.push_back({renamed.first, true, false});
  return specs;
}

std::string method_options_help() {
  std::ostringstream help;
  help << "Method options (each applies to the methods named; see `nni methods`):\n";
  for (const auto& entry : all_options()) {
    const nni::OptionSchema& option = entry.schema;
    const std::string flag = flag_name(option.name);
    std::string usage = option.type == nni::OptionType::kBool ? "--" + flag + ", --no-" + flag
                                                              : "--" + flag + " " + value_word(option.type);
    std::vector<std::string> names;
    std::map<std::string, std::vector<std::string>> defaults;  // default -> methods
    for (const nni::MethodInfo* info : entry.methods) {
      names.push_back(info->name);
      defaults[info->option(option.name)->default_value].push_back(info->name);
    }
    std::string text = option.help;
    if (option.type == nni::OptionType::kChoice) {
      std::string choices;
      for (const auto& word : option.choices) choices += (choices.empty() ? "" : " | ") + word;
      text += ": " + choices;
    }
    std::string defaults_text;
    if (defaults.size() == 1) {
      defaults_text = defaults.begin()->first;
    } else {
      for (const auto& item : defaults)
        defaults_text += (defaults_text.empty() ? "" : "; ") + join_words(item.second, "and") + ": " + item.first;
    }
    if (!defaults_text.empty()) text += " (default " + defaults_text + ")";
    if (entry.methods.size() > 1 && option.help.find("(CAM family)") == std::string::npos)
      text += " [" + join_words(names, "and") + "]";
    // A flag too long for its column gets a line of its own.
    if (usage.size() >= 24) help << "  " << usage << '\n' << std::string(26, ' ');
    else help << "  " << std::left << std::setw(24) << usage;
    help << wrapped(text) << '\n';
  }
  return help.str();
}

const nni::MethodInfo& innermost_method(const std::string& method, const nni::MethodConfig& config) {
  const nni::MethodInfo* info = nullptr;
  try {
    info = &nni::method_info(method);
  } catch (const std::exception&) {
    throw CliError(kUsageError, "--method: unknown method '" + method + "'; valid methods: " + nni::method_names());
  }
  for (const auto& option : info->options) {
    if (option.type != nni::OptionType::kMethod) continue;
    const std::string wrapped = config.get_string(option.name).value_or(option.default_value);
    if (wrapped == method) continue;  // refused by method_config
    return innermost_method(wrapped, config);
  }
  return *info;
}

nni::MethodConfig method_config(const Arguments& args, const std::string& method, bool warn_unused) {
  for (const auto& renamed : renamed_flags())
    if (args.has(renamed.first))
      throw CliError(kUsageError, "--" + renamed.first + " was renamed: use " + renamed.second);
  nni::MethodConfig config;
  std::map<std::string, std::string> given;  // option -> the flag that set it, for messages
  for (const auto& entry : all_options()) {
    const nni::OptionSchema& option = entry.schema;
    const std::string flag = flag_name(option.name);
    if (option.type == nni::OptionType::kBool) {
      if (args.has(flag) && args.has("no-" + flag))
        throw CliError(kUsageError, "--" + flag + " and --no-" + flag + " exclude each other");
      if (args.has(flag) || args.has("no-" + flag)) {
        config.set(option.name, args.has(flag));
        given[option.name] = args.has(flag) ? "--" + flag : "--no-" + flag;
      }
      continue;
    }
    if (!args.has(flag)) continue;
    config.set(option.name, parse_value(option, "--" + flag, args.get(flag)));
    given[option.name] = "--" + flag;
    if (option.type == nni::OptionType::kMethod && args.get(flag) == method)
      throw CliError(kUsageError, "--" + flag + ": " + method + " cannot wrap itself");
  }
  for (const auto& entry : all_options()) {
    const nni::OptionSchema& option = entry.schema;
    if (!option.excludes.empty() && given.count(option.name) && given.count(option.excludes))
      throw CliError(kUsageError, given[option.name] + " and " + given[option.excludes] + " exclude each other");
  }
  innermost_method(method, config);  // an unknown --method is a usage error before anything else
  for (const auto& unused : nni::unused_options(method, config)) {
    if (warn_unused) warn(given[unused] + " does not apply to method '" + method + "'; ignored");
    config.unset(unused);
  }
  return config;
}

}  // namespace nni_cli
