// The JSON (exec) form of Dockerfile arguments: `["a", "b"]`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace strata::dockerfile {

enum class JsonArgsKind {
  NotJson,     // not one valid JSON value that is an array: the caller falls back to shell form
  NotStrings,  // a valid JSON array with an element that is not a string: an error
  Strings,     // a valid JSON array of strings
};

struct JsonArgs {
  JsonArgsKind kind = JsonArgsKind::NotJson;
  std::vector<std::string> values;  // the decoded strings when kind == Strings
};

// Reads `text` (leading whitespace allowed) as one JSON array, exactly as strictly as Go's
// encoding/json: whitespace only after it, RFC 8259 strings and numbers, nesting up to 10000
// levels. Decoded strings replace bytes that are not UTF-8 and lone surrogates with U+FFFD.
JsonArgs parseJsonArgs(std::string_view text);

}  // namespace strata::dockerfile
