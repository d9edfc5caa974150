// Capabilities: names <-> bits, and apply() in a forked child compared with what Docker gives a
// container (root: CapEff 00000000a80425fb; -u 1000: CapEff 0).
#include "runtime/caps.h"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "util/fs.h"

namespace strata::runtime::caps {
namespace {

constexpr uint64_t kDockerDefault = 0xa80425fb;
constexpr const char* kBusybox = "/bin/busybox";

const char* kDockerDefaultNames[] = {"CHOWN",   "DAC_OVERRIDE", "FSETID",           "FOWNER",
                                     "MKNOD",   "NET_RAW",      "SETGID",           "SETUID",
                                     "SETFCAP", "SETPCAP",      "NET_BIND_SERVICE", "SYS_CHROOT",
                                     "KILL",    "AUDIT_WRITE"};

// "CapEff:\t00000000a80425fb" -> the hex field of key in a /proc/<pid>/status text.
std::string statusField(const std::string& status, const std::string& key) {
  size_t at = status.find(key + ":\t");
  if (at == std::string::npos) return "";
  size_t start = at + key.size() + 2;
  return status.substr(start, status.find('\n', start) - start);
}

// Runs body in a forked child whose stdout is a pipe; returns what it printed. The child must
// _exit or exec; a failed body writes "ERR ..." and exits 1.
struct ChildResult {
  std::string out;
  int status = 0;
};
ChildResult runChild(const std::function<void()>& body) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return {"ERR pipe", -1};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(p[1], 1);
    body();
    ::_exit(0);
  }
  ::close(p[1]);
  UniqueFd r(p[0]);
  ChildResult res;
  res.out = readAll(r.get()).value_or("ERR read");
  ::waitpid(pid, &res.status, 0);
  return res;
}

void childFail(const std::string& what) {
  std::string s = "ERR " + what + "\n";
  (void)!::write(1, s.data(), s.size());
  ::_exit(1);
}

TEST(Caps, ParsesNamesInAnyCaseWithOrWithoutPrefix) {
  EXPECT_EQ(parse("CAP_CHOWN").value(), 1u);
  EXPECT_EQ(parse("chown").value(), 1u);
  EXPECT_EQ(parse("Net_Admin").value(), uint64_t{1} << 12);
  EXPECT_EQ(parse("cap_sys_admin").value(), uint64_t{1} << 21);
  EXPECT_EQ(parse("CHECKPOINT_RESTORE").value(), uint64_t{1} << 40);
  uint64_t def = 0;
  for (const char* n : kDockerDefaultNames) def |= parse(n).value();
  EXPECT_EQ(def, kDockerDefault);
}

TEST(Caps, AllIsEveryCapabilityOfTheKernel) {
  int last = std::stoi(readFile("/proc/sys/kernel/cap_last_cap").value());
  uint64_t want = last >= 63 ? ~uint64_t{0} : (uint64_t{1} << (last + 1)) - 1;
  EXPECT_EQ(parse("ALL").value(), want);
  EXPECT_EQ(parse("all").value(), want);
}

TEST(Caps, UnknownNameIsAnErrorNamingIt) {
  auto r = parse("FOO");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "unknown capability: FOO");
  EXPECT_FALSE(parse(""));
  EXPECT_FALSE(parse("CAP_"));
}

TEST(Caps, NamesAreAscendingAndRoundTrip) {
  auto n = names(kDockerDefault);
  ASSERT_EQ(n.size(), 14u);
  EXPECT_EQ(n.front(), "CAP_CHOWN");
  EXPECT_EQ(n.back(), "CAP_SETFCAP");
  uint64_t back = 0;
  for (const auto& s : n) back |= parse(s).value();
  EXPECT_EQ(back, kDockerDefault);
  for (int c = 0; c <= 40; ++c) {
    auto one = names(uint64_t{1} << c);
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(parse(one[0]).value(), uint64_t{1} << c) << one[0];
  }
  EXPECT_TRUE(names(0).empty());
}

TEST(Caps, ApplyAsRootGivesDockersSets) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  ChildResult res = runChild([] {
    if (auto s = apply(kDockerDefault, false); !s) childFail(s.error().what());
    auto st = readFile("/proc/self/status");
    if (!st) childFail("read status");
    std::string out;
    for (const char* k : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
      out += std::string(k) + "=" + statusField(*st, k) + "\n";
    (void)!::write(1, out.data(), out.size());
    ::_exit(0);
  });
  ASSERT_EQ(res.status, 0) << res.out;
  EXPECT_EQ(res.out,
            "CapInh=0000000000000000\nCapPrm=00000000a80425fb\nCapEff=00000000a80425fb\n"
            "CapBnd=00000000a80425fb\nCapAmb=0000000000000000\n");
}

TEST(Caps, RootKeepsTheSetAcrossExec) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  if (!pathExists(kBusybox)) GTEST_SKIP() << "needs " << kBusybox;
  ChildResult res = runChild([] {
    if (auto s = apply(kDockerDefault, false); !s) childFail(s.error().what());
    ::execl(kBusybox, "busybox", "grep", "^Cap", "/proc/self/status", nullptr);
    childFail("exec busybox");
  });
  ASSERT_EQ(res.status, 0) << res.out;
  EXPECT_EQ(statusField(res.out, "CapEff"), "00000000a80425fb");
  EXPECT_EQ(statusField(res.out, "CapPrm"), "00000000a80425fb");
  EXPECT_EQ(statusField(res.out, "CapBnd"), "00000000a80425fb");
  EXPECT_EQ(statusField(res.out, "CapInh"), "0000000000000000");
}

// docker run -u 65534 keeps the bounding set but the process has no capabilities after exec.
TEST(Caps, NonRootUserHasNoCapabilitiesAfterExec) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  if (!pathExists(kBusybox)) GTEST_SKIP() << "needs " << kBusybox;
  ChildResult res = runChild([] {
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) childFail("keepcaps");
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0)
      childFail("setuid");
    if (auto s = apply(kDockerDefault, true); !s) childFail(s.error().what());
    ::execl(kBusybox, "busybox", "grep", "^Cap", "/proc/self/status", nullptr);
    childFail("exec busybox");
  });
  ASSERT_EQ(res.status, 0) << res.out;
  EXPECT_EQ(statusField(res.out, "CapEff"), "0000000000000000") << res.out;
  EXPECT_EQ(statusField(res.out, "CapPrm"), "0000000000000000");
  EXPECT_EQ(statusField(res.out, "CapInh"), "0000000000000000");
  EXPECT_EQ(statusField(res.out, "CapAmb"), "0000000000000000");
  EXPECT_EQ(statusField(res.out, "CapBnd"), "00000000a80425fb");
}

TEST(Caps, ApplyEmptySetDropsEverything) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  ChildResult res = runChild([] {
    if (auto s = apply(0, false); !s) childFail(s.error().what());
    auto st = readFile("/proc/self/status");
    if (!st) childFail("read status");
    std::string out = statusField(*st, "CapEff") + " " + statusField(*st, "CapBnd");
    (void)!::write(1, out.data(), out.size());
    ::_exit(0);
  });
  ASSERT_EQ(res.status, 0) << res.out;
  EXPECT_EQ(res.out, "0000000000000000 0000000000000000");
}

}  // namespace
}  // namespace strata::runtime::caps
