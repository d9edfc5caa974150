// Helpers for the runtime tests that run real containers (as root): a busybox root file system
// in a temp dir, a Spec over it, and running a container to completion with its output.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "runtime/runtime.h"
#include "runtime/spec.h"
#include "util/fs.h"

namespace strata::runtime::testing {

inline std::string randomHex(size_t n) {
  static std::mt19937_64 rng(std::random_device{}() ^ static_cast<uint64_t>(::getpid()));
  std::string out;
  while (out.size() < n) out += "0123456789abcdef"[rng() % 16];
  return out;
}

inline void writeText(const std::string& path, const std::string& text, mode_t mode = 0644) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  ASSERT_TRUE(fd.valid()) << path;
  ASSERT_TRUE(writeAll(fd.get(), text)) << path;
}

// Lines of the host's mountinfo that mention path (our temp dir): other tests on the machine
// mount and unmount things meanwhile, so whole-table counts are not stable.
inline int mountsMentioning(const std::string& path) {
  auto text = readFile("/proc/self/mountinfo");
  if (!text) return -1;
  int n = 0;
  for (size_t i = 0; i < text->size();) {
    size_t j = text->find('\n', i);
    if (j == std::string::npos) j = text->size();
    if (std::string_view(*text).substr(i, j - i).find(path) != std::string_view::npos) ++n;
    i = j + 1;
  }
  return n;
}

inline int exitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// waitpid, killing the process when it has not ended within the timeout.
inline int waitWithTimeout(pid_t pid, std::chrono::seconds timeout = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -1;
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "process " << pid << " did not end; killing it";
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return status;
    }
    ::usleep(10000);
  }
}

struct Output {
  int status = -1;  // exit code (128+N for signal N)
  std::string out;
  std::string err;
};

// Reads the fds until both reach end of file (or the deadline passes), appending to the strings.
inline void drain(int outFd, int errFd, std::string& out, std::string& err,
                  std::chrono::seconds timeout = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{outFd, POLLIN, 0}, {errFd, POLLIN, 0}};
  std::string* sinks[2] = {&out, &err};
  int open = (outFd >= 0) + (errFd >= 0);
  while (open > 0 && std::chrono::steady_clock::now() < deadline) {
    if (::poll(fds, 2, 200) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else {
        fds[i].fd = -1;
        --open;
      }
    }
  }
}

// A container test: a busybox image as the only layer, a fresh upper dir per test.
class ContainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "runs containers: needs root";
    if (::access("/bin/busybox", X_OK) != 0) GTEST_SKIP() << "needs /bin/busybox (busybox-static)";
    auto dir = TempDir::create("/tmp", "strata-runtime-test-");
    ASSERT_TRUE(dir) << dir.error().what();
    dir_ = std::move(*dir);
    lower_ = dir_.path() + "/lower";
    upper_ = dir_.path() + "/upper";
    work_ = dir_.path() + "/work";
    mnt_ = dir_.path() + "/mnt";
    for (const std::string& d : {lower_ + "/bin", lower_ + "/etc", lower_ + "/tmp", upper_, work_, mnt_}) {
      ASSERT_TRUE(mkdirAll(d));
    }
    ::chmod((lower_ + "/tmp").c_str(), 01777);
    auto busybox = readFile("/bin/busybox");
    ASSERT_TRUE(busybox);
    writeText(lower_ + "/bin/busybox", *busybox, 0755);
    for (const char* tool : {"sh", "cat", "echo", "ls", "id", "hostname", "mount", "ps", "sleep",
                             "touch", "grep", "wc", "stat", "pwd", "tty", "test", "head", "kill",
                             "readlink", "mkdir", "true", "rm"}) {
      ASSERT_EQ(::symlink("busybox", (lower_ + "/bin/" + tool).c_str()), 0) << tool;
    }
    writeText(lower_ + "/etc/passwd",
              "root:x:0:0:root:/root:/bin/sh\n"
              "nobody:x:65534:65534::/home/nobody:/bin/sh\n");
    writeText(lower_ + "/etc/group", "root:x:0:\ntty:x:5:\nstaff:x:50:nobody\nnogroup:x:65534:\n");
  }

  void TearDown() override {
    // The temp dir goes with dir_; nothing is mounted on the host (the overlay lived in the
    // container's mount namespace).
  }

  Spec makeSpec(std::vector<std::string> args) {
    Spec s;
    s.id = "strata-test-" + randomHex(52);
    s.args = std::move(args);
    s.rootfs.lowerDirs = {lower_};
    s.rootfs.upperDir = upper_;
    s.rootfs.workDir = work_;
    s.rootfsMountPoint = mnt_;
    s.hostname = "testhost";
    s.capabilities = defaultCapabilities();
    s.maskedPaths = defaultMaskedPaths();
    s.readonlyPaths = defaultReadonlyPaths();
    return s;
  }

  // Starts spec with stdout/stderr on pipes (stdin from `input` when set), waits for it, cleans
  // up. A start() failure is returned as the error.
  Result<Output> run(const Spec& spec, const std::string* input = nullptr) {
    int outPipe[2], errPipe[2], inPipe[2] = {-1, -1};
    if (::pipe2(outPipe, O_CLOEXEC) < 0 || ::pipe2(errPipe, O_CLOEXEC) < 0) {
      return failErrno("pipe");
    }
    if (input && ::pipe2(inPipe, O_CLOEXEC) < 0) return failErrno("pipe");
    UniqueFd outR(outPipe[0]), outW(outPipe[1]), errR(errPipe[0]), errW(errPipe[1]);
    UniqueFd inR(inPipe[0]), inW(inPipe[1]);
    Stdio stdio{inR.get(), outW.get(), errW.get()};
    Result<Started> started = start(spec, stdio);
    outW.reset();
    errW.reset();
    inR.reset();
    if (!started) return fail(started.error());
    if (input) {
      (void)writeAll(inW.get(), *input);
      inW.reset();
    }
    Output o;
    drain(outR.get(), errR.get(), o.out, o.err);
    o.status = exitCode(waitWithTimeout(started->pid));
    TRYV(cleanup(spec));
    return o;
  }

  TempDir dir_;
  std::string lower_, upper_, work_, mnt_;
};

}  // namespace strata::runtime::testing
