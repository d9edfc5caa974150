// Starting and joining containers: namespaces, mounts, pivot_root, cgroups, capabilities,
// seccomp, users, then exec.
//
// Errors that happen in the child after clone (a failed mount, an unknown user, a missing
// executable) travel back to the parent over a CLOEXEC pipe as {errno, stage, message} and come
// out of start() as an Error naming the step. Exit codes the caller should use when start()
// fails: ExecError::notFound -> 127, ExecError::permission -> 126, otherwise 125.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "runtime/spec.h"
#include "util/error.h"
#include "util/fd.h"

namespace strata::runtime {

// What the container's stdin/stdout/stderr are. With spec.tty the runtime makes a pty: the
// slave becomes the container's stdio and ptyMaster is returned in Started.
struct Stdio {
  int in = -1;   // fds in the parent to hand over; -1 means /dev/null
  int out = -1;
  int err = -1;
};

struct Started {
  pid_t pid = -1;       // the container's pid 1 as seen from the host
  UniqueFd ptyMaster;   // valid when spec.tty
};

enum class ExecFailure { None, NotFound, Permission, Other };
// When start()/exec() fail because the command could not be executed, which way.
ExecFailure execFailureOf(const Error& e);

// Runs in the parent once the container process exists (in its namespaces and cgroup) and before
// it sets anything up: the place to plug a network interface into its namespace
// (NetworkMode::Bridge). An error fails start().
using BeforeGo = std::function<Status(pid_t pid)>;

// Called first thing by a command that is about to start() or exec(): moving the new process into
// its cgroup then does not wait for the kernel's RCU grace period (10 ms or so), which this
// starts in the background.
void prepareToStart();

// Creates the cgroup, clones the container process into new namespaces, sets it up per spec and
// execs spec.args. Returns once the exec succeeded (or failed: then the child is reaped and the
// cgroup removed). The caller reaps the returned pid (waitpid) and calls cleanup() afterwards.
// Needs root.
Result<Started> start(const Spec& spec, const Stdio& stdio, const BeforeGo& beforeGo = {});

// Runs a process inside a running container (docker exec): joins the namespaces and cgroup of
// containerPid, applies user, cwd, env, capabilities, no_new_privs and seccomp from spec (its
// rootfs/mount fields are ignored), execs args. Returns the new process's pid (a child of the
// caller) once exec succeeded.
Result<Started> exec(pid_t containerPid, const Spec& spec, const Stdio& stdio);

// Removes what start() made on the host that outlives the container (its cgroups). Idempotent.
Status cleanup(const Spec& spec);

// Runs fn in a child process with each overlay mounted in a private mount namespace (read-only
// when it has no upper dir) and passes their mount points, in order; nothing is left mounted on
// the host whatever happens. fn's error comes back as this call's error (as text). Mount
// points are made under scratchDir. Needs root.
Status withOverlays(const std::vector<Overlay>& overlays, const std::string& scratchDir,
                    const std::function<Status(const std::vector<std::string>& roots)>& fn);

// The layer trees lowerDirs (top first) merged by one read-only overlay that is mounted nowhere:
// the returned fd holds it, and "/proc/self/fd/N" names its root for this process and the
// children it starts, as one lower directory of another overlay. It goes with the fd; a killed
// process leaves nothing mounted. Fails when the kernel cannot mount it so or take it as a
// lower directory (older kernels refuse a mount outside every namespace; a store on overlayfs
// would stack too deep).
Result<UniqueFd> mountDetachedLayers(const std::vector<std::string>& lowerDirs);

// --userns=auto: a new user namespace mapping ids 0..ids.size-1 to ids.hostUid.. and
// ids.hostGid.. (setgroups allowed), made by a short-lived helper; the returned fd keeps it.
// Needs root.
Result<UniqueFd> newUserNamespace(const IdMapping& ids);

// Joins the user namespace and becomes its root (uid 0, gid 0, no supplementary groups), with
// every capability in it and none outside. For a single-threaded child that does not share its
// fs_struct, once it needs no more host privileges (mounts are done).
Status enterUserNamespace(int usernsFd);

// Cgroup controls on a container after start.
Status freeze(const std::string& id, bool frozen);  // pause / unpause
// True when the kernel killed a process of the container for exceeding its memory limit.
bool oomKilled(const std::string& id);

}  // namespace strata::runtime
