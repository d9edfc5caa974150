// A function run in a forked child process, its Status carried back to the parent: the child
// writes {errno, message} to a pipe when the function fails and _exits; the parent waits and
// turns the record into an Error. For work that needs a process of its own: a private mount
// namespace, a chroot, joining a container's namespaces.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>

#include "util/error.h"
#include "util/fd.h"

namespace strata {

class ChildProcess {
 public:
  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  // A child not waited for is killed and reaped.
  ~ChildProcess();

  // Forks; body runs in the child, which then _exits: no destructors, no return to the caller's
  // stack. Pipes the parent shares with the child are the body's to close (it gets copies). The
  // child ignores SIGPIPE, so a write to a reader that went away fails with EPIPE. `what` names
  // the child in errors ("the copy helper").
  static Result<ChildProcess> spawn(std::string_view what, const std::function<Status()>& body);

  pid_t pid() const { return pid_; }

  // Waits for the child; its error, if it failed. Call once.
  Status wait();

 private:
  ChildProcess(pid_t pid, UniqueFd report, std::string what);
  static void report(int fd, const Error& e);

  pid_t pid_ = -1;
  UniqueFd report_;
  std::string what_;
};

}  // namespace strata
