// The Go text/template subset behind --format.
#include "util/template.h"

#include <gtest/gtest.h>

namespace strata {
namespace {

using Json = nlohmann::ordered_json;

Json row() {
  return Json::parse(R"({
    "ID": "8135583d97fe", "Repository": "busybox", "Tag": "latest", "Size": 4261550,
    "Ok": true, "No": false, "Zero": 0, "Half": 0.5, "Big": 1000000.0, "Null": null, "Empty": "",
    "List": ["a", "b", "c"], "Nums": [1, 2], "Labels": {"b": "2", "a": "1", "com.x": "y"},
    "Config": {"Cmd": ["sh", "-c", "echo hi"], "Entrypoint": null, "Env": [],
               "Nested": {"Deep": "down"}, "Mixed": {"n": 1, "s": "x", "z": null}}
  })");
}

std::string render(std::string_view format, const Json& data = row(), TemplateOptions opts = {}) {
  auto t = Template::parse(format, opts);
  if (!t) return "PARSE ERROR: " + t.error().message();
  auto r = t->render(data);
  if (!r) return "EXEC ERROR: " + r.error().message();
  return *r;
}

std::string parseError(std::string_view format) {
  auto t = Template::parse(format);
  return t ? std::string("(parsed)") : t.error().message();
}

std::string execError(std::string_view format, TemplateOptions opts = {}) {
  auto t = Template::parse(format, opts);
  if (!t) return "PARSE ERROR: " + t.error().message();
  auto r = t->render(row());
  return r ? "(rendered " + *r + ")" : r.error().message();
}

TEST(Template, LiteralsAndFields) {
  EXPECT_EQ(render("plain text"), "plain text");
  EXPECT_EQ(render(""), "");
  EXPECT_EQ(render("{{.Repository}}:{{.Tag}}"), "busybox:latest");
  EXPECT_EQ(render("{{ .ID }}"), "8135583d97fe");
  EXPECT_EQ(render("{{.Size}}"), "4261550");
  EXPECT_EQ(render("{{.Ok}} {{.No}} {{.Zero}}"), "true false 0");
  EXPECT_EQ(render("{{.Config.Nested.Deep}}"), "down");
  EXPECT_EQ(render("{{.Empty}}|"), "|");
}

TEST(Template, ValuesPrintAsGoDoes) {
  EXPECT_EQ(render("{{.Null}}"), "<no value>");
  EXPECT_EQ(render("{{.Missing}}"), "<no value>");
  EXPECT_EQ(render("{{.Missing.Deeper}}"), "<no value>");
  EXPECT_EQ(render("{{.Config.Entrypoint}}"), "<no value>");
  EXPECT_EQ(render("{{.Config.Cmd}}"), "[sh -c echo hi]");
  EXPECT_EQ(render("{{.Config.Env}}"), "[]");
  EXPECT_EQ(render("{{.Labels}}"), "map[a:1 b:2 com.x:y]");
  EXPECT_EQ(render("{{.Config.Mixed}}"), "map[n:1 s:x z:<nil>]");
  EXPECT_EQ(render("{{.Half}} {{.Big}}"), "0.5 1e+06");
  EXPECT_EQ(render("{{.}}", Json::parse(R"({"b":[1,{"x":null}],"a":"s"})")),
            "map[a:s b:[1 map[x:<nil>]]]");
  EXPECT_EQ(render("{{.}}", Json("just a string")), "just a string");
  EXPECT_EQ(render("{{.X}}", Json::parse(R"({"X":123456.0})")), "123456");
  EXPECT_EQ(render("{{.X}}", Json::parse(R"({"X":0.00001})")), "1e-05");
  EXPECT_EQ(render("{{.X}}", Json::parse(R"({"X":-2.25})")), "-2.25");
}

TEST(Template, Json) {
  EXPECT_EQ(render("{{json .Labels}}"), R"({"b":"2","a":"1","com.x":"y"})");
  EXPECT_EQ(render("{{json .Config.Cmd}}"), R"(["sh","-c","echo hi"])");
  EXPECT_EQ(render("{{json .Repository}}"), R"("busybox")");
  EXPECT_EQ(render("{{json .Null}} {{json .Missing}}"), "null null");
  // Docker 20.10's CLI marshals with Go's HTML escaping: "<none>" prints as "\u003cnone\u003e".
  EXPECT_EQ(render("{{json .}}", Json::parse(R"({"a":"<&>","n":1})")),
            R"({"a":"\u003c\u0026\u003e","n":1})");
  // Invalid UTF-8 is replaced, not thrown.
  EXPECT_EQ(render("{{json .}}", Json{{"s", std::string("a\xff")}}), "{\"s\":\"a\xef\xbf\xbd\"}");
  // The list convention "json" means {{json .}}.
  EXPECT_EQ(render("json", Json::parse(R"({"a":1})")), R"({"a":1})");
}

TEST(Template, StringFunctions) {
  EXPECT_EQ(render("{{upper .Repository}}"), "BUSYBOX");
  EXPECT_EQ(render("{{lower \"MiXed\"}}"), "mixed");
  EXPECT_EQ(render("{{title \"hello wide-world\"}}"), "Hello Wide-World");
  EXPECT_EQ(render("{{join .List \", \"}}"), "a, b, c");
  EXPECT_EQ(render("{{join .Nums \"+\"}}"), "1+2");
  EXPECT_EQ(render("{{join .Null \",\"}}|"), "|");
  EXPECT_EQ(render("{{split \"a:b:c\" \":\"}}"), "[a b c]");
  EXPECT_EQ(render("{{index (split .Repository \"y\") 0}}"), "bus");
  EXPECT_EQ(render("[{{pad .Tag 2 1}}]"), "[  latest ]");
  EXPECT_EQ(render("[{{pad .Empty 2 1}}]"), "[]");
  EXPECT_EQ(render("{{truncate .ID 4}}"), "8135");
  EXPECT_EQ(render("{{truncate .Tag 40}}"), "latest");
}

TEST(Template, Index) {
  EXPECT_EQ(render("{{index .Labels \"a\"}}"), "1");
  EXPECT_EQ(render("{{index .Labels \"com.x\"}}"), "y");
  EXPECT_EQ(render("[{{index .Labels \"nope\"}}]"), "[]");  // a string map's zero value
  EXPECT_EQ(render("{{index .Config.Mixed \"nope\"}}"), "<no value>");
  EXPECT_EQ(render("{{index .List 1}}"), "b");
  EXPECT_EQ(render("{{index .Config \"Nested\" \"Deep\"}}"), "down");
  EXPECT_EQ(render("{{(index .Config \"Nested\").Deep}}"), "down");
  EXPECT_NE(execError("{{index .List 3}}").find("error calling index: index out of range: 3"),
            std::string::npos);
  EXPECT_NE(execError("{{index .Null \"a\"}}").find("index of untyped nil"), std::string::npos);
}

TEST(Template, Comparisons) {
  EXPECT_EQ(render("{{eq .Tag \"latest\"}} {{eq .Tag \"x\" \"latest\"}} {{ne .Size 0}}"),
            "true true true");
  EXPECT_EQ(render("{{lt 1 2}} {{le 2 2}} {{gt 1.5 2}} {{ge \"b\" \"a\"}}"),
            "true true false true");
  EXPECT_EQ(render("{{eq .Null nil}} {{eq .Missing nil}} {{eq .Zero 0}} {{eq .Size 4261550}}"),
            "true true true true");
  EXPECT_EQ(render("{{and 1 0}} {{and 1 \"x\"}} {{or 0 \"\" \"y\"}} {{or 0 \"\"}}|{{not .Ok}}"),
            "0 x y |false");
  EXPECT_EQ(render("{{len .List}} {{len .Labels}} {{len .Tag}}"), "3 3 6");
  EXPECT_NE(execError("{{lt 1 \"a\"}}").find("incompatible types for comparison"),
            std::string::npos);
  EXPECT_EQ(render("{{eq 0x10 16}} {{eq 1_000 1000}} {{eq -3 -3}} {{eq 1e3 1000.0}}"),
            "true true true true");
}

TEST(Template, Printing) {
  EXPECT_EQ(render("{{printf \"%-8s|%5s|\" .Tag \"ab\"}}"), "latest  |   ab|");
  EXPECT_EQ(
      render("{{printf \"%d %05.1f %x %X %t %q %v %%\" 42 3.14159 255 255 true \"a\" .List}}"),
      "42 003.1 ff FF true \"a\" [a b c] %");
  EXPECT_EQ(render("{{printf \"%.3s\" .Repository}}"), "bus");
  EXPECT_EQ(render("{{printf \"%s\"}}"), "%!s(MISSING)");
  EXPECT_EQ(render("{{printf \"%d\" \"x\"}}"), "%!d(string=x)");
  EXPECT_EQ(render("{{printf \"a\" 1}}"), "a%!(EXTRA int=1)");
  EXPECT_EQ(render("{{print 1 2}} {{print \"a\" 1 \"b\"}}"), "1 2 a1b");
  EXPECT_EQ(render("{{println \"a\" 1}}"), "a 1\n");
  EXPECT_EQ(render("{{.Tag | printf \"%s!\"}}"), "latest!");
  EXPECT_EQ(render("{{.Repository | upper | printf \"<%s>\"}}"), "<BUSYBOX>");
}

TEST(Template, ControlFlow) {
  EXPECT_EQ(render("{{if .Ok}}yes{{else}}no{{end}}"), "yes");
  EXPECT_EQ(render("{{if .No}}yes{{else}}no{{end}}"), "no");
  EXPECT_EQ(render("{{if .Null}}a{{else if .Zero}}b{{else if .Tag}}c{{else}}d{{end}}"), "c");
  EXPECT_EQ(render("{{if .Missing}}x{{end}}|"), "|");
  EXPECT_EQ(render("{{if .Empty}}x{{else}}y{{end}} {{if .Config.Env}}x{{else}}y{{end}}"), "y y");
  EXPECT_EQ(render("{{if eq .Tag \"latest\"}}L{{end}}"), "L");
  EXPECT_EQ(render("{{with .Config.Nested}}{{.Deep}}{{end}}"), "down");
  EXPECT_EQ(render("{{with .Null}}x{{else}}none{{end}}"), "none");
  EXPECT_EQ(render("{{range .List}}<{{.}}>{{end}}"), "<a><b><c>");
  EXPECT_EQ(render("{{range $i, $v := .List}}{{$i}}={{$v}} {{end}}"), "0=a 1=b 2=c ");
  EXPECT_EQ(render("{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}"), "a=1;b=2;com.x=y;");
  EXPECT_EQ(render("{{range $v := .Labels}}{{$v}}{{end}}"), "12y");
  EXPECT_EQ(render("{{range .Config.Env}}x{{else}}empty{{end}}"), "empty");
  EXPECT_EQ(render("{{range .Null}}x{{else}}nil{{end}}"), "nil");
  EXPECT_EQ(render("{{range .List}}{{$.Tag}}{{end}}"), "latestlatestlatest");
  EXPECT_EQ(render("{{$x := .Tag}}{{$x}}-{{$x}}"), "latest-latest");
  EXPECT_EQ(render("{{if $t := .Tag}}{{$t}}{{end}}"), "latest");
  EXPECT_EQ(render("{{range .List}}{{if eq . \"b\"}}B{{else}}{{.}}{{end}}{{end}}"), "aBc");
  EXPECT_NE(execError("{{range .Tag}}{{end}}").find("range can't iterate over latest"),
            std::string::npos);
}

TEST(Template, TrimMarkersAndComments) {
  EXPECT_EQ(render("a  \n {{- .Tag -}} \n  b"), "alatestb");
  EXPECT_EQ(render("a {{- .Tag}} b"), "alatest b");
  EXPECT_EQ(render("a {{.Tag -}} b"), "a latestb");
  EXPECT_EQ(render("x{{/* a comment */}}y"), "xy");
  EXPECT_EQ(render("x {{- /* trimmed */ -}} y"), "xy");
  EXPECT_EQ(render("{{-3}}"), "-3");  // no space after the dash: a number
  EXPECT_EQ(render("{{\"}}\"}}"), "}}");
  EXPECT_EQ(render("{{`raw\\t`}}", row(), {.listFormat = false}), "raw\\t");
  EXPECT_EQ(render("{{\"a\\tb\\u00e9\"}}", row(), {.listFormat = false}), "a\tb\xc3\xa9");
  EXPECT_EQ(render("{{range .List}}\n  {{- .}}\n{{- end}}"), "abc");
}

TEST(Template, ListFormatConventions) {
  // docker/cli turns the two characters \t and \n into a tab and a newline, and trims spaces.
  EXPECT_EQ(render("{{.Repository}}\\t{{.Tag}}\\n"), "busybox\tlatest\n");
  EXPECT_EQ(render("  {{.Tag}}  "), "latest");
  TemplateOptions raw{.listFormat = false};
  EXPECT_EQ(render("{{.Repository}}\\t{{.Tag}} ", row(), raw), "busybox\\tlatest ");
  EXPECT_EQ(render("table", row(), raw), "table");

  auto t = Template::parse("table {{.ID}}\\t{{.Repository}}\\t{{.CreatedSince}}");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->isTable());
  EXPECT_FALSE(t->empty());
  EXPECT_EQ(
      t->header({{"ID", "IMAGE ID"}, {"Repository", "REPOSITORY"}, {"CreatedSince", "CREATED"}}),
      "IMAGE ID\tREPOSITORY\tCREATED");
  EXPECT_EQ(*t->render(row()), "8135583d97fe\tbusybox\t<no value>");
  // Without a title the field name is upper-cased.
  EXPECT_EQ(t->header({}), "ID\tREPOSITORY\tCREATEDSINCE");

  auto bare = Template::parse("table");
  ASSERT_TRUE(bare);
  EXPECT_TRUE(bare->isTable());
  EXPECT_TRUE(bare->empty());
  auto plain = Template::parse("{{.ID}}");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->isTable());
}

TEST(Template, HeaderPassesStringFunctionsThrough) {
  auto t =
      Template::parse("table {{upper .Repository}}\t{{json .Size}}\t{{truncate .ID 3}}|{{.Size}}");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->header({{"Repository", "REPOSITORY"}, {"Size", "SIZE"}, {"ID", "IMAGE ID"}}),
            "REPOSITORY\tSIZE\tIMAGE ID|SIZE");
  // An error stops the header quietly, keeping what was printed.
  auto nested = Template::parse("table {{.ID}}\t{{.Config.Cmd}}\t{{.Tag}}");
  ASSERT_TRUE(nested);
  EXPECT_EQ(nested->header({{"ID", "IMAGE ID"}}), "IMAGE ID\t");
}

TEST(Template, MissingKeyError) {
  TemplateOptions inspect{.listFormat = false, .missingKeyError = true};
  EXPECT_EQ(execError("{{.Foo}}", inspect),
            "template: :1:2: executing \"\" at <.Foo>: map has no entry for key \"Foo\"");
  EXPECT_EQ(execError("x\n  {{.Config.Nope}}", inspect),
            "template: :2:4: executing \"\" at <.Config.Nope>: map has no entry for key \"Nope\"");
  EXPECT_EQ(render("{{.Config.Nested.Deep}}", row(), inspect), "down");
  EXPECT_EQ(render("{{.Null}}", row(), inspect), "<no value>");
}

TEST(Template, ExecutionErrors) {
  EXPECT_EQ(
      execError("{{.Tag.Name}}"),
      "template: :1:2: executing \"\" at <.Tag.Name>: can't evaluate field Name in type string");
  EXPECT_EQ(
      execError("{{.Null.Name}}"),
      "template: :1:2: executing \"\" at <.Null.Name>: nil pointer evaluating interface {}.Name");
  EXPECT_NE(execError("{{.Tag 1}}").find("can't give argument to non-function .Tag"),
            std::string::npos);
  EXPECT_NE(execError("{{upper}}").find("wrong number of args for upper: want 1 got 0"),
            std::string::npos);
  EXPECT_NE(execError("{{upper .Null}}").find("invalid value; expected string"), std::string::npos);
}

TEST(Template, ParseErrors) {
  EXPECT_EQ(parseError("{{.ID"), "template parsing error: template: :1: unclosed action");
  EXPECT_EQ(parseError("{{foo .ID}}"),
            "template parsing error: template: :1: function \"foo\" not defined");
  EXPECT_EQ(parseError("a\n{{end}}"), "template parsing error: template: :2: unexpected {{end}}");
  EXPECT_EQ(parseError("{{if .Ok}}x"), "template parsing error: template: :1: unexpected EOF");
  EXPECT_EQ(parseError("{{$x}}"),
            "template parsing error: template: :1: undefined variable \"$x\"");
  EXPECT_EQ(parseError("{{range .List}}{{$v := .}}{{end}}{{$v}}"),
            "template parsing error: template: :1: undefined variable \"$v\"");
  for (const char* bad :
       {"{{}}", "{{.ID | }}", "{{(.ID}}", "{{.ID)}}", "{{\"abc}}", "{{`abc}}", "{{/* x }}",
        "{{/* x */ .ID}}", "{{#}}", "{{else}}", "{{if}}{{end}}", "{{define \"x\"}}{{end}}",
        "{{$x = 1}}", "{{1x}}", "{{if .Ok}}{{else}}{{else}}{{end}}",
        "{{range $a, $b, $c := .List}}{{end}}", "{{\"\\q\"}}"}) {
    std::string msg = parseError(bad);
    EXPECT_EQ(msg.rfind("template parsing error: template: :1: ", 0), 0u) << bad << " -> " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << bad;
  }
}

TEST(Template, ErrorsStayOnOneLine) {
  EXPECT_EQ(parseError("{{.A`x\ny`}}"),
            "template parsing error: template: :1: missing space before \"x\\ny\"");
  auto t = Template::parse("{{range .X}}{{end}}");
  ASSERT_TRUE(t);
  auto r = t->render(Json{{"X", "a\nb"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "template: :1:8: executing \"\" at <{{range .X}}>: range can't iterate over a\\nb");
}

TEST(Template, NestingIsBounded) {
  std::string deep;
  for (int i = 0; i < 50; ++i) deep += "{{if .Ok}}";
  deep += "x";
  for (int i = 0; i < 50; ++i) deep += "{{end}}";
  EXPECT_EQ(render(deep), "x");
  EXPECT_EQ(render("{{" + std::string(50, '(') + ".Tag" + std::string(50, ')') + "}}"), "latest");
  std::string tooDeep;
  for (int i = 0; i < 5000; ++i) tooDeep += "{{with .}}";
  EXPECT_NE(parseError(tooDeep).find("max expression depth exceeded"), std::string::npos);
  EXPECT_NE(parseError("{{" + std::string(5000, '(') + ".Tag" + std::string(5000, ')') + "}}")
                .find("max expression depth exceeded"),
            std::string::npos);
}

TEST(Template, NeverThrows) {
  // Odd data shapes and formats come back as values or errors.
  for (const Json& data : {Json(), Json(1), Json::array(), Json("s"), row()}) {
    for (const char* f :
         {"{{.}}", "{{.A}}", "{{json .}}", "{{range .}}{{.}}{{end}}", "{{index . 0}}", "{{len .}}",
          "{{printf \"%d %s %v\" . . .}}", "{{upper .}}"}) {
      auto t = Template::parse(f);
      ASSERT_TRUE(t) << f;
      (void)t->render(data);
    }
  }
}

}  // namespace
}  // namespace strata
