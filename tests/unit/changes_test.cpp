// Container changes: diff of an overlay upper dir, the layer commit writes, export of the merged
// tree. Whiteouts (mknod) and trusted.* xattrs need root; those tests skip otherwise.
#include "container/changes.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "layer/compression.h"
#include "layer/tar.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace strata::container {
namespace {

// An overlay upper dir written as an image layer, as commit and build store it.
Result<layer::WriteTarResult> writeLayer(const std::string& upperDir, int fd) {
  layer::WriteTarOptions options;
  options.overlay = layer::OverlayMarkers::ToLayer;
  return layer::writeTarFromDir(upperDir, fd, options);
}

bool isRoot() { return ::geteuid() == 0; }

#define REQUIRE_ROOT() \
  if (!isRoot()) GTEST_SKIP() << "needs root (whiteouts, trusted xattrs, mounts)"

struct Listed {
  std::string path;
  mode_t type = 0;
  mode_t perm = 0;
  int64_t uid = 0, gid = 0, mtime = 0, size = 0;
  std::string hardlink;
  std::string content;
  std::map<std::string, std::string> xattrs;
};

// The entries of a tar, in order, with their contents.
std::vector<Listed> listTar(const std::string& tar) {
  std::vector<Listed> out;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, tar.data(), tar.size()), ARCHIVE_OK);
  archive_entry* e;
  for (int r; (r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN;) {
    Listed l;
    l.path = archive_entry_pathname(e);
    l.type = archive_entry_filetype(e);
    l.perm = archive_entry_perm(e);
    l.uid = archive_entry_uid(e);
    l.gid = archive_entry_gid(e);
    l.mtime = archive_entry_mtime(e);
    l.size = archive_entry_size(e);
    if (archive_entry_hardlink(e)) l.hardlink = archive_entry_hardlink(e);
    archive_entry_xattr_reset(e);
    const char* name;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
      l.xattrs[name] = std::string(static_cast<const char*>(value), size);
    char buf[4096];
    for (la_ssize_t n; (n = archive_read_data(a, buf, sizeof buf)) > 0;)
      l.content.append(buf, static_cast<size_t>(n));
    out.push_back(std::move(l));
  }
  archive_read_free(a);
  return out;
}

std::vector<std::string> namesOf(const std::vector<Listed>& entries) {
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.path);
  return names;
}

std::vector<std::string> render(const std::vector<Change>& changes) {
  std::vector<std::string> out;
  for (const auto& c : changes) out.push_back(std::string(1, changeLetter(c.kind)) + " " + c.path);
  return out;
}

class ChangesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::create("/tmp", "strata-changes-test-");
    ASSERT_TRUE(dir) << dir.error().what();
    tmp_ = std::move(*dir);
  }

  // A fresh directory under the test's temp dir.
  // The scratch directory export mounts under (a store's tmp/ in real use).
  std::string scratch() {
    std::string p = joinPath(tmp_.path(), "scratch");
    EXPECT_TRUE(mkdirAll(p));
    return p;
  }

  std::string dir(const std::string& name) {
    std::string p = joinPath(tmp_.path(), name);
    EXPECT_TRUE(mkdirAll(p));
    return p;
  }

  static void mkdirs(const std::string& root, const std::string& rel, mode_t mode = 0755) {
    ASSERT_TRUE(mkdirAll(joinPath(root, rel), mode));
  }
  static void file(const std::string& root, const std::string& rel, const std::string& content) {
    ASSERT_TRUE(mkdirAll(dirName(joinPath(root, rel))));
    UniqueFd fd(
        ::open(joinPath(root, rel).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    ASSERT_TRUE(fd.valid()) << rel;
    ASSERT_TRUE(writeAll(fd.get(), content));
  }
  static void whiteout(const std::string& root, const std::string& rel) {
    ASSERT_TRUE(mkdirAll(dirName(joinPath(root, rel))));
    ASSERT_EQ(::mknod(joinPath(root, rel).c_str(), S_IFCHR | 0, makedev(0, 0)), 0) << rel;
  }
  static void opaque(const std::string& root, const std::string& rel) {
    ASSERT_TRUE(mkdirAll(joinPath(root, rel)));
    ASSERT_EQ(::setxattr(joinPath(root, rel).c_str(), "trusted.overlay.opaque", "y", 1, 0), 0)
        << rel;
  }

  std::vector<std::string> diffOf(const std::string& upper,
                                  const std::vector<std::string>& lowers) {
    auto r = diff(upper, lowers);
    EXPECT_TRUE(r) << r.error().what();
    return r ? render(*r) : std::vector<std::string>{};
  }

  // Runs write(fd) into a file and returns what it wrote.
  template <typename F>
  std::string captured(F&& write) {
    std::string out = joinPath(tmp_.path(), "out.tar");
    UniqueFd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    EXPECT_TRUE(fd.valid());
    write(fd.get());
    fd.reset();
    auto data = readFile(out);
    EXPECT_TRUE(data);
    return data ? *data : std::string();
  }

  // Extracts the last captured tar into a fresh directory.
  Result<layer::ExtractResult> extractCaptured(const std::string& root, layer::WhiteoutMode mode) {
    UniqueFd fd(::open(joinPath(tmp_.path(), "out.tar").c_str(), O_RDONLY | O_CLOEXEC));
    EXPECT_TRUE(fd.valid());
    return layer::extractLayer(layer::fdReader(fd.get()), root, {.whiteouts = mode});
  }

  TempDir tmp_;
};

// --- diff ---------------------------------------------------------------------------------------

TEST_F(ChangesTest, NewFileInNewDirIsAddedWithItsDir) {
  auto lower = dir("l1"), upper = dir("upper");
  file(lower, "etc/passwd", "root");
  file(upper, "newdir/f", "x");
  EXPECT_EQ(diffOf(upper, {lower}), (std::vector<std::string>{"A /newdir", "A /newdir/f"}));
}

TEST_F(ChangesTest, ModifiedFileAndItsCopiedUpDirAreChanged) {
  auto lower = dir("l1"), upper = dir("upper");
  file(lower, "etc/passwd", "root");
  file(lower, "etc/group", "root");
  file(upper, "etc/passwd", "root\nuser");
  EXPECT_EQ(diffOf(upper, {lower}), (std::vector<std::string>{"C /etc", "C /etc/passwd"}));
}

TEST_F(ChangesTest, DirectoriesAreListedForTheirOwnChangesOrWhatIsBelow) {
  auto lower = dir("l1"), upper = dir("upper");
  file(lower, "tmp/keep", "");
  file(lower, "opt/x", "");
  file(lower, "srv/a/b/c", "");
  mkdirs(upper, "tmp");  // copied up, the change inside undone since
  mkdirs(upper, "opt");
  ASSERT_EQ(::chmod(joinPath(upper, "opt").c_str(), 0700), 0);  // its own change
  mkdirs(upper, "srv/a/b");
  file(upper, "srv/a/b/new", "");
  EXPECT_EQ(diffOf(upper, {lower}), (std::vector<std::string>{"C /opt", "C /srv", "C /srv/a",
                                                              "C /srv/a/b", "A /srv/a/b/new"}));
}

TEST_F(ChangesTest, OrderIsTheWalkOrder) {
  auto lower = dir("l1"), upper = dir("upper");
  file(upper, "a/b", "");
  file(upper, "a-b", "");
  file(upper, "Z", "");
  EXPECT_EQ(diffOf(upper, {lower}), (std::vector<std::string>{"A /Z", "A /a", "A /a/b", "A /a-b"}));
  EXPECT_EQ(changeLetter(ChangeKind::Added), 'A');
  EXPECT_EQ(changeLetter(ChangeKind::Changed), 'C');
  EXPECT_EQ(changeLetter(ChangeKind::Deleted), 'D');
}

TEST_F(ChangesTest, SymlinksAreNotFollowed) {
  auto lower = dir("l1"), upper = dir("upper");
  file(lower, "real/x", "");
  ASSERT_EQ(::symlink("real", joinPath(lower, "link").c_str()), 0);
  // In the image "link" is a symlink: "link/x" does not exist there (it is "real/x").
  ASSERT_EQ(::symlink("/", joinPath(upper, "link").c_str()), 0);
  file(upper, "real/y", "");
  EXPECT_EQ(diffOf(upper, {lower}), (std::vector<std::string>{"C /link", "C /real", "A /real/y"}));
}

TEST_F(ChangesTest, MissingDirsFail) {
  auto upper = dir("upper");
  EXPECT_FALSE(diff(joinPath(tmp_.path(), "nope"), {}));
  EXPECT_FALSE(diff(upper, {joinPath(tmp_.path(), "nope")}));
}

TEST_F(ChangesTest, DeletedFile) {
  REQUIRE_ROOT();
  auto lower = dir("l1"), upper = dir("upper");
  file(lower, "etc/a", "");
  file(lower, "etc/b", "");
  whiteout(upper, "etc/a");
  EXPECT_EQ(diffOf(upper, {lower}), (std::vector<std::string>{"C /etc", "D /etc/a"}));
}

TEST_F(ChangesTest, OpaqueDirHidesTheImagesEntries) {
  REQUIRE_ROOT();
  auto lower = dir("l1"), upper = dir("upper");
  file(lower, "d/x", "");
  file(lower, "d/y", "old");
  file(lower, "d/sub/z", "");
  file(lower, "d/gone/deep", "");
  file(lower, "other", "");
  // rm -rf d; mkdir -p d/sub; echo > d/y; touch d/new
  opaque(upper, "d");
  mkdirs(upper, "d/sub");
  file(upper, "d/y", "new");
  file(upper, "d/new", "");
  EXPECT_EQ(diffOf(upper, {lower}),
            (std::vector<std::string>{"C /d", "D /d/gone", "A /d/new", "C /d/sub", "D /d/sub/z",
                                      "D /d/x", "C /d/y"}));
}

TEST_F(ChangesTest, OpaqueDirThatIsNewShowsOnlyAdds) {
  REQUIRE_ROOT();
  auto lower = dir("l1"), upper = dir("upper");
  file(lower, "f", "");
  opaque(upper, "n");
  file(upper, "n/x", "");
  EXPECT_EQ(diffOf(upper, {lower}), (std::vector<std::string>{"A /n", "A /n/x"}));
}

TEST_F(ChangesTest, OpaqueUpperRootHidesTheWholeImage) {
  REQUIRE_ROOT();
  auto l1 = dir("l1"), l2 = dir("l2"), upper = dir("upper");
  file(l1, "b", "");
  file(l2, "a/x", "");
  whiteout(l1, "c");
  file(l2, "c", "");
  ASSERT_EQ(::setxattr(upper.c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  file(upper, "b", "");
  EXPECT_EQ(diffOf(upper, {l1, l2}), (std::vector<std::string>{"D /a", "C /b"}));
}

TEST_F(ChangesTest, WhiteoutForAPathOnlyInTheSecondLayer) {
  REQUIRE_ROOT();
  auto l1 = dir("l1"), l2 = dir("l2"), upper = dir("upper");
  file(l1, "etc/top", "");
  file(l2, "etc/only2", "");
  whiteout(upper, "etc/only2");
  EXPECT_EQ(diffOf(upper, {l1, l2}), (std::vector<std::string>{"C /etc", "D /etc/only2"}));
}

TEST_F(ChangesTest, PathDeletedInTheImageThenReAddedIsAdded) {
  REQUIRE_ROOT();
  auto l1 = dir("l1"), l2 = dir("l2"), upper = dir("upper");
  file(l2, "etc/gone", "old");
  whiteout(l1, "etc/gone");
  file(upper, "etc/gone", "again");
  EXPECT_EQ(diffOf(upper, {l1, l2}), (std::vector<std::string>{"C /etc", "A /etc/gone"}));
}

TEST_F(ChangesTest, OpaqueDirInTheImageHidesTheLayersBelow) {
  REQUIRE_ROOT();
  auto l1 = dir("l1"), l2 = dir("l2"), upper = dir("upper");
  file(l2, "d/old", "");
  file(l2, "d/kept/x", "");
  opaque(l1, "d");
  file(l1, "d/top", "");
  file(upper, "d/old", "");
  file(upper, "d/top", "changed");
  EXPECT_EQ(diffOf(upper, {l1, l2}), (std::vector<std::string>{"C /d", "A /d/old", "C /d/top"}));
  // A non-directory in a higher layer hides a directory below it.
  auto l3 = dir("l3"), upper2 = dir("upper2");
  file(l3, "p", "a file");
  file(l2, "p/child", "");
  file(upper2, "p/child", "");  // (overlay would have made p opaque; not needed here)
  EXPECT_EQ(diffOf(upper2, {l3, l2}), (std::vector<std::string>{"C /p", "A /p/child"}));
}

// The same checks against an upper dir that overlayfs itself wrote.
TEST_F(ChangesTest, RealOverlayUpperDir) {
  REQUIRE_ROOT();
  auto l1 = dir("l1"), l2 = dir("l2"), upper = dir("upper"), work = dir("work"),
       merged = dir("merged");
  file(l2, "etc/passwd", "root");
  file(l2, "etc/group", "root");
  file(l2, "var/cache/a", "");
  file(l2, "var/cache/b/c", "");
  file(l1, "etc/hostname", "h");
  mkdirs(l2, "tmp");
  mkdirs(l2, "opt");
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string data = "lowerdir=" + l1 + ":" + l2 + ",upperdir=" + upper + ",workdir=" + work;
    if (::unshare(CLONE_NEWNS) < 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0 ||
        ::mount("overlay", merged.c_str(), "overlay", 0, data.c_str()) < 0)
      ::_exit(2);
    auto m = [&](const std::string& rel) { return joinPath(merged, rel); };
    bool ok = ::unlink(m("etc/group").c_str()) == 0 && ::mkdir(m("tmp/t").c_str(), 0755) == 0 &&
              ::rmdir(m("tmp/t").c_str()) == 0 && ::chmod(m("opt").c_str(), 0700) == 0 &&
              writeFileAtomic(m("etc/passwd"), "root\nuser").has_value() &&
              removeAll(m("var/cache")).has_value() && ::mkdir(m("var/cache").c_str(), 0755) == 0 &&
              writeFileAtomic(m("var/cache/new"), "").has_value() &&
              mkdirAll(m("srv/www")).has_value();
    ::_exit(ok ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_TRUE(isDirectory(joinPath(upper, "tmp"))) << "overlay copied /tmp up";
  EXPECT_EQ(diffOf(upper, {l1, l2}),
            (std::vector<std::string>{"C /etc", "D /etc/group", "C /etc/passwd", "C /opt", "A /srv",
                                      "A /srv/www", "C /var", "C /var/cache", "D /var/cache/a",
                                      "D /var/cache/b", "A /var/cache/new"}));
}

// --- writeLayer ---------------------------------------------------------------------------------

TEST_F(ChangesTest, WriteLayerConvertsWhiteoutsAndOpaqueDirs) {
  REQUIRE_ROOT();
  auto upper = dir("upper");
  file(upper, "a.txt", "hello");
  opaque(upper, "d");
  ASSERT_EQ(::chmod(joinPath(upper, "d").c_str(), 0750), 0);
  ASSERT_EQ(::chown(joinPath(upper, "d").c_str(), 7, 8), 0);
  file(upper, "d/keep", "k");
  ASSERT_EQ(::setxattr(joinPath(upper, "d").c_str(), "user.note", "n", 1, 0), 0);
  ASSERT_EQ(::setxattr(joinPath(upper, "a.txt").c_str(), "trusted.overlay.origin", "o", 1, 0), 0);
  whiteout(upper, "gone");
  mkdirs(upper, "etc");
  whiteout(upper, "etc/old");
  // overlayfs may link every whiteout to one shared inode: still two whiteouts, no hardlink.
  ASSERT_EQ(::link(joinPath(upper, "etc/old").c_str(), joinPath(upper, "etc/old2").c_str()), 0);
  ASSERT_EQ(::lchown(joinPath(upper, "gone").c_str(), 5, 6), 0);
  struct timespec times[2] = {{0, UTIME_OMIT}, {1234567890, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, joinPath(upper, "gone").c_str(), times, AT_SYMLINK_NOFOLLOW), 0);

  layer::WriteTarResult result;
  std::string tar = captured([&](int fd) {
    auto r = writeLayer(upper, fd);
    ASSERT_TRUE(r) << r.error().what();
    result = *r;
  });
  EXPECT_EQ(result.sha256Hex, Sha256::hexOf(tar));
  EXPECT_EQ(result.size, tar.size());

  auto entries = listTar(tar);
  EXPECT_EQ(namesOf(entries),
            (std::vector<std::string>{"a.txt", "d/", "d/.wh..wh..opq", "d/keep", "etc/",
                                      "etc/.wh.old", "etc/.wh.old2", ".wh.gone"}));
  std::map<std::string, Listed> byName;
  for (const auto& e : entries) byName[e.path] = e;
  EXPECT_TRUE(byName["a.txt"].xattrs.empty());
  EXPECT_EQ(byName["d/"].xattrs, (std::map<std::string, std::string>{{"user.note", "n"}}));
  const Listed& opq = byName["d/.wh..wh..opq"];
  EXPECT_EQ(opq.type, AE_IFREG);
  EXPECT_EQ(opq.perm, 0750u);
  EXPECT_EQ(opq.uid, 7);
  EXPECT_EQ(opq.gid, 8);
  EXPECT_EQ(opq.mtime, 0);
  EXPECT_EQ(opq.size, 0);
  EXPECT_TRUE(opq.xattrs.empty());
  const Listed& wh = byName[".wh.gone"];
  EXPECT_EQ(wh.type, AE_IFREG);
  EXPECT_EQ(wh.perm, 0600u);
  EXPECT_EQ(wh.uid, 5);
  EXPECT_EQ(wh.gid, 6);
  EXPECT_EQ(wh.mtime, 1234567890);
  EXPECT_EQ(wh.size, 0);
  for (const char* name : {"etc/.wh.old", "etc/.wh.old2"}) {
    EXPECT_EQ(byName[name].type, AE_IFREG) << name;
    EXPECT_TRUE(byName[name].hardlink.empty()) << name;
  }

  // Extracting it as a store snapshot gives the overlay markers back.
  auto root = dir("extracted");
  auto ex = extractCaptured(root, layer::WhiteoutMode::Overlay);
  ASSERT_TRUE(ex) << ex.error().what();
  EXPECT_EQ(ex->diffIdHex, result.sha256Hex);
  for (const char* rel : {"gone", "etc/old", "etc/old2"}) {
    struct stat st {};
    ASSERT_EQ(::lstat(joinPath(root, rel).c_str(), &st), 0) << rel;
    EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) << rel;
  }
  char value[4] = {};
  EXPECT_EQ(::getxattr(joinPath(root, "d").c_str(), "trusted.overlay.opaque", value, sizeof value),
            1);
  EXPECT_EQ(value[0], 'y');
  EXPECT_EQ(*readFile(joinPath(root, "d/keep")), "k");
  EXPECT_FALSE(pathExists(joinPath(root, "d/.wh..wh..opq")));
  EXPECT_FALSE(pathExists(joinPath(root, ".wh.gone")));

  // Same tree, same bytes.
  std::string again = captured([&](int fd) { ASSERT_TRUE(writeLayer(upper, fd)); });
  EXPECT_EQ(Sha256::hexOf(again), result.sha256Hex);

  // The writer's default is unchanged: a whiteout stays a device.
  std::string plain = captured([&](int fd) { ASSERT_TRUE(layer::writeTarFromDir(upper, fd)); });
  bool sawDevice = false;
  for (const auto& e : listTar(plain))
    if (e.path == "gone") sawDevice = e.type == AE_IFCHR;
  EXPECT_TRUE(sawDevice);
}

TEST_F(ChangesTest, WriteLayerOfAnOpaqueRootAndFixedMtime) {
  REQUIRE_ROOT();
  auto upper = dir("upper");
  ASSERT_EQ(::setxattr(upper.c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  file(upper, "x", "");
  layer::WriteTarOptions options;
  options.overlay = layer::OverlayMarkers::ToLayer;
  options.mtime = 42;
  std::string tar =
      captured([&](int fd) { ASSERT_TRUE(layer::writeTarFromDir(upper, fd, options)); });
  auto entries = listTar(tar);
  EXPECT_EQ(namesOf(entries), (std::vector<std::string>{".wh..wh..opq", "x"}));
  for (const auto& e : entries) EXPECT_EQ(e.mtime, 42) << e.path;
}

// --- exportRootfs -------------------------------------------------------------------------------

TEST_F(ChangesTest, ExportMergesLayersAndLeavesNoMount) {
  REQUIRE_ROOT();
  auto l1 = dir("l1"), l2 = dir("l2"), upper = dir("upper");
  file(l2, "bin/sh", "sh");
  file(l2, "etc/passwd", "root");
  file(l2, "etc/group", "g");
  file(l2, "var/log/x", "");
  file(l1, "etc/passwd", "root2");
  file(l1, "usr/lib/y", "y");
  whiteout(upper, "etc/group");
  file(upper, "etc/new", "n");
  opaque(upper, "var/log");
  file(upper, "var/log/z", "");

  // Other tests on this host may mount and unmount meanwhile: look only for what export used.
  auto exportDirs = [&] {
    std::set<std::string> out;
    auto names = listDirectory(scratch());
    EXPECT_TRUE(names);
    for (auto& name : names.value_or(std::vector<std::string>{}))
      if (name.starts_with("strata-export-")) out.insert(name);
    return out;
  };
  auto tmpBefore = exportDirs();
  std::string tar = captured([&](int fd) {
    auto st = exportRootfs({l1, l2}, upper, fd, scratch());
    ASSERT_TRUE(st) << st.error().what();
  });
  std::string mounts = *readFile("/proc/self/mountinfo");
  EXPECT_EQ(mounts.find("strata-export-"), std::string::npos) << mounts;
  EXPECT_EQ(mounts.find(tmp_.path()), std::string::npos) << mounts;
  EXPECT_EQ(exportDirs(), tmpBefore);

  auto entries = listTar(tar);
  EXPECT_EQ(namesOf(entries),
            (std::vector<std::string>{"bin/", "bin/sh", "etc/", "etc/new", "etc/passwd", "usr/",
                                      "usr/lib/", "usr/lib/y", "var/", "var/log/", "var/log/z"}));
  for (const auto& e : entries) {
    if (e.path == "etc/passwd") {
      EXPECT_EQ(e.content, "root2");
    }
    if (e.path == "bin/sh") {
      EXPECT_EQ(e.content, "sh");
    }
    EXPECT_EQ(e.xattrs.count("trusted.overlay.opaque"), 0u) << e.path;
  }

  // It extracts as a plain tree.
  auto root = dir("extracted");
  auto ex = extractCaptured(root, layer::WhiteoutMode::Apply);
  ASSERT_TRUE(ex) << ex.error().what();
  EXPECT_EQ(*readFile(joinPath(root, "etc/new")), "n");
  EXPECT_FALSE(pathExists(joinPath(root, "etc/group")));
}

TEST_F(ChangesTest, ExportWithoutUpperChangesAndBottomLayerWhiteouts) {
  REQUIRE_ROOT();
  auto l1 = dir("l1"), l2 = dir("l2"), upper = dir("upper");
  file(l2, "a", "a");
  whiteout(l2, "stray");  // a whiteout in the bottom layer hides nothing
  file(l1, "b", "b");
  // Fast path: one layer, nothing in the upper dir.
  std::string one =
      captured([&](int fd) { ASSERT_TRUE(exportRootfs({l2}, upper, fd, scratch())); });
  EXPECT_EQ(namesOf(listTar(one)), (std::vector<std::string>{"a"}));
  std::string none = captured([&](int fd) { ASSERT_TRUE(exportRootfs({l2}, "", fd, scratch())); });
  EXPECT_EQ(none, one);
  // Through overlay.
  std::string two = captured([&](int fd) {
    auto st = exportRootfs({l1, l2}, upper, fd, scratch());
    ASSERT_TRUE(st) << st.error().what();
  });
  EXPECT_EQ(namesOf(listTar(two)), (std::vector<std::string>{"a", "b"}));
  // Nothing at all.
  std::string empty =
      captured([&](int fd) { ASSERT_TRUE(exportRootfs({}, upper, fd, scratch())); });
  EXPECT_TRUE(listTar(empty).empty());
  EXPECT_EQ(empty, std::string(1024, '\0'));
}

TEST_F(ChangesTest, ExportOfManyLayersWithLongPaths) {
  REQUIRE_ROOT();
  // 120 layers of ~100-byte paths: far beyond one page of mount options.
  std::vector<std::string> layers;
  std::string longName(80, 'x');
  for (int i = 0; i < 120; ++i) {
    auto l = dir(longName + std::to_string(i) + ",with:odd");
    file(l, "f" + std::to_string(i), std::to_string(i));
    file(l, "shared", std::to_string(i));
    layers.push_back(l);
  }
  std::string tar = captured([&](int fd) {
    auto st = exportRootfs(layers, "", fd, scratch());
    ASSERT_TRUE(st) << st.error().what();
  });
  auto entries = listTar(tar);
  EXPECT_EQ(entries.size(), 121u);
  for (const auto& e : entries) {
    if (e.path == "shared") {
      EXPECT_EQ(e.content, "0");  // the top-most layer wins
    }
  }
  // Short enough for absolute paths, but with characters overlay would split at.
  std::string small = captured([&](int fd) {
    auto st = exportRootfs({layers[1], layers[2]}, "", fd, scratch());
    ASSERT_TRUE(st) << st.error().what();
  });
  EXPECT_EQ(namesOf(listTar(small)), (std::vector<std::string>{"f1", "f2", "shared"}));
}

TEST_F(ChangesTest, ExportReportsTheChildsError) {
  REQUIRE_ROOT();
  auto l1 = dir("l1");
  auto st = exportRootfs({l1, joinPath(tmp_.path(), "missing")}, "", -1, scratch());
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ENOENT) << st.error().what();
  EXPECT_NE(st.error().what().find("mount"), std::string::npos) << st.error().what();
  // A bad fd fails the write in the child.
  auto l2 = dir("l2");
  file(l2, "x", "");
  auto bad = exportRootfs({l1, l2}, "", 9999, scratch());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), EBADF) << bad.error().what();
}

}  // namespace
}  // namespace strata::container
