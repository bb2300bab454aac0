#pragma once
// The method options of `nni attribute`, derived from the registry's schemas: the flags, their help,
// reading them into a MethodConfig and the "does not apply" warnings. A new method's options reach
// the command line without any edit here.

#include <string>
#include <vector>

#include "arguments.h"
#include "nn_interpretability/registry/registry.h"

namespace nni_cli {

/// The flag of an option: rows_per_call -> "rows-per-call".
std::string flag_name(const std::string& option);

/// The flags of every registered method's options (a flag option also as --no-NAME), and the old
/// names that now say what replaced them.
std::vector<OptionSpec> method_option_specs();

/// The "Method options:" section of `nni attribute --help`.
std::string method_options_help();

/// The method options given in `args`, checked (usage errors name the flag) and read into a config for
/// `method`; each given flag that does not apply to `method` (or its base) gets a warning on stderr
/// and is left out of the config (silently when `warn_unused` is false: `nni evaluate` shares its flags
/// among many methods).
nn_interpretability::MethodConfig method_config(const Arguments& args, const std::string& method, bool warn_unused = true);

/// The method that finally computes the attributions: `method` itself, or the method it wraps
/// (smoothgrad's base), followed through every kMethod option. Throws a usage error for an unknown name.
const nn_interpretability::MethodInfo& innermost_method(const std::string& method,
                                                        const nn_interpretability::MethodConfig& config);

}  // namespace nni_cli
