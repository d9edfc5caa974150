// The template is lexed into a flat token list, parsed into a small tree (text, actions, if,
// range, with) and executed against JSON. Values are JSON; a field missing from an object is
// the "discarded" JSON value, which plays the part of Go's invalid reflect.Value.
#include "util/template.h"

#include "util/format.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <vector>

namespace strata {

namespace {

using Json = nlohmann::ordered_json;

// ---------------------------------------------------------------------------------------------
// Lexer

enum class Tok {
  Text,
  Left,
  Right,
  Ident,
  Field,
  Dot,
  Var,
  String,
  Number,
  Bool,
  Nil,
  LParen,
  RParen,
  Pipe,
  Declare,
  Assign,
  Comma,
  Eof
};

struct Token {
  Tok kind;
  std::string text;  // decoded value for Text/String, the name for Ident/Field/Var
  size_t pos = 0;
  bool spaceBefore = false;
};

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool isDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view trimLeft(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  return s;
}
std::string_view trimRight(std::string_view s) {
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

size_t lineOf(std::string_view src, size_t pos) {
  return 1 + static_cast<size_t>(
                 std::count(src.begin(), src.begin() + std::min(pos, src.size()), '\n'));
}

// Messages quote pieces of the template and the data; keep them on one line.
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

  Status token(char c, bool space) {
    size_t start = i_;
    auto push = [&](Tok k, std::string text) {
      out_.push_back({k, std::move(text), start, space});
    };
    auto single = [&](Tok k) {
      ++i_;
      push(k, std::string(1, c));
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
        push(Tok::Declare, ":=");
        return {};
      case '"': {
        std::string value = TRY(quoted());
        push(Tok::String, std::move(value));
        return {};
      }
      case '`': {
        size_t end = src_.find('`', i_ + 1);
        if (end == std::string_view::npos)
          return parseError(src_, start, "unterminated raw quoted string");
        push(Tok::String, std::string(src_.substr(i_ + 1, end - i_ - 1)));
        i_ = end + 1;
        return {};
      }
      case '$': {
        ++i_;
        while (i_ < src_.size() && isAlnum(src_[i_])) ++i_;
        push(Tok::Var, std::string(src_.substr(start, i_ - start)));
        return {};
      }
      case '.':
        if (isDigit(next)) return number(space);
        ++i_;
        if (!isAlnum(next)) {
          push(Tok::Dot, ".");
          return {};
        }
        while (i_ < src_.size() && isAlnum(src_[i_])) ++i_;
        push(Tok::Field, std::string(src_.substr(start + 1, i_ - start - 1)));
        return {};
      default:
        break;
    }
    if (isDigit(c) || ((c == '+' || c == '-') && (isDigit(next) || next == '.')))
      return number(space);
    if (isAlnum(c)) {
      while (i_ < src_.size() && isAlnum(src_[i_])) ++i_;
      std::string word(src_.substr(start, i_ - start));
      if (word == "true" || word == "false")
        push(Tok::Bool, word);
      else if (word == "nil")
        push(Tok::Nil, word);
      else
        push(Tok::Ident, word);
      return {};
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "unrecognized character in action: U+%04X '%c'",
                  static_cast<unsigned char>(c), c);
    return parseError(src_, start, buf);
  }

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
      char e = src_[i_++];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case '\\':
          out += '\\';
          break;
        case '"':
          out += '"';
          break;
        case '\'':
          out += '\'';
          break;
        case 'x':
        case 'u':
        case 'U': {
          size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (i_ + n > src_.size())
            return parseError(src_, start, "invalid syntax in quoted string");
          uint32_t cp = 0;
          auto [ptr, ec] = std::from_chars(src_.data() + i_, src_.data() + i_ + n, cp, 16);
          if (ec != std::errc() || ptr != src_.data() + i_ + n)
            return parseError(src_, start, "invalid syntax in quoted string");
          i_ += n;
          if (e == 'x')
            out += static_cast<char>(cp);
          else
            appendUtf8(out, cp);
          break;
        }
        default:
          if (e >= '0' && e <= '7' && i_ + 2 <= src_.size()) {
            uint32_t v = 0;
            auto [ptr, ec] = std::from_chars(src_.data() + i_ - 1, src_.data() + i_ + 2, v, 8);
            if (ec == std::errc() && ptr == src_.data() + i_ + 2 && v < 256) {
              out += static_cast<char>(v);
              i_ += 2;
              break;
            }
          }
          return parseError(src_, start, "invalid syntax in quoted string");
      }
    }
    if (i_ >= src_.size() || src_[i_] != '"')
      return parseError(src_, start, "unterminated quoted string");
    ++i_;
    return out;
  }

  std::string_view src_;
  size_t i_ = 0;
  std::vector<Token> out_;
};

// ---------------------------------------------------------------------------------------------
// Tree

struct Pipe;

struct Arg {
  enum Kind { Dot, Field, Var, Func, Literal, Sub } kind = Dot;
  std::string name;                // Var and Func
  Json value;                      // Literal
  std::shared_ptr<Pipe> sub;       // Sub
  std::vector<std::string> chain;  // fields applied after the term; for Field, on dot
  size_t pos = 0;
};

struct Cmd {
  std::vector<Arg> args;
  size_t pos = 0;
};

struct Pipe {
  std::vector<std::string> decl;
  std::vector<Cmd> cmds;
  size_t pos = 0;
};

struct Node {
  enum Kind { Text, Action, If, Range, With } kind = Text;
  std::string text;
  Pipe pipe;
  std::vector<Node> body, elseBody;
};

}  // namespace

struct Template::Tree {
  std::string src;  // the format after the list conventions were applied; positions refer to it
  std::vector<Node> nodes;
};

namespace {

std::string argString(const Arg& a);

std::string chainString(const std::vector<std::string>& chain) {
  std::string s;
  for (const auto& f : chain) s += "." + f;
  return s;
}

std::string pipeString(const Pipe& p) {
  std::string s;
  for (size_t i = 0; i < p.decl.size(); ++i) s += (i ? ", " : "") + p.decl[i];
  if (!p.decl.empty()) s += " := ";
  for (size_t i = 0; i < p.cmds.size(); ++i) {
    if (i) s += " | ";
    for (size_t j = 0; j < p.cmds[i].args.size(); ++j)
      s += (j ? " " : "") + argString(p.cmds[i].args[j]);
  }
  return s;
}

// The node as Go's parse tree prints it, for "executing ... at <...>".
std::string argString(const Arg& a) {
  switch (a.kind) {
    case Arg::Dot:
      return ".";
    case Arg::Field:
      return chainString(a.chain);
    case Arg::Var:
      return a.name + chainString(a.chain);
    case Arg::Func:
      return a.name;
    case Arg::Literal:
      return a.value.is_null() ? "nil"
                               : a.value.dump(-1, ' ', false, Json::error_handler_t::replace);
    case Arg::Sub:
      return "(" + pipeString(*a.sub) + ")" + chainString(a.chain);
  }
  return {};
}

bool isKnownFunction(std::string_view name);

class Parser {
 public:
  Parser(std::vector<Token> toks, std::string_view src) : toks_(std::move(toks)), src_(src) {}

  Result<std::vector<Node>> parse() {
    vars_ = {"$"};
    End end;
    auto nodes = TRY(list(end));
    if (end == End::End) return parseError(src_, last_, "unexpected {{end}}");
    if (end == End::Else) return parseError(src_, last_, "unexpected {{else}}");
    return nodes;
  }

 private:
  enum class End { Eof, End, Else };

  const Token& peek(size_t ahead = 0) const {
    return toks_[std::min(i_ + ahead, toks_.size() - 1)];
  }
  const Token& take() {
    last_ = peek().pos;
    return toks_[std::min(i_++, toks_.size() - 1)];
  }
  bool isKeyword(std::string_view kw, size_t ahead = 0) const {
    return peek(ahead).kind == Tok::Ident && peek(ahead).text == kw;
  }
  Status expect(Tok kind, const char* context) {
    if (peek().kind != kind)
      return parseError(src_, peek().pos,
                        std::string("unexpected \"") + peek().text + "\" in " + context);
    take();
    return {};
  }

  Result<std::vector<Node>> list(End& end) {
    std::vector<Node> nodes;
    for (;;) {
      const Token& t = take();
      if (t.kind == Tok::Eof) {
        end = End::Eof;
        return nodes;
      }
      if (t.kind == Tok::Text) {
        nodes.push_back(Node{Node::Text, t.text, {}, {}, {}});
        continue;
      }
      // t is Left: a keyword or a pipeline.
      if (isKeyword("end")) {
        take();
        TRYV(expect(Tok::Right, "end"));
        end = End::End;
        return nodes;
      }
      if (isKeyword("else")) {
        take();
        end = End::Else;
        return nodes;
      }
      if (isKeyword("if") || isKeyword("range") || isKeyword("with")) {
        std::string kw = take().text;
        nodes.push_back(TRY(control(kw == "if"      ? Node::If
                                    : kw == "range" ? Node::Range
                                                    : Node::With)));
        continue;
      }
      for (const char* kw : {"define", "template", "block", "break", "continue"})
        if (isKeyword(kw))
          return parseError(src_, peek().pos, std::string("{{") + kw + "}} is not supported");
      Node n{Node::Action, {}, TRY(pipeline(Tok::Right, "command")), {}, {}};
      nodes.push_back(std::move(n));
    }
  }

  // After the keyword of if/range/with: the pipeline, the body, an optional else, and {{end}}.
  Result<Node> control(Node::Kind kind) {
    TRYV(enter());
    size_t scope = vars_.size();
    Node n{kind,
           {},
           TRY(pipeline(Tok::Right, kind == Node::If      ? "if"
                                    : kind == Node::Range ? "range"
                                                          : "with")),
           {},
           {}};
    if (n.pipe.decl.size() > (kind == Node::Range ? 2u : 1u))
      return parseError(src_, n.pipe.pos, "too many declarations");
    End end;
    n.body = TRY(list(end));
    if (end == End::Eof) return parseError(src_, src_.size(), "unexpected EOF");
    if (end == End::Else) {
      if (kind == Node::If && isKeyword("if")) {
        take();
        // {{else if}} nests an if that shares this {{end}}.
        n.elseBody.push_back(TRY(control(Node::If)));
      } else {
        TRYV(expect(Tok::Right, "else"));
        n.elseBody = TRY(list(end));
        if (end == End::Eof) return parseError(src_, src_.size(), "unexpected EOF");
        if (end == End::Else) return parseError(src_, last_, "expected end; found {{else}}");
      }
    }
    vars_.resize(scope);
    --depth_;
    return n;
  }

  // Bounds the nesting of control structures and parentheses, so hostile formats cannot
  // exhaust the stack. A failed parse is abandoned, so only the success paths decrement.
  Status enter() {
    if (++depth_ > kMaxDepth) return parseError(src_, peek().pos, "max expression depth exceeded");
    return {};
  }

  Result<Pipe> pipeline(Tok close, const char* context) {
    Pipe p;
    p.pos = peek().pos;
    // Declarations: $x := ..., or $i, $v := ... (range only; checked by the caller).
    if (peek().kind == Tok::Var && (peek(1).kind == Tok::Declare || peek(1).kind == Tok::Comma)) {
      size_t n = peek(1).kind == Tok::Comma ? 2 : 1;
      if (n == 2 && (peek(2).kind != Tok::Var || peek(3).kind != Tok::Declare))
        return parseError(src_, peek().pos, "too many declarations");
      for (size_t k = 0; k < n; ++k) {
        p.decl.push_back(take().text);
        take();  // ',' or ':='
      }
    } else if (peek().kind == Tok::Var && peek(1).kind == Tok::Assign) {
      return parseError(src_, peek().pos, "variable assignment with = is not supported");
    }
    for (;;) {
      if (peek().kind == close) break;
      p.cmds.push_back(TRY(command(close)));
      if (peek().kind == Tok::Pipe) {
        take();
        if (peek().kind == close) return parseError(src_, peek().pos, "missing command after |");
      }
    }
    take();  // the closing token
    if (p.cmds.empty()) return parseError(src_, p.pos, std::string("missing value for ") + context);
    for (const auto& d : p.decl) vars_.push_back(d);
    return p;
  }

  Result<Cmd> command(Tok close) {
    Cmd c;
    c.pos = peek().pos;
    for (;;) {
      Tok k = peek().kind;
      if (k == close || k == Tok::Pipe) break;
      if (k == Tok::Eof || k == Tok::Right || k == Tok::RParen)
        return parseError(src_, peek().pos,
                          k == Tok::RParen ? "unexpected right paren" : "unclosed left paren");
      if (!c.args.empty() && !peek().spaceBefore && k != Tok::LParen)
        return parseError(src_, peek().pos, "missing space before \"" + peek().text + "\"");
      c.args.push_back(TRY(operand()));
    }
    if (c.args.empty()) return parseError(src_, c.pos, "empty command");
    return c;
  }

  Result<Arg> operand() {
    const Token& t = take();
    Arg a;
    a.pos = t.pos;
    switch (t.kind) {
      case Tok::Dot:
        a.kind = Arg::Dot;
        break;
      case Tok::Field:
        a.kind = Arg::Field;
        a.chain.push_back(t.text);
        break;
      case Tok::Var:
        a.kind = Arg::Var;
        a.name = t.text;
        if (std::find(vars_.begin(), vars_.end(), a.name) == vars_.end())
          return parseError(src_, t.pos, "undefined variable \"" + a.name + "\"");
        break;
      case Tok::Ident:
        if (!isKnownFunction(t.text))
          return parseError(src_, t.pos, "function \"" + t.text + "\" not defined");
        a.kind = Arg::Func;
        a.name = t.text;
        return a;
      case Tok::String:
        a.kind = Arg::Literal;
        a.value = t.text;
        return a;
      case Tok::Bool:
        a.kind = Arg::Literal;
        a.value = t.text == "true";
        return a;
      case Tok::Nil:
        a.kind = Arg::Literal;
        a.value = nullptr;
        return a;
      case Tok::Number:
        a.kind = Arg::Literal;
        a.value = TRY(number(t));
        return a;
      case Tok::LParen:
        TRYV(enter());
        a.kind = Arg::Sub;
        a.sub = std::make_shared<Pipe>(TRY(pipeline(Tok::RParen, "parenthesized pipeline")));
        --depth_;
        break;
      default:
        return parseError(src_, t.pos, "unexpected \"" + t.text + "\" in operand");
    }
    while (peek().kind == Tok::Field && !peek().spaceBefore) a.chain.push_back(take().text);
    return a;
  }

  Result<Json> number(const Token& t) {
    std::string s;
    for (char c : t.text)
      if (c != '_') s += c;
    const char* b = s.data();
    const char* e = b + s.size();
    bool isFloat = s.find_first_of(".eEpP") != std::string::npos &&
                   s.find("0x") == std::string::npos && s.find("0X") == std::string::npos;
    if (!isFloat) {
      bool neg = !s.empty() && s[0] == '-';
      const char* p = b + (!s.empty() && (s[0] == '-' || s[0] == '+'));
      int base = 10;
      if (e - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        base = 16, p += 2;
      else if (e - p > 2 && p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
        base = 8, p += 2;
      else if (e - p > 2 && p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
        base = 2, p += 2;
      else if (e - p > 1 && p[0] == '0')
        base = 8, p += 1;
      int64_t v = 0;
      auto [ptr, ec] = std::from_chars(p, e, v, base);
      if (ec == std::errc() && ptr == e && p != e) return Json(neg ? -v : v);
    } else {
      double v = 0;
      const char* p = b + (!s.empty() && s[0] == '+');
      auto [ptr, ec] = std::from_chars(p, e, v);
      if (ec == std::errc() && ptr == e) return Json(v);
    }
    return parseError(src_, t.pos, "bad number syntax: \"" + t.text + "\"");
  }

  std::vector<Token> toks_;
  std::string_view src_;
  size_t i_ = 0;
  size_t last_ = 0;
  std::vector<std::string> vars_;  // declared variables in scope, for "undefined variable"
  static constexpr int kMaxDepth = 100;
  int depth_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Printing values the way Go's fmt prints them with %v.

const char* goType(const Json& v) {
  switch (v.type()) {
    case Json::value_t::string:
      return "string";
    case Json::value_t::boolean:
      return "bool";
    case Json::value_t::number_integer:
      return "int";
    case Json::value_t::number_unsigned:
      return "uint64";
    case Json::value_t::number_float:
      return "float64";
    case Json::value_t::array:
      return "[]interface {}";
    case Json::value_t::object:
      return "map[string]interface {}";
    default:
      return "<nil>";
  }
}

// Go's %v of a float64: strconv 'g' with the shortest digits, which switches to the exponent
// form ("1e+06") when the decimal exponent is below -4 or at least 6.
std::string goFloat(double v) {
  if (v != v) return "NaN";
  if (v > 1.7976931348623157e308) return "+Inf";
  if (v < -1.7976931348623157e308) return "-Inf";
  char buf[400];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view s(buf, static_cast<size_t>(r.ptr - buf));
  int exp = 0;
  std::string_view e = s.substr(s.find('e') + 1);
  if (!e.empty() && e.front() == '+') e.remove_prefix(1);
  std::from_chars(e.data(), e.data() + e.size(), exp);
  if (exp < -4 || exp >= 6) return std::string(s);
  r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, static_cast<size_t>(r.ptr - buf));
}

std::string goPrint(const Json& v, bool top);

std::string goPrint(const Json& v, bool top) {
  switch (v.type()) {
    case Json::value_t::discarded:
    case Json::value_t::null:
      return top ? "<no value>" : "<nil>";
    case Json::value_t::string:
      return v.get_ref<const std::string&>();
    case Json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case Json::value_t::number_integer:
      return std::to_string(v.get<int64_t>());
    case Json::value_t::number_unsigned:
      return std::to_string(v.get<uint64_t>());
    case Json::value_t::number_float:
      return goFloat(v.get<double>());
    case Json::value_t::array: {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + goPrint(v[i], false);
      return s + "]";
    }
    case Json::value_t::object: {
      std::vector<std::string> keys;
      for (const auto& [k, _] : v.items()) keys.push_back(k);
      std::sort(keys.begin(), keys.end());
      std::string s = "map[";
      for (size_t i = 0; i < keys.size(); ++i)
        s += (i ? " " : "") + keys[i] + ":" + goPrint(v[keys[i]], false);
      return s + "]";
    }
    default:
      return {};
  }
}

std::string jsonString(const Json& v) {
  if (v.is_discarded()) return "null";
  return toGoJson(v);
}

bool truth(const Json& v) {
  switch (v.type()) {
    case Json::value_t::boolean:
      return v.get<bool>();
    case Json::value_t::number_integer:
      return v.get<int64_t>() != 0;
    case Json::value_t::number_unsigned:
      return v.get<uint64_t>() != 0;
    case Json::value_t::number_float:
      return v.get<double>() != 0;
    case Json::value_t::string:
      return !v.get_ref<const std::string&>().empty();
    case Json::value_t::array:
    case Json::value_t::object:
      return !v.empty();
    default:
      return false;
  }
}

size_t runeCount(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// ---------------------------------------------------------------------------------------------
// Functions. Each gets its evaluated arguments; errors are Go's text without the position.

using Args = std::vector<Json>;

Result<std::string> strArg(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null() || v.is_discarded()) return failInvalid("invalid value; expected string");
  return goPrint(v, false);
}

Result<int64_t> intArg(const Json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float() &&
      v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>())))
    return static_cast<int64_t>(v.get<double>());
  return failInvalid(std::string("wrong type for value; expected int; got ") + goType(v));
}

// a <=> b for numbers and strings; other kinds fail as Go's lt/le/gt/ge do.
Result<int> compare(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_number_float() || b.is_number_float()) {
      double x = a.get<double>(), y = b.get<double>();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    int64_t x = a.get<int64_t>(), y = b.get<int64_t>();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.type() != b.type()) return failInvalid("incompatible types for comparison");
  return failInvalid("invalid type for comparison");
}

Result<bool> equal(const Json& a, const Json& b) {
  bool aNil = a.is_null() || a.is_discarded(), bNil = b.is_null() || b.is_discarded();
  if (aNil || bNil) return aNil && bNil;
  if (a.is_boolean() && b.is_boolean()) return a.get<bool>() == b.get<bool>();
  if (a.is_structured() || b.is_structured()) return failInvalid("non-comparable type");
  return TRY(compare(a, b)) == 0;
}

std::string upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// strings.Title for ASCII: the first letter of each word, words being split by anything that is
// not a letter, digit or underscore.
std::string title(std::string s) {
  bool prevWord = false;
  for (char& c : s) {
    if (!prevWord && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    prevWord = isAlnum(c);
  }
  return s;
}

Result<Json> fnIndex(Args& a) {
  Json item = a[0];
  for (size_t i = 1; i < a.size(); ++i) {
    const Json& key = a[i];
    if (item.is_null() || item.is_discarded()) return failInvalid("index of untyped nil");
    if (item.is_object()) {
      if (!key.is_string())
        return failInvalid(std::string("value has type ") + goType(key) + "; should be string");
      auto it = item.find(key.get<std::string>());
      if (it != item.end()) {
        item = *it;
        continue;
      }
      // A missing key yields the map's zero value: "" for a map of strings (labels), nil otherwise.
      bool allStrings =
          std::all_of(item.begin(), item.end(), [](const Json& v) { return v.is_string(); });
      item = allStrings ? Json("") : Json();
    } else if (item.is_array()) {
      int64_t k = TRY(intArg(key));
      if (k < 0 || static_cast<size_t>(k) >= item.size())
        return failInvalid("index out of range: " + std::to_string(k));
      item = Json(item[static_cast<size_t>(k)]);
    } else if (item.is_string()) {
      // Go indexes a string by byte and yields the byte's value.
      const std::string& str = item.get_ref<const std::string&>();
      int64_t k = TRY(intArg(key));
      if (k < 0 || static_cast<size_t>(k) >= str.size())
        return failInvalid("index out of range: " + std::to_string(k));
      item = static_cast<int64_t>(static_cast<unsigned char>(str[static_cast<size_t>(k)]));
    } else {
      return failInvalid(std::string("can't index item of type ") + goType(item));
    }
  }
  return item;
}

Result<Json> fnLen(Args& a) {
  const Json& v = a[0];
  if (v.is_string()) return static_cast<int64_t>(v.get_ref<const std::string&>().size());
  if (v.is_array() || v.is_object()) return static_cast<int64_t>(v.size());
  return failInvalid(std::string("len of type ") + goType(v));
}

Result<Json> fnJoin(Args& a) {
  std::string sep = TRY(strArg(a[1]));
  if (a[0].is_null() || a[0].is_discarded()) return Json("");
  if (!a[0].is_array()) return Json(TRY(strArg(a[0])));
  std::string out;
  for (size_t i = 0; i < a[0].size(); ++i) out += (i ? sep : "") + goPrint(a[0][i], false);
  return Json(out);
}

Result<Json> fnSplit(Args& a) {
  std::string s = TRY(strArg(a[0])), sep = TRY(strArg(a[1]));
  Json out = Json::array();
  if (sep.empty()) {
    // Go splits into UTF-8 sequences.
    for (size_t i = 0; i < s.size();) {
      size_t j = i + 1;
      while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) ++j;
      out.push_back(s.substr(i, j - i));
      i = j;
    }
    return out;
  }
  for (size_t start = 0;;) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + sep.size();
  }
}

Result<Json> fnPad(Args& a) {
  std::string s = TRY(strArg(a[0]));
  int64_t pre = TRY(intArg(a[1])), post = TRY(intArg(a[2]));
  if (s.empty()) return Json(s);
  pre = std::clamp<int64_t>(pre, 0, 4096);
  post = std::clamp<int64_t>(post, 0, 4096);
  return Json(std::string(static_cast<size_t>(pre), ' ') + s +
              std::string(static_cast<size_t>(post), ' '));
}

// The first n UTF-8 characters of s.
std::string firstRunes(const std::string& s, size_t n) {
  size_t i = 0;
  for (size_t k = 0; k < n && i < s.size(); ++k) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
  }
  return s.substr(0, i);
}

Result<Json> fnTruncate(Args& a) {
  std::string s = TRY(strArg(a[0]));
  int64_t n = TRY(intArg(a[1]));
  if (n < 0) return Json(s);
  return Json(firstRunes(s, static_cast<size_t>(n)));
}

// fmt.Sprint: a space between operands when neither side is a string.
Result<Json> fnPrint(Args& a) {
  std::string out;
  for (size_t i = 0; i < a.size(); ++i) {
    if (i > 0 && !a[i].is_string() && !a[i - 1].is_string()) out += ' ';
    out += goPrint(a[i], false);
  }
  return Json(out);
}

Result<Json> fnPrintln(Args& a) {
  std::string out;
  for (size_t i = 0; i < a.size(); ++i) out += (i ? " " : "") + goPrint(a[i], false);
  return Json(out + "\n");
}

std::string badVerb(char verb, const Json& v) {
  return std::string("%!") + verb + "(" + goType(v) + "=" + goPrint(v, false) + ")";
}

std::string padTo(std::string s, size_t width, bool left, char fill) {
  size_t n = runeCount(s);
  if (n >= width) return s;
  std::string pad(width - n, fill);
  return left ? s + pad : pad + s;
}

// fmt.Sprintf for the verbs templates use: %v %s %q %d %x %X %c %t %f %F %e %E %g %G %%, with the
// flags - + space 0 #, a width and a precision.
std::string goSprintf(const std::string& f, const Args& a, size_t argi) {
  std::string out;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    std::string flags;
    while (++i < f.size() && std::string_view("-+ 0#").find(f[i]) != std::string_view::npos)
      flags += f[i];
    size_t width = 0, prec = 0;
    bool hasPrec = false;
    while (i < f.size() && isDigit(f[i]))
      width = std::min<size_t>(width * 10 + static_cast<size_t>(f[i++] - '0'), 4096);
    if (i < f.size() && f[i] == '.') {
      hasPrec = true;
      while (++i < f.size() && isDigit(f[i]))
        prec = std::min<size_t>(prec * 10 + static_cast<size_t>(f[i] - '0'), 512);
    }
    if (i >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    char verb = f[i];
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (argi >= a.size()) {
      out += std::string("%!") + verb + "(MISSING)";
      continue;
    }
    const Json& v = a[argi++];
    bool left = flags.find('-') != std::string::npos;
    char fill = flags.find('0') != std::string::npos && !left ? '0' : ' ';
    std::string cfmt = "%" + flags + (width ? std::to_string(width) : "") +
                       (hasPrec ? "." + std::to_string(prec) : "");
    char buf[1024];
    switch (verb) {
      case 'v':
      case 's': {
        std::string s = goPrint(v, false);
        if (hasPrec && verb == 's') s = firstRunes(s, prec);
        out += padTo(std::move(s), width, left, v.is_number() ? fill : ' ');
        break;
      }
      case 'q':
        if (!v.is_string())
          out += badVerb(verb, v);
        else
          out += padTo(jsonString(v), width, left, ' ');
        break;
      case 't':
        if (!v.is_boolean())
          out += badVerb(verb, v);
        else
          out += padTo(v.get<bool>() ? "true" : "false", width, left, ' ');
        break;
      case 'd':
      case 'x':
      case 'X':
      case 'c':
      case 'o':
        if (!v.is_number_integer()) {
          out += badVerb(verb, v);
        } else if (verb == 'c') {
          std::string s;
          appendUtf8(s, static_cast<uint32_t>(v.get<int64_t>()));
          out += padTo(s, width, left, ' ');
        } else {
          std::snprintf(buf, sizeof buf, (cfmt + "ll" + verb).c_str(),
                        static_cast<long long>(v.get<int64_t>()));
          out += buf;
        }
        break;
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G':
        if (!v.is_number()) {
          out += badVerb(verb, v);
        } else {
          std::snprintf(buf, sizeof buf, (cfmt + verb).c_str(), v.get<double>());
          out += buf;
        }
        break;
      default:
        out += badVerb(verb, v);
    }
  }
  if (argi < a.size()) {
    out += "%!(EXTRA ";
    for (size_t k = argi; k < a.size(); ++k)
      out += std::string(k > argi ? ", " : "") + goType(a[k]) + "=" + goPrint(a[k], false);
    out += ")";
  }
  return out;
}

Result<Json> fnPrintf(Args& a) {
  std::string f = TRY(strArg(a[0]));
  return Json(goSprintf(f, a, 1));
}

Result<Json> fnEq(Args& a) {
  for (size_t i = 1; i < a.size(); ++i)
    if (TRY(equal(a[0], a[i]))) return Json(true);
  return Json(false);
}

struct FuncDef {
  std::string_view name;
  size_t minArgs;
  size_t maxArgs;   // SIZE_MAX: variadic
  bool stringFunc;  // passes its first argument through when printing a header
  Result<Json> (*fn)(Args&);
};

constexpr size_t kVariadic = SIZE_MAX;

const FuncDef kFuncs[] = {
    {"json", 1, 1, true, [](Args& a) -> Result<Json> { return Json(jsonString(a[0])); }},
    {"split", 2, 2, true, fnSplit},
    {"join", 2, 2, true, fnJoin},
    {"title", 1, 1, true, [](Args& a) -> Result<Json> { return Json(title(TRY(strArg(a[0])))); }},
    {"lower", 1, 1, true, [](Args& a) -> Result<Json> { return Json(lower(TRY(strArg(a[0])))); }},
    {"upper", 1, 1, true, [](Args& a) -> Result<Json> { return Json(upper(TRY(strArg(a[0])))); }},
    {"pad", 3, 3, true, fnPad},
    {"truncate", 2, 2, true, fnTruncate},
    {"index", 1, kVariadic, false, fnIndex},
    {"len", 1, 1, false, fnLen},
    {"print", 0, kVariadic, false, fnPrint},
    {"printf", 1, kVariadic, false, fnPrintf},
    {"println", 0, kVariadic, false, fnPrintln},
    {"eq", 1, kVariadic, false, fnEq},
    {"ne", 2, 2, false, [](Args& a) -> Result<Json> { return Json(!TRY(equal(a[0], a[1]))); }},
    {"lt", 2, 2, false, [](Args& a) -> Result<Json> { return Json(TRY(compare(a[0], a[1])) < 0); }},
    {"le", 2, 2, false,
     [](Args& a) -> Result<Json> { return Json(TRY(compare(a[0], a[1])) <= 0); }},
    {"gt", 2, 2, false, [](Args& a) -> Result<Json> { return Json(TRY(compare(a[0], a[1])) > 0); }},
    {"ge", 2, 2, false,
     [](Args& a) -> Result<Json> { return Json(TRY(compare(a[0], a[1])) >= 0); }},
    {"not", 1, 1, false, [](Args& a) -> Result<Json> { return Json(!truth(a[0])); }},
    {"and", 1, kVariadic, false,
     [](Args& a) -> Result<Json> {
       for (const auto& v : a)
         if (!truth(v)) return v;
       return a.back();
     }},
    {"or", 1, kVariadic, false,
     [](Args& a) -> Result<Json> {
       for (const auto& v : a)
         if (truth(v)) return v;
       return a.back();
     }},
};

const FuncDef* findFunction(std::string_view name) {
  for (const auto& f : kFuncs)
    if (f.name == name) return &f;
  return nullptr;
}

bool isKnownFunction(std::string_view name) { return findFunction(name) != nullptr; }

// ---------------------------------------------------------------------------------------------
// Execution

class Exec {
 public:
  Exec(std::string_view src, const Json& root, bool missingKeyError, bool header)
      : src_(src), missingKeyError_(missingKeyError), header_(header) {
    vars_.emplace_back("$", root);
  }

  Status list(const std::vector<Node>& nodes, const Json& dot) {
    size_t scope = vars_.size();
    for (const auto& n : nodes) TRYV(node(n, dot));
    vars_.resize(scope);
    return {};
  }

  std::string out;

 private:
  Status node(const Node& n, const Json& dot) {
    switch (n.kind) {
      case Node::Text:
        out += n.text;
        return {};
      case Node::Action: {
        Json v = TRY(pipe(n.pipe, dot));
        if (n.pipe.decl.empty()) out += goPrint(v, true);
        return {};
      }
      case Node::If:
      case Node::With: {
        size_t scope = vars_.size();
        Json v = TRY(pipe(n.pipe, dot));
        Status s = truth(v) ? list(n.body, n.kind == Node::With ? v : dot) : list(n.elseBody, dot);
        vars_.resize(scope);
        return s;
      }
      case Node::Range:
        return range(n, dot);
    }
    return {};
  }

  Status range(const Node& n, const Json& dot) {
    Pipe p = n.pipe;
    p.decl.clear();  // range assigns its variables per element, not the whole value
    Json v = TRY(pipe(p, dot));
    if (!truth(v) && (v.is_null() || v.is_discarded() || v.is_structured()))
      return list(n.elseBody, dot);
    if (!v.is_structured())
      return fail(n.pipe.pos, "{{range " + pipeString(n.pipe) + "}}",
                  "range can't iterate over " + goPrint(v, false));
    std::vector<std::pair<Json, const Json*>> items;
    if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i)
        items.emplace_back(Json(static_cast<int64_t>(i)), &v[i]);
    } else {
      for (auto it = v.begin(); it != v.end(); ++it)
        items.emplace_back(Json(it.key()), &it.value());
      std::sort(items.begin(), items.end(),
                [](const auto& x, const auto& y) { return x.first < y.first; });
    }
    for (const auto& [key, elem] : items) {
      size_t scope = vars_.size();
      if (n.pipe.decl.size() == 1) vars_.emplace_back(n.pipe.decl[0], *elem);
      if (n.pipe.decl.size() == 2) {
        vars_.emplace_back(n.pipe.decl[0], key);
        vars_.emplace_back(n.pipe.decl[1], *elem);
      }
      Status s = list(n.body, *elem);
      vars_.resize(scope);
      TRYV(s);
    }
    return {};
  }

  Result<Json> pipe(const Pipe& p, const Json& dot) {
    Json v(Json::value_t::discarded);
    for (size_t i = 0; i < p.cmds.size(); ++i)
      v = TRY(command(p.cmds[i], dot, i > 0 ? &v : nullptr));
    for (const auto& d : p.decl) vars_.emplace_back(d, v);
    return v;
  }

  Result<Json> command(const Cmd& c, const Json& dot, const Json* piped) {
    const Arg& first = c.args.front();
    if (first.kind != Arg::Func) {
      if (c.args.size() > 1 || piped)
        return fail(first.pos, argString(first),
                    "can't give argument to non-function " + argString(first));
      return arg(first, dot);
    }
    Args args;
    for (size_t i = 1; i < c.args.size(); ++i) args.push_back(TRY(arg(c.args[i], dot)));
    if (piped) args.push_back(*piped);
    return call(first, args);
  }

  Result<Json> call(const Arg& fn, Args& args) {
    const FuncDef* f = findFunction(fn.name);
    if (args.size() < f->minArgs || args.size() > f->maxArgs) {
      std::string want = f->maxArgs == kVariadic ? "at least " + std::to_string(f->minArgs)
                                                 : std::to_string(f->minArgs);
      return fail(fn.pos, fn.name,
                  "wrong number of args for " + fn.name + ": want " + want + " got " +
                      std::to_string(args.size()));
    }
    if (header_ && f->stringFunc) return args.front();
    auto r = f->fn(args);
    if (!r) return fail(fn.pos, fn.name, "error calling " + fn.name + ": " + r.error().message());
    return r;
  }

  // Evaluates an operand. Field chains are walked by pointer so that only the final value is
  // copied, not every object on the way.
  Result<Json> arg(const Arg& a, const Json& dot) {
    const Json* base = &dot;
    Json owned;
    switch (a.kind) {
      case Arg::Dot:
      case Arg::Field:
        break;
      case Arg::Var: {
        auto it = std::find_if(vars_.rbegin(), vars_.rend(),
                               [&](const auto& kv) { return kv.first == a.name; });
        if (it == vars_.rend()) return fail(a.pos, a.name, "undefined variable: " + a.name);
        base = &it->second;
        break;
      }
      case Arg::Func: {
        Args none;
        return call(a, none);
      }
      case Arg::Literal:
        return a.value;
      case Arg::Sub:
        owned = TRY(pipe(*a.sub, dot));
        base = &owned;
        break;
    }
    for (const auto& name : a.chain) base = TRY(field(*base, name, a));
    return *base;
  }

  Result<const Json*> field(const Json& recv, const std::string& name, const Arg& a) {
    static const Json kMissing(Json::value_t::discarded);
    if (recv.is_discarded()) {
      if (missingKeyError_)
        return fail(a.pos, argString(a), "nil data; no entry for key \"" + name + "\"");
      return &kMissing;
    }
    if (recv.is_null())
      return fail(a.pos, argString(a), "nil pointer evaluating interface {}." + name);
    if (!recv.is_object())
      return fail(a.pos, argString(a),
                  std::string("can't evaluate field ") + name + " in type " + goType(recv));
    auto it = recv.find(name);
    if (it != recv.end()) return &*it;
    if (missingKeyError_)
      return fail(a.pos, argString(a), "map has no entry for key \"" + name + "\"");
    return &kMissing;
  }

  // Go's form: "template: :1:2: executing "" at <.Foo>: msg", where the context is the node's
  // text cut to 20 characters.
  std::unexpected<Error> fail(size_t pos, std::string context, const std::string& msg) const {
    if (context.size() > 20) context = context.substr(0, 20) + "...";
    size_t nl = pos == 0 ? std::string_view::npos : src_.rfind('\n', pos - 1);
    size_t col = nl == std::string_view::npos ? pos : pos - nl - 1;
    return failInvalid("template: :" + std::to_string(lineOf(src_, pos)) + ":" +
                       std::to_string(col) + ": executing \"\" at <" + oneLine(context) +
                       ">: " + oneLine(msg));
  }

  std::string_view src_;
  bool missingKeyError_;
  bool header_;
  std::vector<std::pair<std::string, Json>> vars_;
};

// Every field name used directly on dot, for the header row.
void collectFields(const Pipe& p, std::vector<std::string>& out);
void collectFields(const std::vector<Node>& nodes, std::vector<std::string>& out) {
  for (const auto& n : nodes) {
    collectFields(n.pipe, out);
    collectFields(n.body, out);
    collectFields(n.elseBody, out);
  }
}
void collectFields(const Pipe& p, std::vector<std::string>& out) {
  for (const auto& c : p.cmds)
    for (const auto& a : c.args) {
      if (a.kind == Arg::Field) out.push_back(a.chain.front());
      if (a.kind == Arg::Sub) collectFields(*a.sub, out);
    }
}

}  // namespace

Result<Template> Template::parse(std::string_view format, TemplateOptions options) {
  auto tree = std::make_shared<Tree>();
  Template t;
  t.missingKeyError_ = options.missingKeyError;
  std::string f(format);
  if (options.listFormat) {
    if (f.starts_with("table")) {
      t.table_ = true;
      f.erase(0, 5);
    } else if (f == "json") {
      f = "{{json .}}";
    }
    size_t b = f.find_first_not_of(' ');
    f = b == std::string::npos ? std::string() : f.substr(b, f.find_last_not_of(' ') - b + 1);
    std::string r;
    for (size_t i = 0; i < f.size(); ++i) {
      if (f[i] == '\\' && i + 1 < f.size() && (f[i + 1] == 't' || f[i + 1] == 'n')) {
        r += f[++i] == 't' ? '\t' : '\n';
      } else {
        r += f[i];
      }
    }
    f = std::move(r);
  }
  tree->src = std::move(f);
  try {
    auto toks = TRY(Lexer(tree->src).run());
    tree->nodes = TRY(Parser(std::move(toks), tree->src).parse());
  } catch (const std::exception& e) {
    return failInvalid(std::string("template parsing error: ") + e.what());
  }
  t.tree_ = std::move(tree);
  return t;
}

bool Template::empty() const { return !tree_ || tree_->nodes.empty(); }

Result<std::string> Template::render(const nlohmann::ordered_json& row) const {
  if (!tree_) return std::string();
  try {
    Exec e(tree_->src, row, missingKeyError_, false);
    TRYV(e.list(tree_->nodes, row));
    return std::move(e.out);
  } catch (const std::exception& ex) {
    return failInvalid(std::string("template: executing: ") + ex.what());
  }
}

std::string Template::header(const std::map<std::string, std::string>& titles) const {
  if (!tree_) return {};
  std::vector<std::string> fields;
  collectFields(tree_->nodes, fields);
  Json row = Json::object();
  for (const auto& name : fields) {
    auto it = titles.find(name);
    row[name] = it != titles.end() ? it->second : upper(name);
  }
  try {
    Exec e(tree_->src, row, false, true);
    (void)e.list(tree_->nodes, row);  // docker/cli ignores header errors and keeps the output
    return std::move(e.out);
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace strata
