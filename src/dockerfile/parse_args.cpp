// How each instruction's argument text becomes the node's values (the parse stage only: no
// expansion, no validation of what the values mean).
#include <fmt/format.h>

#include "dockerfile/json_args.h"
#include "dockerfile/parse_internal.h"
#include "dockerfile/text.h"

namespace strata::dockerfile::detail {
namespace {

bool isAsciiSpace(char c) { return c == '\n' || text::isBlank(c); }

// Pieces of `s` between runs of blanks (space, \t, \v, \f, \r). `s` is already trimmed.
std::vector<std::string> splitBlanks(std::string_view s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    std::size_t end = pos;
    while (end < s.size() && !text::isBlank(s[end])) ++end;
    out.emplace_back(s.substr(pos, end - pos));
    if (end == s.size()) break;
    while (end < s.size() && text::isBlank(s[end])) ++end;
    pos = end;
  }
  return out;
}

void whitespaceList(Node& node, std::string_view rest) {
  if (rest.empty()) return;
  node.values = splitBlanks(rest);
}

void verbatim(Node& node, std::string_view rest) {
  if (!rest.empty()) node.values.emplace_back(rest);
}

const char* const kNotStrings =
    "when using JSON array syntax, arrays must be comprised of strings only";

// Takes the arguments as a JSON array of strings when they are one; false when they are not
// JSON (the caller's shell-form rule applies), an error for JSON with a non-string element.
Result<bool> takeJson(Node& node, std::string_view rest) {
  JsonArgs json = parseJsonArgs(rest);
  if (json.kind == JsonArgsKind::NotStrings) return failInvalid(kNotStrings);
  if (json.kind == JsonArgsKind::NotJson) return false;
  node.values = std::move(json.values);
  node.json = true;
  return true;
}

// RUN, CMD, ENTRYPOINT, SHELL: a JSON array of strings, or the whole text as one value.
Status jsonOrVerbatim(Node& node, std::string_view rest) {
  if (!rest.empty() && !TRY(takeJson(node, rest))) verbatim(node, rest);
  return {};
}

// ADD, COPY, VOLUME: a JSON array of strings, or whitespace-separated words.
Status jsonOrWords(Node& node, std::string_view rest) {
  if (!TRY(takeJson(node, rest))) whitespaceList(node, rest);
  return {};
}

// ENV and LABEL: `name value` (old form) or `name=value ...`, as name/value/separator triples.
Status nameValues(Node& node, std::string_view rest, char escape, std::string_view keyword) {
  std::vector<std::string> words = splitWordsKeepingQuotes(rest, escape);
  if (words.empty()) return {};
  if (words[0].find('=') == std::string::npos) {
    std::size_t cut = 0;
    while (cut < rest.size() && !text::isBlank(rest[cut])) ++cut;
    if (cut == rest.size()) return failInvalid(fmt::format("{} must have two arguments", keyword));
    std::size_t value = cut;
    while (value < rest.size() && text::isBlank(rest[value])) ++value;
    node.values = {std::string(rest.substr(0, cut)), std::string(rest.substr(value)), ""};
    return {};
  }
  for (const std::string& word : words) {
    std::size_t eq = word.find('=');
    if (eq == std::string::npos)
      return failInvalid(fmt::format(
          "Syntax error - can't find = in {}. Must be of the form: name=value", text::quote(word)));
    node.values.push_back(word.substr(0, eq));
    node.values.push_back(word.substr(eq + 1));
    node.values.emplace_back("=");
  }
  return {};
}

// HEALTHCHECK: a type word (CMD, NONE, ...) and then a command like CMD's.
Status healthcheck(Node& node, std::string_view rest) {
  std::size_t sep = 0;
  while (sep < rest.size() && !isAsciiSpace(rest[sep])) ++sep;
  if (sep == 0) return {};
  std::size_t next = sep;
  while (next < rest.size() && isAsciiSpace(rest[next])) ++next;
  Node command;
  TRYV(jsonOrVerbatim(command, rest.substr(next)));
  node.values.emplace_back(rest.substr(0, sep));
  for (std::string& v : command.values) node.values.push_back(std::move(v));
  node.json = command.json;
  return {};
}

Status arguments(Node& node, std::string_view rest, char escape) {
  const std::string cmd = node.command();
  if (cmd == "add" || cmd == "copy" || cmd == "volume") return jsonOrWords(node, rest);
  if (cmd == "run" || cmd == "cmd" || cmd == "entrypoint" || cmd == "shell")
    return jsonOrVerbatim(node, rest);
  if (cmd == "from" || cmd == "expose") {
    whitespaceList(node, rest);
    return {};
  }
  if (cmd == "env" || cmd == "label")
    return nameValues(node, rest, escape, text::toUpper(cmd));
  if (cmd == "arg") {
    node.values = splitWordsKeepingQuotes(rest, escape);
    return {};
  }
  if (cmd == "maintainer" || cmd == "user" || cmd == "workdir" || cmd == "stopsignal") {
    verbatim(node, rest);
    return {};
  }
  if (cmd == "healthcheck") return healthcheck(node, rest);
  if (cmd == "onbuild") {
    if (rest.empty()) return {};
    node.trigger = std::make_unique<Node>(TRY(nodeFromLine(rest, escape)));
    return {};
  }
  // Any other keyword keeps its place in the tree with its arguments dropped; whether it is a
  // known instruction is decided when instructions are read from the tree.
  node.values.emplace_back();
  return {};
}

}  // namespace

std::pair<std::string_view, std::vector<std::string>> extractFlags(std::string_view line) {
  enum class Phase { Spaces, Word, Quote };
  std::vector<std::string> words;
  Phase phase = Phase::Spaces;
  std::string word;
  char quote = 0;
  bool blankOk = false;
  for (std::size_t pos = 0; pos <= line.size(); ++pos) {
    const bool end = pos == line.size();
    char ch = end ? '\0' : line[pos];
    if (phase == Phase::Spaces) {
      if (end) break;
      if (isAsciiSpace(ch)) continue;
      // Flags continue only while words start with `--`.
      if (ch != '-' || pos + 1 == line.size() || line[pos + 1] != '-')
        return {line.substr(pos), words};
      phase = Phase::Word;
    }
    if (end) {
      if (word != "--" && (blankOk || !word.empty())) words.push_back(word);
      break;
    }
    if (phase == Phase::Word) {
      if (isAsciiSpace(ch)) {
        phase = Phase::Spaces;
        if (word == "--") return {line.substr(pos), words};  // `--` ends the flags
        if (blankOk || !word.empty()) words.push_back(word);
        word.clear();
        blankOk = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blankOk = true;
        phase = Phase::Quote;
        continue;
      }
      if (ch == '\\') {
        if (pos + 1 == line.size()) continue;
        ch = line[++pos];
      }
      word += ch;
      continue;
    }
    // Inside quotes.
    if (ch == quote) {
      phase = Phase::Word;
      continue;
    }
    if (ch == '\\') {
      if (pos + 1 == line.size()) {
        phase = Phase::Word;
        continue;
      }
      ch = line[++pos];
    }
    word += ch;
  }
  return {std::string_view(), words};
}

std::vector<std::string> splitWordsKeepingQuotes(std::string_view rest, char escape) {
  enum class Phase { Spaces, Word, Quote };
  std::vector<std::string> words;
  Phase phase = Phase::Spaces;
  std::string word;
  char32_t quote = 0;
  bool blankOk = false;
  for (std::size_t pos = 0; pos <= rest.size();) {
    const bool end = pos == rest.size();
    text::Rune r = end ? text::Rune{0, 0} : text::decode(rest, pos);
    auto append = [&](std::size_t at, const text::Rune& rune) {
      // Copy the character's own bytes, so bytes that are not UTF-8 pass through unchanged.
      word.append(rest.substr(at, rune.width));
    };
    if (phase == Phase::Spaces) {
      if (end) break;
      if (text::isSpace(r.value)) {
        pos += r.width;
        continue;
      }
      phase = Phase::Word;
    }
    if (end) {
      if (blankOk || !word.empty()) words.push_back(word);
      break;
    }
    if (phase == Phase::Word) {
      if (text::isSpace(r.value)) {
        phase = Phase::Spaces;
        if (blankOk || !word.empty()) words.push_back(word);
        word.clear();
        blankOk = false;
        pos += r.width;
        continue;
      }
      if (r.value == '\'' || r.value == '"') {
        quote = r.value;
        blankOk = true;
        phase = Phase::Quote;
      }
      if (r.value == static_cast<unsigned char>(escape)) {
        if (pos + r.width == rest.size()) {  // an escape character at the very end is dropped
          pos += r.width;
          continue;
        }
        append(pos, r);
        pos += r.width;
        r = text::decode(rest, pos);
      }
      append(pos, r);
      pos += r.width;
      continue;
    }
    // Inside quotes: the quote itself and everything up to the closing one stay in the word.
    if (r.value == quote) phase = Phase::Word;
    if (r.value == static_cast<unsigned char>(escape) && quote != '\'') {
      if (pos + r.width == rest.size()) {
        phase = Phase::Word;
        pos += r.width;
        continue;
      }
      append(pos, r);
      pos += r.width;
      r = text::decode(rest, pos);
    }
    append(pos, r);
    pos += r.width;
  }
  return words;
}

Result<Node> nodeFromLine(std::string_view line, char escape) {
  std::string_view trimmed = text::trim(line);
  std::size_t cut = 0;
  while (cut < trimmed.size() && !text::isBlank(trimmed[cut])) ++cut;
  Node node;
  node.keyword = std::string(trimmed.substr(0, cut));
  node.original = std::string(line);
  std::string_view args;
  if (cut < trimmed.size()) {
    std::size_t start = cut;
    while (start < trimmed.size() && text::isBlank(trimmed[start])) ++start;
    auto [rest, flags] = extractFlags(trimmed.substr(start));
    node.flags = std::move(flags);
    args = text::trim(rest);
  }
  TRYV(arguments(node, args, escape));
  return node;
}

}  // namespace strata::dockerfile::detail
