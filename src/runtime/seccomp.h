// strata's default seccomp profile: the intent of Docker's default (moby/profiles/seccomp), as a
// deny list that returns EPERM: mount/umount, kexec, kernel modules, reboot, swapon/off, clock
// and time setting, keyctl/add_key/request_key, bpf, perf_event_open, ptrace of non-children is
// left to the capability set, unshare/clone/setns of namespace flags (CLONE_NEWUSER etc.),
// open_by_handle_at, name_to_handle_at, userfaultfd, acct, quotactl, lookup_dcookie, iopl,
// ioperm, create_module, get_kernel_syms, query_module, nfsservctl, uselib, vm86, pivot_root,
// syslog, personality except the standard values, and mknod/mknodat of character and block
// devices.
#pragma once

#include <linux/filter.h>

#include <vector>

#include "util/error.h"

namespace strata::runtime::seccomp {

// A filter compiled to the kernel's BPF: compiling (libseccomp) takes a millisecond or two, so
// a container process does it while it waits for its cgroup, and loads it just before exec.
using Program = std::vector<sock_filter>;

// The default profile, compiled for the native architecture and its 32-bit siblings.
Result<Program> compileDefault();
// Installs program for the calling thread and its future children. Must run after
// no_new_privs is set (or with CAP_SYS_ADMIN) and as late as possible before exec.
Status load(const Program& program);

}  // namespace strata::runtime::seccomp
