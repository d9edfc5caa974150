// The default seccomp filter, loaded in a forked child: what it refuses and what still works.
// The child reports "<check> <errno>" lines (0 = the call succeeded) over a pipe.
#include "runtime/seccomp.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <sstream>
#include <string>

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

TEST(Seccomp, DefaultProfileRefusesWhatDockerRefuses) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root (the probes are meant to fail for lack of "
                    "seccomp, not of privilege)";
  auto tmp = TempDir::create("/tmp", "strata-seccomp-test-");
  ASSERT_TRUE(tmp) << tmp.error().what();
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    // A private mount namespace, so that a mount the filter failed to stop stays in the child.
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr))
      ::_exit(10);
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(11);
    if (auto s = loadDefault(); !s) {
      std::string m = "load " + s.error().what();
      (void)!::write(p[1], m.data(), m.size());
      ::_exit(12);
    }
    std::string r = probe(tmp->path());
    (void)!::write(p[1], r.data(), r.size());
    ::_exit(0);
  }
  ::close(p[1]);
  UniqueFd rd(p[0]);
  std::string text = readAll(rd.get()).value_or("");
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "status " << st << ": " << text;

  std::map<std::string, int> got;
  std::istringstream in(text);
  for (std::string name; in >> name;) in >> got[name];

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
    ASSERT_NE(it, got.end()) << name << " missing from:\n" << text;
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

}  // namespace
}  // namespace strata::runtime::seccomp
