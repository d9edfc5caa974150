// Dockerfile word expansion: BuildKit's own data files (read as ../shared/conformance/shell-words/
// FORMAT.md says), then what those files do not cover: the ? messages, pattern operators, the
// set/unset bookkeeping, the options, the backtick escape and UTF-8.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "conformance.h"
#include "dockerfile/shell.h"
#include "dockerfile/text.h"

namespace strata::dockerfile {
namespace {

// ---- conformance data ----

// Lines as Go's bufio.Scanner yields them: split at '\n', a trailing '\r' dropped, no empty
// line after a final newline.
std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

std::string trim(const std::string& s) {
  const char* ws = " \t\n\r\v\f";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

std::vector<std::string> splitAll(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

std::string show(const std::vector<std::string>& words) {
  std::string out = "[";
  for (size_t i = 0; i < words.size(); ++i) out += (i ? ", \"" : "\"") + words[i] + "\"";
  return out + "]";
}

TEST(ShellConformance, EnvVarTest) {
  const std::string text = testing::readConformanceFile("shell-words/envVarTest");
  ASSERT_FALSE(text.empty()) << "cannot read " << testing::conformanceDir()
                             << "/shell-words/envVarTest";
  const Vars vars{{"PWD", "/home"}, {"SHELL", "bash"}, {"KOREAN", "한국어"}, {"NULL", ""}};
  const ShellLexer lexer;
  int applicable = 0, windowsOnly = 0, passed = 0, lineNo = 0;
  for (const std::string& raw : splitLines(text)) {
    ++lineNo;
    if (!raw.empty() && raw[0] == '#') continue;
    const std::string line = trim(raw);
    if (line.empty()) continue;
    std::vector<std::string> fields = splitAll(line, '|');
    if (fields.size() != 3) {
      ADD_FAILURE() << "envVarTest line " << lineNo << ": " << fields.size() << " fields";
      continue;
    }
    const std::string tag = trim(fields[0]), input = trim(fields[1]), expected = trim(fields[2]);
    if (tag == "W") {
      ++windowsOnly;
      continue;
    }
    if (tag != "A" && tag != "U") {
      ADD_FAILURE() << "envVarTest line " << lineNo << ": bad platform tag `" << tag << "`";
      continue;
    }
    ++applicable;
    Result<std::string> got = lexer.processWord(input, vars);
    const bool ok = expected == "error" ? !got.has_value() : (got && *got == expected);
    if (ok) {
      ++passed;
    } else {
      ADD_FAILURE() << "envVarTest line " << lineNo << ": input `" << input << "` expected `"
                    << expected << "` got "
                    << (got ? "`" + *got + "`" : "error: " + got.error().message());
    }
  }
  ASSERT_GT(applicable, 0) << "no cases found";
  EXPECT_EQ(applicable, 228);
  EXPECT_EQ(windowsOnly, 2);
  EXPECT_EQ(passed, applicable);
}

TEST(ShellConformance, WordsTest) {
  const std::string text = testing::readConformanceFile("shell-words/wordsTest");
  ASSERT_FALSE(text.empty()) << "cannot read " << testing::conformanceDir()
                             << "/shell-words/wordsTest";
  const ShellLexer lexer;
  Vars vars;
  int cases = 0, envLines = 0, passed = 0, lineNo = 0;
  for (const std::string& line : splitLines(text)) {
    ++lineNo;
    if (!line.empty() && line[0] == '#') continue;
    if (line.rfind("ENV ", 0) == 0) {
      ++envLines;
      std::string entry = line.substr(3);
      entry.erase(0, entry.find_first_not_of(' '));
      size_t eq = entry.find('=');
      if (eq == std::string::npos) {
        vars[entry] = "";
      } else {
        vars[entry.substr(0, eq)] = entry.substr(eq + 1);
      }
      continue;
    }
    std::vector<std::string> fields = splitAll(line, '|');
    if (fields.size() != 2) {
      ADD_FAILURE() << "wordsTest line " << lineNo << ": " << fields.size() << " fields";
      continue;
    }
    ++cases;
    const std::string input = trim(fields[0]);
    std::string expectedText = fields[1];
    expectedText.erase(0, expectedText.find_first_not_of(' '));
    const std::vector<std::string> expected = splitAll(expectedText, ',');
    Result<std::vector<std::string>> got = lexer.processWords(input, vars);
    const std::vector<std::string> words = got ? *got : std::vector<std::string>{"error"};
    if (words == expected) {
      ++passed;
    } else {
      ADD_FAILURE() << "wordsTest line " << lineNo << ": input `" << input << "` expected "
                    << show(expected) << " got " << show(words)
                    << (got ? "" : " (" + got.error().message() + ")");
    }
  }
  ASSERT_GT(cases, 0) << "no cases found";
  EXPECT_EQ(cases, 24);
  EXPECT_EQ(envLines, 4);
  EXPECT_EQ(passed, cases);
}

// ---- helpers for the hand-written cases ----

std::string word(std::string_view text, const Vars& vars = {}, ShellOptions options = {}) {
  Result<std::string> r = ShellLexer(options).processWord(text, vars);
  return r ? *r : "ERROR: " + r.error().message();
}

std::string errorOf(std::string_view text, const Vars& vars = {}, ShellOptions options = {}) {
  Result<std::string> r = ShellLexer(options).processWord(text, vars);
  return r ? "no error, got `" + *r + "`" : r.error().message();
}

std::vector<std::string> words(std::string_view text, const Vars& vars = {},
                               ShellOptions options = {}) {
  Result<std::vector<std::string>> r = ShellLexer(options).processWords(text, vars);
  return r ? *r : std::vector<std::string>{"ERROR: " + r.error().message()};
}

using Names = std::set<std::string>;

// ---- ${VAR?message} / ${VAR:?message} ----

TEST(ShellRequired, MessagesFromTheWord) {
  const Vars set{{"VAR", "plain"}, {"ARG", "x"}};
  const Vars empty{{"VAR", ""}, {"ARG", "x"}};
  const Vars unset{{"ARG", "x"}};
  const char* noEmpty = "${VAR:?message here$ARG}";
  const char* noUnset = "${VAR?message here$ARG}";

  EXPECT_EQ(word(noEmpty, set), "plain");
  EXPECT_EQ(errorOf(noEmpty, empty),
            "failed to process \"${VAR:?message here$ARG}\": VAR: message herex");
  EXPECT_EQ(errorOf(noEmpty, unset),
            "failed to process \"${VAR:?message here$ARG}\": VAR: message herex");

  EXPECT_EQ(word(noUnset, set), "plain");
  EXPECT_EQ(word(noUnset, empty), "");
  EXPECT_EQ(errorOf(noUnset, unset),
            "failed to process \"${VAR?message here$ARG}\": VAR: message herex");
}

TEST(ShellRequired, DefaultMessages) {
  EXPECT_EQ(errorOf("${X?}"), "failed to process \"${X?}\": X: is not allowed to be unset");
  EXPECT_EQ(errorOf("${X:?}"), "failed to process \"${X:?}\": X: is not allowed to be unset");
  EXPECT_EQ(errorOf("a${X:?}", {{"X", ""}}),
            "failed to process \"a${X:?}\": X: is not allowed to be empty");
  EXPECT_EQ(word("${X?}", {{"X", ""}}), "");
  // The message is expanded; a quoted message keeps its spaces.
  EXPECT_EQ(errorOf("${X?\"set X  please\"}"),
            "failed to process \"${X?\\\"set X  please\\\"}\": X: set X  please");
}

TEST(ShellRequired, ErrorsStayOnOneLine) {
  // A newline in the message is written as \n, as it is in the quoted text.
  EXPECT_EQ(errorOf("${X?line one\nline two}"),
            "failed to process \"${X?line one\\nline two}\": X: line one\\nline two");
}

// ---- matched and unmatched names (BuildKit's table of cases) ----

struct MatchCase {
  std::string input;
  Vars vars;
  std::string expected;  // "ERROR" when it must fail
  Names matched;
  Names unmatched;
};

class ShellMatches : public ::testing::TestWithParam<MatchCase> {};

TEST_P(ShellMatches, ResultAndNames) {
  const MatchCase& c = GetParam();
  Result<Expansion> r = ShellLexer().process(c.input, c.vars);
  if (c.expected == "ERROR") {
    EXPECT_FALSE(r.has_value()) << "got `" << r->word << "`";
    return;
  }
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->word, c.expected);
  EXPECT_EQ(r->matched, c.matched);
  EXPECT_EQ(r->unmatched, c.unmatched);
}

const Vars kFooBar{{"FOO", "xxx"}, {"BAR", ""}};

INSTANTIATE_TEST_SUITE_P(
    BuildKitTable, ShellMatches,
    ::testing::Values(
        MatchCase{"x", {{"DUMMY", "dummy"}}, "x", {}, {}},
        MatchCase{"x ${UNUSED}", {{"DUMMY", "dummy"}}, "x ", {}, {"UNUSED"}},
        MatchCase{"x ${FOO}", {{"FOO", "y"}}, "x y", {"FOO"}, {}},
        MatchCase{"${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", kFooBar, "xxx  ccc", {"FOO", "BAR"}, {"BAZ"}},
        MatchCase{
            "${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}", kFooBar, "xxx bbb ccc", {"FOO", "BAR"}, {"BAZ"}},
        MatchCase{"${FOO:-}", kFooBar, "xxx", {"FOO"}, {}},
        MatchCase{"${FOO:-}", {}, "", {}, {"FOO"}},
        MatchCase{"${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}", kFooBar, "aaa bbb ", {"FOO", "BAR"}, {"BAZ"}},
        MatchCase{"${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", kFooBar, "aaa  ", {"FOO", "BAR"}, {"BAZ"}},
        MatchCase{"${FOO?aaa}", kFooBar, "xxx", {"FOO"}, {}},
        MatchCase{"${BAR?bbb}", kFooBar, "", {"BAR"}, {}},
        MatchCase{"${BAZ?ccc}", kFooBar, "ERROR", {}, {}},
        MatchCase{"${FOO:?aaa}", kFooBar, "xxx", {"FOO"}, {}},
        MatchCase{"${BAR:?bbb}", kFooBar, "ERROR", {}, {}},
        MatchCase{"${BAZ:?ccc}", kFooBar, "ERROR", {}, {}},
        MatchCase{"${BAZ:?}", kFooBar, "ERROR", {}, {}},
        MatchCase{"${FOO=aaa}", kFooBar, "ERROR", {}, {}},
        MatchCase{"${FOO=:aaa}", kFooBar, "ERROR", {}, {}},
        MatchCase{"${FOO=}", {}, "ERROR", {}, {}},
        // Characters that are special in regular expressions are plain here; \} keeps the
        // brace from closing the reference.
        MatchCase{"${FOO#()[]{\\}^$.\\*\\?|\\\\}", {{"FOO", "()[]{}^$.*?|\\x"}}, "x", {"FOO"}, {}},
        MatchCase{"${FOO%%\\**}", {{"FOO", "xx**"}}, "xx", {"FOO"}, {}},
        MatchCase{"${FOO#*x*y}", {{"FOO", "xxyy"}}, "y", {"FOO"}, {}},
        MatchCase{"${FOO#*}", {{"FOO", "xxyy"}}, "xxyy", {"FOO"}, {}},
        MatchCase{"${FOO#$BAR}", {{"FOO", "xxyy"}, {"BAR", "x"}}, "xyy", {"FOO", "BAR"}, {}},
        MatchCase{"${FOO#$BAR}", {{"FOO", "xxyy"}, {"BAR", ""}}, "xxyy", {"FOO", "BAR"}, {}},
        MatchCase{"${FOO#}", {{"FOO", "xxyy"}}, "xxyy", {"FOO"}, {}},
        MatchCase{"${FOO##*x}", {{"FOO", "xxyy"}}, "yy", {"FOO"}, {}},
        MatchCase{"${FOO##}", {{"FOO", "xxyy"}}, "xxyy", {"FOO"}, {}},
        MatchCase{"${FOO#?\\?}", {{"FOO", "???y"}}, "?y", {"FOO"}, {}},
        MatchCase{"${ABC:-.}${FOO%x}${ABC:-.}", {{"FOO", "xxyy"}}, ".xxyy.", {"FOO"}, {"ABC"}},
        MatchCase{"${FOO%%\\**\\*}", {{"FOO", "a***yy*"}}, "a", {"FOO"}, {}},
        MatchCase{"${FOO%}", {{"FOO", "xxyy"}}, "xxyy", {"FOO"}, {}},
        MatchCase{"${FOO%%$BAR}", {{"FOO", "xxyy"}, {"BAR", ""}}, "xxyy", {"FOO", "BAR"}, {}},
        MatchCase{"${FOO:#}", {}, "ERROR", {}, {}}, MatchCase{"${FOO:##}", {}, "ERROR", {}, {}},
        MatchCase{"${FOO:%}", {}, "ERROR", {}, {}}, MatchCase{"${FOO:%%}", {}, "ERROR", {}, {}},
        MatchCase{"${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}",
                  {{"FOO", "/foo*/*/*.txt"}, {"NEEDLE", "\\*/"}},
                  "/foo.*/*.txt - /foo..*.txt",
                  {"FOO", "NEEDLE"},
                  {}},
        MatchCase{"${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}",
                  {{"FOO", "/tmp/tmp/bar.txt"}, {"NEEDLE", "/tmp"}},
                  "/tmp/bar.txt - /bar.txt",
                  {"FOO", "NEEDLE"},
                  {}},
        MatchCase{"${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}",
                  {{"FOO", "/a/foo/b/c.txt"}, {"NEEDLE", "/?/"}, {"REPLACEMENT", "/"}},
                  "/foo/b/c.txt - /foo/c.txt",
                  {"FOO", "NEEDLE", "REPLACEMENT"},
                  {}},
        MatchCase{"${FOO/$NEEDLE/$REPLACEMENT}",
                  {{"FOO", "http://google.de"}, {"NEEDLE", "http://"}, {"REPLACEMENT", "https://"}},
                  "https://google.de",
                  {"FOO", "NEEDLE", "REPLACEMENT"},
                  {}},
        MatchCase{"${FOO//\\//\\/}", {{"FOO", "/tmp/foo.txt"}}, "\\/tmp\\/foo.txt", {"FOO"}, {}},
        MatchCase{"${FOO/$BAR/ww}", {{"FOO", "xxyy"}, {"BAR", ""}}, "wwxxyy", {"FOO", "BAR"}, {}},
        MatchCase{"${FOO//ww}", {{"FOO", "xxyy"}}, "ERROR", {}, {}},
        MatchCase{"${FOO//}", {{"FOO", "xxyy"}}, "ERROR", {}, {}},
        MatchCase{"${FOO///}", {{"FOO", "xxyy"}}, "xxyy", {"FOO"}, {}},
        MatchCase{"${FOO///}", {}, "", {}, {"FOO"}}));

TEST(ShellMatchesExtra, NamesInsideOperatorWords) {
  Result<Expansion> r =
      ShellLexer().process("${A:-$B}${C:+$D}'$E'\"$F\"", {{"C", "1"}, {"F", "f"}});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->word, "$Ef");
  EXPECT_EQ(r->matched, (Names{"C", "F"}));
  EXPECT_EQ(r->unmatched, (Names{"A", "B", "D"}));
}

TEST(ShellMatchesExtra, PlatformFileName) {
  const char* release =
      "something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz";
  Vars vars{
      {"VERSION", "v1.2.3"}, {"TARGETOS", "linux"}, {"TARGETARCH", "arm"}, {"TARGETVARIANT", "v7"}};
  EXPECT_EQ(word(release, vars), "something-v1.2.3.linux-arm-v7.tar.gz");
  vars["TARGETARCH"] = "arm64";
  vars["TARGETVARIANT"] = "";
  EXPECT_EQ(word(release, vars), "something-v1.2.3.linux-arm64.tar.gz");
  vars.erase("TARGETVARIANT");
  EXPECT_EQ(word(release, vars), "something-v1.2.3.linux-arm64.tar.gz");
}

// ---- patterns ----

TEST(ShellPatterns, PrefixAndSuffix) {
  const Vars v{{"P", "/usr/local/bin/tool.tar.gz"}, {"E", ""}};
  EXPECT_EQ(word("${P#*/}", v), "usr/local/bin/tool.tar.gz");
  EXPECT_EQ(word("${P##*/}", v), "tool.tar.gz");
  EXPECT_EQ(word("${P%.*}", v), "/usr/local/bin/tool.tar");
  EXPECT_EQ(word("${P%%.*}", v), "/usr/local/bin/tool");
  EXPECT_EQ(word("${P%/*}", v), "/usr/local/bin");
  EXPECT_EQ(word("${P#/usr}", v), "/local/bin/tool.tar.gz");
  EXPECT_EQ(word("${P#nomatch}", v), "/usr/local/bin/tool.tar.gz");
  EXPECT_EQ(word("${P%nomatch}", v), "/usr/local/bin/tool.tar.gz");
  EXPECT_EQ(word("${P#?}", v), "usr/local/bin/tool.tar.gz");
  EXPECT_EQ(word("${P%???}", v), "/usr/local/bin/tool.tar");
  // Unset and empty variables trim to nothing and are recorded.
  Result<Expansion> r = ShellLexer().process("${NOPE#a}${E%%b}", v);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->word, "");
  EXPECT_EQ(r->matched, Names{"E"});
  EXPECT_EQ(r->unmatched, Names{"NOPE"});
}

TEST(ShellPatterns, GreedyMarkerMayComeFromExpansion) {
  EXPECT_EQ(word("${P#$H}", {{"P", "a/b/c"}, {"H", "#*/"}}), "c");
  EXPECT_EQ(word("${P%\"%\"/*}", {{"P", "a/b/c"}}), "a");
}

TEST(ShellPatterns, BracketsAreLiteral) {
  // BuildKit patterns have no bracket expressions: [ab] matches the text "[ab]".
  EXPECT_EQ(word("${P#[ab]}", {{"P", "abc"}}), "abc");
  EXPECT_EQ(word("${P#[ab]}", {{"P", "[ab]c"}}), "c");
}

TEST(ShellPatterns, WildcardsStopAtNewlines) {
  const Vars v{{"P", "one\ntwo\nthree"}};
  EXPECT_EQ(word("${P#*o}", v), "ne\ntwo\nthree");
  EXPECT_EQ(word("${P##*o}", v), "ne\ntwo\nthree");  // the o of "two" is out of reach
  EXPECT_EQ(word("${P#*t}", v), "one\ntwo\nthree");  // no t before the first newline
  EXPECT_EQ(word("${P#one?}", v), "one\ntwo\nthree");
  EXPECT_EQ(word("${P//t*/X}", v), "one\nX\nX");
  EXPECT_EQ(word("${P%%e*}", v), "one\ntwo\nthr");
}

TEST(ShellPatterns, Replace) {
  const Vars v{{"P", "a-b-c"}};
  EXPECT_EQ(word("${P/-/+}", v), "a+b-c");
  EXPECT_EQ(word("${P//-/+}", v), "a+b+c");
  EXPECT_EQ(word("${P//-}", v),
            "ERROR: failed to process \"${P//-}\": syntax error: missing '/' in ${}");
  EXPECT_EQ(word("${P/-}", v),
            "ERROR: failed to process \"${P/-}\": syntax error: missing '/' in ${}");
  EXPECT_EQ(word("${P/-/", v), "ERROR: failed to process \"${P/-/\": syntax error: missing '}'");
  EXPECT_EQ(word("${P/*/x}", v), "x");
  EXPECT_EQ(word("${P/?/x}", v), "x-b-c");
  EXPECT_EQ(word("${P//?/x}", v), "xxxxx");
  EXPECT_EQ(word("${P/b*/x}", v), "a-x");
  EXPECT_EQ(word("${P/nomatch/x}", v), "a-b-c");
  EXPECT_EQ(word("${NOPE/a/b}", v), "");
  // An empty pattern matches at every place: before each character and at the end.
  EXPECT_EQ(word("${P///.}", v), ".a.-.b.-.c.");
  EXPECT_EQ(word("${P//*/.}", v), ".");
  // "/" and "}" are written with an escape inside the words; the replacement keeps it.
  EXPECT_EQ(word("${P//-/\\/}", v), "a\\/b\\/c");
  EXPECT_EQ(word("${P//-/\\}}", v), "a\\}b\\}c");
  EXPECT_EQ(word("${Q//\\//+}", {{"Q", "a/b"}}), "a+b");
}

TEST(ShellPatterns, ReplaceAllTemplate) {
  const Vars v{{"P", "a-b"}, {"T", "<$0>"}};
  // In ${P//p/r}, $0 in r (reaching it unexpanded: quoted, escaped or from a variable) is the
  // matched text and $$ is $; other names are empty; a lone $ stays.
  EXPECT_EQ(word("${P//-/'[$0]'}", v), "a[-]b");
  EXPECT_EQ(word("${P//-/$T}", v), "a<->b");
  EXPECT_EQ(word("${P//?/'${0}${0}'}", v), "aa--bb");
  EXPECT_EQ(word("${P//-/'$$'}", v), "a$b");
  EXPECT_EQ(word("${P//-/'$1$x${y}'}", v), "ab");
  EXPECT_EQ(word("${P//-/'$'}", v), "a$b");
  EXPECT_EQ(word("${P//-/'${0'}", v), "a${0b");
  EXPECT_EQ(word("${P//-/'$00'}", v), "ab");
  // A single replacement takes the text as it is.
  EXPECT_EQ(word("${P/-/'[$0]'}", v), "a[$0]b");
  // Unquoted, $0 is a parameter reference and expands (to nothing) first.
  EXPECT_EQ(word("${P//-/[$0]}", v), "a[]b");
}

TEST(ShellPatterns, InvalidPatterns) {
  const Vars v{{"P", "abc"}};
  EXPECT_EQ(errorOf("${P#\\a}", v),
            "failed to process \"${P#\\\\a}\": invalid pattern (\\a) in substitution: invalid "
            "escape '\\a'");
  // The suffix operator matches a reversed pattern, and its error shows it reversed.
  EXPECT_EQ(errorOf("${P%x\\a}", v),
            "failed to process \"${P%x\\\\a}\": invalid pattern (\\ax) in substitution: invalid "
            "escape '\\a'");
  EXPECT_EQ(errorOf("${P/\\a/b}", v),
            "failed to process \"${P/\\\\a/b}\": invalid pattern (\\a) in substitution: invalid "
            "escape '\\a'");
  // A lone trailing escape in a pattern (here from a variable).
  EXPECT_EQ(errorOf("${P#$B}", {{"P", "abc"}, {"B", "a\\"}}),
            "failed to process \"${P#$B}\": invalid pattern (a\\) in substitution: invalid escape "
            "'\\\xEF\xBF\xBD'");
  // An unset variable is not even matched, but the pattern is still checked.
  EXPECT_NE(errorOf("${NOPE#\\a}", v).find("invalid escape"), std::string::npos);
}

TEST(ShellPatterns, EscapesInPatternWords) {
  const Vars v{{"P", "a*b?c\\d"}};
  EXPECT_EQ(word("${P#a\\*}", v), "b?c\\d");
  EXPECT_EQ(word("${P#*\\?}", v), "c\\d");
  EXPECT_EQ(word("${P%\\\\*}", v), "a*b?c");
  EXPECT_EQ(word("${P#\"a*\"}", v), "*b?c\\d");  // quotes do not make * literal (nor greedy)
  EXPECT_EQ(word("${P#'a\\*'}", v), "b?c\\d");   // single quotes keep the escape for the pattern
}

// ---- errors ----

TEST(ShellErrors, Wording) {
  EXPECT_EQ(errorOf("he'llo"),
            "failed to process \"he'llo\": unexpected end of statement while looking for "
            "matching single-quote");
  EXPECT_EQ(errorOf("he\"llo"),
            "failed to process \"he\\\"llo\": unexpected end of statement while looking for "
            "matching double-quote");
  EXPECT_EQ(errorOf("${"), "failed to process \"${\": syntax error: missing '}'");
  EXPECT_EQ(errorOf("${}"), "failed to process \"${}\": syntax error: bad substitution");
  EXPECT_EQ(errorOf("${:-x}"), "failed to process \"${:-x}\": syntax error: bad substitution");
  EXPECT_EQ(errorOf("${{x}"), "failed to process \"${{x}\": syntax error: bad substitution");
  EXPECT_EQ(errorOf("${X:-abc"), "failed to process \"${X:-abc\": syntax error: missing '}'");
  EXPECT_EQ(errorOf("${X:-'abc}"), "failed to process \"${X:-'abc}\": syntax error: missing '}'");
  EXPECT_EQ(errorOf("${X:=a}"),
            "failed to process \"${X:=a}\": unsupported modifier (:=) in substitution");
  EXPECT_EQ(errorOf("${X=a}"),
            "failed to process \"${X=a}\": unsupported modifier (=) in substitution");
  EXPECT_EQ(errorOf("${X:#a}"),
            "failed to process \"${X:#a}\": unsupported modifier (:#) in substitution");
  EXPECT_EQ(errorOf("${X.}"),
            "failed to process \"${X.}\": unsupported modifier (.) in substitution");
  // The end of the text in place of an operator shows as U+FFFD, as in BuildKit.
  EXPECT_EQ(errorOf("${X"),
            "failed to process \"${X\": unsupported modifier (\xEF\xBF\xBD) in substitution");
  // A nested error is reported as it is when text follows it.
  EXPECT_EQ(errorOf("${X:-${}}"),
            "failed to process \"${X:-${}}\": syntax error: bad substitution");
  // The word is read before the operator is judged.
  EXPECT_EQ(errorOf("${X:=a"), "failed to process \"${X:=a\": syntax error: missing '}'");
}

TEST(ShellErrors, QuotedTextIsEscapedLikeGo) {
  EXPECT_EQ(errorOf("'\t\x01\x7f\xff\u00a0\u00e9\\"),
            "failed to process \"'\\t\\x01\\x7f\\xff\\u00a0\u00e9\\\\\": unexpected end of "
            "statement while looking for matching single-quote");
}

TEST(ShellErrors, DeepNestingIsRefused) {
  std::string ok, deep;
  for (int i = 0; i < ShellLexer::kMaxNesting; ++i) ok += "${X:-";
  ok += "end" + std::string(ShellLexer::kMaxNesting, '}');
  EXPECT_EQ(word(ok), "end");
  for (int i = 0; i < 100000; ++i) deep += "${X:-";
  std::string message = errorOf(deep);
  EXPECT_NE(message.find("nested more than"), std::string::npos) << message.substr(0, 200);
}

TEST(ShellErrors, ExpansionOverItsBudgetIsRefused) {
  // Each ${P//} level puts its replacement between every character of P: 27 times as long per
  // level, so seven levels of a 26-character value would be 10^10 bytes.
  const Vars v{{"P", "abcdefghijklmnopqrstuvwxyz"}};
  std::string nested = "x";
  for (int i = 0; i < 7; ++i) nested = "${P//" + std::string("/") + nested + "}";
  std::string message = errorOf(nested, v);
  EXPECT_TRUE(message.ends_with("\": expanded text is larger than 16 MiB")) << message;
  EXPECT_EQ(message.rfind("failed to process \"${P///${P///", 0), 0u) << message;

  // Many copies of a large value count against the budget together.
  const Vars big{{"B", std::string(1 << 20, 'b')}};
  std::string many;
  for (int i = 0; i < 16; ++i) many += "${B}";
  EXPECT_EQ(word(many, big).size(), size_t{16} << 20);
  EXPECT_NE(errorOf(many + "\"$B\"", big).find("larger than 16 MiB"), std::string::npos);

  // Three levels stay well within it and expand as before.
  std::string three = "x";
  for (int i = 0; i < 3; ++i) three = "${P//" + std::string("/") + three + "}";
  EXPECT_EQ(word(three, v).size(), 26 + 27 * (26 + 27 * (26 + 27)));
}

TEST(ShellPatterns, ReplaceMatchesStopsAtItsLimit) {
  using strata::dockerfile::shell_detail::replaceMatches;
  auto r = replaceMatches("", "abc", "0123456789", true, 42);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, std::nullopt);
  r = replaceMatches("", "abc", "0123456789", true, 43);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "0123456789a0123456789b0123456789c0123456789");
  EXPECT_EQ(*replaceMatches("b", "abc", "0123456789", false, 11), std::nullopt);
  EXPECT_EQ(*replaceMatches("b", "abc", "0123456789", false, 12), "a0123456789c");
  EXPECT_EQ(*replaceMatches("x", "abc", "0123456789", false, 2), std::nullopt);
  EXPECT_FALSE(replaceMatches("\\q", "abc", "", true, 100).has_value());  // a bad pattern
}

TEST(ShellErrors, ExpansionLimitIsAnOption) {
  ShellOptions small;
  small.maxExpandedBytes = 10;
  const Vars v{{"A", "12345"}};
  EXPECT_EQ(word("$A$A", v, small), "1234512345");
  EXPECT_EQ(errorOf("$A$A$A", v, small),
            "failed to process \"$A$A$A\": expanded text is larger than 10 bytes");
  EXPECT_EQ(errorOf("\"$A$A$A\"", v, small),
            "failed to process \"\\\"$A$A$A\\\"\": expanded text is larger than 10 bytes");
  EXPECT_EQ(errorOf("${A//?/$A}", v, small),
            "failed to process \"${A//?/$A}\": expanded text is larger than 10 bytes");
}

// ---- quotes, escapes and the options ----

TEST(ShellQuotes, DoubleQuoteEscapes) {
  const Vars v{{"A", "1"}};
  EXPECT_EQ(word(R"("\$A \"q\" \\ \a \'")", v), R"($A "q" \ \a \')");
  EXPECT_EQ(word(R"("$A${A}$")", v), "11$");
  EXPECT_EQ(word(R"('$A "\"')", v), R"($A "\")");
}

TEST(ShellQuotes, SpecialAndPositionalParameters) {
  const Vars v{{"@", "at"}, {"1", "one"}, {"10", "ten"}, {"0", "zero"}};
  EXPECT_EQ(word("$@-$1-$10-${10}-$0x-$1a", v), "at-one-ten-ten-zerox-onea");
  EXPECT_EQ(word("$$ $! $# $? $- $* $@", {}), "      ");
  EXPECT_EQ(word("$ $. $/ $", {}), "$ $. $/ $");
}

TEST(ShellOptions, BacktickEscape) {
  ShellOptions o;
  o.escape = '`';
  const Vars v{{"A", "1"}};
  EXPECT_EQ(word(R"(C:\dir\$A)", v, o), R"(C:\dir\1)");
  EXPECT_EQ(word("`$A `` `\"", v, o), "$A ` \"");
  EXPECT_EQ(word("\"a`\"b`$A`x\"", v, o), "a\"b$A`x");
  EXPECT_EQ(words("a` b c", v, o), (std::vector<std::string>{"a b", "c"}));
  EXPECT_EQ(word("end`", v, o), "end");
  // In patterns the escape is still \ (it is part of the pattern syntax).
  EXPECT_EQ(word(R"(${P#\*})", {{"P", "*x"}}, o), "x");
}

TEST(ShellOptions, RawQuotes) {
  ShellOptions o;
  o.rawQuotes = true;
  const Vars v{{"A", "1"}};
  EXPECT_EQ(word(R"('a $A' "b $A" c)", v, o), R"('a $A' "b 1" c)");
  EXPECT_EQ(words(R"('a b' "c d")", v, o), (std::vector<std::string>{"'a b'", "\"c d\""}));
  EXPECT_EQ(word(R"(${X:-"q"})", v, o), R"("q")");
}

TEST(ShellOptions, RawEscapes) {
  ShellOptions o;
  o.rawEscapes = true;
  EXPECT_EQ(word(R"(a\ b\$c\)", {}, o), R"(a\ b\$c\)");
  EXPECT_EQ(words(R"(a\ b c)", {}, o), (std::vector<std::string>{R"(a\ b)", "c"}));
  // In double quotes the kept escape is written once more before a character it cannot
  // escape, as BuildKit does.
  EXPECT_EQ(word(R"("\$ \a")", {}, o), R"(\$ \\a)");
}

TEST(ShellOptions, SkipUnset) {
  ShellOptions o;
  o.skipUnset = true;
  const Vars v{{"A", "1"}, {"E", ""}};
  EXPECT_EQ(word("$A $X ${X} ${E}", v, o), "1 $X ${X} ");
  EXPECT_EQ(word("${X:-$A} ${X+b} ${X?msg} ${X#p} ${X%%p}", v, o),
            "${X:-1} ${X+b} ${X?msg} ${X#p} ${X%%p}");
  EXPECT_EQ(word("${X/a/b} ${X//a/b}", v, o), "${X/a/b} ${X/a/b}");
  EXPECT_EQ(word("${E:-d} ${A:+s}", v, o), "d s");
  // Unsupported operators on an unset variable come back as written too.
  EXPECT_EQ(word("${X:=a}", v, o), "${X:=a}");
  EXPECT_NE(errorOf("${E:=a}", v, o).find("unsupported modifier (:=)"), std::string::npos);
  Result<Expansion> r = ShellLexer(o).process("$X$A", v);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->unmatched, Names{"X"});
  EXPECT_EQ(r->matched, Names{"A"});
}

TEST(ShellOptions, SkipProcessQuotes) {
  ShellOptions o;
  o.skipProcessQuotes = true;
  const Vars v{{"A", "1"}};
  EXPECT_EQ(word(R"('$A' "$A" it's)", v, o), R"('1' "1" it's)");
  EXPECT_EQ(words(R"('a b')", v, o), (std::vector<std::string>{"'a", "b'"}));
  EXPECT_EQ(word(R"(\'x\")", v, o), R"('x")");
}

// ---- word lists ----

TEST(ShellWords, Splitting) {
  const Vars v{{"S", " a  b "}, {"E", ""}, {"NB", "x\u00a0y\u3000z"}};
  EXPECT_EQ(words("  one \t two\n"), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(words("a \"\" '' b"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(words("x${S}y", v), (std::vector<std::string>{"x", "a", "b", "y"}));
  EXPECT_EQ(words("x\"${S}\"y", v), (std::vector<std::string>{"x a  b y"}));
  EXPECT_EQ(words("$E", v), (std::vector<std::string>{}));
  EXPECT_EQ(words("${S:+\"a b\"} c", v), (std::vector<std::string>{"a", "b", "c"}));
  // Unicode whitespace from a variable splits as well.
  EXPECT_EQ(words("$NB", v), (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(words(""), (std::vector<std::string>{}));
}

TEST(ShellWords, NestedWordsKeepWhatCameBefore) {
  // The text before a ${...} with an operator stays in the same word.
  EXPECT_EQ(words("hello${X:-a}", {}), (std::vector<std::string>{"helloa"}));
  EXPECT_EQ(words("x \"hello${X:-a b}\" y", {}), (std::vector<std::string>{"x", "helloa b", "y"}));
}

// ---- UTF-8 ----

TEST(ShellUtf8, NamesAndValues) {
  const Vars v{{"이름", "값"}, {"KOREAN", "한국어"}, {"١", "digit"}};
  EXPECT_EQ(word("$이름!", v), "값!");
  EXPECT_EQ(word("${KOREAN#한}", v), "국어");
  EXPECT_EQ(word("${KOREAN%?}", v), "한국");
  EXPECT_EQ(word("${KOREAN/국/-}", v), "한-어");
  EXPECT_EQ(word("${KOREAN//?/.}", v), "...");
  // Arabic-Indic digits form a positional parameter name, as any Unicode digit does.
  EXPECT_EQ(word("$١x", v), "digitx");
  EXPECT_EQ(word("\\한'국'\"어\"", v), "한국어");
}

TEST(ShellUtf8, StrayBytesAndByteOrderMark) {
  // A byte that is not UTF-8 reads as U+FFFD; a byte order mark at the start is dropped (only
  // there).
  EXPECT_EQ(word("a\xff"
                 "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(word("\xEF\xBB\xBF"
                 "x\xEF\xBB\xBF"),
            "x\xEF\xBB\xBF");
  // Values are copied as they are into the single string...
  const Vars v{{"B", "a\xff"}};
  EXPECT_EQ(word("$B", v), "a\xff");
  EXPECT_EQ(word("${B#a}", v), "\xff");
  // ...but decoded, so re-encoded, in the word list and by the suffix operator.
  EXPECT_EQ(words("$B", v), (std::vector<std::string>{"a\xEF\xBF\xBD"}));
  EXPECT_EQ(word("${B%x}", v), "a\xEF\xBF\xBD");
}

TEST(Text, Utf8Decoding) {
  EXPECT_EQ(text::decode("\xC3\xA9", 0).value, char32_t(0xE9));
  EXPECT_EQ(text::decode("\xC3\xA9", 0).width, 2u);
  EXPECT_EQ(text::decode("\xF0\x9F\x9A\x80", 0).value, char32_t(0x1F680));
  EXPECT_EQ(text::decode("\xF0\x9F\x9A\x80", 0).width, 4u);
  EXPECT_EQ(text::decode("\xC0\x80", 0).width, 1u);              // overlong
  EXPECT_EQ(text::decode("\xED\xA0\x80", 0).value, 0xFFFDu);      // surrogate
  EXPECT_EQ(text::decode("\xF4\x90\x80\x80", 0).value, 0xFFFDu);  // above U+10FFFF
  EXPECT_EQ(text::decode("\xE4\xB8", 0).value, char32_t(0xFFFD));
  EXPECT_EQ(text::decode("\xE4\xB8", 0).width, 1u);
}

TEST(Text, UnicodeClasses) {
  using namespace text;
  EXPECT_TRUE(isLetter(U'é'));
  EXPECT_TRUE(isLetter(U'한'));
  EXPECT_TRUE(isLetter(0x31350));  // CJK Extension H, new in Unicode 15.0
  EXPECT_FALSE(isLetter(U'_'));
  EXPECT_FALSE(isLetter(0x0301));  // combining mark
  EXPECT_TRUE(isDigit(0x0661));
  EXPECT_TRUE(isDigit(0x11F50));  // Kawi, Unicode 15.0
  EXPECT_FALSE(isDigit(0x00B2));  // superscript two is not Nd
  EXPECT_TRUE(isSpace(0x85));
  EXPECT_TRUE(isSpace(0x2009));
  EXPECT_FALSE(isSpace(0x200B));
}

}  // namespace
}  // namespace strata::dockerfile
