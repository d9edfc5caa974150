// `cp`: Docker's destination rules as a pure function, and copies in and out of a stopped
// container made by hand (a lower layer, an empty upper and work dir), through the same
// functions the command uses. Mounting needs root; those tests skip otherwise.
#include "container/copy.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "util/fs.h"

namespace strata::container {
namespace {

#define REQUIRE_ROOT() \
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (mount namespaces, overlayfs)"

// --- the rules ---

TEST(PlanCopy, FileToMissingDestBecomesIt) {
  EXPECT_EQ(planCopy(false, false, false, false, false).value(), CopyAction::As);
}

TEST(PlanCopy, FileOverwritesExistingFile) {
  EXPECT_EQ(planCopy(false, false, true, false, false).value(), CopyAction::As);
}

TEST(PlanCopy, FileGoesIntoExistingDir) {
  EXPECT_EQ(planCopy(false, false, true, true, false).value(), CopyAction::Into);
  EXPECT_EQ(planCopy(false, false, true, true, true).value(), CopyAction::Into);
}

TEST(PlanCopy, FileToMissingDirWithSlashFails) {
  auto r = planCopy(false, false, false, false, true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "no such directory");
}

TEST(PlanCopy, DirToMissingDestIsCreatedWithItsContents) {
  EXPECT_EQ(planCopy(true, false, false, false, false).value(), CopyAction::As);
  EXPECT_EQ(planCopy(true, false, false, false, true).value(), CopyAction::As);
  EXPECT_EQ(planCopy(true, true, false, false, false).value(), CopyAction::As);
}

TEST(PlanCopy, DirGoesIntoExistingDirUnderItsName) {
  EXPECT_EQ(planCopy(true, false, true, true, false).value(), CopyAction::Into);
}

TEST(PlanCopy, DirDotMergesItsContentsIntoExistingDir) {
  EXPECT_EQ(planCopy(true, true, true, true, false).value(), CopyAction::ContentsInto);
}

TEST(PlanCopy, DirOntoExistingFileFails) {
  auto r = planCopy(true, false, true, false, false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "cannot copy directory");
  EXPECT_FALSE(planCopy(true, true, true, false, false));
}

// --- a stopped container by hand ---

std::string readText(const std::string& path) { return readFile(path).value_or("<missing>"); }

void writeText(const std::string& path, const std::string& text, mode_t mode = 0644) {
  auto fd = openFile(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  ASSERT_TRUE(fd) << fd.error().what();
  ASSERT_TRUE(writeAll(fd->get(), text));
  ASSERT_EQ(::fchmod(fd->get(), mode), 0);
}

struct Listed {
  std::string path;
  mode_t type;
  int64_t uid, gid;
  std::string content;
};

std::vector<Listed> listTar(const std::string& tar) {
  std::vector<Listed> out;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, tar.data(), tar.size()), ARCHIVE_OK);
  archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    Listed l{archive_entry_pathname(e), archive_entry_filetype(e), archive_entry_uid(e),
             archive_entry_gid(e), ""};
    char buf[4096];
    for (la_ssize_t n; (n = archive_read_data(a, buf, sizeof buf)) > 0;)
      l.content.append(buf, static_cast<size_t>(n));
    out.push_back(std::move(l));
  }
  archive_read_free(a);
  return out;
}

class CopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) return;
    tmp_ = TempDir::create("/tmp", "strata-copy-test-").value();
    const std::string& t = tmp_.path();
    for (const char* d : {"lower", "upper", "work", "tmp", "host", "sentinel"})
      ASSERT_TRUE(mkdirAll(joinPath(t, d)));
    lower_ = joinPath(t, "lower");
    upper_ = joinPath(t, "upper");
    host_ = joinPath(t, "host");
    sentinel_ = joinPath(t, "sentinel");
    // The image: /etc/passwd, /data/{a,sub/b}, and symlinks that name host paths.
    ASSERT_TRUE(mkdirAll(lower_ + "/etc"));
    ASSERT_TRUE(mkdirAll(lower_ + "/data/sub"));
    writeText(lower_ + "/etc/passwd", "root:x:0:0\n", 0640);
    writeText(lower_ + "/data/a", "A\n");
    writeText(lower_ + "/data/sub/b", "B\n", 0600);
    ASSERT_EQ(::chown((lower_ + "/data/a").c_str(), 123, 456), 0);
    timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (lower_ + "/etc/passwd").c_str(), old, 0), 0);
    ASSERT_EQ(::symlink(sentinel_.c_str(), (lower_ + "/escape").c_str()), 0);
    ASSERT_EQ(::symlink((sentinel_ + "/secret").c_str(), (lower_ + "/secretlink").c_str()), 0);
    ASSERT_EQ(::symlink("/etc/passwd", (lower_ + "/pwlink").c_str()), 0);
    writeText(sentinel_ + "/secret", "host secret\n");

    c_.name = "c1";
    c_.layers.lowerDirs = {lower_};
    c_.layers.upperDir = upper_;
    c_.layers.workDir = joinPath(t, "work");
    c_.tmpDir = joinPath(t, "tmp");
  }

  std::string hostPath(const std::string& name) const { return joinPath(host_, name); }
  std::vector<std::string> sentinelNames() const {
    auto names = listDirectory(sentinel_).value();
    std::sort(names.begin(), names.end());
    return names;
  }

  TempDir tmp_;
  std::string lower_, upper_, host_, sentinel_;
  ContainerFs c_;
};

TEST_F(CopyTest, FileOutKeepsModeAndTime) {
  REQUIRE_ROOT();
  ASSERT_TRUE(copyFromContainer(c_, "/etc/passwd", hostPath("pw"), {}));
  EXPECT_EQ(readText(hostPath("pw")), "root:x:0:0\n");
  struct stat st;
  ASSERT_EQ(::stat(hostPath("pw").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
  // Into an existing directory, under its own name; a relative SRC starts at the root.
  ASSERT_TRUE(copyFromContainer(c_, "etc/passwd", host_, {}));
  EXPECT_EQ(readText(hostPath("passwd")), "root:x:0:0\n");
  // Nothing is left mounted or behind in tmp.
  EXPECT_TRUE(listDirectory(c_.tmpDir).value().empty());
}

TEST_F(CopyTest, OwnershipOutIsTheCallersUnlessArchive) {
  REQUIRE_ROOT();
  ASSERT_TRUE(copyFromContainer(c_, "/data/a", hostPath("mine"), {}));
  ASSERT_TRUE(copyFromContainer(c_, "/data/a", hostPath("kept"), {.archive = true}));
  struct stat st;
  ASSERT_EQ(::stat(hostPath("mine").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::getuid());
  ASSERT_EQ(::stat(hostPath("kept").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 123u);
  EXPECT_EQ(st.st_gid, 456u);
}

TEST_F(CopyTest, DirOutToMissingDestIsCreatedWithItsContents) {
  REQUIRE_ROOT();
  ASSERT_TRUE(copyFromContainer(c_, "/data", hostPath("copy"), {}));
  EXPECT_EQ(readText(hostPath("copy/a")), "A\n");
  EXPECT_EQ(readText(hostPath("copy/sub/b")), "B\n");
  EXPECT_FALSE(pathExists(hostPath("copy/data")));
}

TEST_F(CopyTest, DirOutToExistingDirGoesUnderItsName) {
  REQUIRE_ROOT();
  ASSERT_TRUE(mkdirAll(hostPath("out")));
  ASSERT_TRUE(copyFromContainer(c_, "/data", hostPath("out"), {}));
  EXPECT_EQ(readText(hostPath("out/data/a")), "A\n");
  EXPECT_EQ(readText(hostPath("out/data/sub/b")), "B\n");
}

TEST_F(CopyTest, DirDotOutMergesContents) {
  REQUIRE_ROOT();
  ASSERT_TRUE(mkdirAll(hostPath("merge")));
  writeText(hostPath("merge/mine"), "mine\n");
  ASSERT_TRUE(copyFromContainer(c_, "/data/.", hostPath("merge"), {}));
  EXPECT_EQ(readText(hostPath("merge/a")), "A\n");
  EXPECT_EQ(readText(hostPath("merge/mine")), "mine\n");
  EXPECT_FALSE(pathExists(hostPath("merge/data")));
}

TEST_F(CopyTest, DirOutOntoFileOrFileToMissingDirFails) {
  REQUIRE_ROOT();
  writeText(hostPath("file"), "x");
  auto r = copyFromContainer(c_, "/data", hostPath("file"), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "cannot copy directory");
  r = copyFromContainer(c_, "/etc/passwd", hostPath("newdir") + "/", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "no such directory");
  r = copyFromContainer(c_, "/etc/passwd", hostPath("nodir/x"), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(),
            "invalid output path: directory \"" + hostPath("nodir") + "\" does not exist");
}

TEST_F(CopyTest, MissingSourceNamesThePath) {
  REQUIRE_ROOT();
  auto r = copyFromContainer(c_, "/nope", hostPath("x"), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "Could not find the file /nope in container c1");
  EXPECT_FALSE(pathExists(hostPath("x")));
  auto in = copyToContainer(c_, hostPath("nope"), "/tmp", {});
  ASSERT_FALSE(in);
  EXPECT_EQ(in.error().what(), "lstat " + hostPath("nope") + ": No such file or directory");
}

TEST_F(CopyTest, SymlinkOutIsCopiedAsALinkUnlessFollowed) {
  REQUIRE_ROOT();
  ASSERT_TRUE(copyFromContainer(c_, "/pwlink", hostPath("link"), {}));
  char target[64] = {};
  ASSERT_GT(::readlink(hostPath("link").c_str(), target, sizeof target - 1), 0);
  EXPECT_STREQ(target, "/etc/passwd");
  // -L follows it inside the container, keeping the link's name.
  ASSERT_TRUE(copyFromContainer(c_, "/pwlink", host_, {.followLink = true}));
  EXPECT_EQ(readText(hostPath("pwlink")), "root:x:0:0\n");
}

TEST_F(CopyTest, SymlinksOutResolveInsideTheContainer) {
  REQUIRE_ROOT();
  // secretlink names a host file that exists; in the container it names nothing.
  auto r = copyFromContainer(c_, "/secretlink", hostPath("s"), {.followLink = true});
  ASSERT_FALSE(r);
  EXPECT_FALSE(pathExists(hostPath("s")));
  r = copyFromContainer(c_, "/escape/secret", hostPath("s"), {});
  ASSERT_FALSE(r);
  EXPECT_FALSE(pathExists(hostPath("s")));
}

TEST_F(CopyTest, StreamOutIsATarNamedAfterTheSource) {
  REQUIRE_ROOT();
  auto out = TempDir::create("/tmp", "strata-copy-out-").value();
  std::string file = joinPath(out.path(), "t.tar");
  {
    auto fd = openFile(file, O_WRONLY | O_CREAT | O_TRUNC);
    ASSERT_TRUE(fd);
    ASSERT_TRUE(copyFromContainer(c_, "/data", "-", {}, fd->get()));
  }
  auto entries = listTar(readFile(file).value());
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.path);
  EXPECT_EQ(names, (std::vector<std::string>{"data/", "data/a", "data/sub/", "data/sub/b"}));
  EXPECT_EQ(entries[1].uid, 123);  // ownership as in the container
  EXPECT_EQ(entries[1].content, "A\n");
  {
    auto fd = openFile(file, O_WRONLY | O_CREAT | O_TRUNC);
    ASSERT_TRUE(copyFromContainer(c_, "/data/.", "-", {}, fd->get()));
  }
  names.clear();
  for (const auto& e : listTar(readFile(file).value())) names.push_back(e.path);
  EXPECT_EQ(names.front(), "./");
  EXPECT_EQ(names[1], "./a");
}

TEST_F(CopyTest, FileInLandsInTheUpperDirOwnedByRoot) {
  REQUIRE_ROOT();
  writeText(hostPath("new"), "new\n", 0751);
  ASSERT_EQ(::chown(hostPath("new").c_str(), 1000, 1000), 0);
  ASSERT_TRUE(copyToContainer(c_, hostPath("new"), "/etc/new", {}));
  EXPECT_EQ(readText(upper_ + "/etc/new"), "new\n");
  EXPECT_FALSE(pathExists(lower_ + "/etc/new"));
  struct stat st;
  ASSERT_EQ(::stat((upper_ + "/etc/new").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, 0u);
  EXPECT_EQ(st.st_mode & 07777, 0751u);
  // Into a directory under its own name, -a keeping the owner; an overwrite.
  ASSERT_TRUE(copyToContainer(c_, hostPath("new"), "/data", {.archive = true}));
  ASSERT_EQ(::stat((upper_ + "/data/new").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  writeText(hostPath("passwd"), "changed\n");
  ASSERT_TRUE(copyToContainer(c_, hostPath("passwd"), "/etc/passwd", {}));
  EXPECT_EQ(readText(upper_ + "/etc/passwd"), "changed\n");
  EXPECT_EQ(readText(lower_ + "/etc/passwd"), "root:x:0:0\n");
  EXPECT_TRUE(listDirectory(c_.tmpDir).value().empty());
}

TEST_F(CopyTest, DirInFollowsTheRules) {
  REQUIRE_ROOT();
  ASSERT_TRUE(mkdirAll(hostPath("tree/sub")));
  writeText(hostPath("tree/t"), "t\n");
  writeText(hostPath("tree/sub/u"), "u\n");
  ASSERT_TRUE(copyToContainer(c_, hostPath("tree"), "/made", {}));
  EXPECT_EQ(readText(upper_ + "/made/sub/u"), "u\n");
  ASSERT_TRUE(copyToContainer(c_, hostPath("tree"), "/data", {}));
  EXPECT_EQ(readText(upper_ + "/data/tree/t"), "t\n");
  ASSERT_TRUE(copyToContainer(c_, hostPath("tree") + "/.", "/data", {}));
  EXPECT_EQ(readText(upper_ + "/data/t"), "t\n");
  auto r = copyToContainer(c_, hostPath("tree"), "/etc/passwd", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "cannot copy directory");
  // A file does not replace a directory.
  writeText(hostPath("sub"), "file\n");
  r = copyToContainer(c_, hostPath("sub"), "/data", {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("cannot overwrite directory"), std::string::npos);
  r = copyToContainer(c_, hostPath("tree/t"), "/nodir/x", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "Could not find the file /nodir in container c1");
}

TEST_F(CopyTest, SymlinksInTheContainerNeverReachTheHost) {
  REQUIRE_ROOT();
  writeText(hostPath("payload"), "payload\n");
  // /escape -> <sentinel> and /secretlink -> <sentinel>/secret are host paths on the host,
  // but resolve inside the container's root, where they do not exist.
  EXPECT_FALSE(copyToContainer(c_, hostPath("payload"), "/escape/pwned", {}));
  EXPECT_FALSE(copyToContainer(c_, hostPath("payload"), "/escape/", {}));
  EXPECT_FALSE(copyToContainer(c_, hostPath("payload"), "/secretlink", {}));
  EXPECT_EQ(sentinelNames(), (std::vector<std::string>{"secret"}));
  EXPECT_EQ(readText(sentinel_ + "/secret"), "host secret\n");
  // A tar on stdin with entries under the link stays inside too.
  auto tarDir = TempDir::create("/tmp", "strata-copy-tar-").value();
  ASSERT_TRUE(mkdirAll(tarDir.path() + "/escape"));
  writeText(tarDir.path() + "/escape/pwned", "x");
  std::string tar = joinPath(host_, "in.tar");
  ASSERT_EQ(std::system(("tar -C " + tarDir.path() + " -cf " + tar + " escape/pwned").c_str()), 0);
  auto in = openFile(tar, O_RDONLY);
  ASSERT_TRUE(in);
  EXPECT_FALSE(copyToContainer(c_, "-", "/", {}, in->get()));
  EXPECT_EQ(sentinelNames(), (std::vector<std::string>{"secret"}));
}

TEST_F(CopyTest, FollowedDestSymlinkStaysInTheContainer) {
  REQUIRE_ROOT();
  writeText(hostPath("pw"), "via link\n");
  // /pwlink -> /etc/passwd: the container's, not the host's.
  ASSERT_TRUE(copyToContainer(c_, hostPath("pw"), "/pwlink", {}));
  EXPECT_EQ(readText(upper_ + "/etc/passwd"), "via link\n");
  EXPECT_NE(readText("/etc/passwd"), "via link\n");
}

TEST_F(CopyTest, StreamInExtractsIntoAnExistingDir) {
  REQUIRE_ROOT();
  auto tarDir = TempDir::create("/tmp", "strata-copy-tar-").value();
  writeText(tarDir.path() + "/f", "f\n");
  ASSERT_EQ(::chown((tarDir.path() + "/f").c_str(), 7, 7), 0);
  std::string tar = joinPath(host_, "in.tar");
  ASSERT_EQ(std::system(("tar -C " + tarDir.path() + " -cf " + tar + " .").c_str()), 0);
  auto in = openFile(tar, O_RDONLY);
  ASSERT_TRUE(in);
  ASSERT_TRUE(copyToContainer(c_, "-", "/data", {}, in->get()));
  EXPECT_EQ(readText(upper_ + "/data/f"), "f\n");
  struct stat st;
  ASSERT_EQ(::stat((upper_ + "/data/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  auto again = openFile(tar, O_RDONLY);
  auto r = copyToContainer(c_, "-", "/data/missing", {}, again->get());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "destination \"c1:/data/missing\" must be a directory");
}

// --- a running container, played by a process that pivot_roots into a tree of its own ---

class RunningCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) return;
    tmp_ = TempDir::create("/tmp", "strata-copy-running-").value();
    root_ = joinPath(tmp_.path(), "root");
    host_ = joinPath(tmp_.path(), "host");
    sentinel_ = joinPath(tmp_.path(), "sentinel");
    for (const auto& d : {root_ + "/etc", root_ + "/proc", host_, sentinel_})
      ASSERT_TRUE(mkdirAll(d));
    writeText(root_ + "/etc/passwd", "ctr\n");
    ASSERT_EQ(::symlink(sentinel_.c_str(), (root_ + "/escape").c_str()), 0);
    int ready[2], hold[2];
    ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(hold, O_CLOEXEC), 0);
    UniqueFd readyRead(ready[0]), readyWrite(ready[1]), holdRead(hold[0]);
    hold_.reset(hold[1]);
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      hold_.reset();
      // pid 1 of the "container": its own mount namespace with the tree as its root (and a
      // /proc of its own, as the runtime gives one), then it waits for the test to finish.
      bool ok = ::unshare(CLONE_NEWNS) == 0 &&
                ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
                ::mount(root_.c_str(), root_.c_str(), nullptr, MS_BIND, nullptr) == 0 &&
                ::mount("proc", (root_ + "/proc").c_str(), "proc", 0, nullptr) == 0 &&
                ::chdir(root_.c_str()) == 0 && ::mkdir(".old", 0700) == 0 &&
                ::syscall(SYS_pivot_root, ".", ".old") == 0 &&
                ::umount2("/.old", MNT_DETACH) == 0 && ::rmdir("/.old") == 0;
      char c = ok ? 'y' : 'n';
      (void)!::write(readyWrite.get(), &c, 1);
      (void)!::read(holdRead.get(), &c, 1);  // returns when the test closes hold_
      ::_exit(0);
    }
    readyWrite.reset();
    holdRead.reset();
    char c = 0;
    ASSERT_EQ(::read(readyRead.get(), &c, 1), 1);
    ASSERT_EQ(c, 'y') << "could not set up the fake container";
    c_.name = "c2";
    c_.pid = pid_;
  }

  void TearDown() override {
    if (pid_ <= 0) return;
    hold_.reset();
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }

  std::string hostPath(const std::string& name) const { return joinPath(host_, name); }

  TempDir tmp_;
  std::string root_, host_, sentinel_;
  UniqueFd hold_;
  pid_t pid_ = -1;
  ContainerFs c_;
};

TEST_F(RunningCopyTest, CopiesGoThroughTheContainersMountNamespace) {
  REQUIRE_ROOT();
  ASSERT_TRUE(copyFromContainer(c_, "/etc/passwd", hostPath("pw"), {}));
  EXPECT_EQ(readText(hostPath("pw")), "ctr\n");
  writeText(hostPath("in"), "in\n");
  ASSERT_TRUE(copyToContainer(c_, hostPath("in"), "/etc", {}));
  EXPECT_EQ(readText(root_ + "/etc/in"), "in\n");
  // The container's /proc is left out of what cp sees.
  auto r = copyFromContainer(c_, "/proc/self/status", hostPath("status"), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "Could not find the file /proc/self/status in container c2");
}

TEST_F(RunningCopyTest, SymlinksInTheContainerNeverReachTheHost) {
  REQUIRE_ROOT();
  writeText(hostPath("payload"), "payload\n");
  EXPECT_FALSE(copyToContainer(c_, hostPath("payload"), "/escape/pwned", {}));
  EXPECT_FALSE(copyToContainer(c_, hostPath("payload"), "/escape/", {}));
  EXPECT_TRUE(listDirectory(sentinel_).value().empty());
}

}  // namespace
}  // namespace strata::container
