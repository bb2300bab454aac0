#pragma once

// A minimal, strict JSON reader for the few shapes the dataset readers need: a top-level array
// of numbers, or a top-level object with one member that is an array of numbers. Every other
// member is validated and skipped. Nesting is limited so malformed input cannot exhaust the
// stack. Not installed.

#include <string>
#include <string_view>
#include <vector>

namespace nn_interpretability {
namespace data {
namespace detail {

/// Parses `text` (the content of `path`) as a JSON array of numbers. Throws c10::ValueError
/// "<where>: '<path>': bad JSON at byte <offset>: ..." on malformed input.
std::vector<double> parse_json_number_array(std::string_view text, const std::string& path, const char* where);

/// Parses `text` as a JSON object and returns its member `key`, which must be an array of
/// numbers. Throws when the document is malformed or has no such member.
std::vector<double> parse_json_member_number_array(std::string_view text, const std::string& key,
                                                   const std::string& path, const char* where);

}  // namespace detail
}  // namespace data
}  // namespace nn_interpretability
