// Cgroups for containers, on cgroup v2 (unified) and v1/hybrid hosts, behind one interface.
// A container's cgroup is "strata/<id>" under each controller hierarchy (v1: memory, cpu,
// pids, freezer, devices; v2: the unified tree with those controllers enabled on the way down).
#pragma once

#include <sys/types.h>

#include <string>

#include "runtime/spec.h"
#include "util/error.h"

namespace strata::runtime::cgroups {

// Starts, in a detached thread, a move of the calling process into the cgroup it is already in:
// the kernel makes a process's first move into a cgroup wait for an RCU grace period (5-15 ms,
// cgroup_threadgroup_rwsem), and moves within about one grace period after it do not wait.
void warmUp();
// Makes the container's cgroup(s) and writes the limits. Memory: limit and, on v1, memsw =
// the same value when the kernel supports it (no swap beyond the limit, so a container that
// exceeds it is OOM-killed). CPU: quota/period. Pids: pids.max. v1 devices: deny all, allow
// Docker's default device list (null, zero, full, random, urandom, tty, console, ptmx, pts).
Status create(const std::string& id, const Resources& r);
// Moves pid into every hierarchy of the container's cgroup.
Status addProcess(const std::string& id, pid_t pid);
// Kills whatever is left in the cgroup (SIGKILL, waits for it to empty) and removes it.
// A missing cgroup is fine.
Status remove(const std::string& id);
// pause/unpause through the freezer (v1 freezer.state FROZEN/THAWED, v2 cgroup.freeze).
Status freeze(const std::string& id, bool frozen);
// True when the memory controller recorded an OOM kill in the container's cgroup.
bool oomKilled(const std::string& id);
// Pids in the container's cgroup (for `top`).
Result<std::vector<pid_t>> pids(const std::string& id);

}  // namespace strata::runtime::cgroups
