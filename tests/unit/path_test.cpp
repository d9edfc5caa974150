// Lexical path cleaning with Go's path.Clean rules.
#include <gtest/gtest.h>
#include "util/path.h"
TEST(CleanPath, GoRules) {
  using strata::cleanPath;
  const char* cases[][2] = {{"", "."}, {"/", "/"}, {"a/b", "a/b"}, {"a//b/", "a/b"}, {"./a/./b/.", "a/b"},
    {"a/../b", "b"}, {"../a", "../a"}, {"../../a/..", "../.."}, {"/../a", "/a"}, {"/..", "/"}, {"a/..", "."},
    {"a/b/../../..", ".."}, {"//a//..//b", "/b"}, {".", "."}, {"..", ".."}, {"abc/def/../../../ghi", "../ghi"}};
  for (auto& c : cases) EXPECT_EQ(cleanPath(c[0]), c[1]) << c[0];
}
