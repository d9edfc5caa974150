// layer::prepareUpperAsLayer: an overlay upper dir cleaned into a layer tree, or refused.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>

#include "layer/overlay_tree.h"
#include "util/fd.h"
#include "util/fs.h"

namespace strata::layer {
namespace {

class OverlayTree : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (trusted.* xattrs)";
    auto t = TempDir::create("/tmp", "strata-overlay-tree-test-");
    ASSERT_TRUE(t) << t.error().what();
    dir_ = std::move(*t);
    ASSERT_TRUE(mkdirAll(path("sub/deep")));
    ASSERT_TRUE(writeFileAtomic(path("sub/deep/file"), "data"));
    if (::lsetxattr(path("sub").c_str(), "trusted.overlay.test", "x", 1, 0) < 0)
      GTEST_SKIP() << "no trusted xattrs on /tmp: " << std::strerror(errno);
  }
  std::string path(const std::string& rel) const { return dir_->path() + "/" + rel; }
  bool hasXattr(const std::string& rel, const char* name) const {
    return ::lgetxattr(path(rel).c_str(), name, nullptr, 0) >= 0;
  }
  std::optional<TempDir> dir_;
};

TEST_F(OverlayTree, DropsOverlayOwnXattrsKeepsOpaqueAndOthers) {
  ASSERT_EQ(::lsetxattr(path("sub").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  ASSERT_EQ(::lsetxattr(path("sub/deep/file").c_str(), "trusted.overlay.origin", "o", 1, 0), 0);
  ASSERT_EQ(::lsetxattr(path("sub/deep/file").c_str(), "user.keep", "k", 1, 0), 0);
  auto r = prepareUpperAsLayer(dir_->path());
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(*r);
  EXPECT_FALSE(hasXattr("sub", "trusted.overlay.test"));
  EXPECT_TRUE(hasXattr("sub", "trusted.overlay.opaque"));
  EXPECT_FALSE(hasXattr("sub/deep/file", "trusted.overlay.origin"));
  EXPECT_TRUE(hasXattr("sub/deep/file", "user.keep"));
  EXPECT_EQ(readFile(path("sub/deep/file")).value_or(""), "data");
}

TEST_F(OverlayTree, RemovesSocketsThatTarCannotCarry) {
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(s);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  const std::string sock = path("sub/deep/sock");
  ASSERT_LT(sock.size(), sizeof a.sun_path);
  std::strcpy(a.sun_path, sock.c_str());
  ASSERT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const struct timespec times[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path("sub/deep").c_str(), times, 0), 0);
  auto r = prepareUpperAsLayer(dir_->path());
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(*r);
  EXPECT_FALSE(pathExists(sock));
  EXPECT_TRUE(pathExists(path("sub/deep/file")));
  // The directory's mtime, which its layer tar records, is the one it had.
  struct stat st;
  ASSERT_EQ(::stat(path("sub/deep").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000);
}

TEST_F(OverlayTree, RefusesMetacopyAndRedirect) {
  for (const char* name : {"trusted.overlay.metacopy", "trusted.overlay.redirect"}) {
    ASSERT_EQ(::lsetxattr(path("sub/deep/file").c_str(), name, "", 0, 0), 0);
    auto r = prepareUpperAsLayer(dir_->path());
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_FALSE(*r) << name;
    ASSERT_EQ(::lremovexattr(path("sub/deep/file").c_str(), name), 0);
  }
}

}  // namespace
}  // namespace strata::layer
