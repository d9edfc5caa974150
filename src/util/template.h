// A subset of Go's text/template for the `--format` flags of images, ps, history and inspect.
//
// The data is a JSON value (a row of a listing, or an inspect document). Supported:
//   literal text; {{.Field}} and {{.A.B}}; {{.}}; {{$}} and variables ({{$x := .A}}, $x.B);
//   string, number, bool and nil literals; parentheses; pipes ({{.Name | upper}});
//   {{if}}/{{else if}}/{{else}}/{{end}}, {{range [$i,] [$v :=] ...}}, {{with}};
//   comments {{/* ... */}}; trim markers {{- and -}};
//   functions: Docker's json split join title lower upper pad truncate, and Go's index len
//   print printf println eq ne lt le gt ge and or not.
// Values print as Go prints them: strings as-is, numbers and bools plainly, a missing or null
// value as "<no value>", arrays as "[a b]" and objects as "map[k:v ...]" (keys sorted).
// Not supported: define/template/block, break/continue, assignment with '=', method calls.
//
// A Template is immutable after parse; render() and header() may be called from several threads.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "util/error.h"

namespace strata {

struct TemplateOptions {
  // docker/cli's conventions for list commands (images, ps, history): a leading "table" selects
  // a table (isTable()), the format "json" means {{json .}}, surrounding spaces are trimmed and
  // the two-character sequences \t and \n become a tab and a newline. `inspect` turns this off.
  bool listFormat = true;
  // A field missing from an object is an error ("map has no entry for key"), as in
  // `docker inspect`'s raw-JSON mode, instead of printing "<no value>".
  bool missingKeyError = false;
};

class Template {
 public:
  struct Tree;  // the parsed form, private to the template*.cpp files

  // Parses format. Errors are one line: "template parsing error: template: :1: ...".
  static Result<Template> parse(std::string_view format, TemplateOptions options = {});

  // The format began with "table": the caller prints header() first and aligns columns.
  bool isTable() const { return table_; }
  // Nothing is left after "table": the caller uses its default table format.
  bool empty() const;

  // Executes the template on row. Errors are one line ("template: :1:2: executing \"\" at
  // <.Foo>: map has no entry for key \"Foo\""); nothing is thrown.
  Result<std::string> render(const nlohmann::ordered_json& row) const;

  // The header row of a table: the template executed on an object whose fields are the titles
  // (titles[Field], or the field name upper-cased when titles has no entry), with the string
  // functions passing their first argument through, as docker/cli does. Stops quietly at the
  // first error, keeping what was printed.
  std::string header(const std::map<std::string, std::string>& titles) const;

 private:
  std::shared_ptr<const Tree> tree_;
  bool table_ = false;
  bool missingKeyError_ = false;
};

}  // namespace strata
