// The default seccomp filter and Docker's JSON profiles, loaded in a forked child: what they
// refuse and what still works. The child reports "<check> <errno>" lines (0 = the call
// succeeded) over a pipe. Reading profiles: every error names its field.
#include "runtime/seccomp.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "util/fs.h"

namespace strata::runtime::seccomp {
namespace {

// What a container process does: compile (before Go), then load (just before exec).
Status loadDefault() {
  Program program = TRY(compileDefault());
  return load(program);
}

TEST(Seccomp, CompiledProgramIsBpfTheKernelTakes) {
  auto program = compileDefault();
  ASSERT_TRUE(program) << program.error().what();
  ASSERT_FALSE(program->empty());
  EXPECT_LE(program->size(), 4096u);  // BPF_MAXINSNS
  // A BPF program ends in a return.
  EXPECT_EQ(BPF_CLASS(program->back().code), BPF_RET);
}

// errno of a libc-style call: 0 when it returned >= 0.
int err(long rc) { return rc < 0 ? errno : 0; }

// A 32-bit (int 0x80) system call; returns the raw result (-errno on failure).
long ia32Syscall(long nr, long a = 0, long b = 0, long c = 0) {
#if defined(__x86_64__)
  long r;
  asm volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
  return r;
#else
  (void)nr, (void)a, (void)b, (void)c;
  return -ENOSYS;
#endif
}

// Runs f in a grandchild so that a crash (no IA32 emulation) or an unexpected success that
// creates something cannot touch the child; returns f's errno or -1 when it did not exit.
template <typename F>
int isolated(F f) {
  pid_t p = ::fork();
  if (p == 0) ::_exit(f());
  int st = 0;
  ::waitpid(p, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void* threadBody(void*) { return nullptr; }

// Everything after loadDefault() in the child. dir is a scratch directory.
std::string probe(const std::string& dir) {
  std::ostringstream out;
  auto report = [&](const char* name, int e) { out << name << " " << e << "\n"; };

  report("getpid", ::getpid() > 0 ? 0 : errno);
  report("mount", err(::mount("none", dir.c_str(), "tmpfs", 0, nullptr)));
  report("umount2", err(::umount2(dir.c_str(), 0)));
  report("pivot_root", err(::syscall(SYS_pivot_root, dir.c_str(), dir.c_str())));
  report("unshare_user", err(::unshare(CLONE_NEWUSER)));
  report("unshare_net", err(::unshare(CLONE_NEWNET)));
  report("unshare_ns", err(::unshare(CLONE_NEWNS)));
  report("unshare_files", err(::unshare(CLONE_FILES)));
  report("setns", err(::setns(0, 0)));
  report("clone_newuser", isolated([] {
           long r = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
           if (r == 0) ::_exit(0);
           return err(r);
         }));
  report("clone3", err(::syscall(435 /* clone3 */, nullptr, 0)));
  report("fork", isolated([] { return 0; }));
  pthread_t t;
  int pe = ::pthread_create(&t, nullptr, threadBody, nullptr);
  if (pe == 0) ::pthread_join(t, nullptr);
  report("pthread_create", pe);

  std::string chr = dir + "/chr", blk = dir + "/blk", fifo = dir + "/fifo", reg = dir + "/reg";
  report("mknod_chr", err(::mknod(chr.c_str(), S_IFCHR | 0600, makedev(1, 3))));
  report("mknod_blk", err(::mknod(blk.c_str(), S_IFBLK | 0600, makedev(7, 0))));
  report("mknodat_chr", err(::mknodat(AT_FDCWD, chr.c_str(), S_IFCHR | 0600, makedev(1, 3))));
  report("mkfifo", err(::mkfifo(fifo.c_str(), 0600)));
  report("mknod_reg", err(::mknod(reg.c_str(), S_IFREG | 0600, 0)));

  report("kexec_load", err(::syscall(SYS_kexec_load, 0, 0, nullptr, 0xdead0000ul)));
  report("init_module", err(::syscall(SYS_init_module, nullptr, 0, "")));
  report("finit_module", err(::syscall(SYS_finit_module, -1, "", 0)));
  report("delete_module", err(::syscall(SYS_delete_module, "nosuch", 0)));
  report("reboot", err(::syscall(SYS_reboot, 0, 0, 0, nullptr)));
  report("swapoff", err(::syscall(SYS_swapoff, "/nonexistent")));
  report("keyctl", err(::syscall(SYS_keyctl, 0, 0, 0, 0, 0)));
  report("bpf", err(::syscall(SYS_bpf, 0, nullptr, 0)));
  report("settimeofday", err(::syscall(SYS_settimeofday, nullptr, nullptr)));
  report("open_by_handle_at", err(::syscall(SYS_open_by_handle_at, -1, nullptr, 0)));
  report("iopl", err(::syscall(SYS_iopl, 0)));

  // personality: the allowed values, each set back to PER_LINUX, then some refused ones.
  for (unsigned long v : {0x0ul, 0x8ul, 0x20000ul, 0x20008ul, 0xfffffffful}) {
    int e = err(::syscall(SYS_personality, v));
    ::syscall(SYS_personality, 0ul);
    out << "personality_" << std::hex << v << std::dec << " " << e << "\n";
  }
  for (unsigned long v : {0x1ul, 0x40000ul /* ADDR_NO_RANDOMIZE */, 0x20009ul, 0xfffffff7ul,
                          0xfffdfffful, 0x7ffffffful, 0x100000000ul, 0x100000008ul}) {
    int e = err(::syscall(SYS_personality, v));
    ::syscall(SYS_personality, 0ul);
    out << "personality_" << std::hex << v << std::dec << " " << e << "\n";
  }

  // The 32-bit ABI gets the same rules (i386 numbers: getpid 20, mount 21, unshare 310).
  report("ia32_getpid", isolated([] { return ia32Syscall(20) == ::getpid() ? 0 : 1; }));
  report("ia32_mount", isolated([] { return static_cast<int>(-ia32Syscall(21)); }));
  report("ia32_unshare_user",
         isolated([] { return static_cast<int>(-ia32Syscall(310, CLONE_NEWUSER)); }));
  return out.str();
}

// Forks a child that runs prepare (it returns why it failed, or nothing) and then probe, and
// returns what probe reported there ("<check> <errno>" lines, parsed). A child that fails, or
// does not exit 0, is a test failure.
std::map<std::string, int> probeInChild(const std::function<std::string()>& prepare,
                                        const std::function<std::string()>& probe) {
  int p[2];
  EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    std::string r = prepare();
    const int code = r.empty() ? 0 : 12;
    if (r.empty()) r = probe();
    (void)!::write(p[1], r.data(), r.size());
    ::_exit(code);
  }
  ::close(p[1]);
  UniqueFd rd(p[0]);
  std::string text = readAll(rd.get()).value_or("");
  int st = 0;
  EXPECT_EQ(::waitpid(pid, &st, 0), pid);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "status " << st << ": " << text;
  std::map<std::string, int> got;
  std::istringstream in(text);
  for (std::string name; in >> name;) in >> got[name];
  return got;
}

TEST(Seccomp, DefaultProfileRefusesWhatDockerRefuses) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root (the probes are meant to fail for lack of "
                    "seccomp, not of privilege)";
  auto tmp = TempDir::create("/tmp", "strata-seccomp-test-");
  ASSERT_TRUE(tmp) << tmp.error().what();
  const std::map<std::string, int> got = probeInChild(
      [] {
        // A private mount namespace, so that a mount the filter failed to stop stays in the child.
        if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr))
          return std::string("private mount namespace");
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return std::string("no_new_privs");
        if (auto st = loadDefault(); !st) return "load " + st.error().what();
        return std::string();
      },
      [&] { return probe(tmp->path()); });

  const std::map<std::string, int> want = {
      {"getpid", 0},
      {"mount", EPERM},
      {"umount2", EPERM},
      {"pivot_root", EPERM},
      {"unshare_user", EPERM},
      {"unshare_net", EPERM},
      {"unshare_ns", EPERM},
      {"unshare_files", 0},
      {"setns", EPERM},
      {"clone_newuser", EPERM},
      {"clone3", ENOSYS},
      {"fork", 0},
      {"pthread_create", 0},
      {"mknod_chr", EPERM},
      {"mknod_blk", EPERM},
      {"mknodat_chr", EPERM},
      {"mkfifo", 0},
      {"mknod_reg", 0},
      {"kexec_load", EPERM},
      {"init_module", EPERM},
      {"finit_module", EPERM},
      {"delete_module", EPERM},
      {"reboot", EPERM},
      {"swapoff", EPERM},
      {"keyctl", EPERM},
      {"bpf", EPERM},
      {"settimeofday", EPERM},
      {"open_by_handle_at", EPERM},
      {"iopl", EPERM},
      {"personality_0", 0},
      {"personality_8", 0},
      {"personality_20000", 0},
      {"personality_20008", 0},
      {"personality_ffffffff", 0},
      {"personality_1", EPERM},
      {"personality_40000", EPERM},
      {"personality_20009", EPERM},
      {"personality_fffffff7", EPERM},
      {"personality_fffdffff", EPERM},
      {"personality_7fffffff", EPERM},
      {"personality_100000000", EPERM},
      {"personality_100000008", EPERM},
      {"ia32_getpid", 0},
      {"ia32_mount", EPERM},
      {"ia32_unshare_user", EPERM},
  };
  for (const auto& [name, e] : want) {
    auto it = got.find(name);
    ASSERT_NE(it, got.end()) << name << " missing from the " << got.size() << " checks the child reported";
    EXPECT_EQ(it->second, e) << name << ": got " << std::strerror(it->second) << ", want "
                             << std::strerror(e);
  }
}

// Without no_new_privs or CAP_SYS_ADMIN the kernel refuses a filter; load says so
// instead of setting no_new_privs behind the caller's back.
TEST(Seccomp, LoadWithoutNoNewPrivsNeedsCapSysAdmin) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::geteuid() == 0 && ::setuid(65534) != 0) ::_exit(10);
    auto s = loadDefault();
    if (s) ::_exit(11);
    if (s.error().code() != EACCES) ::_exit(12);
    ::_exit(::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0 ? 0 : 13);
  }
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

// ---------------------------------------------------------------------------------------------
// Docker's JSON profiles

constexpr uint64_t kSysAdmin = uint64_t{1} << 21;  // CAP_SYS_ADMIN

// Compiles json for a process holding caps, loads it in a forked child with no_new_privs and
// returns what probe reports there ("<check> <errno>" lines, parsed); a failure to compile or
// load is a test failure.
std::map<std::string, int> underProfile(const std::string& json, uint64_t caps,
                                        const std::function<std::string()>& probe) {
  auto profile = parseProfile(json);
  EXPECT_TRUE(profile) << profile.error().what();
  if (!profile) return {};
  auto program = compile(*profile, caps);
  EXPECT_TRUE(program) << program.error().what();
  if (!program) return {};
  return probeInChild(
      [&] {
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return std::string("no_new_privs");
        if (auto st = load(*program); !st) return "load " + st.error().what();
        return std::string();
      },
      probe);
}

std::string line(const char* name, int e) {
  return std::string(name) + " " + std::to_string(e) + "\n";
}
// close() of an fd that is not open: EBADF when the filter lets it through.
int closeErr(long fd) { return err(::syscall(SYS_close, fd)); }

TEST(SeccompProfile, ReadsDockersFields) {
  auto p = parseProfile(R"({
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
    "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "ignored", "unknown": 1},
      {"name": "close", "action": "SCMP_ACT_ERRNO", "errnoRet": 28,
       "args": [{"index": 0, "value": 7, "valueTwo": 0, "op": "SCMP_CMP_GE"},
                {"index": 1, "value": 18446744073709551615, "valueTwo": 3, "op": "SCMP_CMP_MASKED_EQ"}],
       "includes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["amd64"], "minKernel": "4.8"},
       "excludes": {"caps": ["CAP_SYS_BOOT"], "arches": ["s390x"]}},
      null,
      {"names": null, "action": "SCMP_ACT_KILL"},
      {"names": ["a"], "action": "SCMP_ACT_KILL_PROCESS"}, {"names": ["b"], "action": "SCMP_ACT_KILL_THREAD"},
      {"names": ["c"], "action": "SCMP_ACT_TRAP"}, {"names": ["d"], "action": "SCMP_ACT_TRACE"},
      {"names": ["e"], "action": "SCMP_ACT_LOG"}
    ]})");
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ(p->defaultAction, Action::Errno);
  EXPECT_EQ(p->defaultErrnoRet, 38u);
  EXPECT_TRUE(p->architectures.empty());
  ASSERT_EQ(p->archMap.size(), 1u);
  EXPECT_EQ(p->archMap[0].subArches.size(), 2u);
  ASSERT_EQ(p->syscalls.size(), 8u);  // the null entry is skipped
  EXPECT_EQ(p->syscalls[0].names, (std::vector<std::string>{"read", "write"}));
  const SyscallRule& c = p->syscalls[1];
  EXPECT_EQ(c.names, std::vector<std::string>{"close"});
  EXPECT_EQ(c.errnoRet, 28u);
  ASSERT_EQ(c.args.size(), 2u);
  EXPECT_EQ(c.args[0].op, Op::Ge);
  EXPECT_EQ(c.args[0].value, 7u);
  EXPECT_EQ(c.args[1].index, 1u);
  EXPECT_EQ(c.args[1].value, ~uint64_t{0});
  EXPECT_EQ(c.args[1].valueTwo, 3u);
  EXPECT_EQ(c.args[1].op, Op::MaskedEq);
  EXPECT_EQ(c.includes.caps, std::vector<std::string>{"CAP_SYS_ADMIN"});
  EXPECT_EQ(c.includes.arches, std::vector<std::string>{"amd64"});
  EXPECT_EQ(c.includes.minKernel, (std::pair<unsigned, unsigned>{4, 8}));
  EXPECT_EQ(c.excludes.caps, std::vector<std::string>{"CAP_SYS_BOOT"});
  EXPECT_TRUE(p->syscalls[2].names.empty());
  EXPECT_EQ(p->syscalls[2].action, Action::KillThread);  // SCMP_ACT_KILL, as runc reads it
  EXPECT_EQ(p->syscalls[3].action, Action::KillProcess);
  EXPECT_EQ(p->syscalls[4].action, Action::KillThread);
  EXPECT_EQ(p->syscalls[5].action, Action::Trap);
  EXPECT_EQ(p->syscalls[6].action, Action::Trace);
  EXPECT_EQ(p->syscalls[7].action, Action::Log);

  auto a = parseProfile(
      R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"]})");
  ASSERT_TRUE(a) << a.error().what();
  EXPECT_EQ(a->architectures.size(), 2u);
  EXPECT_TRUE(a->syscalls.empty());
}

TEST(SeccompProfile, ErrorsNameTheField) {
  const std::pair<const char*, std::vector<std::string>> cases[] = {
      {R"({"defaultAction": )", {"invalid JSON", "line 1"}},
      {"", {"invalid JSON"}},
      {R"(["SCMP_ACT_ALLOW"])", {"expected a JSON object"}},
      {R"({})", {"defaultAction: missing"}},
      {R"({"defaultAction": "SCMP_ACT_NOPE"})",
       {"defaultAction", "unknown action \"SCMP_ACT_NOPE\""}},
      {R"({"defaultAction": 1})", {"defaultAction", "expected a string"}},
      {R"({"defaultAction": "scmp_act_allow"})", {"unknown action"}},
      {R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1})",
       {"defaultErrnoRet", "non-negative"}},
      {R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000})",
       {"defaultErrnoRet", "out of range"}},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {}})", {"syscalls", "expected an array"}},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_FOO"}]})",
       {"syscalls[0].action", "unknown action \"SCMP_ACT_FOO\""}},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO"}, {"names": ["mkdir"]}]})",
       {"syscalls[1].action: missing"}},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": "mkdir", "action": "SCMP_ACT_ERRNO"}]})",
       {"syscalls[0].names", "expected an array"}},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", 3], "action": "SCMP_ACT_ERRNO"}]})",
       {"syscalls[0].names[1]", "expected a string"}},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ERRNO"}]})",
       {"syscalls[0]", "\"name\" and \"names\""}},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
           "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_FOO"}]}]})",
       {"syscalls[0].args[0].op", "unknown operator \"SCMP_CMP_FOO\""}},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
           "args": [{"index": 0, "value": 1}]}]})",
       {"syscalls[0].args[0].op: missing"}},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
           "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]})",
       {"syscalls[0].args[0].index", "out of range"}},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
           "args": [{"index": 0, "value": -5, "op": "SCMP_CMP_EQ"}]}]})",
       {"syscalls[0].args[0].value", "non-negative"}},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
           "args": [{"index": 0, "value": 1.5, "op": "SCMP_CMP_EQ"}]}]})",
       {"syscalls[0].args[0].value"}},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": "1"}]})",
       {"syscalls[0].errnoRet"}},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
           "includes": {"minKernel": "4"}}]})",
       {"syscalls[0].includes.minKernel", "invalid kernel version"}},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
           "excludes": {"caps": "CAP_SYS_ADMIN"}}]})",
       {"syscalls[0].excludes.caps"}},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_NOPE"]})",
       {"architectures[0]", "unknown architecture \"SCMP_ARCH_NOPE\""}},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["x86_64"]})", {"architectures[0]"}},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "archMap": [{"subArchitectures": []}]})",
       {"archMap[0].architecture: missing"}},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"],
           "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]})",
       {"\"architectures\" and \"archMap\""}},
      {R"({"defaultAction": "SCMP_ACT_NOTIFY"})", {"defaultAction", "not supported"}},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/x.sock"})", {"listenerPath"}},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"]})", {"flags"}},
  };
  for (const auto& [json, needles] : cases) {
    auto p = parseProfile(json);
    ASSERT_FALSE(p) << "accepted: " << json;
    const std::string what = p.error().what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    for (const auto& n : needles)
      EXPECT_NE(what.find(n), std::string::npos) << json << " -> " << what;
  }
}

TEST(SeccompProfile, ErrnoRulesAndTheDefaultAction) {
  auto dir = TempDir::create("/tmp", "strata-seccomp-test-");
  ASSERT_TRUE(dir) << dir.error().what();
  const std::string a = dir->path() + "/a", b = dir->path() + "/b";
  // Unknown names are skipped; a rule with the default's action is left out (libseccomp would
  // refuse it).
  auto got = underProfile(
      R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["mkdir", "mkdirat", "no_such_syscall"], "action": "SCMP_ACT_ERRNO"},
      {"name": "rmdir", "action": "SCMP_ACT_ERRNO", "errnoRet": 28},
      {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}]})",
      0, [&] {
        return line("mkdir", err(::mkdir(a.c_str(), 0755))) +
               line("rmdir", err(::rmdir(a.c_str()))) + line("getpid", ::getpid() > 0 ? 0 : errno) +
               line("open", err(::open(b.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600)));
      });
  EXPECT_EQ(got, (std::map<std::string, int>{
                     {"mkdir", EPERM}, {"rmdir", ENOSPC}, {"getpid", 0}, {"open", 0}}));

  // An allow list: what it does not name gets defaultErrnoRet. (The signal and thread calls are
  // there for AddressSanitizer's runtime in a SANITIZE=1 build.)
  got = underProfile(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "syscalls": [
      {"names": ["write", "exit", "exit_group", "getpid", "rt_sigreturn", "close", "brk", "mmap", "munmap",
                 "mremap", "madvise", "futex", "sigaltstack", "rt_sigprocmask", "rt_sigaction",
                 "gettid", "prctl"], "action": "SCMP_ACT_ALLOW"}]})",
                     0, [&] {
                       return line("getpid", ::getpid() > 0 ? 0 : errno) +
                              line("close", closeErr(1000)) +
                              line("mkdir", err(::syscall(SYS_mkdir, a.c_str(), 0755))) +
                              line("getppid", err(::syscall(SYS_getppid)));
                     });
  EXPECT_EQ(got, (std::map<std::string, int>{
                     {"getpid", 0}, {"close", EBADF}, {"mkdir", ENOSYS}, {"getppid", ENOSYS}}));
}

TEST(SeccompProfile, ArgumentConditions) {
  auto got = underProfile(
      R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["dup2"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1000, "op": "SCMP_CMP_EQ"},
                                                             {"index": 1, "value": 2000, "op": "SCMP_CMP_EQ"}]},
      {"names": ["dup3"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1000, "op": "SCMP_CMP_EQ"},
                                                             {"index": 0, "value": 1002, "op": "SCMP_CMP_EQ"}]},
      {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LT"}]}]})",
      0, [] {
        auto dup2Err = [](long a, long b) { return err(::syscall(SYS_dup2, a, b)); };
        auto dup3Err = [](long a) { return err(::syscall(SYS_dup3, a, 2000, 0)); };
        return line("dup2_1000_2000", dup2Err(1000, 2000)) +
               line("dup2_1000_2001", dup2Err(1000, 2001)) +
               line("dup2_1001_2000", dup2Err(1001, 2000)) + line("dup3_1000", dup3Err(1000)) +
               line("dup3_1001", dup3Err(1001)) + line("dup3_1002", dup3Err(1002)) +
               line("getpriority_0", err(::syscall(SYS_getpriority, 0, 0))) +
               line("getpriority_1", err(::syscall(SYS_getpriority, 1, 0)));
      });
  EXPECT_EQ(got,
            (std::map<std::string, int>{// conditions on different arguments: all must hold
                                        {"dup2_1000_2000", EPERM},
                                        {"dup2_1000_2001", EBADF},
                                        {"dup2_1001_2000", EBADF},
                                        // two on one argument: either (runc's rule per condition)
                                        {"dup3_1000", EPERM},
                                        {"dup3_1001", EBADF},
                                        {"dup3_1002", EPERM},
                                        {"getpriority_0", EPERM},
                                        {"getpriority_1", 0}}));
}

TEST(SeccompProfile, ArgumentConditionsOneByOne) {
  // Each operator alone on close(fd): EPERM where the comparison holds, EBADF where it does not.
  const std::pair<const char*, std::map<long, int>> ops[] = {
      {R"("value": 1000, "op": "SCMP_CMP_EQ")", {{999, EBADF}, {1000, EPERM}, {1001, EBADF}}},
      {R"("value": 1000, "op": "SCMP_CMP_NE")", {{999, EPERM}, {1000, EBADF}, {1001, EPERM}}},
      {R"("value": 1000, "op": "SCMP_CMP_LT")", {{999, EPERM}, {1000, EBADF}, {1001, EBADF}}},
      {R"("value": 1000, "op": "SCMP_CMP_LE")", {{999, EPERM}, {1000, EPERM}, {1001, EBADF}}},
      {R"("value": 1000, "op": "SCMP_CMP_GT")", {{999, EBADF}, {1000, EBADF}, {1001, EPERM}}},
      {R"("value": 1000, "op": "SCMP_CMP_GE")", {{999, EBADF}, {1000, EPERM}, {1001, EPERM}}},
      {R"("value": 1, "valueTwo": 1, "op": "SCMP_CMP_MASKED_EQ")",
       {{999, EPERM}, {1000, EBADF}, {1001, EPERM}}},
  };
  for (const auto& [cond, want] : ops) {
    const std::string json =
        std::string(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["close"],
        "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, )") +
        cond + "}]}]}";
    auto got = underProfile(json, 0, [] {
      std::string out;
      for (long fd : {999, 1000, 1001})
        out += "fd" + std::to_string(fd) + " " + std::to_string(closeErr(fd)) + "\n";
      return out;
    });
    for (const auto& [fd, e] : want)
      EXPECT_EQ(got["fd" + std::to_string(fd)], e) << cond << " close(" << fd << ")";
  }
}

TEST(SeccompProfile, IncludesAndExcludes) {
  const std::string json = R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["close"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1001, "op": "SCMP_CMP_EQ"}],
       "includes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["close"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1002, "op": "SCMP_CMP_EQ"}],
       "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["close"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1003, "op": "SCMP_CMP_EQ"}],
       "includes": {"caps": ["SYS_ADMIN"]}},
      {"names": ["close"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1004, "op": "SCMP_CMP_EQ"}],
       "includes": {"minKernel": "1.0"}},
      {"names": ["close"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1005, "op": "SCMP_CMP_EQ"}],
       "includes": {"minKernel": "999.0"}},
      {"names": ["close"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1006, "op": "SCMP_CMP_EQ"}],
       "excludes": {"minKernel": "1.0"}},
      {"names": ["close"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1007, "op": "SCMP_CMP_EQ"}],
       "includes": {"arches": ["amd64", "x32"]}},
      {"names": ["close"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1008, "op": "SCMP_CMP_EQ"}],
       "includes": {"arches": ["s390x"]}},
      {"names": ["close"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1009, "op": "SCMP_CMP_EQ"}],
       "excludes": {"arches": ["amd64"]}}]})";
  auto probe = [] {
    std::string out;
    for (long fd = 1001; fd <= 1009; ++fd)
      out += "fd" + std::to_string(fd) + " " + std::to_string(closeErr(fd)) + "\n";
    return out;
  };
  auto without = underProfile(json, 0, probe);
  auto with = underProfile(json, kSysAdmin | 1 /* CAP_CHOWN */, probe);
  EXPECT_EQ(without["fd1001"], EBADF) << "includes CAP_SYS_ADMIN, not held";
  EXPECT_EQ(with["fd1001"], EPERM) << "includes CAP_SYS_ADMIN, held";
  EXPECT_EQ(without["fd1002"], EPERM) << "excludes CAP_SYS_ADMIN, not held";
  EXPECT_EQ(with["fd1002"], EBADF) << "excludes CAP_SYS_ADMIN, held";
  EXPECT_EQ(with["fd1003"], EBADF) << "Docker compares names as written: SYS_ADMIN never matches";
  EXPECT_EQ(without["fd1004"], EPERM) << "includes minKernel 1.0";
  EXPECT_EQ(without["fd1005"], EBADF) << "includes minKernel 999.0";
  EXPECT_EQ(without["fd1006"], EBADF) << "excludes minKernel 1.0";
#if defined(__x86_64__)
  EXPECT_EQ(without["fd1007"], EPERM) << "includes arches amd64";
  EXPECT_EQ(without["fd1008"], EBADF) << "includes arches s390x";
  EXPECT_EQ(without["fd1009"], EBADF) << "excludes arches amd64";
#endif
}

TEST(SeccompProfile, KillAndTrapActions) {
  for (const char* action : {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"}) {
    auto got = underProfile(std::string(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getppid"], "action": ")") +
                                action + R"("}]})",
                            0, [] {
                              // the signal that ended a grandchild calling getppid (0: none)
                              pid_t p = ::fork();
                              if (p == 0) {
                                struct rlimit none {};
                                ::setrlimit(RLIMIT_CORE, &none);  // no core file
                                ::_exit(::syscall(SYS_getppid) > 0 ? 0 : 1);
                              }
                              int st = 0;
                              ::waitpid(p, &st, 0);
                              return line("signal", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
                            });
    EXPECT_EQ(got["signal"], SIGSYS) << action;
  }
  auto got = underProfile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["getppid"], "action": "SCMP_ACT_LOG"}, {"names": ["getpgrp"], "action": "SCMP_ACT_TRACE", "errnoRet": 28}]})",
                          0, [] {
                            // TRACE with no tracer attached: the call fails with ENOSYS
                            return line("getppid", err(::syscall(SYS_getppid))) +
                                   line("getpgrp", err(::syscall(SYS_getpgrp)));
                          });
  EXPECT_EQ(got["getppid"], 0);
  EXPECT_EQ(got["getpgrp"], ENOSYS);
}

#if defined(__x86_64__)
TEST(SeccompProfile, ArchitecturesCoverThe32BitAbi) {
  // i386: getpid 20, mkdir 39. Without SCMP_ARCH_X86 in the filter, a 32-bit call is a bad
  // architecture and kills the caller; with it, the 32-bit call meets the same rules.
  const char* rules =
      R"("syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]})";
  auto probe = [] {
    return line("ia32_getpid", isolated([] { return ia32Syscall(20) == ::getpid() ? 0 : 1; })) +
           line("ia32_mkdir", isolated([] { return static_cast<int>(-ia32Syscall(39, 0)); }));
  };
  auto native =
      underProfile(std::string(R"({"defaultAction": "SCMP_ACT_ALLOW", )") + rules, 0, probe);
  EXPECT_EQ(native["ia32_getpid"], -1) << "killed as a foreign architecture";
  for (const char* arches :
       {R"("architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], )",
        R"("archMap": [{"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
                                            {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}], )"}) {
    auto got = underProfile(std::string(R"({"defaultAction": "SCMP_ACT_ALLOW", )") + arches + rules,
                            0, probe);
    EXPECT_EQ(got["ia32_getpid"], 0) << arches;
    EXPECT_EQ(got["ia32_mkdir"], ENOSPC) << arches;
  }
}
#endif

}  // namespace
}  // namespace strata::runtime::seccomp
