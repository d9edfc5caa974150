// The lexer of util/template.h, and the text helpers shared by the template*.cpp files.
#include <algorithm>
#include <charconv>
#include <cstdio>

#include "util/template_internal.h"

namespace strata::tmpl {

size_t lineOf(std::string_view src, size_t pos) {
  return 1 + static_cast<size_t>(
                 std::count(src.begin(), src.begin() + std::min(pos, src.size()), '\n'));
}

std::string oneLine(std::string_view msg) {
  std::string out;
  for (char c : msg) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

std::unexpected<Error> parseError(std::string_view src, size_t pos, const std::string& msg) {
  return failInvalid("template parsing error: template: :" + std::to_string(lineOf(src, pos)) +
                     ": " + oneLine(msg));
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

namespace {

std::string_view trimLeft(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  return s;
}
std::string_view trimRight(std::string_view s) {
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}

  Result<std::vector<Token>> run() {
    bool trimNext = false;
    while (i_ < src_.size()) {
      size_t open = src_.find("{{", i_);
      size_t textEnd = open == std::string_view::npos ? src_.size() : open;
      std::string_view text = src_.substr(i_, textEnd - i_);
      if (trimNext) text = trimLeft(text);
      if (open == std::string_view::npos) {
        pushText(text);
        break;
      }
      size_t p = open + 2;
      if (p + 1 < src_.size() && src_[p] == '-' && isSpace(src_[p + 1])) {
        text = trimRight(text);
        p += 2;
      }
      pushText(text);
      i_ = p;
      if (src_.substr(p).starts_with("/*")) {
        TRYV(comment(open, trimNext));
        continue;
      }
      out_.push_back({Tok::Left, "", open, false});
      TRYV(action(open, trimNext));
    }
    out_.push_back({Tok::Eof, "", src_.size(), false});
    return std::move(out_);
  }

 private:
  void pushText(std::string_view text) {
    if (!text.empty()) out_.push_back({Tok::Text, std::string(text), i_, false});
  }

  Status comment(size_t open, bool& trimNext) {
    size_t end = src_.find("*/", i_ + 2);
    if (end == std::string_view::npos) return parseError(src_, open, "unclosed comment");
    size_t p = end + 2;
    trimNext = false;
    if (src_.substr(p).starts_with(" -}}")) {
      trimNext = true;
      i_ = p + 4;
    } else if (src_.substr(p).starts_with("}}")) {
      i_ = p + 2;
    } else {
      return parseError(src_, open, "comment ends before closing delimiter");
    }
    return {};
  }

  Status action(size_t open, bool& trimNext) {
    bool space = false;
    trimNext = false;
    for (;;) {
      if (i_ >= src_.size()) return parseError(src_, open, "unclosed action");
      char c = src_[i_];
      if (isSpace(c)) {
        if (src_.substr(i_ + 1).starts_with("-}}")) {
          out_.push_back({Tok::Right, "", i_, true});
          i_ += 4;
          trimNext = true;
          return {};
        }
        space = true;
        ++i_;
        continue;
      }
      if (src_.substr(i_).starts_with("}}")) {
        out_.push_back({Tok::Right, "", i_, space});
        i_ += 2;
        return {};
      }
      TRYV(token(c, space));
      space = false;
    }
  }

  void push(Tok kind, std::string text, size_t start, bool space) {
    out_.push_back({kind, std::move(text), start, space});
  }

  // One token of an action, starting with c at i_; space: spaces came before it.
  Status token(char c, bool space) {
    size_t start = i_;
    auto single = [&](Tok k) {
      ++i_;
      push(k, std::string(1, c), start, space);
      return Status{};
    };
    char next = i_ + 1 < src_.size() ? src_[i_ + 1] : '\0';
    switch (c) {
      case '(':
        return single(Tok::LParen);
      case ')':
        return single(Tok::RParen);
      case '|':
        return single(Tok::Pipe);
      case ',':
        return single(Tok::Comma);
      case '=':
        return single(Tok::Assign);
      case ':':
        if (next != '=') return parseError(src_, start, "expected :=");
        i_ += 2;
        push(Tok::Declare, ":=", start, space);
        return {};
      case '"': {
        std::string value = TRY(quoted());
        push(Tok::String, std::move(value), start, space);
        return {};
      }
      case '`':
        return rawQuoted(space);
      case '$':
        return variable(space);
      case '.':
        return isDigit(next) ? number(space) : dotOrField(space);
      default:
        break;
    }
    if (isDigit(c) || ((c == '+' || c == '-') && (isDigit(next) || next == '.')))
      return number(space);
    if (isAlnum(c)) return word(space);
    char buf[64];
    std::snprintf(buf, sizeof buf, "unrecognized character in action: U+%04X '%c'",
                  static_cast<unsigned char>(c), c);
    return parseError(src_, start, buf);
  }

  // A Go raw string literal starting at i_ (the opening back quote).
  Status rawQuoted(bool space) {
    size_t start = i_;
    size_t end = src_.find('`', i_ + 1);
    if (end == std::string_view::npos)
      return parseError(src_, start, "unterminated raw quoted string");
    push(Tok::String, std::string(src_.substr(i_ + 1, end - i_ - 1)), start, space);
    i_ = end + 1;
    return {};
  }

  // $ or $name, starting at i_ (the '$').
  Status variable(bool space) {
    size_t start = i_++;
    while (i_ < src_.size() && isAlnum(src_[i_])) ++i_;
    push(Tok::Var, std::string(src_.substr(start, i_ - start)), start, space);
    return {};
  }

  // . or .Field, starting at i_ (the '.').
  Status dotOrField(bool space) {
    size_t start = i_++;
    if (i_ >= src_.size() || !isAlnum(src_[i_])) {
      push(Tok::Dot, ".", start, space);
      return {};
    }
    while (i_ < src_.size() && isAlnum(src_[i_])) ++i_;
    push(Tok::Field, std::string(src_.substr(start + 1, i_ - start - 1)), start, space);
    return {};
  }

  // A keyword-like literal (true, false, nil) or a function name, starting at i_.
  Status word(bool space) {
    size_t start = i_;
    while (i_ < src_.size() && isAlnum(src_[i_])) ++i_;
    std::string text(src_.substr(start, i_ - start));
    if (text == "true" || text == "false")
      push(Tok::Bool, text, start, space);
    else if (text == "nil")
      push(Tok::Nil, text, start, space);
    else
      push(Tok::Ident, text, start, space);
    return {};
  }

  // A number literal starting at i_; its syntax is checked by the parser.
  Status number(bool space) {
    size_t start = i_;
    if (src_[i_] == '+' || src_[i_] == '-') ++i_;
    while (i_ < src_.size()) {
      char c = src_[i_];
      char prev = src_[i_ - 1];
      bool expSign =
          (c == '+' || c == '-') && (prev == 'e' || prev == 'E' || prev == 'p' || prev == 'P');
      if (!isAlnum(c) && c != '.' && !expSign) break;
      ++i_;
    }
    out_.push_back({Tok::Number, std::string(src_.substr(start, i_ - start)), start, space});
    return {};
  }

  // A Go interpreted string literal starting at i_ (the opening quote).
  Result<std::string> quoted() {
    size_t start = i_++;
    std::string out;
    while (i_ < src_.size() && src_[i_] != '"') {
      char c = src_[i_++];
      if (c == '\n') break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= src_.size()) break;
      TRYV(escape(src_[i_++], start, out));
    }
    if (i_ >= src_.size() || src_[i_] != '"')
      return parseError(src_, start, "unterminated quoted string");
    ++i_;
    return out;
  }

  // The escape sequence \e of the string literal at start; i_ is just after e.
  Status escape(char e, size_t start, std::string& out) {
    static constexpr std::string_view kFrom = "ntrabfv\\\"'";
    static constexpr std::string_view kTo = "\n\t\r\a\b\f\v\\\"'";
    if (size_t k = kFrom.find(e); k != std::string_view::npos) {
      out += kTo[k];
      return {};
    }
    if (e == 'x' || e == 'u' || e == 'U') {
      size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
      if (i_ + n > src_.size()) return parseError(src_, start, "invalid syntax in quoted string");
      uint32_t cp = 0;
      auto [ptr, ec] = std::from_chars(src_.data() + i_, src_.data() + i_ + n, cp, 16);
      if (ec != std::errc() || ptr != src_.data() + i_ + n)
        return parseError(src_, start, "invalid syntax in quoted string");
      i_ += n;
      if (e == 'x')
        out += static_cast<char>(cp);
      else
        appendUtf8(out, cp);
      return {};
    }
    // Three octal digits, the first being e.
    if (e >= '0' && e <= '7' && i_ + 2 <= src_.size()) {
      uint32_t v = 0;
      auto [ptr, ec] = std::from_chars(src_.data() + i_ - 1, src_.data() + i_ + 2, v, 8);
      if (ec == std::errc() && ptr == src_.data() + i_ + 2 && v < 256) {
        out += static_cast<char>(v);
        i_ += 2;
        return {};
      }
    }
    return parseError(src_, start, "invalid syntax in quoted string");
  }

  std::string_view src_;
  size_t i_ = 0;
  std::vector<Token> out_;
};

}  // namespace

Result<std::vector<Token>> lex(std::string_view src) { return Lexer(src).run(); }

}  // namespace strata::tmpl
