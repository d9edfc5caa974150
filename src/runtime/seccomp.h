// strata's default seccomp profile: the intent of Docker's default (moby/profiles/seccomp), as a
// deny list that returns EPERM: mount/umount, kexec, kernel modules, reboot, swapon/off, clock
// and time setting, keyctl/add_key/request_key, bpf, perf_event_open, ptrace of non-children is
// left to the capability set, unshare/clone/setns of namespace flags (CLONE_NEWUSER etc.),
// open_by_handle_at, name_to_handle_at, userfaultfd, acct, quotactl, lookup_dcookie, iopl,
// ioperm, create_module, get_kernel_syms, query_module, nfsservctl, uselib, vm86, pivot_root,
// syslog, personality except the standard values, and mknod/mknodat of character and block
// devices. And Docker's JSON profiles (`--security-opt seccomp=FILE`): read, then compiled for
// the container's capabilities and the native architecture.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.h"

namespace strata::runtime::seccomp {

// A filter compiled to the kernel's BPF: compiling (libseccomp) takes a millisecond or two, so
// a container process does it while it waits for its cgroup, and loads it just before exec.
using Program = std::vector<sock_filter>;

// A Docker (moby) seccomp profile, as `--security-opt seccomp=FILE` gives it: typed, checked,
// not yet tied to an architecture or a capability set (compile() does that).
enum class Action { Allow, Errno, KillThread, KillProcess, Trap, Trace, Log };
enum class Op { Eq, Ne, Lt, Le, Gt, Ge, MaskedEq };

struct ArgCondition {
  unsigned index = 0;     // the syscall argument, 0..5
  uint64_t value = 0;     // with MaskedEq: the mask
  uint64_t valueTwo = 0;  // with MaskedEq: what the masked argument must equal
  Op op = Op::Eq;
};

// Docker's "includes"/"excludes" of a rule. A rule applies when the container holds every
// capability of includes.caps and none of excludes.caps, the native architecture (in Go's
// names: amd64, arm64, ...) is among includes.arches (when given) and not among excludes.arches,
// and the kernel is at least includes.minKernel and below excludes.minKernel.
struct RuleFilter {
  std::vector<std::string> caps;                           // "CAP_SYS_ADMIN", ...
  std::vector<std::string> arches;                         // "amd64", "x32", ...
  std::optional<std::pair<unsigned, unsigned>> minKernel;  // major, minor
};

struct SyscallRule {
  std::vector<std::string> names;  // names this libseccomp does not know are skipped (as runc)
  Action action = Action::Allow;
  std::optional<uint32_t> errnoRet;  // for Errno and Trace; EPERM when absent
  // ANDed; several conditions on one argument become one rule each (ORed), as runc does
  std::vector<ArgCondition> args;
  RuleFilter includes, excludes;
};

// An architecture and the ones that share its kernel ("archMap").
struct ArchMapEntry {
  uint32_t arch = 0;  // libseccomp's SCMP_ARCH_* token
  std::vector<uint32_t> subArches;
};

struct Profile {
  Action defaultAction = Action::Errno;
  std::optional<uint32_t> defaultErrnoRet;
  std::vector<uint32_t> architectures;  // SCMP_ARCH_* tokens; the native one is always there
  std::vector<ArchMapEntry> archMap;    // only the native architecture's entry is used
  std::vector<SyscallRule> syscalls;
};

// Reads a profile in Docker's JSON: defaultAction, defaultErrnoRet, architectures or archMap,
// syscalls [{names (or name), action, errnoRet, args [{index, value, valueTwo, op}], includes,
// excludes}]. Unknown fields are ignored, as Docker ignores them. Errors are one line naming
// the field ("syscalls[2].action: unknown action \"SCMP_ACT_FOO\""); malformed JSON names the
// position. SCMP_ACT_NOTIFY, listenerPath and flags are refused (not supported).
Result<Profile> parseProfile(std::string_view json);

// The default profile, compiled for the native architecture and its 32-bit siblings.
Result<Program> compileDefault();
// profile compiled for a process holding capabilities (bit per CAP_*), with the native
// architecture's rules. Rules whose action is the default action are left out (libseccomp
// refuses them, runc skips them). Fails when libseccomp refuses a rule (conflicting actions).
Result<Program> compile(const Profile& profile, uint64_t capabilities);
// Installs program for the calling thread and its future children. Must run after
// no_new_privs is set (or with CAP_SYS_ADMIN) and as late as possible before exec.
Status load(const Program& program);

}  // namespace strata::runtime::seccomp
