// The Dockerfile parser against BuildKit's own parser cases (../shared/conformance), then the
// behaviour those cases do not reach: heredocs, the escape directive, errors with line numbers.
#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "conformance.h"
#include "dockerfile/ast.h"

namespace strata::dockerfile {
namespace {

using strata::testing::conformanceDir;
using strata::testing::readConformanceFile;

std::vector<std::string> caseNames(const std::string& folder) {
  std::vector<std::string> names;
  DIR* d = ::opendir((conformanceDir() + "/" + folder).c_str());
  if (!d) return names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != ".." && e->d_type == DT_DIR) names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

TEST(DockerfileConformance, EveryParserCaseDumpsItsResult) {
  std::vector<std::string> names = caseNames("dockerfile-parser");
  ASSERT_EQ(names.size(), 33u) << "cases in " << conformanceDir() << "/dockerfile-parser";
  int passed = 0;
  for (const std::string& name : names) {
    const std::string input = readConformanceFile("dockerfile-parser/" + name + "/Dockerfile");
    const std::string expected = readConformanceFile("dockerfile-parser/" + name + "/result");
    ASSERT_FALSE(expected.empty()) << name;
    auto ast = parse(input);
    if (!ast) {
      ADD_FAILURE() << name << ": " << ast.error().message();
      continue;
    }
    const std::string got = dump(*ast);
    EXPECT_EQ(got, expected) << name;
    passed += got == expected;
  }
  EXPECT_EQ(passed, 33);
}

TEST(DockerfileConformance, EveryNegativeCaseFailsNamingALine) {
  std::vector<std::string> names = caseNames("dockerfile-parser-negative");
  ASSERT_EQ(names.size(), 4u);
  for (const std::string& name : names) {
    const std::string input =
        readConformanceFile("dockerfile-parser-negative/" + name + "/Dockerfile");
    auto ast = parse(input);
    ASSERT_FALSE(ast) << name << " parsed as:\n" << dump(*ast);
    EXPECT_TRUE(ast.error().message().starts_with("Dockerfile:")) << ast.error().message();
    EXPECT_EQ(ast.error().message().find('\n'), std::string::npos) << ast.error().message();
  }
}

TEST(DockerfileConformance, LineNumbers) {
  const std::string input = readConformanceFile("dockerfile-parser-lineinfo/Dockerfile");
  const std::string table = readConformanceFile("dockerfile-parser-lineinfo/expected-lines.tsv");
  ASSERT_FALSE(table.empty());
  auto ast = parse(input);
  ASSERT_TRUE(ast) << ast.error().message();
  std::istringstream lines(table);
  std::string line;
  int rows = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string node;
    int start = 0, end = 0;
    fields >> node >> start >> end;
    ++rows;
    if (node == "root") {
      EXPECT_EQ(ast->startLine, start);
      EXPECT_EQ(ast->endLine, end);
      continue;
    }
    ASSERT_TRUE(node.starts_with("child")) << node;
    const std::size_t index = std::stoul(node.substr(5)) - 1;
    ASSERT_LT(index, ast->instructions.size());
    EXPECT_EQ(ast->instructions[index].startLine, start) << node;
    EXPECT_EQ(ast->instructions[index].endLine, end) << node;
  }
  EXPECT_EQ(rows, 4);
  EXPECT_EQ(ast->instructions.size(), 3u);
}

TEST(DockerfileConformance, EmptyContinuationWarnings) {
  const std::string input = readConformanceFile("dockerfile-parser-warnings/Dockerfile");
  const std::string expected = readConformanceFile("dockerfile-parser-warnings/expected.txt");
  ASSERT_FALSE(expected.empty());
  auto ast = parse(input);
  ASSERT_TRUE(ast) << ast.error().message();
  ASSERT_EQ(ast->warnings.size(), 2u);
  std::istringstream lines(expected);
  std::string line;
  int checks = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::size_t pos = 0;
    for (std::size_t tab; (tab = line.find('\t', pos)) != std::string::npos; pos = tab + 1)
      fields.push_back(line.substr(pos, tab - pos));
    fields.push_back(line.substr(pos));
    const std::string& key = fields[0];
    for (std::size_t i = 1; i < fields.size(); ++i) {
      ++checks;
      if (key == "warning1") EXPECT_NE(ast->warnings[0].message.find(fields[i]), std::string::npos) << fields[i];
      else if (key == "warning2") EXPECT_NE(ast->warnings[1].message.find(fields[i]), std::string::npos) << fields[i];
      else if (key == "detail1") EXPECT_NE(ast->warnings[0].detail.find(fields[i]), std::string::npos) << fields[i];
      else ADD_FAILURE() << "unknown expectation " << key;
    }
  }
  EXPECT_EQ(checks, 4);
}

// --- Behaviour the corpus does not cover ---

Ast parsed(std::string_view text) {
  auto ast = parse(text);
  EXPECT_TRUE(ast) << ast.error().message();
  return ast ? std::move(*ast) : Ast{};
}

std::string errorOf(std::string_view text) {
  auto ast = parse(text);
  EXPECT_FALSE(ast) << "parsed:\n" << (ast ? dump(*ast) : "");
  return ast ? "" : ast.error().message();
}

TEST(DockerfileHeredoc, BodyIsAttachedAndNotDumped) {
  Ast ast = parsed("FROM busybox\nRUN <<EOF\necho hello\necho world\nEOF\nCMD [\"sh\"]\n");
  ASSERT_EQ(ast.instructions.size(), 3u);
  const Node& run = ast.instructions[1];
  ASSERT_EQ(run.heredocs.size(), 1u);
  EXPECT_EQ(run.heredocs[0].name, "EOF");
  EXPECT_EQ(run.heredocs[0].content, "echo hello\necho world\n");
  EXPECT_TRUE(run.heredocs[0].expand);
  EXPECT_FALSE(run.heredocs[0].chomp);
  EXPECT_EQ(run.startLine, 2);
  EXPECT_EQ(run.endLine, 5);
  EXPECT_EQ(dump(ast), "(from \"busybox\")\n(run \"<<EOF\")\n(cmd \"sh\")\n");
}

TEST(DockerfileHeredoc, QuotedDelimiterDisablesExpansion) {
  for (std::string_view marker : {"<<\"EOF\"", "<<'EOF'", "<<E\"O\"F"}) {
    Ast ast = parsed("FROM x\nRUN " + std::string(marker) + "\n$HOME\nEOF\n");
    ASSERT_EQ(ast.instructions[1].heredocs.size(), 1u) << marker;
    EXPECT_EQ(ast.instructions[1].heredocs[0].name, "EOF") << marker;
    EXPECT_FALSE(ast.instructions[1].heredocs[0].expand) << marker;
  }
}

TEST(DockerfileHeredoc, ChompStripsTabsFromTheDelimiterLine) {
  Ast ast = parsed("FROM x\nRUN <<-EOT\n\techo a\n\t\tEOT\nRUN b\n");
  ASSERT_EQ(ast.instructions.size(), 3u);
  const Heredoc& doc = ast.instructions[1].heredocs.at(0);
  EXPECT_TRUE(doc.chomp);
  EXPECT_EQ(doc.content, "\techo a\n");  // the body keeps its tabs; chompHeredoc removes them
  EXPECT_EQ(chompHeredoc(doc.content), "echo a\n");
}

TEST(DockerfileHeredoc, SeveralOnOneLineInOrder) {
  Ast ast = parsed("FROM x\nCOPY <<A <<B /dest/\nfirst\nA\nsecond\nB\n");
  const Node& copy = ast.instructions[1];
  ASSERT_EQ(copy.heredocs.size(), 2u);
  EXPECT_EQ(copy.heredocs[0].name, "A");
  EXPECT_EQ(copy.heredocs[0].content, "first\n");
  EXPECT_EQ(copy.heredocs[1].name, "B");
  EXPECT_EQ(copy.heredocs[1].content, "second\n");
  EXPECT_EQ(copy.values, (std::vector<std::string>{"<<A", "<<B", "/dest/"}));
  EXPECT_EQ(copy.endLine, 6);
}

TEST(DockerfileHeredoc, FileDescriptorAndInterpreter) {
  Ast ast = parsed("FROM x\nRUN 3<<EOF python3\nprint(1)\nEOF\n");
  const Heredoc& doc = ast.instructions[1].heredocs.at(0);
  EXPECT_EQ(doc.fd, 3u);
  EXPECT_EQ(ast.instructions[1].values, (std::vector<std::string>{"3<<EOF python3"}));
}

TEST(DockerfileHeredoc, OnlyRunCopyAddInShellFormAndOnbuild) {
  // CMD and JSON-form RUN take `<<EOF` literally: the next line is an instruction again.
  Ast ast = parsed("FROM x\nCMD cat <<EOF\nRUN [\"a\", \"<<EOF\"]\nLABEL a=b\n");
  EXPECT_EQ(ast.instructions.size(), 4u);
  for (const Node& n : ast.instructions) EXPECT_TRUE(n.heredocs.empty()) << n.keyword;
  Ast onbuild = parsed("FROM x\nONBUILD RUN <<EOF\necho hi\nEOF\n");
  ASSERT_EQ(onbuild.instructions.size(), 2u);
  EXPECT_EQ(onbuild.instructions[1].heredocs.at(0).content, "echo hi\n");
}

TEST(DockerfileHeredoc, UnterminatedIsAnErrorNamingTheLine) {
  EXPECT_TRUE(errorOf("FROM x\n\nRUN <<EOF\necho\n").starts_with("Dockerfile:3: unterminated heredoc"));
}

TEST(DockerfileHeredoc, MarkerParsing) {
  auto doc = parseHeredocMarker("<<-\"END\"");
  ASSERT_TRUE(doc && *doc);
  EXPECT_EQ((*doc)->name, "END");
  EXPECT_TRUE((*doc)->chomp);
  EXPECT_FALSE((*doc)->expand);
  for (std::string_view notMarker : {"<<", "a<<EOF", "<<a<b", "file", "<<\"a b\" c"}) {
    auto r = parseHeredocMarker(notMarker);
    ASSERT_TRUE(r) << notMarker;
    EXPECT_FALSE(*r) << notMarker;
  }
}

TEST(DockerfileEscape, BacktickContinuesLinesAndBackslashIsLiteral) {
  Ast ast = parsed("# escape=`\nFROM windows\nRUN dir c:\\ `\n  /s\nCOPY a\\b c:\\d\n");
  EXPECT_EQ(ast.escape, '`');
  EXPECT_EQ(dump(ast), "(from \"windows\")\n(run \"dir c:\\\\   /s\")\n(copy \"a\\\\b\" \"c:\\\\d\")\n");
}

TEST(DockerfileEscape, DirectiveRules) {
  EXPECT_EQ(parsed("# ESCAPE = `\nFROM x\n").escape, '`');
  EXPECT_EQ(parsed("# syntax=docker/dockerfile:1\n# escape=`\nFROM x\n").escape, '`');
  EXPECT_EQ(parsed("# check=skip=all\n#escape=`\nFROM x\n").escape, '`');
  // Anything before the directive ends the directive area.
  EXPECT_EQ(parsed("\n# escape=`\nFROM x\n").escape, '\\');
  EXPECT_EQ(parsed("# hello\n# escape=`\nFROM x\n").escape, '\\');
  EXPECT_EQ(parsed("# foo=bar\n# escape=`\nFROM x\n").escape, '\\');
  EXPECT_EQ(parsed("FROM x\n# escape=`\n").escape, '\\');
  EXPECT_EQ(errorOf("# escape=x\nFROM x\n"),
            "Dockerfile:1: invalid escape token 'x' does not match ` or \\: `# escape=x`");
  EXPECT_TRUE(errorOf("# escape=`\n# escape=\\\nFROM x\n")
                  .starts_with("Dockerfile:2: only one escape parser directive can be used"));
  EXPECT_TRUE(errorOf("# syntax=a\n# SYNTAX=b\nFROM x\n")
                  .starts_with("Dockerfile:2: only one syntax parser directive can be used"));
}

TEST(DockerfileLines, CrlfBomAndCommentsInsideContinuations) {
  Ast ast = parsed("\xEF\xBB\xBF" "FROM x\r\nRUN a \\\r\n# note\r\n  b\r\n");
  EXPECT_EQ(dump(ast), "(from \"x\")\n(run \"a   b\")\n");
  EXPECT_EQ(ast.instructions[1].startLine, 2);
  EXPECT_EQ(ast.instructions[1].endLine, 4);
  EXPECT_TRUE(ast.warnings.empty());
}

TEST(DockerfileLines, CommentsAboveAnInstructionAreKept) {
  Ast ast = parsed("FROM x\n# VERSION the version to build\nARG VERSION=1\n");
  EXPECT_EQ(ast.instructions[1].comments, (std::vector<std::string>{"VERSION the version to build"}));
  EXPECT_TRUE(ast.instructions[0].comments.empty());
}

TEST(DockerfileLines, OverlongLineIsAnError) {
  std::string text = "FROM x\nRUN " + std::string(70000, 'a') + "\n";
  EXPECT_TRUE(errorOf(text).starts_with(
      "Dockerfile:2: dockerfile line greater than max allowed size of 65535"));
}

TEST(DockerfileArgs, JsonAndShellForms) {
  Ast ast = parsed(
      "FROM x\n"
      "CMD [\"a\", \"b c\"]\n"
      "CMD [\"a\"] trailing\n"
      "ENTRYPOINT  [ \"\\u0041\\ud83d\\ude00\" ]\n"
      "SHELL [\"sh\", \"-c\"]\n"
      "VOLUME /a /b\n"
      "VOLUME [\"/c\"]\n"
      "HEALTHCHECK --interval=5s CMD [\"true\"]\n"
      "HEALTHCHECK NONE\n");
  EXPECT_EQ(dump(ast),
            "(from \"x\")\n"
            "(cmd \"a\" \"b c\")\n"
            "(cmd \"[\\\"a\\\"] trailing\")\n"
            "(entrypoint \"A\xF0\x9F\x98\x80\")\n"
            "(shell \"sh\" \"-c\")\n"
            "(volume \"/a\" \"/b\")\n"
            "(volume \"/c\")\n"
            "(healthcheck [\"--interval=5s\"] \"CMD\" \"true\")\n"
            "(healthcheck \"NONE\")\n");
  EXPECT_TRUE(ast.instructions[1].json);
  EXPECT_FALSE(ast.instructions[2].json);
  EXPECT_TRUE(ast.instructions[7].json);
}

TEST(DockerfileArgs, FlagsWithQuotesAndEscapes) {
  Ast ast = parsed("FROM x\nCOPY --chown=\"a b\" --from=st\\age --link src dst\nRUN --mount=type=cache,target=/c -- echo\n");
  EXPECT_EQ(ast.instructions[1].flags, (std::vector<std::string>{"--chown=a b", "--from=stage", "--link"}));
  EXPECT_EQ(ast.instructions[2].flags, (std::vector<std::string>{"--mount=type=cache,target=/c"}));
  EXPECT_EQ(ast.instructions[2].values, (std::vector<std::string>{"echo"}));
}

TEST(DockerfileArgs, EnvLabelArgForms) {
  Ast ast = parsed(
      "FROM x\nENV a=1 b=\"two words\" c=three\\ words\nENV legacy value with spaces\n"
      "LABEL \"com.example.name\"=\"x\"\nARG a b=\"1 2\" c=\n");
  EXPECT_EQ(dump(ast),
            "(from \"x\")\n"
            "(env \"a\" \"1\" \"=\" \"b\" \"\\\"two words\\\"\" \"=\" \"c\" \"three\\\\ words\" \"=\")\n"
            "(env \"legacy\" \"value with spaces\" \"\")\n"
            "(label \"\\\"com.example.name\\\"\" \"\\\"x\\\"\" \"=\")\n"
            "(arg \"a\" \"b=\\\"1 2\\\"\" \"c=\")\n");
}

TEST(DockerfileErrors, NameTheLineAndTheText) {
  EXPECT_EQ(errorOf("FROM x\n\nENV a=1 b\n"),
            "Dockerfile:3: Syntax error - can't find = in \"b\". Must be of the form: name=value: "
            "`ENV a=1 b`");
  EXPECT_EQ(errorOf("FROM x\nCMD [\"a\", 1]\n"),
            "Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only: "
            "`CMD [\"a\", 1]`");
  EXPECT_EQ(errorOf("FROM x\nLABEL onlykey\n"), "Dockerfile:2: LABEL must have two arguments: `LABEL onlykey`");
  EXPECT_EQ(errorOf(""), "Dockerfile:1: file with no instructions");
  EXPECT_EQ(errorOf("# only\n\n# comments\n"), "Dockerfile:3: file with no instructions");
  ParseOptions custom;
  custom.fileName = "Dockerfile.dev";
  auto r = parse("FROM x\nENV\tK\n", custom);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "Dockerfile.dev:2: ENV must have two arguments: `ENV K`");
}

TEST(DockerfileLines, ALoneContinuationMakesAnEmptyNode) {
  Ast ast = parsed("FROM x\n  \\\n\n# c\n");
  ASSERT_EQ(ast.instructions.size(), 2u);
  EXPECT_EQ(ast.instructions[1].keyword, "");
  EXPECT_EQ(ast.instructions[1].startLine, 2);
  EXPECT_EQ(ast.instructions[1].endLine, 4);
  EXPECT_EQ(dump(ast), "(from \"x\")\n(\"\")\n");
}

TEST(DockerfileArgs, UnknownKeywordsParseWithAnEmptyValue) {
  EXPECT_EQ(dump(parsed("FROM x\nFOO bar baz\nfrom y\n")), "(from \"x\")\n(foo \"\")\n(from \"y\")\n");
}

}  // namespace
}  // namespace strata::dockerfile
