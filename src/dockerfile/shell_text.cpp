// Text helpers behind shell.cpp: UTF-8 decoding as Go's utf8 package does it, the Unicode classes
// that decide what a variable name and whitespace are, Go-style quoting for error messages, and
// the glob patterns of ${name#p}, ${name%p} and ${name/p/r}.
//
// Patterns are matched with a small Pike machine (one pass over the value, every pattern state
// tracked at once, threads kept in priority order). Its answer is the one a backtracking matcher
// would give: the leftmost match, each * taking as many characters as it can (as few as it can
// for a single # or %), left to right. Those are the semantics BuildKit gets from Go's regexp;
// the time is proportional to pattern length times value length, and nothing recurses.
#include <algorithm>
#include <array>

#include "dockerfile/shell.h"
#include "dockerfile/text.h"

namespace strata::dockerfile::shell_detail {
namespace {

// ---- glob patterns ----

constexpr char32_t kEnd = 0xFFFFFFFF;  // past the last character

struct Inst {
  enum Op : uint8_t { kRune, kAnyButNewline, kSplit, kMatch };
  Op op;
  char32_t rune;   // kRune: the character to match
  uint32_t next;   // kRune, kAnyButNewline: the step after; kSplit: the preferred branch
  uint32_t other;  // kSplit: the other branch
};
using Program = std::vector<Inst>;

// The characters of text (U+FFFD for each stray byte); offsets, when asked for, receives the
// byte offset of each character and, last, text.size().
std::u32string decodeAll(std::string_view text, std::vector<size_t>* offsets = nullptr) {
  std::u32string runes;
  runes.reserve(text.size());
  if (offsets) offsets->clear();
  for (size_t pos = 0; pos < text.size();) {
    auto [r, len] = text::decode(text, pos);
    if (offsets) offsets->push_back(pos);
    runes.push_back(r);
    pos += len;
  }
  if (offsets) offsets->push_back(text.size());
  return runes;
}

std::string encodeAll(std::u32string_view runes) {
  std::string out;
  out.reserve(runes.size());
  for (char32_t r : runes) text::appendUtf8(out, r);
  return out;
}

// Compiles a pattern: * is a loop over "any character but newline" that prefers another round
// (greedy) or leaving (lazy); ? is one such character; \*, \? and \\ are literal, and \ before
// } or / is dropped. Any other escape is an error. A leading U+FEFF is skipped, as BuildKit's
// scanner skips a byte order mark.
Result<Program> compileGlob(std::u32string_view pattern, bool greedy) {
  Program prog;
  size_t i = (!pattern.empty() && pattern[0] == 0xFEFF) ? 1 : 0;
  auto here = [&] { return static_cast<uint32_t>(prog.size()); };
  while (i < pattern.size()) {
    char32_t tok = pattern[i++];
    if (tok == '*') {
      uint32_t loop = here();
      uint32_t body = loop + 1, after = loop + 2;
      prog.push_back({Inst::kSplit, 0, greedy ? body : after, greedy ? after : body});
      prog.push_back({Inst::kAnyButNewline, 0, loop, 0});
      continue;
    }
    if (tok == '?') {
      prog.push_back({Inst::kAnyButNewline, 0, here() + 1, 0});
      continue;
    }
    if (tok == '\\') {
      if (i < pattern.size() && (pattern[i] == '}' || pattern[i] == '/')) continue;
      tok = i < pattern.size() ? pattern[i++] : kEnd;
      if (tok != '*' && tok != '?' && tok != '\\') {
        std::string msg = "invalid escape '\\";
        text::appendUtf8(msg, tok == kEnd ? text::kBadRune : tok);
        return failInvalid(msg + "'");
      }
    }
    prog.push_back({Inst::kRune, tok, here() + 1, 0});
  }
  prog.push_back({Inst::kMatch, 0, 0, 0});
  return prog;
}

struct Span {
  size_t begin;  // character indexes into the searched text
  size_t end;
};

// Runs a compiled pattern over a text. All live threads advance together one character at a
// time; a thread list is kept in priority order and a pattern state enters a list once, so the
// first thread to reach kMatch is the match a backtracking search would have found first.
class GlobMachine {
 public:
  explicit GlobMachine(const Program& prog) : prog_(prog), stamp_(prog.size(), 0) {}

  // The first match starting at or after `from` (only at `from` when anchored).
  std::optional<Span> find(std::u32string_view text, size_t from, bool anchored) {
    current_.clear();
    next_.clear();
    uint64_t currentStamp = ++stampCounter_, nextStamp = ++stampCounter_;
    std::optional<Span> found;
    for (size_t pos = from;; ++pos) {
      if (current_.empty() && (found || (anchored && pos != from))) break;
      // A new attempt starting here ranks below every attempt that started earlier.
      if (!found && (!anchored || pos == from)) add(current_, 0, pos, currentStamp);
      char32_t c = pos < text.size() ? text[pos] : kEnd;
      for (const Thread& t : current_) {
        const Inst& inst = prog_[t.pc];
        if (inst.op == Inst::kMatch) {
          found = Span{t.begin, pos};
          break;  // every thread after this one has lower priority
        }
        bool takes = inst.op == Inst::kRune ? c == inst.rune : (c != kEnd && c != '\n');
        if (takes) add(next_, inst.next, t.begin, nextStamp);
      }
      current_.clear();
      if (pos >= text.size()) break;
      std::swap(current_, next_);
      currentStamp = nextStamp;
      nextStamp = ++stampCounter_;
    }
    return found;
  }

 private:
  struct Thread {
    uint32_t pc;
    size_t begin;
  };

  // Adds the state pc and everything reachable from it without reading a character, preferred
  // branches first; states already in the list (stamped) are not added again.
  void add(std::vector<Thread>& list, uint32_t pc, size_t begin, uint64_t stamp) {
    stack_.push_back(pc);
    while (!stack_.empty()) {
      uint32_t p = stack_.back();
      stack_.pop_back();
      if (stamp_[p] == stamp) continue;
      stamp_[p] = stamp;
      const Inst& inst = prog_[p];
      if (inst.op == Inst::kSplit) {
        stack_.push_back(inst.other);
        stack_.push_back(inst.next);
      } else {
        list.push_back({p, begin});
      }
    }
  }

  const Program& prog_;
  std::vector<uint64_t> stamp_;
  uint64_t stampCounter_ = 0;
  std::vector<Thread> current_, next_;
  std::vector<uint32_t> stack_;
};

std::string patternError(std::string_view pattern, const Error& e) {
  return "invalid pattern (" + std::string(pattern) + ") in substitution: " + e.message();
}

// The pattern read backwards with each escape pair kept in order ("a\*c" -> "c\*a"), for
// matching a suffix as a prefix of the reversed value.
std::u32string reversePattern(std::u32string_view p) {
  std::u32string out(p.size(), 0);
  const size_t last = p.size() - 1;  // unused when p is empty
  for (size_t i = 0; i < p.size();) {
    if (p[i] == '\\' && i != last) {
      out[last - i - 1] = '\\';
      out[last - i] = p[i + 1];
      i += 2;
    } else {
      out[last - i] = p[i];
      ++i;
    }
  }
  return out;
}

// The replacement text of ${name//p/r} for one match, read as Go's Regexp.Expand reads a
// template for a pattern with no groups: $$ is $, $0 and ${0} are the matched text, any other
// $name or ${name} is empty, and a $ not followed by a name stays.
void expandTemplate(std::string& out, std::string_view tmpl, std::string_view matched) {
  for (;;) {
    size_t dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) break;
    out += tmpl.substr(0, dollar);
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {
      out += '$';
      tmpl.remove_prefix(1);
      continue;
    }
    bool brace = !tmpl.empty() && tmpl[0] == '{';
    std::string_view rest = brace ? tmpl.substr(1) : tmpl;
    size_t len = 0;
    while (len < rest.size()) {
      auto [r, width] = text::decode(rest, len);
      if (!text::isLetter(r) && !text::isDigit(r) && r != '_') break;
      len += width;
    }
    std::string_view name = rest.substr(0, len);
    if (name.empty() || (brace && (len >= rest.size() || rest[len] != '}'))) {
      out += '$';
      continue;
    }
    if (name == "0") out += matched;
    tmpl = rest.substr(len + (brace ? 1 : 0));
  }
  out += tmpl;
}

}  // namespace

Result<std::string> trimPrefix(std::string_view pattern, std::string_view value, bool greedy) {
  auto prog = compileGlob(decodeAll(pattern), greedy);
  if (!prog) return failInvalid(patternError(pattern, prog.error()));
  std::vector<size_t> offsets;
  std::u32string runes = decodeAll(value, &offsets);
  std::optional<Span> span = GlobMachine(*prog).find(runes, 0, /*anchored=*/true);
  if (!span) return std::string(value);
  return std::string(value.substr(offsets[span->end]));
}

Result<std::string> trimSuffix(std::string_view pattern, std::string_view value, bool greedy) {
  // Matching the reversed pattern against the reversed value turns "shortest/longest suffix"
  // into a prefix search. The value comes back re-encoded: a stray byte is U+FFFD afterwards.
  std::u32string reversed = reversePattern(decodeAll(pattern));
  auto prog = compileGlob(reversed, greedy);
  if (!prog) return failInvalid(patternError(encodeAll(reversed), prog.error()));
  std::u32string runes = decodeAll(value);
  std::u32string backwards(runes.rbegin(), runes.rend());
  std::optional<Span> span = GlobMachine(*prog).find(backwards, 0, /*anchored=*/true);
  size_t keep = runes.size() - (span ? span->end : 0);
  return encodeAll(std::u32string_view(runes).substr(0, keep));
}

Result<std::optional<std::string>> replaceMatches(std::string_view pattern, std::string_view value,
                                                  std::string_view replacement, bool all,
                                                  size_t limit) {
  auto prog = compileGlob(decodeAll(pattern), /*greedy=*/true);
  if (!prog) return failInvalid(patternError(pattern, prog.error()));
  std::vector<size_t> at;  // byte offset of each character of value
  std::u32string runes = decodeAll(value, &at);
  GlobMachine machine(*prog);
  auto bytes = [&](size_t from, size_t to) { return value.substr(at[from], at[to] - at[from]); };
  if (!all) {
    std::optional<Span> span = machine.find(runes, 0, /*anchored=*/false);
    if (!span) return value.size() > limit ? std::nullopt : std::optional(std::string(value));
    if (value.size() - (at[span->end] - at[span->begin]) + replacement.size() > limit)
      return std::nullopt;
    std::string out(bytes(0, span->begin));
    out += replacement;
    out += bytes(span->end, runes.size());
    return out;
  }
  // Every match, left to right, as Go's Regexp.ReplaceAllString: the search resumes where the
  // last match ended (one character further after an empty match), and an empty match right
  // after a non-empty one is not replaced. Each step adds at most the replacement, the matched
  // text and the text before it, so checking after each step bounds the memory used.
  std::string out;
  size_t lastEnd = 0, search = 0;
  while (search <= runes.size()) {
    std::optional<Span> span = machine.find(runes, search, /*anchored=*/false);
    if (!span) break;
    out += bytes(lastEnd, span->begin);
    if (span->end > lastEnd || span->begin == 0)
      expandTemplate(out, replacement, bytes(span->begin, span->end));
    if (out.size() > limit) return std::nullopt;
    lastEnd = span->end;
    search = span->end > search ? span->end : search + 1;
  }
  out += bytes(lastEnd, runes.size());
  if (out.size() > limit) return std::nullopt;
  return out;
}

}  // namespace strata::dockerfile::shell_detail
