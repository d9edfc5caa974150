// Private to src/runtime: the steps every container process takes last, in start() and exec(),
// once its namespaces and root are in place, and the --init that can sit in front of it.
#pragma once

#include <string>
#include <vector>

#include "runtime/runtime.h"
#include "runtime/seccomp.h"
#include "runtime/spec.h"
#include "runtime/users_internal.h"
#include "util/error.h"

namespace strata::runtime::detail {

// A failed step in a child: the stage ("rootfs", "user", "exec", ...) and the error.
struct Failure {
  const char* stage;
  Error error;
};

struct ProcessOptions {
  bool runInit = false;       // start() with spec.init: pid 1 stays behind as the init
  bool consoleMount = false;  // bind the pty slave on /dev/console (start(), not exec())
  // spec.seccomp's filter, compiled ahead (compiled here when null)
  const seccomp::Program* seccomp = nullptr;
  // The container's user namespace (-1: none), joined once the host-side steps are done
  int usernsFd = -1;
};

// The filter spec asks for (spec.seccompProfile for spec.capabilities, else the default).
Result<seccomp::Program> compileSeccomp(const Spec& spec);

// setsid; stdio (the given fds or /dev/null, or with spec.tty a pty opened in the container's
// devpts whose master goes to the parent as PtyMaster); the user namespace; seccomp when it has
// to come before the uid change (no no_new_privs); groups, gid, uid (in the user namespace);
// capabilities; chdir(spec.cwd); no_new_privs; umask 022; closing every other fd but channel;
// the PATH lookup; seccomp; then execve, through the init when runInit. Returns only on failure.
Failure execProcess(const Spec& spec, const ExecUser& user, const Stdio& stdio, int channel,
                    const ProcessOptions& opts);

// The environment the command gets: env plus Docker's PATH and the user's HOME when missing.
std::vector<std::string> processEnv(const std::vector<std::string>& env, const std::string& home);

// Go's exec.LookPath, which runc (and so Docker) uses, in the current root: a name with a '/'
// is taken as is; otherwise the first executable regular file in PATH (from env). Errors are
// Docker's: `exec: "x": executable file not found in $PATH` (no errno), `exec: "/x": stat /x`
// (ENOENT ...), `exec: "/x"` (EACCES: not executable).
Result<std::string> lookPath(const std::string& file, const std::vector<std::string>& env);

// Returns fd, or a CLOEXEC duplicate of it at 3 or above (closing fd) when it is 0, 1 or 2, so
// that setting up stdio cannot clobber it.
int moveAboveStdio(int fd);

// The container's --init (init.cpp). Forks: returns in the child, which goes on to exec the
// command; the calling process becomes the init and never returns: it forwards SIGTERM, SIGINT,
// SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH to the child, reaps every process that ends up
// its child, and exits with the child's status (128+N when a signal N killed it). channel is
// closed in the init, so that the parent sees end of file once the child exec'd.
Status becomeInit(int channel, bool tty);

}  // namespace strata::runtime::detail
