// Private to the template*.cpp files: the pieces of util/template.h's implementation.
//
// The template is lexed into a flat token list (template_lex.cpp), parsed into a small tree of
// text, actions, if, range and with (template_parse.cpp) and executed against JSON
// (template_exec.cpp), calling the built-in functions of template_funcs.cpp. Values are JSON; a
// field missing from an object is the "discarded" JSON value, which plays the part of Go's
// invalid reflect.Value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace strata::tmpl {

using Json = nlohmann::ordered_json;
using Args = std::vector<Json>;

inline bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
inline bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
inline bool isDigit(char c) { return c >= '0' && c <= '9'; }

// The 1-based line of src holding byte pos.
size_t lineOf(std::string_view src, size_t pos);
// Messages quote pieces of the template and the data; this keeps them on one line.
std::string oneLine(std::string_view msg);
// "template parsing error: template: :<line>: msg".
std::unexpected<Error> parseError(std::string_view src, size_t pos, const std::string& msg);
// Appends code point cp to out as UTF-8.
void appendUtf8(std::string& out, uint32_t cp);

// ---------------------------------------------------------------------------------------------
// Tokens (template_lex.cpp)

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

// Splits src into text and action tokens, applying the trim markers; the list ends with Eof.
Result<std::vector<Token>> lex(std::string_view src);

// ---------------------------------------------------------------------------------------------
// Tree (template_parse.cpp)

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

// Parses the tokens of src (positions in the tokens refer to src) into the top-level nodes.
Result<std::vector<Node>> parseTokens(std::vector<Token> toks, std::string_view src);

// The node as Go's parse tree prints it, for "executing ... at <...>".
std::string argString(const Arg& a);
std::string pipeString(const Pipe& p);

// ---------------------------------------------------------------------------------------------
// Values (template_exec.cpp)

// Go's type name for v, as fmt's %T and error messages print it.
const char* goType(const Json& v);
// v as Go's fmt prints it with %v; top: a missing or null value prints as "<no value>" rather
// than "<nil>", as for the result of an action.
std::string goPrint(const Json& v, bool top);
// v as Go's encoding/json writes it; a missing value is "null".
std::string jsonString(const Json& v);
// Go's truth of a value for if, with, and, or, not.
bool truth(const Json& v);

// ---------------------------------------------------------------------------------------------
// Functions (template_funcs.cpp). Each gets its evaluated arguments; errors are Go's text
// without the position.

struct FuncDef {
  std::string_view name;
  size_t minArgs;
  size_t maxArgs;   // SIZE_MAX: variadic
  bool stringFunc;  // passes its first argument through when printing a header
  Result<Json> (*fn)(Args&);
};

constexpr size_t kVariadic = SIZE_MAX;

// The built-in function called name, or nullptr.
const FuncDef* findFunction(std::string_view name);
bool isKnownFunction(std::string_view name);
// ASCII upper case.
std::string upper(std::string s);

// ---------------------------------------------------------------------------------------------
// Execution (template_exec.cpp)

// Executes nodes (parsed from src) with root as both dot and $, setting out to what was printed,
// also when an error stops it. header: the string functions pass their first argument through
// (Template::header). May throw what nlohmann::json throws.
Status execute(std::string_view src, const std::vector<Node>& nodes, const Json& root,
               bool missingKeyError, bool header, std::string& out);

}  // namespace strata::tmpl
