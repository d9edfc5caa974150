// Layer extraction against hostile archives, whiteouts in both modes, and entry replacement.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "layer/in_root.h"
#include "layer/tar.h"
#include "layer_test_util.h"
#include "util/fs.h"

namespace strata::layer {
namespace {

using testing::endOfArchive;
using testing::isRoot;
using testing::TarBuilder;
using testing::ustarEntry;

// Adds a sentinel directory beside the root, holding one file, that no extraction may touch.
class HostileTest : public testing::LayerFixture {
 protected:
  void SetUp() override {
    LayerFixture::SetUp();
    sentinel_ = joinPath(tmp_.path(), "sentinel");
    ASSERT_EQ(::mkdir(sentinel_.c_str(), 0755), 0);
    writeFile(joinPath(sentinel_, "secret"), "secret");
  }

  void expectSentinelUntouched() {
    auto names = detail::listDir(UniqueFd(::open(sentinel_.c_str(), O_RDONLY)).get(), sentinel_);
    ASSERT_TRUE(names);
    EXPECT_EQ(*names, std::vector<std::string>{"secret"});
    EXPECT_EQ(contentOf(joinPath(sentinel_, "secret")), "secret");
    struct stat st = lstatOf(joinPath(sentinel_, "secret"));
    EXPECT_EQ(st.st_nlink, 1u);
    EXPECT_EQ(st.st_mode & 07777, 0644u);
    EXPECT_EQ(lstatOf(sentinel_).st_mode & 07777, 0755u);
    auto top = detail::listDir(UniqueFd(::open(tmp_.path().c_str(), O_RDONLY)).get(), "tmp");
    ASSERT_TRUE(top);
    EXPECT_EQ(*top, (std::vector<std::string>{"root", "sentinel"}));
  }

  std::string sentinel_;
};

TEST_F(HostileTest, DotDotNamesAreRejected) {
  for (std::string name : {"../escape", "a/../../escape", "./../escape"}) {
    auto r = extract(ustarEntry(name, '0', "x") + endOfArchive());
    ASSERT_FALSE(r) << name;
    EXPECT_NE(r.error().what().find("layer entry \"" + name + "\""), std::string::npos)
        << r.error().what();
    EXPECT_NE(r.error().what().find("escapes the layer root"), std::string::npos)
        << r.error().what();
  }
  EXPECT_FALSE(pathExists(joinPath(tmp_.path(), "escape")));
  expectSentinelUntouched();
  // A ".." that stays inside is just cleaned.
  auto r = extract(ustarEntry("a/../b", '0', "x") + endOfArchive());
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(contentOf(path("b")), "x");
}

TEST_F(HostileTest, AbsoluteNamesLandUnderTheRoot) {
  std::string name = "/strata-layer-test-abs-" + std::to_string(::getpid()) + "/path";
  auto r = extract(ustarEntry(name, '0', "x") + endOfArchive());
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(contentOf(path(name)), "x");
  EXPECT_FALSE(pathExists(name));
}

TEST_F(HostileTest, SymlinkToSlashThenChild) {
  std::string leaf = "strata-layer-test-" + std::to_string(::getpid());
  auto r = extract(TarBuilder()
                       .symlink("a", "/")
                       .file("a/etc/" + leaf, "inside")
                       .dir(sentinel_)  // the same path, inside the root
                       .symlink("s", sentinel_)
                       .file("s/x", "inside too")
                       .finish());
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(contentOf(path("etc/" + leaf)), "inside");
  EXPECT_FALSE(pathExists("/etc/" + leaf));
  EXPECT_EQ(contentOf(path(sentinel_ + "/x")), "inside too");
  expectSentinelUntouched();
}

TEST_F(HostileTest, SymlinkUpThenChild) {
  auto r = extract(TarBuilder()
                       .symlink("a", "../../..")
                       .file("a/x", "inside")
                       .symlink("b", "../sentinel")
                       .dir("sentinel")
                       .file("b/y", "inside too")
                       .finish());
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(contentOf(path("x")), "inside");
  EXPECT_EQ(contentOf(path("sentinel/y")), "inside too");
  expectSentinelUntouched();
}

TEST_F(HostileTest, FinalSymlinkIsReplacedNotFollowed) {
  std::string secret = joinPath(sentinel_, "secret");
  auto r = extract(TarBuilder()
                       .symlink("f", secret)
                       .file("f", "pwned", 0600)
                       .symlink("d", sentinel_)
                       .dir("d", 0700)
                       .symlink("h", secret)
                       .file("target", "t")
                       .hardlink("h", "target")
                       .finish());
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(S_ISREG(lstatOf(path("f")).st_mode));
  EXPECT_EQ(contentOf(path("f")), "pwned");
  EXPECT_TRUE(S_ISDIR(lstatOf(path("d")).st_mode));
  EXPECT_EQ(lstatOf(path("d")).st_mode & 07777, 0700u);
  EXPECT_EQ(lstatOf(path("h")).st_ino, lstatOf(path("target")).st_ino);
  expectSentinelUntouched();
}

TEST_F(HostileTest, ParentSwappedForSymlinkWithinOneLayer) {
  // The parent "d" is first a real directory, then a symlink out: "d/b" must follow the new
  // symlink inside the root, not reuse a stale handle and not leave the root.
  auto r = extract(TarBuilder()
                       .dir(sentinel_)  // the same path, inside the root
                       .dir("d")
                       .file("d/a", "1")
                       .symlink("d", sentinel_)
                       .file("d/b", "2")
                       .finish());
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(S_ISLNK(lstatOf(path("d")).st_mode));
  EXPECT_EQ(contentOf(path(sentinel_ + "/b")), "2");
  expectSentinelUntouched();
}

TEST_F(HostileTest, HardlinksCannotReachOutside) {
  struct stat passwd {};
  bool havePasswd = ::lstat("/etc/passwd", &passwd) == 0;
  auto r = extract(TarBuilder().hardlink("h", "../../etc/passwd").finish());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("layer entry \"h\""), std::string::npos) << r.error().what();
  EXPECT_NE(r.error().what().find("escapes"), std::string::npos) << r.error().what();
  EXPECT_FALSE(pathExists(path("h")));

  // Absolute and through-symlink targets resolve inside the root, where there is nothing.
  resetRoot();
  r = extract(TarBuilder().hardlink("h", "/etc/passwd").finish());
  EXPECT_FALSE(r);
  resetRoot();
  r = extract(TarBuilder().symlink("l", sentinel_).hardlink("h", "l/secret").finish());
  EXPECT_FALSE(r);
  resetRoot();
  r = extract(TarBuilder().symlink("l", "../..").hardlink("h", "l/sentinel/secret").finish());
  EXPECT_FALSE(r);
  resetRoot();
  r = extract(TarBuilder().symlink("l", "/etc").hardlink("h", "l/passwd").finish());
  EXPECT_FALSE(r);
  EXPECT_FALSE(pathExists(path("h")));

  if (havePasswd) {
    struct stat after {};
    ASSERT_EQ(::lstat("/etc/passwd", &after), 0);
    EXPECT_EQ(after.st_nlink, passwd.st_nlink);
  }
  expectSentinelUntouched();
}

TEST_F(HostileTest, HardlinkToSymlinkLinksTheSymlinkItself) {
  auto r = extract(TarBuilder().symlink("s", sentinel_ + "/secret").hardlink("h", "s").finish());
  ASSERT_TRUE(r) << r.error().what();
  struct stat h = lstatOf(path("h"));
  EXPECT_TRUE(S_ISLNK(h.st_mode));
  EXPECT_EQ(h.st_ino, lstatOf(path("s")).st_ino);
  expectSentinelUntouched();
}

TEST_F(HostileTest, BadWhiteoutNamesAreRejected) {
  ASSERT_TRUE(mkdirAll(path("a/b")));
  for (auto mode : {WhiteoutMode::Overlay, WhiteoutMode::Apply}) {
    for (std::string name : {".wh..", "a/.wh..", "a/b/.wh...", "../.wh.x"}) {
      auto r = extract(ustarEntry(name, '0') + endOfArchive(), {.whiteouts = mode});
      ASSERT_FALSE(r) << name;
      EXPECT_NE(r.error().what().find("layer entry \"" + name + "\""), std::string::npos)
          << r.error().what();
    }
  }
  EXPECT_TRUE(isDirectory(path("a/b")));
  expectSentinelUntouched();
}

TEST_F(HostileTest, FileAsParentFails) {
  auto r = extract(TarBuilder().file("f", "x").file("f/y", "z").finish());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("layer entry \"f/y\""), std::string::npos) << r.error().what();
}

TEST_F(HostileTest, ReplacingEntries) {
  auto r = extract(TarBuilder()
                       .dir("x")
                       .file("x/inner", "1")
                       .file("y", "2")
                       .symlink("z", "y")
                       .dir("keep")
                       .file("keep/f", "3")
                       .finish());
  ASSERT_TRUE(r) << r.error().what();
  r = extract(TarBuilder()
                  .file("x", "now a file")
                  .dir("y", 0750)
                  .dir("z", 0751)
                  .dir("keep", 0700)
                  .finish());
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(contentOf(path("x")), "now a file");
  EXPECT_TRUE(S_ISDIR(lstatOf(path("y")).st_mode));
  EXPECT_EQ(lstatOf(path("y")).st_mode & 07777, 0750u);
  EXPECT_TRUE(S_ISDIR(lstatOf(path("z")).st_mode));
  EXPECT_EQ(lstatOf(path("keep")).st_mode & 07777, 0700u);
  EXPECT_EQ(contentOf(path("keep/f")), "3");
}

TEST_F(HostileTest, OverlayWhiteouts) {
  if (!isRoot()) GTEST_SKIP() << "needs root (mknod whiteouts, trusted.overlay.* xattrs)";
  ASSERT_TRUE(mkdirAll(path("gone")));
  writeFile(path("gone/file"), "x");
  auto r = extract(TarBuilder()
                       .file(".wh.gone", "")
                       .dir("d")
                       .file("d/.wh..wh..opq", "")
                       .file("d/keep", "k")
                       .file("sub/.wh.x", "")
                       .file(".wh..wh.plnk", "")
                       .finish());
  ASSERT_TRUE(r) << r.error().what();
  for (std::string p : {"gone", "sub/x"}) {
    struct stat st = lstatOf(path(p));
    EXPECT_TRUE(S_ISCHR(st.st_mode)) << p;
    EXPECT_EQ(st.st_rdev, makedev(0, 0)) << p;
  }
  char v[4] = {};
  EXPECT_EQ(::getxattr(path("d").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
  EXPECT_EQ(v[0], 'y');
  EXPECT_EQ(contentOf(path("d/keep")), "k");
  for (std::string p : {".wh.gone", "d/.wh..wh..opq", "sub/.wh.x", ".wh..wh.plnk"})
    EXPECT_FALSE(pathExists(path(p))) << p;
}

TEST_F(HostileTest, ApplyWhiteouts) {
  ExtractOptions apply{.whiteouts = WhiteoutMode::Apply};
  auto r = extract(TarBuilder()
                       .file("keep", "k")
                       .file("gone", "g")
                       .file("a/old", "a")
                       .file("d/old1", "1")
                       .file("d/sub/old2", "2")
                       .file("d/sub/old3", "3")
                       .finish(),
                   apply);
  ASSERT_TRUE(r) << r.error().what();
  // The opaque marker comes after some of this layer's own entries: those stay.
  r = extract(TarBuilder()
                  .file(".wh.gone", "")
                  .dir("d")
                  .file("d/new", "n")
                  .dir("d/sub")
                  .file("d/sub/new2", "n2")
                  .file("d/.wh..wh..opq", "")
                  .file("d/after", "a")
                  .file(".wh.missing", "")
                  .file("nested/deep/.wh.nothing", "")
                  .file("a/.wh.old", "")
                  .finish(),
              apply);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_FALSE(pathExists(path("gone")));
  EXPECT_EQ(contentOf(path("keep")), "k");
  EXPECT_FALSE(pathExists(path("a/old")));
  EXPECT_TRUE(isDirectory(path("a")));
  EXPECT_FALSE(pathExists(path("nested")));
  auto names = [&](const std::string& rel) {
    UniqueFd fd(::open(path(rel).c_str(), O_RDONLY | O_DIRECTORY));
    auto n = detail::listDir(fd.get(), rel);
    EXPECT_TRUE(n);
    return n ? *n : std::vector<std::string>();
  };
  EXPECT_EQ(names("d"), (std::vector<std::string>{"after", "new", "sub"}));
  EXPECT_EQ(names("d/sub"), std::vector<std::string>{"new2"});
  EXPECT_EQ(names(""), (std::vector<std::string>{"a", "d", "keep"}));

  // An opaque marker first (the usual order) empties the directory before the new entries.
  r = extract(TarBuilder().file("d/.wh..wh..opq", "").file("d/fresh", "f").finish(), apply);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(names("d"), std::vector<std::string>{"fresh"});
  // And opaque at the top empties the whole tree of earlier content.
  r = extract(TarBuilder().file(".wh..wh..opq", "").file("only", "o").finish(), apply);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(names(""), std::vector<std::string>{"only"});
}

// A ustar header for a device node (type '3' char, '4' block) with its numbers; no data.
std::string deviceEntry(const std::string& name, char type, unsigned major, unsigned minor,
                        unsigned mode = 0600) {
  std::string h = ustarEntry(name, type, "", "", mode);
  auto octal = [&](size_t off, unsigned v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%07o", v);
    std::memcpy(h.data() + off, buf, 7);
  };
  octal(329, major);
  octal(337, minor);
  std::memset(h.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h.substr(0, 512)) sum += c;
  char buf[8];
  std::snprintf(buf, sizeof buf, "%06o", sum);
  std::memcpy(h.data() + 148, buf, 7);
  return h;
}

TEST_F(HostileTest, DeviceNodesAreCreatedNeverOpened) {
  if (!isRoot()) GTEST_SKIP() << "needs root (mknod)";
  // The host's first disk and /dev/mem as nodes in a layer: kept as nodes (Docker does the
  // same; containers' device cgroup and capabilities keep them unusable), never read or written.
  auto r = extract(deviceEntry("dev/sda", '4', 8, 0) + deviceEntry("dev/mem", '3', 1, 1) + endOfArchive());
  ASSERT_TRUE(r) << r.error().what();
  struct stat sda = lstatOf(path("dev/sda")), mem = lstatOf(path("dev/mem"));
  EXPECT_TRUE(S_ISBLK(sda.st_mode));
  EXPECT_EQ(sda.st_rdev, makedev(8, 0));
  EXPECT_TRUE(S_ISCHR(mem.st_mode));
  EXPECT_EQ(mem.st_rdev, makedev(1, 1));
  EXPECT_EQ(mem.st_mode & 07777, 0600u);
  expectSentinelUntouched();
}

TEST_F(HostileTest, SetuidBitsAreKeptAsData) {
  // A setuid-root shell in a layer keeps its mode (as Docker keeps it); extraction never runs it.
  auto r = extract(ustarEntry("bin/su", '0', "#!/bin/sh\ntouch " + sentinel_ + "/ran\n", "", 04755) +
                   ustarEntry("bin/sg", '0', "x", "", 02755) + endOfArchive());
  ASSERT_TRUE(r) << r.error().what();
  if (isRoot()) {
    EXPECT_EQ(lstatOf(path("bin/su")).st_mode & 07777, 04755u);
    EXPECT_EQ(lstatOf(path("bin/sg")).st_mode & 07777, 02755u);
  }
  expectSentinelUntouched();
}

TEST_F(HostileTest, SizesThatLieAreErrors) {
  // The header promises 10000 bytes; the archive ends after 100.
  std::string lying = ustarEntry("big", '0', std::string(10000, 'a'));
  lying.resize(512 + 100);
  auto r = extract(lying);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("big"), std::string::npos) << r.error().what();
  expectSentinelUntouched();
  // The header promises less than follows: the rest is read as a header, and is not one.
  resetRoot();
  std::string shortHeader = ustarEntry("small", '0', std::string(600, 'b'));
  std::string patched = ustarEntry("small", '0', std::string(10, 'b')).substr(0, 512) + shortHeader.substr(512);
  r = extract(patched + endOfArchive());
  ASSERT_FALSE(r);
  expectSentinelUntouched();
}

TEST_F(HostileTest, GzipBombStopsAtTheSizeLimit) {
  // 64 MiB of zeros compress to about 64 KiB; the limit stops the extraction at 1 MiB.
  std::string tar = ustarEntry("zeros", '0', std::string(size_t(64) << 20, '\0')) + endOfArchive();
  std::string bomb = testing::gzipOf(tar);
  ASSERT_LT(bomb.size(), size_t(1) << 20);
  ExtractOptions options;
  options.maxBytes = uint64_t(1) << 20;
  auto r = extract(bomb, options);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("exceeds the size limit of 1048576"), std::string::npos) << r.error().what();
  EXPECT_NE(r.error().what().find("STRATA_MAX_LAYER_SIZE"), std::string::npos) << r.error().what();
  struct stat st {};
  if (::lstat(path("zeros").c_str(), &st) == 0) {
    EXPECT_LE(st.st_size, off_t(2) << 20);
  }
  expectSentinelUntouched();
}

TEST(MaxLayerSize, FromTheEnvironment) {
  ::unsetenv("STRATA_MAX_LAYER_SIZE");
  EXPECT_EQ(configuredMaxBytes().value_or(0), uint64_t(1) << 40);
  ::setenv("STRATA_MAX_LAYER_SIZE", "10m", 1);
  EXPECT_EQ(configuredMaxBytes().value_or(0), uint64_t(10) << 20);
  EXPECT_EQ(ExtractOptions().maxBytes, uint64_t(10) << 20);
  ::setenv("STRATA_MAX_LAYER_SIZE", "12345", 1);
  EXPECT_EQ(configuredMaxBytes().value_or(0), 12345u);
  for (const char* bad : {"ten", "5x", "-3", "0"}) {
    ::setenv("STRATA_MAX_LAYER_SIZE", bad, 1);
    auto r = configuredMaxBytes();
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().what().find(std::string("STRATA_MAX_LAYER_SIZE: invalid size \"") + bad), std::string::npos);
  }
  ::unsetenv("STRATA_MAX_LAYER_SIZE");
}

}  // namespace
}  // namespace strata::layer
