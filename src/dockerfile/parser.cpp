// The line machinery of the Dockerfile parser: physical lines, parser directives, comments,
// continuation lines, heredoc bodies and line numbers. Argument rules live in parse_args.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "dockerfile/ast.h"
#include "dockerfile/parse_internal.h"
#include "dockerfile/shell.h"
#include "dockerfile/text.h"

namespace strata::dockerfile {

std::string Node::command() const { return text::toLower(keyword); }

namespace {

constexpr std::size_t kMaxLine = 65535;

using detail::locatedError;

// The physical lines of the file, each with its terminator (the last may have none).
std::vector<std::string_view> physicalLines(std::string_view content) {
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (pos < content.size()) {
    std::size_t nl = content.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? content.size() : nl + 1;
    lines.push_back(content.substr(pos, end - pos));
    pos = end;
  }
  return lines;
}

std::string_view trimNewline(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool isComment(std::string_view raw) {
  std::string_view s = text::trimLeft(trimNewline(raw));
  return !s.empty() && s.front() == '#';
}

bool isDirectiveSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

// The parser directives at the top of the file (`# escape=\``, `# syntax=...`, `# check=...`).
class Directives {
 public:
  char escape() const { return escape_; }

  // Looks at one line while the directive area lasts; the first line that is not a known
  // directive ends it.
  Status observe(std::string_view line) {
    if (done_) return {};
    auto directive = match(line);
    if (!directive) {
      done_ = true;
      return {};
    }
    auto [name, value] = *directive;
    if (name != "syntax" && name != "escape" && name != "check") {
      done_ = true;
      return {};
    }
    if (std::find(seen_.begin(), seen_.end(), name) != seen_.end())
      return failInvalid(fmt::format("only one {} parser directive can be used", name));
    seen_.push_back(name);
    if (name == "escape") {
      if (value != "`" && value != "\\")
        return failInvalid(fmt::format("invalid escape token '{}' does not match ` or \\", value));
      escape_ = value[0];
    }
    return {};
  }

 private:
  // `#`, blanks, a name (a letter, then letters and digits), blanks, `=`, blanks, a value with
  // its trailing blanks removed.
  static std::optional<std::pair<std::string, std::string>> match(std::string_view s) {
    std::size_t pos = 0;
    if (s.empty() || s[0] != '#') return std::nullopt;
    ++pos;
    while (pos < s.size() && isDirectiveSpace(s[pos])) ++pos;
    const auto isAlpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    if (pos == s.size() || !isAlpha(s[pos])) return std::nullopt;
    std::size_t nameStart = pos;
    while (pos < s.size() && (isAlpha(s[pos]) || (s[pos] >= '0' && s[pos] <= '9'))) ++pos;
    std::string name = text::toLower(s.substr(nameStart, pos - nameStart));
    while (pos < s.size() && isDirectiveSpace(s[pos])) ++pos;
    if (pos == s.size() || s[pos] != '=') return std::nullopt;
    std::string_view rest = s.substr(pos + 1);
    if (rest.empty()) return std::nullopt;
    std::string_view value = rest;
    while (!value.empty() && isDirectiveSpace(value.front())) value.remove_prefix(1);
    while (!value.empty() && isDirectiveSpace(value.back())) value.remove_suffix(1);
    // Only blanks after `=`: the pattern's value is then the last of them.
    if (value.empty()) value = rest.substr(rest.size() - 1);
    return std::make_pair(std::move(name), std::string(value));
  }

  char escape_ = '\\';
  bool done_ = false;
  std::vector<std::string> seen_;
};

// Removes the escape character (and blanks after it) that continues a line. Returns false when
// the line does not end in a continuation: the escape character must be the line's first
// character or follow a character other than itself.
bool trimContinuation(std::string& line, char escape) {
  std::size_t end = line.size();
  while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t')) --end;
  if (end == 0 || line[end - 1] != escape) return false;
  if (end >= 2 && line[end - 2] == escape) return false;
  line.resize(end - 1);
  return true;
}

// A non-continuation line: newline and comment removed; leading whitespace too for the first
// line of an instruction.
std::string processLine(std::string_view raw, bool stripLeft) {
  std::string_view s = trimNewline(raw);
  if (stripLeft) s = text::trimLeft(s);
  if (!s.empty() && s.front() == '#') return {};
  return std::string(s);
}

bool canContainHeredoc(const Node& node) {
  const Node* n = &node;
  if (n->command() == "onbuild" && n->trigger) n = n->trigger.get();
  const std::string cmd = n->command();
  if (cmd != "run" && cmd != "copy" && cmd != "add") return false;
  return !n->json;
}

// The heredoc markers among the words of an instruction line, in order.
Result<std::vector<Heredoc>> heredocsFromLine(std::string_view line) {
  ShellLexer lexer(ShellOptions{.escape = '\\', .rawQuotes = true, .rawEscapes = true,
                                .skipUnset = true});
  std::vector<Heredoc> docs;
  auto words = lexer.processWords(line, Vars{});
  if (!words) return docs;  // a line the shell lexer cannot split has no heredocs
  for (const std::string& word : *words) {
    std::optional<Heredoc> doc = TRY(parseHeredocMarker(word));
    if (doc) docs.push_back(std::move(*doc));
  }
  return docs;
}

}  // namespace

namespace detail {

Error locatedError(const ParseOptions& options, int line, std::string_view message,
                   std::string_view excerpt) {
  std::string out = fmt::format("{}:{}: {}", options.fileName, line, message);
  excerpt = text::trim(excerpt);
  if (excerpt.empty()) return Error::invalid(std::move(out));
  constexpr std::size_t kMax = 72;
  std::string shown;
  for (std::size_t pos = 0; pos < excerpt.size();) {
    text::Rune r = text::decode(excerpt, pos);
    if (shown.size() + r.width > kMax) {
      shown += "...";
      break;
    }
    // Control characters would break the one-line message.
    if (r.value < 0x20 || r.value == 0x7F) shown += ' ';
    else shown.append(excerpt.substr(pos, r.width));
    pos += r.width;
  }
  return Error::invalid(fmt::format("{}: `{}`", out, shown));
}

}  // namespace detail

Result<std::optional<Heredoc>> parseHeredocMarker(std::string_view word) {
  std::size_t pos = 0;
  while (pos < word.size() && word[pos] >= '0' && word[pos] <= '9') ++pos;
  std::string_view digits = word.substr(0, pos);
  if (word.substr(pos, 2) != "<<") return std::optional<Heredoc>();
  pos += 2;
  Heredoc doc;
  if (pos < word.size() && word[pos] == '-') {
    doc.chomp = true;
    ++pos;
  }
  std::string_view rest = word.substr(pos);
  if (rest.empty() || rest.find('<') != std::string_view::npos) return std::optional<Heredoc>();
  unsigned fd = 0;
  if (std::from_chars(digits.data(), digits.data() + digits.size(), fd).ec == std::errc()) {
    doc.fd = fd;
  }
  // Lexing the delimiter with and without quote removal tells whether any part was quoted.
  ShellLexer plain(ShellOptions{.escape = '\\', .skipUnset = true});
  std::vector<std::string> words = TRY(plain.processWords(rest, Vars{}));
  if (words.size() != 1) return std::optional<Heredoc>();
  ShellLexer raw(ShellOptions{.escape = '\\', .rawQuotes = true, .skipUnset = true});
  std::vector<std::string> rawWords = TRY(raw.processWords(rest, Vars{}));
  if (rawWords.size() != 1)
    return failInvalid(fmt::format("inconsistent lexing of heredoc delimiter {}", rest));
  const auto quotes = [](const std::string& s) {
    return std::count(s.begin(), s.end(), '\'') + std::count(s.begin(), s.end(), '"');
  };
  doc.name = words[0];
  doc.expand = quotes(words[0]) == quotes(rawWords[0]);
  return std::optional<Heredoc>(std::move(doc));
}

std::string chompHeredoc(std::string_view content) {
  std::string out;
  out.reserve(content.size());
  bool lineStart = true;
  for (char c : content) {
    if (lineStart && c == '\t') continue;
    lineStart = c == '\n';
    out += c;
  }
  return out;
}

Result<Ast> parse(std::string_view content, const ParseOptions& options) {
  Ast ast;
  Directives directives;
  std::vector<std::string_view> lines = physicalLines(content);
  if (!lines.empty() && lines[0].starts_with("\xEF\xBB\xBF")) lines[0].remove_prefix(3);
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (trimNewline(lines[i]).size() > kMaxLine)
      return fail(locatedError(options, static_cast<int>(i + 1),
                          fmt::format("dockerfile line greater than max allowed size of {}",
                                      kMaxLine)));

  std::vector<std::string> comments;
  std::size_t next = 0;  // index of the next physical line to read
  while (next < lines.size()) {
    std::string_view raw = lines[next++];
    const int startLine = static_cast<int>(next);
    if (isComment(raw)) comments.emplace_back(text::trim(text::trimLeft(raw).substr(1)));
    if (Status s = directives.observe(text::trimLeft(trimNewline(raw))); !s)
      return fail(locatedError(options, startLine, s.error().message(), trimNewline(raw)));
    const char escape = directives.escape();
    std::string line = processLine(raw, true);
    bool continues = trimContinuation(line, escape);
    if (!continues && line.empty()) continue;

    bool emptyContinuation = false;
    while (continues && next < lines.size()) {
      std::string_view rawNext = lines[next++];
      if (isComment(rawNext)) continue;
      std::string more = processLine(rawNext, false);
      if (text::trimLeft(more).empty()) {
        emptyContinuation = true;
        continue;
      }
      continues = trimContinuation(more, escape);
      line += more;
    }
    int endLine = static_cast<int>(next);
    if (emptyContinuation)
      ast.warnings.push_back(Warning{
          .message = "Empty continuation line found in: " + line,
          .detail = "Empty continuation lines will become errors in a future release",
          .startLine = startLine,
          .endLine = endLine});

    auto node = detail::nodeFromLine(line, escape);
    if (!node) return fail(locatedError(options, startLine, node.error().message(), line));
    if (canContainHeredoc(*node)) {
      auto docs = heredocsFromLine(line);
      if (!docs) return fail(locatedError(options, startLine, docs.error().message(), line));
      for (Heredoc& doc : *docs) {
        bool terminated = false;
        while (next < lines.size()) {
          std::string_view body = lines[next++];
          std::string_view candidate = trimNewline(body);
          if (doc.chomp) candidate.remove_prefix(std::min(candidate.find_first_not_of('\t'),
                                                          candidate.size()));
          if (candidate == doc.name) {
            terminated = true;
            break;
          }
          doc.content += body;
        }
        if (!terminated)
          return fail(locatedError(options, startLine,
                              fmt::format("unterminated heredoc {}", text::quote(doc.name)),
                              line));
        node->heredocs.push_back(std::move(doc));
      }
      endLine = static_cast<int>(next);
    }
    node->startLine = startLine;
    node->endLine = endLine;
    node->comments = std::move(comments);
    comments.clear();
    if (ast.instructions.empty()) ast.startLine = startLine;
    ast.endLine = endLine;
    ast.instructions.push_back(std::move(*node));
  }
  ast.escape = directives.escape();
  if (ast.instructions.empty())
    return fail(locatedError(options, static_cast<int>(std::max<std::size_t>(lines.size(), 1)),
                        "file with no instructions"));
  return ast;
}

std::string dump(const Node& node) {
  std::string out = node.command();
  if (!node.flags.empty()) {
    out += " [";
    for (std::size_t i = 0; i < node.flags.size(); ++i) {
      if (i) out += ' ';
      out += text::quote(node.flags[i]);
    }
    out += ']';
  }
  for (const std::string& value : node.values) out += " " + text::quote(value);
  if (node.trigger) out += " (" + dump(*node.trigger) + ")";
  // A line of only a continuation character makes a node with no keyword: no leading blank.
  return std::string(text::trim(out));
}

std::string dump(const Ast& ast) {
  std::string out;
  for (const Node& node : ast.instructions) out += "(" + dump(node) + ")\n";
  return out;
}

}  // namespace strata::dockerfile
