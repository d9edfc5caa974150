#include "dockerfile/ignore_regex.h"

#include <algorithm>
#include <array>
#include <optional>

#include "dockerfile/text.h"

namespace strata::dockerfile::ignore_regex {

constexpr char32_t kMaxRune = 0x10FFFF;
constexpr int32_t kNoRune = -1;  // before the start / after the end of the text

std::string quotePattern(std::string_view p) {
  constexpr std::size_t kMax = 256;
  std::string out;
  std::size_t n = p.size();
  if (n > kMax) {
    n = kMax;
    while (n > 0 && (static_cast<unsigned char>(p[n]) & 0xC0) == 0x80) --n;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(p[i]);
    if (c < 0x20 || c == 0x7F) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (n < p.size()) out += "...";
  return out;
}

// ---------------------------------------------------------------------------------------------
// 4. Regular expressions
//
// The dialect is Go's RE2 syntax as the translation above can produce it: literals, escapes
// (punctuation, octal, \x hex, \a\f\n\r\t\v), Perl classes \d\s\w and their negations, bracket
// classes with ranges, negation and [:posix:] names, `.` (anything but newline), `^` and `$` as
// text anchors, \A \z \b \B, \Q...\E quoting, groups, alternation and the `*` `+` `?` `{n,m}`
// repetitions, with Go's limits (counts up to 1000, about 3.3 million instructions). Unicode
// property classes (\p, \P) are not supported and make the pattern unusable. A match may start
// anywhere (only `^` ties it to the start); text is read as UTF-8 runes, an invalid byte counting
// as one U+FFFD.


Ranges normalize(Ranges r) {
  std::sort(r.begin(), r.end());
  Ranges out;
  for (const auto& [lo, hi] : r) {
    if (!out.empty() && lo <= out.back().second + 1) {
      out.back().second = std::max(out.back().second, hi);
    } else {
      out.emplace_back(lo, hi);
    }
  }
  return out;
}

Ranges complement(const Ranges& sorted) {
  Ranges out;
  char32_t next = 0;
  for (const auto& [lo, hi] : sorted) {
    if (lo > next) out.emplace_back(next, lo - 1);
    next = hi + 1;
  }
  if (next <= kMaxRune) out.emplace_back(next, kMaxRune);
  return out;
}

bool contains(const Ranges& r, char32_t c) {
  auto it = std::upper_bound(r.begin(), r.end(), c,
                             [](char32_t v, const auto& range) { return v < range.first; });
  return it != r.begin() && c <= std::prev(it)->second;
}

struct NamedClass {
  std::string_view name;
  Ranges ranges;
};

const std::vector<NamedClass>& posixClasses() {
  static const std::vector<NamedClass> kClasses = {
      {"alnum", {{'0', '9'}, {'A', 'Z'}, {'a', 'z'}}},
      {"alpha", {{'A', 'Z'}, {'a', 'z'}}},
      {"ascii", {{0, 0x7F}}},
      {"blank", {{'\t', '\t'}, {' ', ' '}}},
      {"cntrl", {{0, 0x1F}, {0x7F, 0x7F}}},
      {"digit", {{'0', '9'}}},
      {"graph", {{'!', '~'}}},
      {"lower", {{'a', 'z'}}},
      {"print", {{' ', '~'}}},
      {"punct", {{'!', '/'}, {':', '@'}, {'[', '`'}, {'{', '~'}}},
      {"space", {{'\t', '\r'}, {' ', ' '}}},
      {"upper", {{'A', 'Z'}}},
      {"word", {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}},
      {"xdigit", {{'0', '9'}, {'A', 'F'}, {'a', 'f'}}},
  };
  return kClasses;
}

// \d \s \w (and upper case for the complement); nullopt when c names none.
std::optional<Ranges> perlClass(char c) {
  Ranges r;
  switch (c) {
    case 'd': case 'D': r = {{'0', '9'}}; break;
    case 's': case 'S': r = {{'\t', '\n'}, {'\f', '\r'}, {' ', ' '}}; break;
    case 'w': case 'W': r = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}; break;
    default: return std::nullopt;
  }
  if (c >= 'A' && c <= 'Z') r = complement(r);
  return r;
}

struct Node {
  enum class Kind : uint8_t {
    kLiteral, kClass, kAnyNotNewline, kBeginText, kEndText, kWordBoundary, kNotWordBoundary,
    kConcat, kAlternate, kCapture, kStar, kPlus, kQuest, kRepeat,
  };
  Kind kind;
  char32_t rune = 0;
  Ranges ranges;
  std::vector<Node> children;
  int min = 0, max = 0;  // kRepeat; max -1: unbounded
};

// Instructions Go would compile the tree to, with its estimate; Go refuses beyond maxSize.
constexpr int64_t kGoMaxSize = (int64_t{128} << 20) / 40;

int64_t goSize(const Node& n) {
  using K = Node::Kind;
  int64_t size = 0;
  switch (n.kind) {
    case K::kLiteral: size = 1; break;
    case K::kCapture: case K::kStar: size = 2 + goSize(n.children[0]); break;
    case K::kPlus: case K::kQuest: size = 1 + goSize(n.children[0]); break;
    case K::kConcat:
      for (const Node& c : n.children) size += goSize(c);
      break;
    case K::kAlternate:
      for (const Node& c : n.children) size += goSize(c);
      size += static_cast<int64_t>(n.children.size()) - 1;
      break;
    case K::kRepeat: {
      const int64_t sub = goSize(n.children[0]);
      if (n.max == -1) {
        size = n.min == 0 ? 2 + sub : 1 + n.min * sub;
      } else {
        size = n.max * sub + (n.max - n.min);
      }
      break;
    }
    default: break;
  }
  return std::max<int64_t>(size, 1);
}

class RegexParser {
 public:
  explicit RegexParser(std::string_view re) : s_(re) {}

  // The whole expression, or the reason it is invalid.
  Result<Node> parse() {
    Node root = TRY(alternation(0));
    if (pos_ != s_.size()) return fail("unexpected `)`");
    if (goSize(root) > kGoMaxSize) return fail("regular expression too large");
    return root;
  }

 private:
  static std::unexpected<Error> fail(std::string reason) { return failInvalid(std::move(reason)); }
  bool more() const { return pos_ < s_.size(); }
  char peek(std::size_t ahead = 0) const {
    return pos_ + ahead < s_.size() ? s_[pos_ + ahead] : '\0';
  }
  char32_t nextRune() {
    const text::Rune d = text::decode(s_, pos_);
    pos_ += d.width;
    return d.value;
  }

  Result<Node> alternation(int depth);
  Result<Node> sequence(int depth);
  bool countedRepeat(int* min, int* max, std::size_t* end) const;
  Status escapeAtTop(Node& seq);
  Result<Ranges> bracketClass();
  Result<char32_t> classChar();
  Result<char32_t> escape();

  std::string_view s_;
  std::size_t pos_ = 0;
};

Node leaf(Node::Kind kind, char32_t rune = 0) { return Node{kind, rune, {}, {}}; }

Result<Node> RegexParser::alternation(int depth) {
  Node alt = leaf(Node::Kind::kAlternate);
  for (;;) {
    alt.children.push_back(TRY(sequence(depth)));
    if (!more() || peek() != '|') break;
    ++pos_;
  }
  if (alt.children.size() == 1) return std::move(alt.children[0]);
  return alt;
}

// Go's {n}, {n,} or {n,m} at `{`: decimal counts without leading zeros (a count of nine or more
// digits reads as -1). False when the text is not of that form, `{` then being a literal.
bool RegexParser::countedRepeat(int* min, int* max, std::size_t* end) const {
  std::size_t i = pos_ + 1;
  auto number = [&](int* out) {
    if (i >= s_.size() || s_[i] < '0' || s_[i] > '9') return false;
    if (s_[i] == '0' && i + 1 < s_.size() && s_[i + 1] >= '0' && s_[i + 1] <= '9') return false;
    int64_t v = 0;
    for (; i < s_.size() && s_[i] >= '0' && s_[i] <= '9'; ++i) {
      if (v >= 100000000) v = -1;
      if (v >= 0) v = v * 10 + (s_[i] - '0');
    }
    *out = static_cast<int>(v);
    return true;
  };
  if (!number(min) || i >= s_.size()) return false;
  if (s_[i] != ',') {
    *max = *min;
  } else {
    ++i;
    if (i >= s_.size()) return false;
    if (s_[i] == '}') {
      *max = -1;
    } else if (!number(max)) {
      return false;
    } else if (*max < 0) {
      *min = -1;
    }
  }
  if (i >= s_.size() || s_[i] != '}') return false;
  *end = i + 1;
  return true;
}

Result<Node> RegexParser::sequence(int depth) {
  Node seq = leaf(Node::Kind::kConcat);
  bool lastWasRepeat = false;
  // Applies a repetition to the last item; `next` is where the operator text ends.
  auto repeat = [&](Node rep, std::size_t next) -> Status {
    const std::size_t start = pos_;
    pos_ = next;
    if (peek() == '?' && more()) ++pos_;  // non-greedy: same language
    if (lastWasRepeat) {
      return fail("invalid nested repetition operator `" +
                  quotePattern(s_.substr(start, pos_ - start)) + "`");
    }
    if (seq.children.empty()) return fail("missing argument to repetition operator");
    rep.children.push_back(std::move(seq.children.back()));
    seq.children.back() = std::move(rep);
    return {};
  };
  while (more()) {
    const char c = peek();
    if (c == '|') return seq;
    if (c == ')') {
      if (depth == 0) return fail("unexpected `)`");
      return seq;
    }
    bool wasRepeat = false;
    switch (c) {
      case '(': {
        if (peek(1) == '?') return fail("group flags are not supported");
        ++pos_;
        Node group = leaf(Node::Kind::kCapture);
        group.children.push_back(TRY(alternation(depth + 1)));
        if (peek() != ')' || !more()) return fail("missing closing `)`");
        ++pos_;
        seq.children.push_back(std::move(group));
        break;
      }
      case '{': {
        int min = 0, max = 0;
        std::size_t end = 0;
        if (!countedRepeat(&min, &max, &end)) {
          ++pos_;
          seq.children.push_back(leaf(Node::Kind::kLiteral, '{'));
          break;
        }
        if (min < 0 || min > 1000 || max > 1000 || (max >= 0 && min > max)) {
          return fail("invalid repeat count `" + quotePattern(s_.substr(pos_, end - pos_)) + "`");
        }
        Node rep = leaf(Node::Kind::kRepeat);
        rep.min = min;
        rep.max = max;
        TRYV(repeat(std::move(rep), end));
        wasRepeat = true;
        break;
      }
      case '^': ++pos_; seq.children.push_back(leaf(Node::Kind::kBeginText)); break;
      case '$': ++pos_; seq.children.push_back(leaf(Node::Kind::kEndText)); break;
      case '.': ++pos_; seq.children.push_back(leaf(Node::Kind::kAnyNotNewline)); break;
      case '[': {
        Node cls = leaf(Node::Kind::kClass);
        cls.ranges = TRY(bracketClass());
        seq.children.push_back(std::move(cls));
        break;
      }
      case '*': case '+': case '?': {
        const Node::Kind kind = c == '*' ? Node::Kind::kStar
                                : c == '+' ? Node::Kind::kPlus : Node::Kind::kQuest;
        TRYV(repeat(leaf(kind), pos_ + 1));
        wasRepeat = true;
        break;
      }
      case '\\': TRYV(escapeAtTop(seq)); break;
      default: seq.children.push_back(leaf(Node::Kind::kLiteral, nextRune()));
    }
    lastWasRepeat = wasRepeat;
  }
  if (depth > 0) return fail("missing closing `)`");
  return seq;
}

Status RegexParser::escapeAtTop(Node& seq) {
  switch (peek(1)) {
    case 'A': pos_ += 2; seq.children.push_back(leaf(Node::Kind::kBeginText)); return {};
    case 'z': pos_ += 2; seq.children.push_back(leaf(Node::Kind::kEndText)); return {};
    case 'b': pos_ += 2; seq.children.push_back(leaf(Node::Kind::kWordBoundary)); return {};
    case 'B': pos_ += 2; seq.children.push_back(leaf(Node::Kind::kNotWordBoundary)); return {};
    case 'C': return fail("invalid escape sequence `\\C`");
    case 'p': case 'P': return fail("Unicode class escapes (`\\p`, `\\P`) are not supported");
    case 'Q': {
      pos_ += 2;
      std::size_t end = s_.find("\\E", pos_);
      const std::size_t stop = end == std::string_view::npos ? s_.size() : end;
      while (pos_ < stop) seq.children.push_back(leaf(Node::Kind::kLiteral, nextRune()));
      pos_ = end == std::string_view::npos ? s_.size() : end + 2;
      return {};
    }
    default: break;
  }
  if (auto perl = perlClass(peek(1))) {
    pos_ += 2;
    Node cls = leaf(Node::Kind::kClass);
    cls.ranges = std::move(*perl);
    seq.children.push_back(std::move(cls));
    return {};
  }
  const char32_t r = TRY(escape());
  seq.children.push_back(leaf(Node::Kind::kLiteral, r));
  return {};
}

int unhex(char32_t c) {
  if (c >= '0' && c <= '9') return static_cast<int>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<int>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<int>(c - 'A' + 10);
  return -1;
}

bool isOctal(char c) { return c >= '0' && c <= '7'; }
bool isAsciiAlnum(char32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// A single-character escape at `\`.
Result<char32_t> RegexParser::escape() {
  const std::size_t start = pos_++;
  if (!more()) return fail("trailing backslash");
  const char32_t c = nextRune();
  auto invalid = [&]() {
    return fail("invalid escape sequence `" + quotePattern(s_.substr(start, pos_ - start)) + "`");
  };
  if (c < 0x80 && !isAsciiAlnum(c)) return c;
  switch (c) {
    case '1': case '2': case '3': case '4': case '5': case '6': case '7':
      if (!isOctal(peek())) return invalid();  // a backreference
      [[fallthrough]];
    case '0': {
      char32_t r = c - '0';
      for (int k = 1; k < 3 && more() && isOctal(peek()); ++k) r = r * 8 + (nextRune() - '0');
      return r;
    }
    case 'x': {
      if (!more()) return invalid();
      char32_t d = nextRune();
      if (d == '{') {
        char32_t r = 0;
        int digits = 0;
        for (;;) {
          if (!more()) return invalid();
          d = nextRune();
          if (d == '}') break;
          const int v = unhex(d);
          if (v < 0) return invalid();
          r = r * 16 + static_cast<char32_t>(v);
          if (r > kMaxRune) return invalid();
          ++digits;
        }
        if (digits == 0) return invalid();
        return r;
      }
      const int hi = unhex(d);
      const int lo = more() ? unhex(nextRune()) : -1;
      if (hi < 0 || lo < 0) return invalid();
      return static_cast<char32_t>(hi * 16 + lo);
    }
    case 'a': return U'\a';
    case 'f': return U'\f';
    case 'n': return U'\n';
    case 'r': return U'\r';
    case 't': return U'\t';
    case 'v': return U'\v';
    default: return invalid();
  }
}

Result<char32_t> RegexParser::classChar() {
  if (!more()) return fail("missing closing `]`");
  if (peek() == '\\') return escape();
  return nextRune();
}

// A bracket class at `[`.
Result<Ranges> RegexParser::bracketClass() {
  ++pos_;
  bool negate = false;
  if (peek() == '^' && more()) {
    negate = true;
    ++pos_;
  }
  Ranges set;
  for (bool first = true; !more() || peek() != ']' || first; first = false) {
    if (s_.size() - pos_ > 2 && peek() == '[' && peek(1) == ':') {
      const std::size_t close = s_.find(":]", pos_ + 2);
      if (close != std::string_view::npos) {
        std::string_view name = s_.substr(pos_ + 2, close - pos_ - 2);
        const bool negated = !name.empty() && name[0] == '^';
        if (negated) name.remove_prefix(1);
        const auto& table = posixClasses();
        auto it = std::find_if(table.begin(), table.end(),
                               [&](const NamedClass& nc) { return nc.name == name; });
        if (it == table.end()) {
          return fail("invalid character class `" +
                      quotePattern(s_.substr(pos_, close + 2 - pos_)) + "`");
        }
        const Ranges add = negated ? complement(it->ranges) : it->ranges;
        set.insert(set.end(), add.begin(), add.end());
        pos_ = close + 2;
        continue;
      }
    }
    if (peek() == '\\' && (peek(1) == 'p' || peek(1) == 'P')) {
      return fail("Unicode class escapes (`\\p`, `\\P`) are not supported");
    }
    if (peek() == '\\') {
      if (auto perl = perlClass(peek(1))) {
        set.insert(set.end(), perl->begin(), perl->end());
        pos_ += 2;
        continue;
      }
    }
    const std::size_t rangeStart = pos_;
    const char32_t lo = TRY(classChar());
    char32_t hi = lo;
    if (s_.size() - pos_ >= 2 && peek() == '-' && peek(1) != ']') {
      ++pos_;
      hi = TRY(classChar());
      if (hi < lo) {
        return fail("character class range `" +
                    quotePattern(s_.substr(rangeStart, pos_ - rangeStart)) + "` is reversed");
      }
    }
    set.emplace_back(lo, hi);
  }
  ++pos_;  // `]`
  Ranges out = normalize(std::move(set));
  return negate ? complement(out) : out;
}



// Where the automaton stands between two runes of the text.
struct Context {
  bool begin;
  bool end;
  int32_t prev;  // rune before the position, kNoRune at the start
  int32_t next;  // rune after the position, kNoRune at the end
};

bool isWordRune(int32_t r) {
  return (r >= '0' && r <= '9') || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || r == '_';
}

bool holds(Assertion a, const Context& c) {
  switch (a) {
    case Assertion::kBeginText: return c.begin;
    case Assertion::kEndText: return c.end;
    case Assertion::kWordBoundary: return isWordRune(c.prev) != isWordRune(c.next);
    case Assertion::kNotWordBoundary: return isWordRune(c.prev) == isWordRune(c.next);
  }
  return false;
}


// For an expression that is one sequence (no top-level alternative), the runs of literal
// characters in that sequence must appear in every match, the first one at the start when the
// sequence begins with `^`, the last one at the end when it ends with `$`. U+FFFD ends a run:
// it also matches an invalid byte.
void Program::findRequiredLiterals(const Node& root) {
  if (root.kind != Node::Kind::kConcat) return;
  const auto& items = root.children;
  std::string run;
  std::size_t runStart = 0;
  auto finish = [&](std::size_t end) {
    if (runStart == 1 && items[0].kind == Node::Kind::kBeginText) prefix_ = run;
    if (end + 1 == items.size() && items[end].kind == Node::Kind::kEndText) suffix_ = run;
    if (run.size() > infix_.size()) infix_ = run;
    run.clear();
  };
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].kind == Node::Kind::kLiteral && items[i].rune != text::kBadRune) {
      if (run.empty()) runStart = i;
      text::appendUtf8(run, items[i].rune);
    } else {
      if (!run.empty()) finish(i);
      runStart = i + 1;
    }
  }
  if (!run.empty()) finish(items.size());
}

// Builds the states for `n` so that they continue at `next`; returns the entry state.
uint32_t Program::emit(const Node& n, uint32_t next) {
  using K = Node::Kind;
  switch (n.kind) {
    case K::kLiteral: return add(Inst{Inst::Op::kRune, Assertion::kBeginText, n.rune, 0, next});
    case K::kClass:
      classes_.push_back(n.ranges);
      return add(Inst{Inst::Op::kClass, Assertion::kBeginText, 0,
                      static_cast<uint32_t>(classes_.size() - 1), next});
    case K::kAnyNotNewline: return add(Inst{Inst::Op::kAnyNotNewline, Assertion::kBeginText, 0, 0, next});
    case K::kBeginText: return add(Inst{Inst::Op::kAssert, Assertion::kBeginText, 0, 0, next});
    case K::kEndText: return add(Inst{Inst::Op::kAssert, Assertion::kEndText, 0, 0, next});
    case K::kWordBoundary: return add(Inst{Inst::Op::kAssert, Assertion::kWordBoundary, 0, 0, next});
    case K::kNotWordBoundary:
      return add(Inst{Inst::Op::kAssert, Assertion::kNotWordBoundary, 0, 0, next});
    case K::kConcat:
      for (auto it = n.children.rbegin(); it != n.children.rend(); ++it) next = emit(*it, next);
      return next;
    case K::kCapture: return emit(n.children[0], next);
    case K::kAlternate: {
      uint32_t entry = emit(n.children.back(), next);
      for (std::size_t i = n.children.size() - 1; i-- > 0;) {
        const uint32_t branch = emit(n.children[i], next);
        entry = add(Inst{Inst::Op::kSplit, Assertion::kBeginText, 0, 0, branch, entry});
      }
      return entry;
    }
    case K::kRepeat: {
      // x{2,4} is x x x? x?; x{2,} is x x x*.
      if (n.max == -1) {
        const uint32_t split = add(Inst{Inst::Op::kSplit, Assertion::kBeginText, 0, 0, 0, next});
        insts_[split].out = emit(n.children[0], split);
        next = split;
      } else {
        for (int k = n.min; k < n.max; ++k) {
          const uint32_t body = emit(n.children[0], next);
          next = add(Inst{Inst::Op::kSplit, Assertion::kBeginText, 0, 0, body, next});
        }
      }
      for (int k = 0; k < n.min; ++k) next = emit(n.children[0], next);
      return next;
    }
    case K::kStar: case K::kPlus: {
      const uint32_t split = add(Inst{Inst::Op::kSplit, Assertion::kBeginText, 0, 0, 0, next});
      const uint32_t body = emit(n.children[0], split);
      insts_[split].out = body;
      return n.kind == K::kStar ? split : body;
    }
    case K::kQuest: {
      const uint32_t body = emit(n.children[0], next);
      return add(Inst{Inst::Op::kSplit, Assertion::kBeginText, 0, 0, body, next});
    }
  }
  return next;
}

void Program::computeReach() {
  reach_.assign(insts_.size(), false);
  reach_[0] = true;  // kMatch
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t s = 1; s < insts_.size(); ++s) {
      if (reach_[s]) continue;
      const Inst& in = insts_[s];
      bool r = reach_[in.out];
      if (in.op == Inst::Op::kSplit) r = r || reach_[in.alt];
      if (in.op == Inst::Op::kAssert && in.assertion == Assertion::kBeginText) r = false;
      if (r) {
        reach_[s] = true;
        changed = true;
      }
    }
  }
}

// The live-state sets for one run over a text. Storage is borrowed (on the stack for small
// programs) so matching does not allocate.
class Runner {
 public:
  Runner(const Program& p, uint32_t* seeds, uint32_t* live, uint32_t* stack, uint64_t* seen,
         uint64_t* seeded)
      : p_(p), seeds_(seeds), live_(live), stack_(stack), seen_(seen), seeded_(seeded),
        words_((p.size() + 63) / 64) {
    seeds_[0] = p.start_;
    nseeds_ = 1;
  }

  // Expands the seeds through splits and assertions into the states that read a rune; returns
  // whether the match state was reached. With keep false the live set is left untouched.
  bool expand(const Context& ctx, bool keep) {
    std::fill(seen_, seen_ + words_, 0);
    std::size_t sp = 0;
    bool matched = false;
    auto push = [&](uint32_t s) {
      if (!(seen_[s / 64] >> (s % 64) & 1)) {
        seen_[s / 64] |= uint64_t{1} << (s % 64);
        stack_[sp++] = s;
      }
    };
    if (keep) nlive_ = 0;
    for (std::size_t i = 0; i < nseeds_; ++i) push(seeds_[i]);
    while (sp > 0) {
      const uint32_t s = stack_[--sp];
      const Inst& in = p_.insts_[s];
      switch (in.op) {
        case Inst::Op::kSplit: push(in.out); push(in.alt); break;
        case Inst::Op::kAssert: if (holds(in.assertion, ctx)) push(in.out); break;
        case Inst::Op::kMatch: matched = true; break;
        default: if (keep) live_[nlive_++] = s;
      }
    }
    return matched;
  }

  // Advances the live states over rune r; the survivors become the next seeds.
  void step(char32_t r) {
    std::fill(seeded_, seeded_ + words_, 0);
    nseeds_ = 0;
    for (std::size_t i = 0; i < nlive_; ++i) {
      const Inst& in = p_.insts_[live_[i]];
      bool ok = false;
      switch (in.op) {
        case Inst::Op::kRune: ok = in.rune == r; break;
        case Inst::Op::kClass: ok = contains(p_.classes_[in.cls], r); break;
        case Inst::Op::kAnyNotNewline: ok = r != '\n'; break;
        default: break;
      }
      if (ok && !(seeded_[in.out / 64] >> (in.out % 64) & 1)) {
        seeded_[in.out / 64] |= uint64_t{1} << (in.out % 64);
        seeds_[nseeds_++] = in.out;
      }
    }
  }

  // A match may also begin here (unanchored expressions).
  void seedStart() {
    const uint32_t s = p_.start_;
    if (!(seeded_[s / 64] >> (s % 64) & 1)) {
      seeded_[s / 64] |= uint64_t{1} << (s % 64);
      seeds_[nseeds_++] = s;
    }
  }
  bool dead() const { return nseeds_ == 0; }
  bool seedsMayReachMatch() const {
    for (std::size_t i = 0; i < nseeds_; ++i)
      if (p_.reach_[seeds_[i]]) return true;
    return false;
  }

 private:
  const Program& p_;
  uint32_t* seeds_;
  uint32_t* live_;
  uint32_t* stack_;
  uint64_t* seen_;
  uint64_t* seeded_;
  std::size_t words_;
  std::size_t nseeds_ = 0;
  std::size_t nlive_ = 0;
};

template <typename F>
bool withRunner(const Program& p, F&& body) {
  constexpr std::size_t kInline = 256;
  const std::size_t n = p.size();
  if (n <= kInline) {
    std::array<uint32_t, kInline> seeds, live, stack;
    std::array<uint64_t, kInline / 64> seen, seeded;
    Runner r(p, seeds.data(), live.data(), stack.data(), seen.data(), seeded.data());
    return body(r);
  }
  std::vector<uint32_t> states(3 * n);
  std::vector<uint64_t> bits(2 * ((n + 63) / 64));
  Runner r(p, states.data(), states.data() + n, states.data() + 2 * n, bits.data(),
           bits.data() + (n + 63) / 64);
  return body(r);
}

int32_t runeAt(std::string_view text, std::size_t pos, std::size_t* width) {
  if (pos >= text.size()) {
    *width = 0;
    return kNoRune;
  }
  const text::Rune d = text::decode(text, pos);
  *width = d.width;
  return static_cast<int32_t>(d.value);
}

bool Program::matches(std::string_view text) const {
  return mayMatch(text) && scan(text, /*dirPrefixes=*/false);
}

bool Program::matchesSomeDirPrefix(std::string_view text) const {
  // Each candidate is a prefix of text: it must hold the anchored prefix and the infix.
  if (!text.starts_with(prefix_)) return false;
  if (!infix_.empty() && text.find(infix_) == std::string_view::npos) return false;
  return scan(text, /*dirPrefixes=*/true);
}

bool Program::scan(std::string_view text, bool dirPrefixes) const {
  return withRunner(*this, [&](Runner& r) {
    int32_t prev = kNoRune;
    for (std::size_t pos = 0;;) {
      std::size_t width;
      const int32_t cur = runeAt(text, pos, &width);
      // text[0, pos) is a candidate ancestor when a `/` follows: try it as the whole text.
      if (dirPrefixes && cur == '/' && r.expand({pos == 0, true, prev, kNoRune}, false)) return true;
      if (r.expand({pos == 0, cur == kNoRune, prev, cur}, true)) return true;
      if (cur == kNoRune) return false;
      r.step(static_cast<char32_t>(cur));
      if (!anchored_) r.seedStart();
      if (r.dead()) return false;
      prev = cur;
      pos += width;
    }
  });
}

bool Program::mayMatchBelow(std::string_view dir) const {
  return withRunner(*this, [&](Runner& r) {
    int32_t prev = kNoRune;
    for (std::size_t pos = 0; pos <= dir.size();) {
      std::size_t width = 1;
      const int32_t cur = pos < dir.size() ? runeAt(dir, pos, &width) : '/';
      // A match of a shorter text is conservatively taken as a possible match below.
      if (r.expand({pos == 0, false, prev, cur}, true)) return true;
      r.step(static_cast<char32_t>(cur));
      if (!anchored_) r.seedStart();
      if (r.dead()) return false;
      prev = cur;
      pos += width;
    }
    return r.seedsMayReachMatch();
  });
}


Result<Program> Program::compile(std::string_view regex) {
  Node tree = TRY(RegexParser(regex).parse());
  return compile(tree);
}

}  // namespace strata::dockerfile::ignore_regex
