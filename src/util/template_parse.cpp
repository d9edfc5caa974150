// The parser of util/template.h: tokens to the tree of template_internal.h.
#include <algorithm>
#include <charconv>

#include "util/template_internal.h"

namespace strata::tmpl {

namespace {

std::string chainString(const std::vector<std::string>& chain) {
  std::string s;
  for (const auto& f : chain) s += "." + f;
  return s;
}

}  // namespace

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

namespace {

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

}  // namespace

Result<std::vector<Node>> parseTokens(std::vector<Token> toks, std::string_view src) {
  return Parser(std::move(toks), src).parse();
}

}  // namespace strata::tmpl
