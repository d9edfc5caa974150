// Go's filepath.Match, as COPY sources and .dockerignore patterns use it (cases in the spirit of
// Go's own table, for single path elements).
#include <gtest/gtest.h>

#include "dockerfile/gomatch.h"

namespace strata::dockerfile {
namespace {

TEST(GoMatch, Table) {
  struct Case {
    const char* pattern;
    const char* name;
    GlobMatch want;
  };
  const Case cases[] = {
      {"abc", "abc", GlobMatch::Match},         {"*", "abc", GlobMatch::Match},
      {"*c", "abc", GlobMatch::Match},          {"a*", "a", GlobMatch::Match},
      {"a*", "abc", GlobMatch::Match},          {"a*b*c*d*e*", "axbxcxdxe", GlobMatch::Match},
      {"ab[c]", "abc", GlobMatch::Match},       {"ab[b-d]", "abc", GlobMatch::Match},
      {"ab[e-g]", "abc", GlobMatch::NoMatch},   {"ab[^c]", "abc", GlobMatch::NoMatch},
      {"ab[^b-d]", "abe", GlobMatch::Match},    {"a\\*b", "a*b", GlobMatch::Match},
      {"a\\*b", "ab", GlobMatch::NoMatch},      {"a?b", "a\xE2\x98\xBA" "b", GlobMatch::Match},
      {"a[^a]b", "a\xE2\x98\xBA" "b", GlobMatch::Match}, {"a???b", "a\xE2\x98\xBA" "b", GlobMatch::NoMatch},
      {"*x", "xxx", GlobMatch::Match},          {"[\\]a]", "]", GlobMatch::Match},
      {"[", "a", GlobMatch::Bad},               {"[^", "a", GlobMatch::Bad},
      {"[^bc", "a", GlobMatch::Bad},            {"a[", "a", GlobMatch::Bad},
      {"a[", "ab", GlobMatch::Bad},             {"[a-", "a", GlobMatch::Bad},
      {"*[", "x", GlobMatch::Bad},              {"a\\", "a", GlobMatch::Bad},
      {"[-]", "-", GlobMatch::Bad},             {"[x-]", "x", GlobMatch::Bad},
  };
  for (const Case& c : cases) EXPECT_EQ(goMatch(c.pattern, c.name), c.want) << c.pattern << " / " << c.name;
}

TEST(GoMatch, SyntaxErrorsNameTheProblem) {
  EXPECT_FALSE(goPatternError("a*[bc]?\\*"));
  EXPECT_EQ(goPatternError("[abc").value_or(""), "unterminated character class");
  EXPECT_EQ(goPatternError("abc\\").value_or(""), "trailing backslash escapes nothing");
  EXPECT_TRUE(goPatternError("[]a]"));
}

}  // namespace
}  // namespace strata::dockerfile
