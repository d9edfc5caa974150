// The default seccomp filter, built with libseccomp: allow everything, refuse a deny list.
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
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

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

}  // namespace

Result<Program> compileDefault() {
  Filter ctx = TRY(build());
  // libseccomp 2.5 exports only to a file descriptor.
  UniqueFd mem(::memfd_create("strata-seccomp", MFD_CLOEXEC));
  if (!mem) return failErrno("seccomp: memfd_create");
  TRYV(check(seccomp_export_bpf(ctx.get(), mem.get()), "compile the default filter"));
  struct stat st {};
  if (::fstat(mem.get(), &st) < 0) return failErrno("seccomp: stat the compiled filter");
  Program program(static_cast<size_t>(st.st_size) / sizeof(sock_filter));
  const size_t bytes = program.size() * sizeof(sock_filter);
  if (::pread(mem.get(), program.data(), bytes, 0) != static_cast<ssize_t>(bytes))
    return failErrno("seccomp: read the compiled filter");
  return program;
}

Status load(const Program& program) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program.size());
  prog.filter = const_cast<sock_filter*>(program.data());
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
    return failErrno("seccomp: load the default filter");
  return {};
}

}  // namespace strata::runtime::seccomp
