// Private to src/runtime: the entry points of the processes start() and exec() make
// (container_init.cpp). Each ends in exec or _exit; failures go over the channel
// (channel_internal.h).
#pragma once

#include <string>
#include <vector>

#include "runtime/runtime.h"
#include "runtime/spec.h"
#include "util/fd.h"

namespace strata::runtime::detail {

// The container's first process, right after clone into new namespaces: builds the root
// (overlay, default mounts, spec.mounts, pivot_root, read-only and masked paths, read-only root,
// hostname), resolves the user and compiles the seccomp filter; then waits for Go (it is in the
// cgroup and its interface is plugged in), brings up lo and eth0 and runs execProcess (through
// the init with spec.init). With spec.userns, usernsFd is the container's user namespace: the
// layers are idmapped through it and execProcess joins it. Never returns.
[[noreturn]] void runContainerProcess(const Spec& spec, const Stdio& stdio, int channel,
                                      int usernsFd) noexcept;

// The names of /proc/PID/ns/* that exec() joins, in the order runExecJoin wants their fds.
std::vector<std::string> namespacesToJoin();

// exec()'s first child: compiles the seccomp filter, waits for Go (it is in the cgroup then), setns into namespaces (fds in
// namespacesToJoin() order), clones the command's process with CLONE_PARENT, sends its pid and
// exits 0. The command's process resolves the user in the container root and runs
// execProcess, which joins usernsFd (the container's user namespace, -1 for none) last.
// Never returns.
[[noreturn]] void runExecJoin(const Spec& spec, const Stdio& stdio, int channel,
                              const std::vector<UniqueFd>& namespaces, int usernsFd) noexcept;

}  // namespace strata::runtime::detail
