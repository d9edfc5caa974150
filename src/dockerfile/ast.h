// The Dockerfile parse tree, with the same shape and rules as BuildKit's parser: one node per
// instruction, its flags and argument values as the parse stage leaves them (nothing expanded,
// quotes kept in shell form), heredoc bodies, and the physical lines it came from.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace strata::dockerfile {

// A heredoc attached to RUN, COPY or ADD (`<<EOF`, `<<-EOF`, `3<<"EOF"`).
struct Heredoc {
  std::string name;        // the delimiter word, quotes removed
  unsigned fd = 0;         // the file descriptor digits before `<<` (0 when none)
  bool expand = true;      // false when any part of the delimiter was quoted
  bool chomp = false;      // `<<-`: leading tabs are stripped from the body and the delimiter
  std::string content;     // the body lines, each with its line terminator
};

struct Node {
  std::string keyword;              // the instruction keyword as written (`RUN`, `run`, `Foo`)
  std::vector<std::string> flags;   // `--name=value` words before the arguments, quotes removed
  // The argument values by the instruction's rule: JSON elements, whitespace-split words, one
  // verbatim string, or for ENV and LABEL triples of name, value and "=" ("" for `ENV k v`).
  std::vector<std::string> values;
  std::unique_ptr<Node> trigger;    // ONBUILD's instruction
  bool json = false;                // the arguments were a JSON array of strings
  std::vector<Heredoc> heredocs;
  std::string original;             // the instruction with its continuation lines joined
  int startLine = 0;                // 1-based physical lines the instruction spans
  int endLine = 0;
  std::vector<std::string> comments;  // comment lines directly above it, `#` and blanks trimmed

  std::string command() const;      // the keyword in lower case
};

// A warning the way BuildKit raises it while parsing (empty continuation lines).
struct Warning {
  std::string message;  // "Empty continuation line found in: RUN a     b"
  std::string detail;   // why it matters
  int startLine = 0;
  int endLine = 0;
};

struct Ast {
  std::vector<Node> instructions;
  char escape = '\\';  // the escape character in effect (`# escape=`)
  std::vector<Warning> warnings;
  int startLine = 0;  // first line of the first instruction
  int endLine = 0;    // last line of the last instruction
};

struct ParseOptions {
  std::string fileName = "Dockerfile";  // used in error messages: `Dockerfile:3: ...`
};

// Parses a whole Dockerfile. Fails, with `<file>:<line>: <message>` naming the physical line,
// on a malformed file: no instructions, a bad or repeated parser directive, a line longer than
// 65535 bytes, an unterminated heredoc, a JSON array with non-string elements, ENV/LABEL
// without `=` or value. Unknown instruction keywords are not an error at this stage.
Result<Ast> parse(std::string_view content, const ParseOptions& options = {});

// The tree in the format of BuildKit's parser test `result` files: one `(keyword ...)` line per
// instruction, each ending in a newline.
std::string dump(const Ast& ast);
std::string dump(const Node& node);

// Reads one word as a heredoc marker (`<<EOF`, `<<-"EOF"`, `2<<EOF`): nullopt when the word is
// not one, an error when its delimiter cannot be lexed. The result has no content.
Result<std::optional<Heredoc>> parseHeredocMarker(std::string_view word);

// Removes leading tabs from every line of a `<<-` heredoc body.
std::string chompHeredoc(std::string_view content);

}  // namespace strata::dockerfile
