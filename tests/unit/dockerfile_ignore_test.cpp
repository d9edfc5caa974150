// .dockerignore reading and matching: the shared conformance data (moby/patternmatcher's own
// test tables), the incremental walk API against the direct one, file selection and errors.
#include "dockerfile/ignore.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <sstream>

#include "conformance.h"
#include "util/fs.h"

namespace strata::dockerfile {
namespace {

std::vector<std::string> split(std::string_view s, std::string_view sep) {
  std::vector<std::string> out;
  for (;;) {
    const std::size_t at = s.find(sep);
    out.emplace_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + sep.size());
  }
}

struct Row {
  int line;
  std::vector<std::string> patterns;
  std::string path;
  std::string expected;  // match, nomatch, error
  std::string api;       // Matches or MatchesOrParentMatches
};

// cases.tsv as FORMAT.md describes it: `#` lines are comments, five TAB-separated fields,
// patterns joined by " | " (an empty field is an empty list), no escaping of any kind.
std::vector<Row> loadRows() {
  const std::string text = testing::readConformanceFile("dockerignore/cases.tsv");
  std::vector<Row> rows;
  std::vector<std::string> lines = split(text, "\n");
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].starts_with('#')) continue;
    const std::vector<std::string> f = split(lines[i], "\t");
    EXPECT_EQ(f.size(), 5u) << "cases.tsv line " << i + 1 << ": " << lines[i];
    if (f.size() != 5) continue;
    Row r{static_cast<int>(i + 1), {}, f[1], f[2], f[3]};
    if (!f[0].empty()) r.patterns = split(f[0], " | ");
    rows.push_back(std::move(r));
  }
  return rows;
}

std::string describe(const Row& r) {
  std::string pats;
  for (const auto& p : r.patterns) pats += (pats.empty() ? "" : " | ") + p;
  return "line " + std::to_string(r.line) + " [" + pats + "] path `" + r.path + "`";
}

std::string outcome(const Result<bool>& r) {
  if (!r) return "error";
  return *r ? "match" : "nomatch";
}

// Builds the matcher and asks the direct question, the path used verbatim.
Result<bool> direct(const std::vector<std::string>& patterns, std::string_view path) {
  auto m = IgnoreMatcher::create(patterns);
  if (!m) return std::unexpected(m.error());
  return m->matchesOrParentMatches(path);
}

// Go's filepath.Dir for the paths in the data (none has `//`, `.` or `..` elements).
std::string parentOf(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

// Asks the incremental API as a walker would: every ancestor named by the parent directory is
// entered as a directory first, each answer being checked against the direct one on the way.
// A subtree declared skippable must hold only excluded paths.
Result<bool> viaWalk(const IgnoreMatcher& m, std::string_view path, bool asDir) {
  IgnoreDirState state;
  bool skipped = false;
  const std::string parent = parentOf(path);
  if (parent != ".") {
    for (std::size_t k = 0; k <= parent.size(); ++k) {
      if (k < parent.size() && parent[k] != '/') continue;
      const std::string ancestor = parent.substr(0, k);
      auto d = m.matchDir(state, ancestor);
      auto expect = m.matchesOrParentMatches(ancestor);
      EXPECT_EQ(outcome(d ? Result<bool>(d->excluded) : std::unexpected(d.error())),
                outcome(expect))
          << "ancestor `" << ancestor << "` of `" << path << "`";
      if (!d) return std::unexpected(d.error());
      skipped = skipped || d->skipSubtree;
      state = std::move(d->state);
    }
  }
  Result<bool> got = false;
  if (asDir) {
    auto d = m.matchDir(state, path);
    got = d ? Result<bool>(d->excluded) : std::unexpected(d.error());
  } else {
    got = m.matchFile(state, path);
  }
  if (skipped) {
    EXPECT_EQ(outcome(got), "match") << "`" << path << "` lies in a skipped subtree";
  }
  return got;
}

// ---------------------------------------------------------------------------------------------
// Conformance

TEST(DockerignoreConformance, EveryRowWithItsEntryPoint) {
  const std::vector<Row> rows = loadRows();
  ASSERT_EQ(rows.size(), 138u) << "cases.tsv not found or changed (dir "
                               << testing::conformanceDir() << ")";
  std::vector<std::string> failures;
  for (const Row& r : rows) {
    Result<bool> got = false;
    if (r.api == "Matches") {
      got = legacyMatches(r.path, r.patterns);
    } else if (r.api == "MatchesOrParentMatches") {
      got = direct(r.patterns, r.path);
    } else {
      failures.push_back(describe(r) + ": unknown api `" + r.api + "`");
      continue;
    }
    if (outcome(got) != r.expected) {
      failures.push_back(describe(r) + " via " + r.api + ": expected " + r.expected + ", got " +
                         outcome(got) + (got ? "" : " (" + got.error().message() + ")"));
    }
  }
  std::ostringstream all;
  for (const auto& f : failures) all << "\n  " << f;
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << rows.size()
                                << " rows fail:" << all.str();
}

// FORMAT.md: the non-deprecated behaviour passes every row, including those tagged Matches; so
// does the incremental walk API, which must agree with the direct call at every step.
TEST(DockerignoreConformance, EveryRowDirectAndIncremental) {
  const std::vector<Row> rows = loadRows();
  ASSERT_EQ(rows.size(), 138u);
  std::vector<std::string> failures;
  for (const Row& r : rows) {
    const Result<bool> d = direct(r.patterns, r.path);
    if (outcome(d) != r.expected) {
      failures.push_back(describe(r) + " direct: expected " + r.expected + ", got " + outcome(d));
    }
    auto m = IgnoreMatcher::create(r.patterns);
    if (!m) continue;  // construction errors are covered by the direct call
    for (bool asDir : {false, true}) {
      const Result<bool> w = viaWalk(*m, r.path, asDir);
      if (outcome(w) != r.expected) {
        failures.push_back(describe(r) + (asDir ? " walk(dir)" : " walk(file)") + ": expected " +
                           r.expected + ", got " + outcome(w));
      }
    }
  }
  std::ostringstream all;
  for (const auto& f : failures) all << "\n  " << f;
  EXPECT_TRUE(failures.empty()) << failures.size() << " failures:" << all.str();
}

TEST(DockerignoreConformance, ReadAll) {
  const std::string input = testing::readConformanceFile("dockerignore/readall/input");
  const std::string expected = testing::readConformanceFile("dockerignore/readall/expected");
  ASSERT_FALSE(input.empty());
  ASSERT_FALSE(expected.empty());
  std::vector<std::string> want = split(expected, "\n");
  ASSERT_EQ(want.back(), "");
  want.pop_back();
  ASSERT_EQ(want.size(), 7u);
  auto got = readIgnoreFile(input);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, want);
}

// ---------------------------------------------------------------------------------------------
// Reading

TEST(ReadIgnoreFile, LinesCommentsAndCleaning) {
  auto got = readIgnoreFile(
      "\xEF\xBB\xBF# comment\r\n"
      "  # not a comment\n"
      "\t./a/../b//c/ \r\n"
      "\n"
      "!  /abs/./x\n"
      "//\n"
      "\xE3\x80\x80wide\xE3\x80\x80\n"
      "last");
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, (std::vector<std::string>{"# not a comment", "b/c", "!abs/x", "/", "wide",
                                            "last"}));
}

TEST(ReadIgnoreFile, ByteOrderMarkOnlyOnFirstLine) {
  auto got = readIgnoreFile("a\n\xEF\xBB\xBF" "b\n");
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, (std::vector<std::string>{"a", "\xEF\xBB\xBF" "b"}));
  got = readIgnoreFile("\xEF\xBB\xBF#x\n");
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->empty());
}

TEST(ReadIgnoreFile, EmptyAndLineLimit) {
  auto got = readIgnoreFile("");
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->empty());
  EXPECT_TRUE(readIgnoreFile(std::string(65535, 'a')));
  EXPECT_TRUE(readIgnoreFile(std::string(65535, 'a') + "\n"));
  auto tooLong = readIgnoreFile("ok\n" + std::string(65536, 'a') + "\n");
  ASSERT_FALSE(tooLong);
  EXPECT_EQ(tooLong.error().message(), "line 2 is longer than 65535 bytes");
}

// ---------------------------------------------------------------------------------------------
// Matching details

bool matches(const std::vector<std::string>& patterns, std::string_view path) {
  auto r = direct(patterns, path);
  EXPECT_TRUE(r) << r.error().message();
  return r && *r;
}

TEST(IgnoreMatcher, PreparesPatterns) {
  auto m = IgnoreMatcher::create({"", "  ", " docs/ ", "  !docs/README.md ", "\t*.o"});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->patternCount(), 3u);
  EXPECT_TRUE(m->hasExclusions());
  EXPECT_TRUE(*m->matchesOrParentMatches("docs/x"));
  EXPECT_FALSE(*m->matchesOrParentMatches("docs/README.md"));
  // As upstream, the matcher does not trim again after `!` (readIgnoreFile does).
  EXPECT_TRUE(matches({"docs", "! docs/README.md"}, "docs/README.md"));
  EXPECT_FALSE(matches({"*", "! x"}, " x"));
  auto none = IgnoreMatcher::create({"a", "b"});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->hasExclusions());
  EXPECT_FALSE(*IgnoreMatcher().matchesOrParentMatches("x"));
}

TEST(IgnoreMatcher, LastHittingPatternDecides) {
  EXPECT_TRUE(matches({"*.md", "!README.md", "README*"}, "README.md"));
  EXPECT_FALSE(matches({"*.md", "README*", "!README.md"}, "README.md"));
  // An exclusion of a directory puts back everything below it.
  EXPECT_FALSE(matches({"d/f", "!d"}, "d/f"));
  EXPECT_TRUE(matches({"!d", "d/f"}, "d/f"));
}

TEST(IgnoreMatcher, PlainPrefixAndSuffixPatternsCompareStrings) {
  EXPECT_TRUE(matches({"**file"}, "dir/myfile"));  // a literal suffix, not a path element
  EXPECT_TRUE(matches({"abc**"}, "abcdef/g"));      // a literal prefix
  EXPECT_FALSE(matches({"abc/**"}, "abc"));
  EXPECT_TRUE(matches({"a+b(c)|{d}$"}, "a+b(c)|{d}$"));
}

TEST(IgnoreMatcher, GlobPieces) {
  EXPECT_TRUE(matches({"a?c"}, "a\xC3\xA9" "c"));     // one character, two bytes
  EXPECT_FALSE(matches({"a?c"}, "a/c"));
  EXPECT_TRUE(matches({"[[:digit:]]x"}, "7x"));        // class contents use regex rules
  EXPECT_TRUE(matches({"*^x"}, "x"));                  // `^` outside a class anchors
  EXPECT_FALSE(matches({"*^x"}, "ax"));
  EXPECT_TRUE(matches({"a\\.*"}, "a.txt"));
  EXPECT_TRUE(matches({"x/**/y"}, "x/y"));
  EXPECT_TRUE(matches({"x/**/y"}, "x/1/2/y"));
  EXPECT_FALSE(matches({"x/**/y"}, "x/1/2/yy"));
  EXPECT_FALSE(matches({"**/*.go"}, "a/b.go\nc"));      // `**` does not cross a newline
  EXPECT_TRUE(matches({"*"}, "/abs"));                 // the root "" ancestor matches `*`
}

// Only `.+()$` lose their regular-expression meaning; `|`, `{` and `}` keep it, as in BuildKit.
TEST(IgnoreMatcher, UnescapedRegexCharacters) {
  // `|` splits into alternatives; only the first keeps `^`, only the last `$`.
  EXPECT_TRUE(matches({"*.js|*.ts"}, "a.js"));
  EXPECT_TRUE(matches({"*.js|*.ts"}, "a.jsx"));
  EXPECT_TRUE(matches({"*.js|*.ts"}, "dir/b.ts"));
  EXPECT_FALSE(matches({"*.js|*.ts"}, "dir/b.tsx"));
  EXPECT_TRUE(matches({"a|b"}, "a|b"));   // no wildcard: a plain string
  EXPECT_FALSE(matches({"a|b"}, "a"));
  // `{n}` repeats the previous item; a `{` that is no count is literal.
  EXPECT_TRUE(matches({"?{3}"}, "abc"));
  EXPECT_FALSE(matches({"?{3}"}, "ab"));
  EXPECT_TRUE(matches({"*{x}"}, "a{x}"));
  auto m = IgnoreMatcher::create({"*{1001}"});
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->matchesOrParentMatches("a"));  // nested repetition: unusable
}

// The construction check validates the whole pattern (current Go's filepath.Match), even the
// part after a chunk that fails to match ".".
TEST(IgnoreMatcher, WholePatternIsValidated) {
  EXPECT_FALSE(IgnoreMatcher::create({"a*[^]x]"}));
  EXPECT_FALSE(IgnoreMatcher::create({"x*y*[z-"}));
}

TEST(IgnoreMatcher, PathologicalPatternsStayPolynomial) {
  const std::string as(20000, 'a');
  EXPECT_FALSE(matches({"*a*a*a*a*a*a*b"}, as));
  EXPECT_TRUE(matches({"*a*a*a*a*a*a*b"}, as + "b"));
  std::string deep;
  for (int i = 0; i < 2000; ++i) deep += "a/";
  EXPECT_FALSE(matches({"**/a**a**a**a**a**b"}, deep + "a"));
  EXPECT_TRUE(matches({"**/a**a**a**a**a**b"}, deep + "ab"));
  EXPECT_FALSE(matches({"[^b]*[^b]*[^b]*[^b]*b/c"}, as));
}

TEST(IgnoreMatcher, LegacyMatchesUsesOneAncestor) {
  EXPECT_FALSE(*legacyMatches("dir/file", {"**/dir"}));
  EXPECT_TRUE(*direct({"**/dir"}, "dir/file"));
  EXPECT_TRUE(*legacyMatches("a/b/c", {"a/b"}));
  EXPECT_TRUE(*legacyMatches("./a//b/../c", {"a/c"}));
  EXPECT_FALSE(*legacyMatches("./", {"*"}));
}

// ---------------------------------------------------------------------------------------------
// Errors

std::string createError(const std::vector<std::string>& patterns) {
  auto m = IgnoreMatcher::create(patterns);
  EXPECT_FALSE(m) << "patterns were accepted";
  return m ? "" : m.error().message();
}

TEST(IgnoreErrors, ConstructionNamesThePattern) {
  EXPECT_EQ(createError({"ok", "[a-"}),
            "invalid .dockerignore pattern `[a-`: unterminated character class");
  EXPECT_EQ(createError({" ! "}),
            "invalid .dockerignore pattern `!`: `!` must be followed by a pattern");
  EXPECT_EQ(createError({"a\\"}),
            "invalid .dockerignore pattern `a\\`: trailing backslash escapes nothing");
  EXPECT_EQ(createError({"!x[]a]"}),
            "invalid .dockerignore pattern `!x[]a]`: character class has a bare `]` where a "
            "character belongs");
  EXPECT_EQ(createError({"[\xff]"}),
            "invalid .dockerignore pattern `[\xff]`: character class holds invalid UTF-8");
  const std::string nl = createError({"a\n["});
  EXPECT_EQ(nl.find('\n'), std::string::npos) << nl;
  EXPECT_NE(nl.find("a\\x0a["), std::string::npos) << nl;
}

TEST(IgnoreErrors, UnusablePatternsFailWhenConsulted) {
  auto m = IgnoreMatcher::create({"a", "![Local-Only]/"});
  ASSERT_TRUE(m);
  // The exclusion is only consulted once something matched.
  EXPECT_FALSE(*m->matchesOrParentMatches("b"));
  auto r = m->matchesOrParentMatches("a");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "invalid .dockerignore pattern `![Local-Only]/`: character class range `l-O` is "
            "reversed");
  auto unsupported = IgnoreMatcher::create({"*\\pL"});
  ASSERT_TRUE(unsupported);
  EXPECT_FALSE(unsupported->matchesOrParentMatches("x"));
  auto esc = IgnoreMatcher::create({"x*\\e"});
  ASSERT_TRUE(esc);
  auto e = esc->matchesOrParentMatches("x");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message(),
            "invalid .dockerignore pattern `x*\\e`: invalid escape sequence `\\e`");
}

TEST(IgnoreErrors, StateFromAnotherMatcher) {
  auto a = IgnoreMatcher::create({"x"});
  auto b = IgnoreMatcher::create(std::vector<std::string>(70, "x"));
  ASSERT_TRUE(a && b);
  auto d = a->matchDir({}, "x");
  ASSERT_TRUE(d);
  EXPECT_FALSE(b->matchFile(d->state, "x/y"));
}

// ---------------------------------------------------------------------------------------------
// Incremental walk on generated trees

struct Entry {
  std::string path;
  bool dir;
  std::vector<Entry> children;
};

Entry makeTree(std::mt19937& rng, const std::string& path, int depth) {
  static const char* kNames[] = {"a", "b", "ab", ".a", "x.c", "a.c", "b.go", "c", "aa", "x"};
  Entry e{path, true, {}};
  const int n = depth == 0 ? 0 : 1 + static_cast<int>(rng() % 5);
  for (int i = 0; i < n; ++i) {
    const std::string name = kNames[rng() % std::size(kNames)];
    const std::string child = path.empty() ? name : path + "/" + name;
    if (rng() % 5 < 3) {
      e.children.push_back(makeTree(rng, child, depth - 1));
    } else {
      e.children.push_back(Entry{child, false, {}});
    }
  }
  return e;
}

std::vector<std::string> makePatterns(std::mt19937& rng) {
  static const char* kSegments[] = {"a", "b", "*", "**", "a*", "*.c", "?", "[ab]", "[^a]*",
                                    ".*", "x.c", "b.go", "*a", "a?", "\\a"};
  std::vector<std::string> out;
  const int n = 1 + static_cast<int>(rng() % 5);
  for (int i = 0; i < n; ++i) {
    std::string p = rng() % 3 == 0 ? "!" : "";
    const int segs = 1 + static_cast<int>(rng() % 3);
    for (int s = 0; s < segs; ++s) {
      if (s > 0) p += '/';
      p += kSegments[rng() % std::size(kSegments)];
    }
    if (rng() % 5 == 0) p += "/**";
    out.push_back(p);
  }
  return out;
}

// Walks `dir`'s entries with the incremental API, comparing with the direct call. Below a
// skippable directory everything must be excluded.
void walk(const IgnoreMatcher& m, const Entry& dir, const IgnoreDirState& state, bool skipped,
          const std::string& context, int* checked) {
  for (const Entry& e : dir.children) {
    const Result<bool> want = m.matchesOrParentMatches(e.path);
    ++*checked;
    if (e.dir) {
      auto got = m.matchDir(state, e.path);
      ASSERT_EQ(outcome(got ? Result<bool>(got->excluded) : std::unexpected(got.error())),
                outcome(want))
          << context << " dir " << e.path;
      if (!got) continue;
      if (skipped) {
        EXPECT_TRUE(got->excluded) << context << " skipped dir " << e.path;
      }
      walk(m, e, got->state, skipped || got->skipSubtree, context, checked);
    } else {
      const Result<bool> got = m.matchFile(state, e.path);
      ASSERT_EQ(outcome(got), outcome(want)) << context << " file " << e.path;
      if (skipped) {
        EXPECT_EQ(outcome(got), "match") << context << " skipped file " << e.path;
      }
    }
  }
}

TEST(IgnoreWalk, AgreesWithDirectMatchingOnGeneratedTrees) {
  std::mt19937 rng(20240611);
  int checked = 0, skips = 0;
  for (int round = 0; round < 400; ++round) {
    const Entry root = makeTree(rng, "", 4);
    const std::vector<std::string> patterns = makePatterns(rng);
    auto m = IgnoreMatcher::create(patterns);
    ASSERT_TRUE(m) << m.error().message();
    std::string context = "patterns:";
    for (const auto& p : patterns) context += " " + p;
    walk(*m, root, IgnoreDirState{}, false, context, &checked);
    for (const Entry& e : root.children) {
      if (!e.dir) continue;
      auto d = m->matchDir({}, e.path);
      if (d && d->skipSubtree) ++skips;
    }
  }
  EXPECT_GT(checked, 10000);
  EXPECT_GT(skips, 50);  // the skip analysis does fire
}

TEST(IgnoreWalk, SkipDecisions) {
  auto skip = [](const std::vector<std::string>& patterns, std::string_view dir) {
    auto m = IgnoreMatcher::create(patterns);
    EXPECT_TRUE(m);
    auto d = m->matchDir({}, dir);
    EXPECT_TRUE(d) << d.error().message();
    return d && d->skipSubtree;
  };
  EXPECT_TRUE(skip({"node_modules"}, "node_modules"));
  EXPECT_TRUE(skip({"*", "!src"}, "build"));
  EXPECT_TRUE(skip({"*", "!*.md"}, "docs"));           // `*.md` never reaches below docs/
  EXPECT_FALSE(skip({"*", "!**/*.md"}, "docs"));
  EXPECT_FALSE(skip({"*", "!docs/keep"}, "docs"));
  EXPECT_TRUE(skip({"!docs/keep", "*"}, "docs"));      // the exclusion comes too early
  EXPECT_FALSE(skip({"*", "!**keep"}, "docs"));        // a suffix may hit anything
  EXPECT_FALSE(skip({"*", "!do*/k"}, "docs"));
  EXPECT_FALSE(skip({"docs", "!docs"}, "docs"));       // not excluded at all
  // A broken exclusion after the last hit is consulted for the directory itself already.
  auto broken = IgnoreMatcher::create({"*", "!x/[Local-Only]"});
  ASSERT_TRUE(broken);
  EXPECT_FALSE(broken->matchDir({}, "docs"));
  // One before it may be consulted for some entries below (here docs/x.txt, hit by the first
  // pattern), so an unusable pattern anywhere turns skipping off.
  EXPECT_FALSE(skip({"**.txt", "![Local-Only]", "docs"}, "docs"));
  auto below = IgnoreMatcher::create({"**.txt", "![Local-Only]", "docs"});
  ASSERT_TRUE(below);
  EXPECT_FALSE(below->matchesOrParentMatches("docs/x.txt"));
  EXPECT_TRUE(*below->matchesOrParentMatches("docs/y"));
}

// ---------------------------------------------------------------------------------------------
// Choosing the ignore file

class LoadIgnorePatterns : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::create("/tmp", "ignore-test-");
    ASSERT_TRUE(t) << t.error().what();
    tmp_ = std::move(*t);
    ctx_ = tmp_.path();
    ASSERT_TRUE(mkdirAll(ctx_ + "/sub"));
  }
  void write(const std::string& rel, std::string_view data) {
    auto fd = openFile(ctx_ + "/" + rel, O_WRONLY | O_CREAT | O_TRUNC);
    ASSERT_TRUE(fd) << fd.error().what();
    ASSERT_TRUE(writeAll(fd->get(), data));
  }
  std::vector<std::string> load(const std::string& dockerfile) {
    auto r = loadIgnorePatterns(ctx_, dockerfile.empty() ? "" : ctx_ + "/" + dockerfile);
    EXPECT_TRUE(r) << r.error().what();
    return r ? *r : std::vector<std::string>{"<error>"};
  }

  TempDir tmp_;
  std::string ctx_;
};

using Patterns = std::vector<std::string>;

TEST_F(LoadIgnorePatterns, NoFileMeansNoPatterns) {
  EXPECT_EQ(load("Dockerfile"), Patterns{});
  EXPECT_EQ(load(""), Patterns{});
}

TEST_F(LoadIgnorePatterns, ContextFile) {
  write(".dockerignore", "/a\n!b\n");
  EXPECT_EQ(load("Dockerfile"), (Patterns{"a", "!b"}));
  EXPECT_EQ(load("sub/Dockerfile.dev"), (Patterns{"a", "!b"}));
  EXPECT_EQ(load(""), (Patterns{"a", "!b"}));
}

TEST_F(LoadIgnorePatterns, DockerfileSpecificFileWins) {
  write(".dockerignore", "ctx\n");
  write("sub/Dockerfile.dev.dockerignore", "dev\n");
  EXPECT_EQ(load("sub/Dockerfile.dev"), Patterns{"dev"});
  // The name is the Dockerfile's path plus ".dockerignore", looked up beside the Dockerfile:
  // a file of that name at the context root does not count for sub/Dockerfile.dev.
  write("Dockerfile.dev.dockerignore", "root\n");
  EXPECT_EQ(load("sub/Dockerfile.dev"), Patterns{"dev"});
  EXPECT_EQ(load("sub/Other"), Patterns{"ctx"});
  EXPECT_EQ(load("Dockerfile.dev"), Patterns{"root"});
  // An empty Dockerfile-specific file still wins.
  write("sub/Dockerfile.dockerignore", "");
  EXPECT_EQ(load("sub/Dockerfile"), Patterns{});
  // No on-disk Dockerfile: only the context's file.
  EXPECT_EQ(load(""), Patterns{"ctx"});
}

TEST_F(LoadIgnorePatterns, LowercaseDockerfile) {
  write("dockerfile", "FROM scratch\n");
  write("dockerfile.dockerignore", "lower\n");
  write("Dockerfile.dockerignore", "upper\n");
  EXPECT_EQ(load("Dockerfile"), Patterns{"lower"});
  write("Dockerfile", "FROM scratch\n");
  EXPECT_EQ(load("Dockerfile"), Patterns{"upper"});
}

TEST_F(LoadIgnorePatterns, UnreadableOrBadFileIsAnError) {
  ASSERT_TRUE(mkdirAll(ctx_ + "/.dockerignore"));
  auto r = loadIgnorePatterns(ctx_, ctx_ + "/Dockerfile");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "read `" + ctx_ + "/.dockerignore`");
  EXPECT_EQ(r.error().code(), EISDIR);
  write("Dockerfile.dockerignore", std::string(70000, 'x'));
  r = loadIgnorePatterns(ctx_, ctx_ + "/Dockerfile");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "parse `" + ctx_ +
                                     "/Dockerfile.dockerignore`: line 1 is longer than 65535 bytes");
}

}  // namespace
}  // namespace strata::dockerfile
