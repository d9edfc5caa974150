// libFuzzer target: Dockerfile word expansion. The first input byte picks the options and the
// variables, the second the kind of check, the rest is the text.
// An expansion larger than its limit must fail like any other error.
//
// Any text either fails with one non-empty line starting "failed to process " or expands; then
// the three entry points agree, words are never empty, every referenced name is in exactly one
// of matched/unmatched (the right one), and the result is valid UTF-8 when the variables are.
// Texts without $, quotes or the escape character expand to themselves and split at
// whitespace; a text wrapped in single quotes, or with every character escaped, expands to
// itself. In the pattern mode the glob operators are compared with a plain backtracking
// matcher written here from the definition (first match in priority order).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockerfile/shell.h"
#include "dockerfile/text.h"

namespace {

using strata::dockerfile::Expansion;
using strata::dockerfile::ShellLexer;
using strata::dockerfile::ShellOptions;
using strata::dockerfile::Vars;
namespace detail = strata::dockerfile::shell_detail;

void check(bool ok) {
  if (!ok) std::abort();
}

const Vars& goodVars() {
  static const Vars vars{{"A", "a"},
                         {"E", ""},
                         {"S", " x  y\t"},
                         {"K", "한국어"},
                         {"P", "/usr/local/bin/tool.tar.gz"},
                         {"N", "one\ntwo"},
                         {"1", "one"},
                         {"@", "at"},
                         {"G", "#*/"},
                         {"T", "<$0>"}};
  return vars;
}

const Vars& badVars() {
  static const Vars vars = [] {
    Vars v = goodVars();
    v["B"] = "a\xff\xc3(";
    v["E"] = "\xed\xa0\x80";
    return v;
  }();
  return vars;
}

std::vector<char32_t> decode(std::string_view text) {
  std::vector<char32_t> runes;
  for (size_t pos = 0; pos < text.size();) {
    auto [r, len] = strata::dockerfile::text::decode(text, pos);
    runes.push_back(r);
    pos += len;
  }
  return runes;
}

std::string encode(const std::vector<char32_t>& runes, size_t from = 0) {
  std::string out;
  for (size_t i = from; i < runes.size(); ++i) strata::dockerfile::text::appendUtf8(out, runes[i]);
  return out;
}

bool validUtf8(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    auto [r, len] = strata::dockerfile::text::decode(text, pos);
    if (r == strata::dockerfile::text::kBadRune && len == 1) return false;
    pos += len;
  }
  return true;
}

void checkError(const strata::Error& e) {
  const std::string& m = e.message();
  check(!m.empty());
  check(m.find('\n') == std::string::npos && m.find('\r') == std::string::npos);
  check(m.rfind("failed to process \"", 0) == 0);
}

void checkExpansion(std::string_view text, const ShellOptions& options, const Vars& vars,
                    bool varsValid) {
  const ShellLexer lexer(options);
  strata::Result<Expansion> r = lexer.process(text, vars);
  strata::Result<std::string> w = lexer.processWord(text, vars);
  strata::Result<std::vector<std::string>> ws = lexer.processWords(text, vars);
  check(r.has_value() == w.has_value() && r.has_value() == ws.has_value());
  if (!r) {
    checkError(r.error());
    check(r.error().message() == w.error().message());
    return;
  }
  check(*w == r->word && *ws == r->words);
  for (const std::string& word : r->words) check(!word.empty());
  for (const std::string& name : r->matched)
    check(vars.count(name) == 1 && !r->unmatched.count(name));
  for (const std::string& name : r->unmatched) check(vars.count(name) == 0);
  if (varsValid) {
    check(validUtf8(r->word));
    for (const std::string& word : r->words) check(validUtf8(word));
  }

  const std::vector<char32_t> runes = decode(text);
  const char32_t escape = static_cast<unsigned char>(options.escape);
  bool plain = true;
  for (char32_t c : runes) plain = plain && c != '$' && c != '\'' && c != '"' && c != escape;
  if (plain) {
    // Nothing to expand: the text itself (a leading byte order mark dropped), split at spaces.
    std::string expected = encode(runes, !runes.empty() && runes[0] == 0xFEFF ? 1 : 0);
    check(r->word == expected);
    std::vector<std::string> split;
    std::string current;
    for (char32_t c : decode(expected)) {
      if (strata::dockerfile::text::isSpace(c)) {
        if (!current.empty()) split.push_back(current);
        current.clear();
      } else {
        strata::dockerfile::text::appendUtf8(current, c);
      }
    }
    if (!current.empty()) split.push_back(current);
    check(r->words == split);
  }
}

void checkQuotedAndEscaped(std::string_view text, const ShellOptions& options) {
  const std::vector<char32_t> runes = decode(text);
  const std::string normal = encode(runes);
  const ShellLexer lexer(options);
  bool hasQuote = false;
  for (char32_t c : runes) hasQuote = hasQuote || c == '\'';
  if (!options.skipProcessQuotes && !options.rawQuotes && !hasQuote) {
    strata::Result<std::string> q = lexer.processWord("'" + std::string(text) + "'", goodVars());
    check(q && *q == normal);
  }
  if (!options.rawEscapes) {
    std::string escaped;
    for (char32_t c : runes) {
      escaped += options.escape;
      strata::dockerfile::text::appendUtf8(escaped, c);
    }
    strata::Result<std::string> e = lexer.processWord(escaped, goodVars());
    check(e && *e == normal);
  }
}

// ---- the reference matcher ----

struct Atom {
  enum Kind { kLiteral, kOne, kRun } kind;
  char32_t rune;
};

// Pattern syntax from the definition: * and ?, \ before * ? \ makes them literal, \ before } or
// / is dropped, any other \ is an error. A leading U+FEFF is ignored.
std::optional<std::vector<Atom>> parsePattern(const std::vector<char32_t>& p) {
  std::vector<Atom> atoms;
  for (size_t i = (!p.empty() && p[0] == 0xFEFF) ? 1 : 0; i < p.size(); ++i) {
    char32_t c = p[i];
    if (c == '*') {
      atoms.push_back({Atom::kRun, 0});
    } else if (c == '?') {
      atoms.push_back({Atom::kOne, 0});
    } else if (c != '\\') {
      atoms.push_back({Atom::kLiteral, c});
    } else if (i + 1 < p.size() && (p[i + 1] == '}' || p[i + 1] == '/')) {
      continue;
    } else if (i + 1 < p.size() && (p[i + 1] == '*' || p[i + 1] == '?' || p[i + 1] == '\\')) {
      atoms.push_back({Atom::kLiteral, p[++i]});
    } else {
      return std::nullopt;
    }
  }
  return atoms;
}

// The end of the first match of atoms at `start` of s, trying each * with the most (greedy) or
// fewest characters first; failures are remembered, which does not change the answer.
class Backtracker {
 public:
  Backtracker(const std::vector<Atom>& atoms, const std::vector<char32_t>& s, bool greedy)
      : atoms_(atoms), s_(s), greedy_(greedy), failed_((atoms.size() + 1) * (s.size() + 1)) {}

  std::optional<size_t> match(size_t i, size_t j) {
    if (i == atoms_.size()) return j;
    size_t key = i * (s_.size() + 1) + j;
    if (failed_[key]) return std::nullopt;
    const Atom& a = atoms_[i];
    std::optional<size_t> r;
    if (a.kind == Atom::kLiteral) {
      if (j < s_.size() && s_[j] == a.rune) r = match(i + 1, j + 1);
    } else if (a.kind == Atom::kOne) {
      if (j < s_.size() && s_[j] != '\n') r = match(i + 1, j + 1);
    } else {
      size_t most = 0;
      while (j + most < s_.size() && s_[j + most] != '\n') ++most;
      for (size_t n = 0; n <= most && !r; ++n) r = match(i + 1, j + (greedy_ ? most - n : n));
    }
    if (!r) failed_[key] = true;
    return r;
  }

 private:
  const std::vector<Atom>& atoms_;
  const std::vector<char32_t>& s_;
  bool greedy_;
  std::vector<bool> failed_;
};

std::vector<char32_t> reversedPattern(const std::vector<char32_t>& p) {
  // Escape pairs keep their order: walk backwards, and a character preceded by a backslash
  // (that is not itself the second half of a pair) moves together with it.
  std::vector<size_t> starts;  // start index of each unit, front to back
  for (size_t i = 0; i < p.size(); i += (p[i] == '\\' && i + 1 < p.size()) ? 2 : 1)
    starts.push_back(i);
  std::vector<char32_t> out;
  for (size_t u = starts.size(); u-- > 0;) {
    size_t end = u + 1 < starts.size() ? starts[u + 1] : p.size();
    for (size_t i = starts[u]; i < end; ++i) out.push_back(p[i]);
  }
  return out;
}

void checkPatterns(std::string_view text) {
  size_t cut = text.find('\x01');
  if (cut == std::string_view::npos) return;
  std::string_view patternText = text.substr(0, cut), rest = text.substr(cut + 1);
  size_t cut2 = rest.find('\x01');
  std::string_view value = rest.substr(0, cut2);
  std::string replacement =
      cut2 == std::string_view::npos ? "R" : std::string(rest.substr(cut2 + 1));
  std::erase(replacement, '$');
  if (patternText.size() > 24 || value.size() > 48) return;

  const std::vector<char32_t> p = decode(patternText), s = decode(value);
  std::vector<size_t> at;  // byte offset of each character of value
  for (size_t pos = 0; pos < value.size();) {
    at.push_back(pos);
    pos += strata::dockerfile::text::decode(value, pos).width;
  }
  at.push_back(value.size());
  const std::optional<std::vector<Atom>> atoms = parsePattern(p);

  for (bool greedy : {false, true}) {
    strata::Result<std::string> got = detail::trimPrefix(patternText, value, greedy);
    check(got.has_value() == atoms.has_value());
    if (atoms) {
      std::optional<size_t> end = Backtracker(*atoms, s, greedy).match(0, 0);
      check(*got == std::string(value.substr(end ? at[*end] : 0)));
    }

    std::vector<char32_t> rp = reversedPattern(p);
    std::optional<std::vector<Atom>> ratoms = parsePattern(rp);
    got = detail::trimSuffix(patternText, value, greedy);
    check(got.has_value() == ratoms.has_value());
    if (ratoms) {
      std::vector<char32_t> rs(s.rbegin(), s.rend());
      std::optional<size_t> end = Backtracker(*ratoms, rs, greedy).match(0, 0);
      std::vector<char32_t> kept(s.begin(), s.end() - static_cast<ptrdiff_t>(end.value_or(0)));
      check(*got == encode(kept));
    }
  }

  // Replacement: leftmost start, then as ${name#p} with greedy stars; all matches as Go's
  // ReplaceAllString walks them.
  auto find = [&](size_t from) -> std::optional<std::pair<size_t, size_t>> {
    Backtracker bt(*atoms, s, /*greedy=*/true);
    for (size_t start = from; start <= s.size(); ++start) {
      if (std::optional<size_t> end = bt.match(0, start)) return std::make_pair(start, *end);
    }
    return std::nullopt;
  };
  for (bool all : {false, true}) {
    strata::Result<std::optional<std::string>> got =
        detail::replaceMatches(patternText, value, replacement, all, SIZE_MAX);
    check(got.has_value() == atoms.has_value());
    if (!atoms) continue;
    check(got->has_value());
    std::string expected;
    size_t lastEnd = 0, search = 0;
    while (search <= s.size()) {
      auto m = find(search);
      if (!m) break;
      expected += value.substr(at[lastEnd], at[m->first] - at[lastEnd]);
      if (m->second > lastEnd || m->first == 0) expected += replacement;
      lastEnd = m->second;
      search = m->second > search ? m->second : search + 1;
      if (!all) break;
    }
    expected += value.substr(at[lastEnd]);
    check(**got == expected);
    // With a limit the same answer, or nothing when it is longer.
    strata::Result<std::optional<std::string>> limited =
        detail::replaceMatches(patternText, value, replacement, all, 40);
    check(limited && limited->has_value() == (expected.size() <= 40));
    if (limited->has_value()) check(**limited == expected);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t flags = data[0], mode = data[1];
  std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);

  if (mode & 0x80) {
    checkPatterns(text);
    return 0;
  }
  ShellOptions options;
  options.escape = (flags & 0x01) ? '`' : '\\';
  options.rawQuotes = flags & 0x02;
  options.rawEscapes = flags & 0x04;
  options.skipUnset = flags & 0x08;
  options.skipProcessQuotes = flags & 0x10;
  // Small, so that inputs multiplying their length by nesting stay fast (the unit tests cover
  // the default).
  options.maxExpandedBytes = 1 << 14;
  const bool valid = !(flags & 0x20);
  checkExpansion(text, options, valid ? goodVars() : badVars(), valid);
  if (text.size() < 4096) checkQuotedAndEscaped(text, options);
  return 0;
}
