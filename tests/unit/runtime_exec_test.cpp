// --init, tty and exec(): containers that run for a while (root only; skipped otherwise).
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include <string>

#include "runtime/mounts_internal.h"
#include "runtime/runtime.h"
#include "runtime_test_util.h"
#include "util/fs.h"

namespace strata::runtime {
namespace {

using testing::ContainerTest;
using testing::Output;

// Reads fd until `want` appears or the timeout passes; returns what was read.
std::string readUntil(int fd, const std::string& want, int timeoutMs = 10000) {
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  while (got.find(want) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[1024];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// A running container whose stdout is a pipe; killed, reaped and cleaned up at the end.
class Running {
 public:
  Running(const Spec& spec) : spec_(spec) {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    out_.reset(p[0]);
    UniqueFd w(p[1]);
    auto r = start(spec_, {-1, w.get(), w.get()});
    EXPECT_TRUE(r) << r.error().what();
    if (r) {
      pid_ = r->pid;
      pty_ = std::move(r->ptyMaster);
    }
  }
  ~Running() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    EXPECT_TRUE(cleanup(spec_));
  }
  int wait() {
    int status = testing::waitWithTimeout(pid_);
    pid_ = -1;
    return testing::exitCode(status);
  }
  pid_t pid() const { return pid_; }
  int out() const { return out_.get(); }
  int pty() const { return pty_.get(); }

 private:
  Spec spec_;
  pid_t pid_ = -1;
  UniqueFd out_;
  UniqueFd pty_;
};

class RuntimeExec : public ContainerTest {
 protected:
  // exec() into a running container; returns its exit code and output.
  Output execIn(pid_t pid, const Spec& spec) {
    int outP[2], errP[2];
    EXPECT_EQ(::pipe2(outP, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(errP, O_CLOEXEC), 0);
    UniqueFd outR(outP[0]), outW(outP[1]), errR(errP[0]), errW(errP[1]);
    auto r = exec(pid, spec, {-1, outW.get(), errW.get()});
    outW.reset();
    errW.reset();
    Output o;
    EXPECT_TRUE(r) << r.error().what();
    if (!r) return o;
    testing::drain(outR.get(), errR.get(), o.out, o.err);
    o.status = testing::exitCode(testing::waitWithTimeout(r->pid));
    return o;
  }
};

TEST_F(RuntimeExec, InitReapsZombiesAndIsPidOne) {
  Spec s = makeSpec({"sh", "-c",
                     "echo $$; (sleep 0.2 &); sleep 1;"
                     "ps -o pid,stat,comm | grep -c ' Z ' ; exit 4"});
  s.init = true;
  Result<Output> o = run(s);
  ASSERT_TRUE(o) << o.error().what();
  EXPECT_EQ(o->out, "2\n0\n") << o->err;  // the command is pid 2; no zombie is left
  EXPECT_EQ(o->status, 4);
}

TEST_F(RuntimeExec, InitIsHiddenFromTheContainer) {
  // The init is strata's binary: the container must not reach it through /proc/1/exe.
  Spec s = makeSpec({"sh", "-c", "readlink /proc/1/exe || echo hidden; readlink /proc/self/exe"});
  s.init = true;
  Result<Output> o = run(s);
  ASSERT_TRUE(o) << o.error().what();
  EXPECT_EQ(o->out, "hidden\n/bin/busybox\n") << o->err;
}

TEST_F(RuntimeExec, InitForwardsSignalsAndReportsDeathBySignal) {
  Spec s = makeSpec({"sh", "-c",
                     "trap 'echo got-term; exit 7' TERM; echo ready;"
                     "while :; do sleep 0.05; done"});
  s.init = true;
  {
    Running c(s);
    ASSERT_NE(readUntil(c.out(), "ready").find("ready"), std::string::npos);
    ASSERT_EQ(::kill(c.pid(), SIGTERM), 0);
    EXPECT_EQ(readUntil(c.out(), "got-term"), "got-term\n");
    EXPECT_EQ(c.wait(), 7);
  }
  Spec k = makeSpec({"sh", "-c", "kill -9 $$"});
  k.init = true;
  EXPECT_EQ(run(k).value().status, 137);
}

TEST_F(RuntimeExec, TtyGivesAPtyFromTheContainersDevpts) {
  Spec s = makeSpec({"sh", "-c", "tty; test -t 0 && test -t 1 && echo is-a-tty; readlink /proc/1/fd/2"});
  s.tty = true;
  Running c(s);
  ASSERT_TRUE(c.pty() >= 0);
  std::string out = readUntil(c.pty(), "/dev/pts/0\r\n/dev/pts/0");  // \n becomes \r\n on a tty
  EXPECT_EQ(c.wait(), 0);
  EXPECT_EQ(out, "/dev/pts/0\r\nis-a-tty\r\n/dev/pts/0\r\n");
}

TEST_F(RuntimeExec, ExecJoinsTheRunningContainer) {
  Spec s = makeSpec({"sleep", "30"});
  Running c(s);
  ASSERT_GT(c.pid(), 0);
  // The container's mounts (its overlay on mnt_ above all) exist only in its mount namespace.
  EXPECT_EQ(testing::mountsMentioning(dir_.path()), 0);
  Spec e = s;
  e.args = {"sh", "-c", "echo $$; hostname; cd /proc && echo [0-9]*; cat /proc/1/cmdline; echo"};
  Output o = execIn(c.pid(), e);
  EXPECT_EQ(o.status, 0) << o.err;
  std::vector<std::string> lines;
  for (size_t i = 0; i < o.out.size();) {
    size_t j = o.out.find('\n', i);
    lines.push_back(o.out.substr(i, j - i));
    i = j + 1;
  }
  ASSERT_EQ(lines.size(), 4u) << o.out;
  EXPECT_NE(lines[0], "1");
  EXPECT_EQ(lines[1], "testhost");
  EXPECT_TRUE(lines[2].starts_with("1 ")) << lines[2];
  EXPECT_EQ(lines[3], std::string("sleep\0" "30\0", 9));

  e.args = {"cat", "/proc/self/cgroup"};
  o = execIn(c.pid(), e);
  EXPECT_NE(o.out.find("/" + s.id + "\n"), std::string::npos) << o.out;

  e.args = {"sh", "-c", "id -u; pwd; exit 5"};
  e.user = "nobody";
  e.cwd = "/tmp";
  o = execIn(c.pid(), e);
  EXPECT_EQ(o.out, "65534\n/tmp\n");
  EXPECT_EQ(o.status, 5);

  e.args = {"nosuch"};
  auto r = exec(c.pid(), e, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(execFailureOf(r.error()), ExecFailure::NotFound) << r.error().what();
  e.args = {"true"};
  e.cwd = "/no/such/dir";
  r = exec(c.pid(), e, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("/no/such/dir"), std::string::npos) << r.error().what();
}

TEST_F(RuntimeExec, ExecWithTty) {
  Spec s = makeSpec({"sleep", "30"});
  Running c(s);
  Spec e = s;
  e.tty = true;
  e.args = {"sh", "-c", "tty"};
  auto r = exec(c.pid(), e, {});
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_TRUE(r->ptyMaster.valid());
  std::string out = readUntil(r->ptyMaster.get(), "\r\n");
  EXPECT_EQ(testing::exitCode(testing::waitWithTimeout(r->pid)), 0);
  EXPECT_TRUE(out.starts_with("/dev/pts/")) << out;
}

TEST_F(RuntimeExec, LegacyOverlayMountWithManyLayers) {
  // The mount(2) path with relative lower names, as on kernels before 6.8.
  Overlay o;
  const std::string base = dir_.path() + "/layers-with-a-rather-long-directory-name";
  for (int i = 0; i < 50; ++i) {
    std::string d = base + "/" + testing::randomHex(64);
    ASSERT_TRUE(mkdirAll(d));
    testing::writeText(d + "/f" + std::to_string(i), "");
    o.lowerDirs.push_back(d);
  }
  o.upperDir = upper_;
  o.workDir = work_;
  ASSERT_GT(o.lowerDirs.size() * o.lowerDirs[0].size(), 4096u);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) < 0) ::_exit(10);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) ::_exit(11);
    if (!detail::mountOverlay(o, mnt_, false)) ::_exit(12);
    for (int i = 0; i < 50; ++i) {
      if (!pathExists(mnt_ + "/f" + std::to_string(i))) ::_exit(13);
    }
    ::_exit(0);
  }
  EXPECT_EQ(testing::exitCode(testing::waitWithTimeout(pid)), 0);
}

}  // namespace
}  // namespace strata::runtime
