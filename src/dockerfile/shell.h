// Dockerfile word expansion: quotes, escapes and $variable references, the way BuildKit's
// shell lexer does it (frontend/dockerfile/shell), so that a Dockerfile means the same here.
//
// The text is read as UTF-8, one character (code point) at a time; a byte that is not part of
// a valid UTF-8 sequence reads as U+FFFD, and a byte order mark at the very start is dropped.
//
//   'single'        literal; the escape character has no meaning inside
//   "double"        literal except $ references; the escape character only escapes ", $ and
//                   itself, before anything else it stays as it is
//   \x              x taken literally (the escape character is \ or `); a trailing \ vanishes
//   $name ${name}   a letter/_ name, a digit run ($1, $001) or one of @ * # ? - $ ! 0
//   ${name-w}  ${name:-w}   w when name is unset (with ':' also when it is empty), else the value
//   ${name+w}  ${name:+w}   w when name is set (with ':' only when it is not empty), else ""
//   ${name?w}  ${name:?w}   the value; an error "name: w" when unset (with ':' also when empty)
//   ${name#p}  ${name##p}   the value without its shortest / longest prefix matching p
//   ${name%p}  ${name%%p}   the value without its shortest / longest suffix matching p
//   ${name/p/r} ${name//p/r} the first / every match of p replaced by r
//
// The words w, p and r are expanded themselves (nested references, quotes, escapes); p and r
// keep their escape characters. Patterns are globs: * any run
// of characters, ? one character, \* \? \\ literal, \} and \/ the plain characters; neither *
// nor ? matches a newline, and [ has no special meaning. Matching takes the leftmost place and
// lets each * take as much as it can, left to right (as little as it can for a single # or %).
// In r, escapes stay in the result, and for ${name//p/r} only: `$0` or `${0}` that reached r
// unexpanded (quoted, or from a variable) stands for the matched text, `$$` for `$`, any other
// `$name` or `${name}` for nothing, and a `$` followed by neither stays.
//
// Every error is Error::invalid with one line: "failed to process \"<text>\": <reason>", the
// reasons worded as BuildKit words them ("syntax error: missing '}'", "syntax error: bad
// substitution", "unsupported modifier (:=) in substitution", "VAR: is not allowed to be
// unset", ...).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.h"

namespace strata::dockerfile {

// The variables visible to an expansion; names are matched exactly (case-sensitively).
using Vars = std::map<std::string, std::string, std::less<>>;

struct ShellOptions {
  char escape = '\\';              // '\\' or '`' (the Dockerfile's escape directive)
  bool rawQuotes = false;          // keep quote characters in the output (heredoc bodies)
  bool rawEscapes = false;         // keep escape characters in the output
  bool skipUnset = false;          // leave references to unset variables as written
  bool skipProcessQuotes = false;  // quotes are ordinary characters
  // The most one expansion may add to its results, counted at every ${...} level it passes
  // through; an error beyond. Nested ${name//p/r} multiply the length of the value per level,
  // so without a limit a short text could exhaust memory.
  size_t maxExpandedBytes = size_t{16} << 20;
};

struct Expansion {
  std::string word;                 // the single-string result
  std::vector<std::string> words;   // the word-list result (split at unquoted whitespace)
  std::set<std::string> matched;    // variable names that were referenced and set
  std::set<std::string> unmatched;  // variable names that were referenced and unset
};

// Expands Dockerfile words. Immutable after construction: the const members may be called from
// several threads at once. Nesting of ${...} inside ${...} is limited to kMaxNesting levels (an
// error beyond), so that hostile input cannot exhaust the stack: each level costs about 2.5 KiB
// of stack in an optimised build and about 13 KiB under AddressSanitizer.
class ShellLexer {
 public:
  static constexpr int kMaxNesting = 64;

  explicit ShellLexer(ShellOptions options = {});

  const ShellOptions& options() const { return options_; }

  // The whole text expanded as one string: quotes and escapes removed (unless the options keep
  // them), references replaced, whitespace kept as written.
  Result<std::string> processWord(std::string_view text, const Vars& vars) const;

  // The text expanded and split into words at whitespace that is neither quoted nor escaped;
  // whitespace coming out of an unquoted reference splits too. Empty words are dropped, so
  // `a "" b` gives two words.
  Result<std::vector<std::string>> processWords(std::string_view text, const Vars& vars) const;

  // Both results of one expansion, plus which referenced variable names were set and unset.
  Result<Expansion> process(std::string_view text, const Vars& vars) const;

 private:
  ShellOptions options_;
};

// Building blocks shared by the two implementation files and exercised directly by the unit
// tests. Not for use elsewhere.
namespace shell_detail {

// ${name#p} and ${name##p} (greedy): value without the matched prefix. Errors name the pattern.
Result<std::string> trimPrefix(std::string_view pattern, std::string_view value, bool greedy);
// ${name%p} and ${name%%p} (greedy): value without the matched suffix.
Result<std::string> trimSuffix(std::string_view pattern, std::string_view value, bool greedy);
// ${name/p/r} (all = false) and ${name//p/r} (all = true); nullopt when the result would be
// longer than limit bytes (it stops as soon as it knows).
Result<std::optional<std::string>> replaceMatches(std::string_view pattern, std::string_view value,
                                                  std::string_view replacement, bool all,
                                                  size_t limit);

}  // namespace shell_detail
}  // namespace strata::dockerfile
