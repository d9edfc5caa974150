// Pieces of the Dockerfile parser shared by its files; not part of the module's interface.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dockerfile/ast.h"

namespace strata::dockerfile::detail {

// Turns one joined instruction line into a node: keyword, flags, and values by the keyword's
// rule (recursing for ONBUILD). Lines, comments and heredocs are filled in by the caller.
Result<Node> nodeFromLine(std::string_view line, char escape);

// Splits the flag words (`--x=y`) off the front of an instruction's argument text.
// Returns the rest of the text and the flags.
std::pair<std::string_view, std::vector<std::string>> extractFlags(std::string_view text);

// Words separated by unquoted whitespace; quotes and escape characters stay in the words.
std::vector<std::string> splitWordsKeepingQuotes(std::string_view text, char escape);

}  // namespace strata::dockerfile::detail

namespace strata::dockerfile::detail {

// `<file>:<line>: <message>`, then `: `<excerpt>`` when an excerpt is given; the excerpt is the
// instruction text, shortened to one screen line.
Error locatedError(const ParseOptions& options, int line, std::string_view message,
                   std::string_view excerpt = {});

}  // namespace strata::dockerfile::detail
