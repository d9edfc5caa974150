// Go's path/filepath.Match on Unix: the glob language of COPY sources (one path element at a
// time) and, for its syntax, of .dockerignore patterns.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace strata::dockerfile {

enum class GlobMatch { Match, NoMatch, Bad };

// Whether name (one path element: it holds no '/') matches pattern: `*` any run of characters,
// `?` one character (a UTF-8 sequence, an invalid byte counting as one), `[...]` classes with
// ranges and `^` negation, `\` escapes. A chunk is matched at the earliest place it fits, as
// Go does. Bad when the pattern is malformed (found even after a mismatch, as Go finds it).
GlobMatch goMatch(std::string_view pattern, std::string_view name);

// Why the whole pattern is malformed (an unterminated class, a bare `-` or `]` in a class,
// invalid UTF-8 in a class, a trailing backslash), or nullopt when it is well formed.
std::optional<std::string> goPatternError(std::string_view pattern);

}  // namespace strata::dockerfile
