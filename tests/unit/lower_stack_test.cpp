#include "build/lower_stack.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "runtime/runtime.h"
#include "util/fs.h"

namespace strata::build {
namespace {

class LowerStackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (overlay mounts)";
    dir_ = *TempDir::create("/tmp", "lower-stack-");
    // Layer i adds /f<i>; layer 1 adds /gone, which layer 2 whites out; layer 40 whites out /f3.
    for (int i = 0; i < 50; ++i) {
      const std::string t = dir_->path() + "/l" + std::to_string(i);
      ASSERT_TRUE(mkdirAll(t, 0755));
      ASSERT_TRUE(writeFileAtomic(t + "/f" + std::to_string(i), std::to_string(i)));
      trees_.push_back(t);
    }
    ASSERT_TRUE(writeFileAtomic(trees_[1] + "/gone", "x"));
    ASSERT_EQ(::mknod((trees_[2] + "/gone").c_str(), S_IFCHR | 0000, makedev(0, 0)), 0);
    ASSERT_EQ(::mknod((trees_[40] + "/f3").c_str(), S_IFCHR | 0000, makedev(0, 0)), 0);
  }

  std::vector<std::string> first(std::size_t n) { return {trees_.begin(), trees_.begin() + n}; }

  std::optional<TempDir> dir_;
  std::vector<std::string> trees_;
};

TEST_F(LowerStackTest, ShallowStacksAreEveryLayerTopFirst) {
  LowerStack s;
  auto dirs = s.lowerDirs(first(LowerStack::kDirect));
  ASSERT_EQ(dirs.size(), LowerStack::kDirect);
  EXPECT_EQ(dirs.front(), trees_[LowerStack::kDirect - 1]);
  EXPECT_EQ(dirs.back(), trees_[0]);
}

TEST_F(LowerStackTest, DeepStacksShareAMergedBaseThatKeepsWhiteouts) {
  LowerStack s;
  auto deep = s.lowerDirs(first(41));
  if (deep.size() == 41) GTEST_SKIP() << "this kernel cannot stack a detached overlay";
  // 41 layers: the bottom 16 merged, 25 direct above them.
  ASSERT_EQ(deep.size(), 26u);
  EXPECT_EQ(deep.front(), trees_[40]);
  EXPECT_EQ(deep[24], trees_[16]);
  const std::string base = deep.back();
  EXPECT_EQ(base.rfind("/proc/self/fd/", 0), 0u) << base;
  EXPECT_EQ(s.lowerDirs(first(47)).back(), base) << "the next steps reuse the base";
  auto deeper = s.lowerDirs(first(48));
  EXPECT_EQ(deeper.size(), 17u);
  EXPECT_NE(deeper.back(), base);
  // What a step sees through its overlay: every layer, the whiteouts below and above the base
  // applied.
  runtime::Overlay o;
  o.lowerDirs = deep;
  Status seen = runtime::withOverlays({o}, dir_->path(), [](const std::vector<std::string>& roots) -> Status {
    for (int i = 0; i < 41; ++i) {
      auto text = readFile(roots[0] + "/f" + std::to_string(i));
      if (i == 3 ? text.has_value() : !text || *text != std::to_string(i))
        return failInvalid("f" + std::to_string(i) + " is wrong through the stack");
    }
    if (pathExists(roots[0] + "/gone")) return failInvalid("a whiteout in the base was not applied");
    return {};
  });
  EXPECT_TRUE(seen) << seen.error().what();
}

}  // namespace
}  // namespace strata::build
