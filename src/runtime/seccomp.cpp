// Seccomp filters built with libseccomp: strata's default (allow everything, refuse a deny
// list) and Docker's JSON profiles (seccomp_profile.cpp reads them), compiled the way runc
// compiles them.
//
// Docker's default profile is an allow list; ours keeps its intent the other way round, which
// stays correct as new harmless syscalls appear. Where Docker filters on arguments (clone flags,
// personality values) we deny the complement of what Docker allows.
#include "runtime/seccomp.h"

#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "runtime/caps.h"
#include "util/fd.h"

namespace strata::runtime::seccomp {
namespace {

// Refused with EPERM whatever the arguments. Names that the native architecture or this
// libseccomp does not know are skipped (vm86 and friends exist only for the 32-bit x86 filter).
constexpr const char* kDenied[] = {
    // mounts and the new mount API
    "mount", "umount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount", "fspick",
    "move_mount", "open_tree", "mount_setattr",
    // kernel code and the machine
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "create_module", "get_kernel_syms", "query_module", "reboot", "swapon", "swapoff",
    // clocks (adjtimex stays: reading is harmless and setting needs CAP_SYS_TIME, as in Docker)
    "clock_settime", "clock_settime64", "clock_adjtime", "clock_adjtime64", "settimeofday", "stime",
    // kernel keyring
    "keyctl", "add_key", "request_key",
    // kernel attack surface and host information
    "bpf", "perf_event_open", "userfaultfd", "lookup_dcookie", "syslog", "acct", "quotactl",
    "quotactl_fd", "open_by_handle_at", "name_to_handle_at", "nfsservctl", "uselib",
    // raw hardware access
    "iopl", "ioperm", "vm86", "vm86old",
    // joining another namespace
    "setns"};

// The namespace flags Docker refuses in clone (its mask 0x7E020000).
constexpr uint64_t kNamespaceFlags[] = {CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,   CLONE_NEWUSER,
                                        CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP};

// personality(2) values Docker allows: PER_LINUX, PER_LINUX32, UNAME26, PER_LINUX32|UNAME26 and
// the 0xffffffff query.
constexpr uint32_t kPersonalityBits = 0x20008;  // the only bits set in the allowed values < ~0u

struct FilterDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Filter = std::unique_ptr<void, FilterDeleter>;

// libseccomp returns -errno.
Status check(int rc, const std::string& what) {
  if (rc < 0) return fail(Error(-rc, "seccomp: " + what));
  return {};
}

Status deny(void* ctx, const char* name, uint32_t action, std::initializer_list<scmp_arg_cmp> cmp) {
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return {};
  return check(seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(cmp.size()),
                                      cmp.size() ? cmp.begin() : nullptr),
               std::string("add rule for ") + name);
}

// Any of the namespace flags in argument arg of syscall name: EPERM. Rules on one syscall are
// ORed, so one rule per flag says "any of".
Status denyNamespaceFlags(void* ctx, const char* name, unsigned arg, bool withNewTime) {
  std::vector<uint64_t> flags(std::begin(kNamespaceFlags), std::end(kNamespaceFlags));
#ifdef CLONE_NEWTIME
  // Only for unshare: in clone's flags 0x80 is part of the exit signal.
  if (withNewTime) flags.push_back(CLONE_NEWTIME);
#else
  (void)withNewTime;
#endif
  for (uint64_t f : flags)
    TRYV(deny(ctx, name, SCMP_ACT_ERRNO(EPERM), {scmp_arg_cmp{arg, SCMP_CMP_MASKED_EQ, f, f}}));
  return {};
}

// mknod of a character or block device: EPERM; fifos, sockets and regular files stay allowed.
Status denyDeviceNodes(void* ctx, const char* name, unsigned modeArg) {
  for (uint64_t type : {uint64_t{S_IFCHR}, uint64_t{S_IFBLK}})
    TRYV(deny(ctx, name, SCMP_ACT_ERRNO(EPERM),
              {scmp_arg_cmp{modeArg, SCMP_CMP_MASKED_EQ, S_IFMT, type}}));
  return {};
}

// personality(v) is refused unless v is one of the allowed values. libseccomp takes one
// comparison per argument in a rule and refuses allow rules when the default is allow, so the
// refused set is written as a union of single masked comparisons:
//  - any bit above the low 32 (the kernel reads an unsigned int; refusing is the safe side);
//  - some bit outside kPersonalityBits set and the value not ~0u. Among those 30 "other" bits in
//    a cyclic order, a value that has some of them set and some clear has a set bit followed by
//    a clear one, so one rule per adjacent pair (set, next clear) covers it;
//  - all 30 other bits set but bit 3 or bit 17 clear.
Status denyPersonality(void* ctx) {
  const char* name = "personality";
  TRYV(deny(ctx, name, SCMP_ACT_ERRNO(EPERM), {scmp_arg_cmp{0, SCMP_CMP_GT, 0xffffffffULL, 0}}));
  std::vector<uint64_t> other;
  for (unsigned b = 0; b < 32; ++b)
    if (!(kPersonalityBits & (1u << b))) other.push_back(uint64_t{1} << b);
  for (size_t i = 0; i < other.size(); ++i) {
    uint64_t set = other[i], clear = other[(i + 1) % other.size()];
    TRYV(deny(ctx, name, SCMP_ACT_ERRNO(EPERM),
              {scmp_arg_cmp{0, SCMP_CMP_MASKED_EQ, set | clear, set}}));
  }
  uint64_t allOther = 0xffffffffULL & ~uint64_t{kPersonalityBits};
  for (uint64_t bit : {uint64_t{0x8}, uint64_t{0x20000}})
    TRYV(deny(ctx, name, SCMP_ACT_ERRNO(EPERM),
              {scmp_arg_cmp{0, SCMP_CMP_MASKED_EQ, allOther | bit, allOther}}));
  return {};
}

Result<Filter> build() {
  Filter ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return failInvalid("seccomp: seccomp_init failed");
  void* c = ctx.get();
  // no_new_privs is the caller's decision (Docker's --security-opt no-new-privileges).
  TRYV(check(seccomp_attr_set(c, SCMP_FLTATR_CTL_NNP, 0), "clear the NNP attribute"));
  // The kernel's errno from seccomp_load (EACCES without NNP or CAP_SYS_ADMIN), not ECANCELED.
  TRYV(check(seccomp_attr_set(c, SCMP_FLTATR_API_SYSRAWRC, 1), "ask for raw error codes"));
  // The 32-bit x86 and x32 ABIs reach the same kernel: give them the same rules rather than let
  // them around the filter. Other foreign architectures are killed (libseccomp's default).
  if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
    for (uint32_t arch : {SCMP_ARCH_X86, SCMP_ARCH_X32}) {
      int rc = seccomp_arch_add(c, arch);
      if (rc != -EEXIST) TRYV(check(rc, "add architecture"));
    }
  }
  for (const char* name : kDenied) TRYV(deny(c, name, SCMP_ACT_ERRNO(EPERM), {}));
  TRYV(denyNamespaceFlags(c, "clone", 0, false));
  TRYV(denyNamespaceFlags(c, "unshare", 0, true));
  // clone3 passes its flags in memory that seccomp cannot read: ENOSYS makes glibc fall back to
  // clone, whose flags the rules above see (Docker does the same).
  TRYV(deny(c, "clone3", SCMP_ACT_ERRNO(ENOSYS), {}));
  TRYV(denyDeviceNodes(c, "mknod", 1));
  TRYV(denyDeviceNodes(c, "mknodat", 2));
  TRYV(denyPersonality(c));
  return ctx;
}

// The BPF libseccomp made of ctx. libseccomp 2.5 exports only to a file descriptor.
Result<Program> exportProgram(void* ctx) {
  UniqueFd mem(::memfd_create("strata-seccomp", MFD_CLOEXEC));
  if (!mem) return failErrno("seccomp: memfd_create");
  TRYV(check(seccomp_export_bpf(ctx, mem.get()), "compile the filter"));
  struct stat st {};
  if (::fstat(mem.get(), &st) < 0) return failErrno("seccomp: stat the compiled filter");
  Program program(static_cast<size_t>(st.st_size) / sizeof(sock_filter));
  const size_t bytes = program.size() * sizeof(sock_filter);
  if (::pread(mem.get(), program.data(), bytes, 0) != static_cast<ssize_t>(bytes))
    return failErrno("seccomp: read the compiled filter");
  return program;
}

// ---------------------------------------------------------------------------------------------
// Docker's profiles

// runc's mapping: SCMP_ACT_KILL is KILL_THREAD; ERRNO and TRACE return errnoRet, else EPERM.
uint32_t scmpAction(Action a, const std::optional<uint32_t>& errnoRet) {
  const uint32_t e = errnoRet.value_or(EPERM);
  switch (a) {
    case Action::Allow:
      return SCMP_ACT_ALLOW;
    case Action::Errno:
      return SCMP_ACT_ERRNO(e);
    case Action::KillThread:
      return SCMP_ACT_KILL_THREAD;
    case Action::KillProcess:
      return SCMP_ACT_KILL_PROCESS;
    case Action::Trap:
      return SCMP_ACT_TRAP;
    case Action::Trace:
      return SCMP_ACT_TRACE(e);
    case Action::Log:
      return SCMP_ACT_LOG;
  }
  return SCMP_ACT_KILL_PROCESS;
}

scmp_compare scmpOp(Op op) {
  switch (op) {
    case Op::Eq:
      return SCMP_CMP_EQ;
    case Op::Ne:
      return SCMP_CMP_NE;
    case Op::Lt:
      return SCMP_CMP_LT;
    case Op::Le:
      return SCMP_CMP_LE;
    case Op::Gt:
      return SCMP_CMP_GT;
    case Op::Ge:
      return SCMP_CMP_GE;
    case Op::MaskedEq:
      return SCMP_CMP_MASKED_EQ;
  }
  return SCMP_CMP_EQ;
}

// The native architecture as Docker names it in "includes"/"excludes" (Go's names, with moby's
// renaming of 386 to x86).
std::string nativeArchName() {
  switch (seccomp_arch_native()) {
    case SCMP_ARCH_X86_64:
      return "amd64";
    case SCMP_ARCH_X86:
      return "x86";
    case SCMP_ARCH_AARCH64:
      return "arm64";
    case SCMP_ARCH_ARM:
      return "arm";
    case SCMP_ARCH_PPC64LE:
      return "ppc64le";
    case SCMP_ARCH_PPC64:
      return "ppc64";
    case SCMP_ARCH_S390X:
      return "s390x";
    case SCMP_ARCH_S390:
      return "s390";
    case SCMP_ARCH_MIPS64:
      return "mips64";
    case SCMP_ARCH_MIPSEL64:
      return "mipsel64";
    case SCMP_ARCH_MIPSEL:
      return "mipsel";
    case SCMP_ARCH_RISCV64:
      return "riscv64";
    default:
      return "";
  }
}

std::pair<unsigned, unsigned> kernelVersion() {
  struct utsname u {};
  unsigned major = 0, minor = 0;
  if (::uname(&u) == 0) std::sscanf(u.release, "%u.%u", &major, &minor);
  return {major, minor};
}

// A capability Docker would find in the container's bounding set: names are compared as
// written, so only an exact "CAP_..." name can match.
bool holds(const std::string& name, uint64_t capabilities) {
  auto bit = caps::parse(name);
  if (!bit) return false;
  std::vector<std::string> n = caps::names(*bit);
  return n.size() == 1 && n.front() == name && (capabilities & *bit);
}

struct Host {
  uint64_t capabilities;
  std::string arch;
  std::pair<unsigned, unsigned> kernel;
};

bool contains(const std::vector<std::string>& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// moby's filtering of a profile's rules for one container (profiles/seccomp).
bool applies(const SyscallRule& r, const Host& h) {
  const RuleFilter &in = r.includes, &ex = r.excludes;
  if (contains(ex.arches, h.arch)) return false;
  for (const auto& c : ex.caps)
    if (holds(c, h.capabilities)) return false;
  if (ex.minKernel && h.kernel >= *ex.minKernel) return false;
  if (!in.arches.empty() && !contains(in.arches, h.arch)) return false;
  for (const auto& c : in.caps)
    if (!holds(c, h.capabilities)) return false;
  if (in.minKernel && h.kernel < *in.minKernel) return false;
  return true;
}

// The architectures the filter covers besides the native one.
std::vector<uint32_t> archesOf(const Profile& p) {
  std::vector<uint32_t> out = p.architectures;
  for (const auto& e : p.archMap) {
    if (e.arch != seccomp_arch_native()) continue;
    out.push_back(e.arch);
    out.insert(out.end(), e.subArches.begin(), e.subArches.end());
    break;
  }
  return out;
}

Status addRule(void* ctx, uint32_t action, int nr, const std::string& name,
               const std::vector<ArgCondition>& args) {
  std::vector<scmp_arg_cmp> cmp;
  for (const auto& a : args) {
    const bool masked = a.op == Op::MaskedEq;
    cmp.push_back(scmp_arg_cmp{a.index, scmpOp(a.op), a.value, masked ? a.valueTwo : 0});
  }
  const std::string what = "add rule for " + name;
  bool repeated = false;
  for (size_t i = 0; i < args.size(); ++i)
    for (size_t j = i + 1; j < args.size(); ++j)
      repeated = repeated || args[i].index == args[j].index;
  // libseccomp takes one comparison per argument in a rule: several on one argument become
  // one rule each, which ORs them (runc does the same).
  if (repeated) {
    for (const auto& c : cmp) TRYV(check(seccomp_rule_add_array(ctx, action, nr, 1, &c), what));
    return {};
  }
  return check(seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(cmp.size()),
                                      cmp.empty() ? nullptr : cmp.data()),
               what);
}

}  // namespace

Result<Program> compileDefault() {
  Filter ctx = TRY(build());
  return exportProgram(ctx.get());
}

Result<Program> compile(const Profile& profile, uint64_t capabilities) {
  const uint32_t defaultAction = scmpAction(profile.defaultAction, profile.defaultErrnoRet);
  Filter ctx(seccomp_init(defaultAction));
  if (!ctx) return failInvalid("seccomp: seccomp_init failed");
  void* c = ctx.get();
  TRYV(check(seccomp_attr_set(c, SCMP_FLTATR_CTL_NNP, 0), "clear the NNP attribute"));
  TRYV(check(seccomp_attr_set(c, SCMP_FLTATR_API_SYSRAWRC, 1), "ask for raw error codes"));
  for (uint32_t arch : archesOf(profile)) {
    int rc = seccomp_arch_add(c, arch);
    if (rc != -EEXIST) TRYV(check(rc, "add architecture"));
  }
  const Host host{capabilities, nativeArchName(), kernelVersion()};
  for (const SyscallRule& r : profile.syscalls) {
    if (!applies(r, host)) continue;
    const uint32_t action = scmpAction(r.action, r.errnoRet);
    if (action == defaultAction) continue;
    for (const std::string& name : r.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;
      TRYV(addRule(c, action, nr, name, r.args));
    }
  }
  return exportProgram(c);
}

Status load(const Program& program) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program.size());
  prog.filter = const_cast<sock_filter*>(program.data());
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
    return failErrno("seccomp: load the filter");
  return {};
}

}  // namespace strata::runtime::seccomp
