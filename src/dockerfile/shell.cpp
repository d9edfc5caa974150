// Expansion of Dockerfile words; shell.h lists the syntax. One Expander runs per call: it reads
// the text character by character, each construct handled by its own member (quotes, $, ${...}),
// and a ${...} operator reads its word by re-entering the main loop with '}' (or '/') as the
// stop character. The single-string result and the word list are built side by side.
#include "dockerfile/shell.h"

#include <tuple>

#include "dockerfile/text.h"

namespace strata::dockerfile {
namespace {

using text::appendUtf8;
using text::isDigit;
using text::isLetter;
using text::isSpace;
using text::kBadRune;

constexpr char32_t kEnd = 0xFFFFFFFF;  // past the last character

constexpr const char* kMissingBrace = "syntax error: missing '}'";
constexpr const char* kMissingSlash = "syntax error: missing '/' in ${}";

// The text as a stream of UTF-8 characters, with one character of lookahead. A byte order mark
// at the very start is skipped; a stray byte reads as U+FFFD.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {
    load();
    if (current_ == 0xFEFF) next();
  }

  char32_t peek() const { return current_; }

  char32_t next() {
    char32_t r = current_;
    pos_ += length_;
    load();
    return r;
  }

 private:
  void load() {
    if (pos_ >= text_.size()) {
      current_ = kEnd;
      length_ = 0;
    } else {
      const text::Rune rune = text::decode(text_, pos_);
      current_ = rune.value;
      length_ = rune.width;
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  char32_t current_ = kEnd;
  size_t length_ = 0;
};

// Appends an operator character to the text quoted in "unsupported modifier" errors; the end of
// the text shows as U+FFFD there.
void appendOperator(std::string& out, char32_t r) { appendUtf8(out, r == kEnd ? kBadRune : r); }

bool isSpecialParameter(char32_t r) {
  switch (r) {
    case '@':
    case '*':
    case '#':
    case '?':
    case '-':
    case '$':
    case '!':
    case '0':
      return true;
    default:
      return false;
  }
}

// Collects the word-list result. Unquoted whitespace (including whitespace produced by an
// unquoted reference) ends the current word; quoted and escaped text always joins it. Only
// words with at least one byte are kept, so an empty "" adds nothing.
class WordList {
 public:
  void addChar(char32_t r) {
    if (!isSpace(r)) {
      addRawChar(r);
    } else if (inWord_ && !word_.empty()) {
      words_.push_back(std::move(word_));
      word_.clear();
      inWord_ = false;
    }
  }

  void addRawChar(char32_t r) {
    appendUtf8(word_, r);
    inWord_ = true;
  }

  // Text from a reference: split like unquoted characters (a stray byte becomes U+FFFD).
  void addString(std::string_view text) {
    for (size_t pos = 0; pos < text.size();) {
      auto [r, len] = text::decode(text, pos);
      addChar(r);
      pos += len;
    }
  }

  // Text from quotes: joins the current word as it is.
  void addRawString(std::string_view text) {
    word_ += text;
    inWord_ = true;
  }

  std::vector<std::string> finish() {
    if (!word_.empty()) words_.push_back(std::move(word_));
    word_.clear();
    inWord_ = false;
    return std::move(words_);
  }

 private:
  std::string word_;
  std::vector<std::string> words_;
  bool inWord_ = false;
};

// One expansion of one text.
class Expander {
 public:
  Expander(const ShellOptions& options, std::string_view text, const Vars& vars)
      : options_(options),
        escape_(static_cast<unsigned char>(options.escape)),
        cursor_(text),
        vars_(vars),
        rawEscapes_(options.rawEscapes),
        budget_(options.maxExpandedBytes) {}

  struct Piece {
    std::string text;
    std::vector<std::string> words;
  };

  // Expands the whole text.
  Result<Piece> run() { return untilStop(kEnd, options_.rawEscapes); }

  std::set<std::string> matched;
  std::set<std::string> unmatched;

 private:
  Result<Piece> untilStop(char32_t stop, bool rawEscapes);
  Result<std::string> nestedWord(char32_t stop, bool rawEscapes, const char* missingStop);
  Result<std::string> singleQuoted();
  Result<std::string> doubleQuoted();
  Result<std::string> dollar();
  Result<std::string> braced();
  Result<std::string> modified(const std::string& name, char32_t op, const std::string& opText,
                               bool nullIsUnset);
  Result<std::string> substituted(const std::string& name);
  std::string readName();
  std::optional<std::string_view> lookup(const std::string& name);
  // Takes bytes added to a result from the budget; an error once it is spent.
  Status charge(size_t bytes);
  std::unexpected<Error> tooLarge() const;

  const ShellOptions& options_;
  const char32_t escape_;
  Cursor cursor_;
  const Vars& vars_;
  bool rawEscapes_;  // whether escape characters are kept, in the word being read
  int depth_ = 0;    // ${...} words being read, one inside the other
  size_t budget_;    // bytes the results may still grow by
};

// Reads up to (and consumes) the stop character, or to the end of the text when stop is kEnd;
// reaching the end first is an error for any other stop. rawEscapes keeps escape characters in
// this word and the quotes inside it (pattern words keep them, so that \* stays literal).
Result<Expander::Piece> Expander::untilStop(char32_t stop, bool rawEscapes) {
  struct RestoreEscapes {
    bool& flag;
    bool saved;
    ~RestoreEscapes() { flag = saved; }
  } restore{rawEscapes_, rawEscapes_};
  rawEscapes_ = rawEscapes;

  Piece piece;
  WordList words;
  const bool quotes = !options_.skipProcessQuotes;
  while (cursor_.peek() != kEnd) {
    char32_t c = cursor_.peek();
    if (stop != kEnd && c == stop) {
      cursor_.next();
      piece.words = words.finish();
      return piece;
    }
    if (c == '$') {
      std::string value = TRY(dollar());
      TRYV(charge(value.size()));
      piece.text += value;
      words.addString(value);
      continue;
    }
    if (quotes && (c == '\'' || c == '"')) {
      std::string value = TRY(c == '\'' ? singleQuoted() : doubleQuoted());
      piece.text += value;
      words.addRawString(value);
      continue;
    }
    cursor_.next();
    if (c == escape_) {
      if (rawEscapes_) {
        words.addRawChar(c);
        appendUtf8(piece.text, c);
      }
      c = cursor_.next();
      if (c == kEnd) break;  // a trailing escape character is dropped
      words.addRawChar(c);
    } else {
      words.addChar(c);
    }
    appendUtf8(piece.text, c);
  }
  if (stop != kEnd) {
    std::string message = "unexpected end of statement while looking for matching ";
    appendUtf8(message, stop);
    return failInvalid(std::move(message));
  }
  piece.words = words.finish();
  return piece;
}

// The word of a ${...} operator. Running out of text inside it (also inside a quote) is
// reported as the missing stop character.
Result<std::string> Expander::nestedWord(char32_t stop, bool rawEscapes, const char* missingStop) {
  if (depth_ >= ShellLexer::kMaxNesting) {
    return failInvalid("syntax error: ${...} nested more than " +
                       std::to_string(ShellLexer::kMaxNesting) + " levels deep");
  }
  ++depth_;
  Result<Piece> piece = untilStop(stop, rawEscapes);
  --depth_;
  if (!piece) {
    if (cursor_.peek() == kEnd) return failInvalid(missingStop);
    return std::unexpected(std::move(piece).error());
  }
  return std::move(piece->text);
}

// '...': everything literal up to the next single quote.
Result<std::string> Expander::singleQuoted() {
  std::string out;
  char32_t c = cursor_.next();
  if (options_.rawQuotes) appendUtf8(out, c);
  for (;;) {
    c = cursor_.next();
    if (c == kEnd) {
      return failInvalid("unexpected end of statement while looking for matching single-quote");
    }
    if (c == '\'') {
      if (options_.rawQuotes) appendUtf8(out, c);
      return out;
    }
    appendUtf8(out, c);
  }
}

// "...": literal except references; the escape character escapes only ", $ and itself and is
// kept before anything else (with raw escapes it is kept in front of those three as well).
Result<std::string> Expander::doubleQuoted() {
  std::string out;
  char32_t c = cursor_.next();
  if (options_.rawQuotes) appendUtf8(out, c);
  for (;;) {
    const char32_t ahead = cursor_.peek();
    if (ahead == kEnd) {
      return failInvalid("unexpected end of statement while looking for matching double-quote");
    }
    if (ahead == '"') {
      c = cursor_.next();
      if (options_.rawQuotes) appendUtf8(out, c);
      return out;
    }
    if (ahead == '$') {
      std::string value = TRY(dollar());
      TRYV(charge(value.size()));
      out += value;
      continue;
    }
    c = cursor_.next();
    if (c == escape_) {
      if (rawEscapes_) appendUtf8(out, c);
      const char32_t escaped = cursor_.peek();
      if (escaped == kEnd) continue;  // the unterminated quote is reported next round
      if (escaped == '"' || escaped == '$' || escaped == escape_) c = cursor_.next();
    }
    appendUtf8(out, c);
  }
}

// $name, ${...}, or a lone '$' when no name follows.
Result<std::string> Expander::dollar() {
  cursor_.next();
  if (cursor_.peek() != '{') {
    std::string name = readName();
    if (name.empty()) return std::string("$");
    std::optional<std::string_view> value = lookup(name);
    if (!value && options_.skipUnset) return "$" + name;
    return std::string(value.value_or(""));
  }
  cursor_.next();
  return braced();
}

// After "${": the name, then '}' or an operator.
Result<std::string> Expander::braced() {
  switch (cursor_.peek()) {
    case kEnd:
      return failInvalid(kMissingBrace);
    case '{':
    case '}':
    case ':':
      return failInvalid("syntax error: bad substitution");
    default:
      break;
  }
  std::string name = readName();
  char32_t op = cursor_.next();
  std::string opText;
  appendOperator(opText, op);
  switch (op) {
    case '}': {
      std::optional<std::string_view> value = lookup(name);
      if (!value && options_.skipUnset) return "${" + name + "}";
      return std::string(value.value_or(""));
    }
    case '/':
      return substituted(name);
    case ':':
      // Whatever follows the colon is taken as the operator; it is checked once its word has
      // been read, as BuildKit does (so "${X:=a" reports the missing brace first).
      op = cursor_.next();
      appendOperator(opText, op);
      return modified(name, op, opText, /*nullIsUnset=*/true);
    case '-':
    case '+':
    case '?':
    case '#':
    case '%':
      return modified(name, op, opText, /*nullIsUnset=*/false);
    default:
      return failInvalid("unsupported modifier (" + opText + ") in substitution");
  }
}

// ${name<op>word} for op in - + ? # % (nullIsUnset: written with a colon before op).
Result<std::string> Expander::modified(const std::string& name, char32_t op,
                                       const std::string& opText, bool nullIsUnset) {
  auto unsupported = [&] {
    return failInvalid("unsupported modifier (" + opText + ") in substitution");
  };
  const bool trims = op == '#' || op == '%';
  if (nullIsUnset && trims) return unsupported();
  std::string word = TRY(nestedWord('}', /*rawEscapes=*/trims, kMissingBrace));

  std::optional<std::string_view> value = lookup(name);
  if (!value && options_.skipUnset) return "${" + name + opText + word + "}";
  const bool missing = !value || (nullIsUnset && value->empty());
  switch (op) {
    case '-':
      return missing ? word : std::string(*value);
    case '+':
      return missing ? std::string() : word;
    case '?':
      if (!value)
        return failInvalid(name + ": " + (word.empty() ? "is not allowed to be unset" : word));
      if (missing)
        return failInvalid(name + ": " + (word.empty() ? "is not allowed to be empty" : word));
      return std::string(*value);
    case '#':
    case '%': {
      // A second # or % (also one produced by expansion) asks for the longest match.
      std::string_view pattern = word;
      const bool greedy = !pattern.empty() && static_cast<unsigned char>(pattern[0]) == op;
      if (greedy) pattern.remove_prefix(1);
      std::string_view subject = value.value_or("");
      return op == '#' ? shell_detail::trimPrefix(pattern, subject, greedy)
                       : shell_detail::trimSuffix(pattern, subject, greedy);
    }
    default:
      return unsupported();
  }
}

// ${name/pattern/replacement} and ${name//pattern/replacement}.
Result<std::string> Expander::substituted(const std::string& name) {
  const bool all = cursor_.peek() == '/';
  if (all) cursor_.next();
  std::string pattern = TRY(nestedWord('/', /*rawEscapes=*/true, kMissingSlash));
  std::string replacement = TRY(nestedWord('}', /*rawEscapes=*/true, kMissingBrace));
  std::optional<std::string_view> value = lookup(name);
  // Written back with a single slash whatever the original had, as BuildKit does.
  if (!value && options_.skipUnset) return "${" + name + "/" + pattern + "/" + replacement + "}";
  std::optional<std::string> replaced =
      TRY(shell_detail::replaceMatches(pattern, value.value_or(""), replacement, all, budget_));
  if (!replaced) return tooLarge();
  return std::move(*replaced);
}

// A variable name: letters, digits and '_' not starting with a digit; or a run of digits; or
// one special parameter character. Empty when none of these follows.
std::string Expander::readName() {
  std::string name;
  for (char32_t c = cursor_.peek(); c != kEnd; c = cursor_.peek()) {
    if (name.empty() && isDigit(c)) {
      while (isDigit(cursor_.peek())) appendUtf8(name, cursor_.next());
      return name;
    }
    if (name.empty() && isSpecialParameter(c)) {
      appendUtf8(name, cursor_.next());
      return name;
    }
    if (!isLetter(c) && !isDigit(c) && c != '_') break;
    appendUtf8(name, cursor_.next());
  }
  return name;
}

std::optional<std::string_view> Expander::lookup(const std::string& name) {
  auto it = vars_.find(name);
  if (it == vars_.end()) {
    unmatched.insert(name);
    return std::nullopt;
  }
  matched.insert(name);
  return std::string_view(it->second);
}

Status Expander::charge(size_t bytes) {
  if (bytes > budget_) return tooLarge();
  budget_ -= bytes;
  return {};
}

std::unexpected<Error> Expander::tooLarge() const {
  const size_t max = options_.maxExpandedBytes;
  return failInvalid("expanded text is larger than " +
                     (max % (1 << 20) == 0 ? std::to_string(max >> 20) + " MiB"
                                           : std::to_string(max) + " bytes"));
}

}  // namespace

ShellLexer::ShellLexer(ShellOptions options) : options_(options) {}

Result<Expansion> ShellLexer::process(std::string_view text, const Vars& vars) const {
  Expander expander(options_, text, vars);
  Result<Expander::Piece> piece = expander.run();
  if (!piece) {
    return failInvalid("failed to process " + text::quote(text) + ": " +
                       text::escapeControls(piece.error().message()));
  }
  return Expansion{std::move(piece->text), std::move(piece->words), std::move(expander.matched),
                   std::move(expander.unmatched)};
}

Result<std::string> ShellLexer::processWord(std::string_view text, const Vars& vars) const {
  Expansion expansion = TRY(process(text, vars));
  return std::move(expansion.word);
}

Result<std::vector<std::string>> ShellLexer::processWords(std::string_view text,
                                                          const Vars& vars) const {
  Expansion expansion = TRY(process(text, vars));
  return std::move(expansion.words);
}

}  // namespace strata::dockerfile
