// --init: a minimal pid 1 inside strata itself (what tini is to Docker's --init). The kernel
// delivers to a namespace's pid 1 only the signals it handles, and re-parents every orphan to
// it; a shell or server as pid 1 may do neither job, so this one forwards and reaps.
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/process_internal.h"

namespace strata::runtime::detail {

namespace {

constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

void noop(int) {}

int exitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

[[noreturn]] void initLoop(pid_t child, const sigset_t& waited) {
  for (;;) {
    siginfo_t info;
    int sig = ::sigwaitinfo(&waited, &info);
    if (sig < 0) continue;  // EINTR
    if (sig != SIGCHLD) {
      ::kill(child, sig);
      continue;
    }
    for (;;) {
      int status = 0;
      pid_t p = ::waitpid(-1, &status, WNOHANG);
      if (p <= 0) break;
      // When the command ends the init ends, and the kernel kills what is left in the
      // namespace, as Docker's init does.
      if (p == child) ::_exit(exitCodeOf(status));
    }
  }
}

}  // namespace

Status becomeInit(int channel, bool tty) {
  sigset_t waited, old;
  ::sigemptyset(&waited);
  ::sigaddset(&waited, SIGCHLD);
  for (int s : kForwarded) ::sigaddset(&waited, s);
  // Blocked from before the fork, so that nothing sent in between is lost; a handler as well,
  // because pid 1 never receives a signal whose disposition is the default.
  struct sigaction sa {};
  sa.sa_handler = noop;
  ::sigemptyset(&sa.sa_mask);
  for (int s : kForwarded) ::sigaction(s, &sa, nullptr);
  ::sigprocmask(SIG_BLOCK, &waited, &old);
  pid_t child = ::fork();
  if (child < 0) {
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    return failErrno("fork the command under the init");
  }
  if (child == 0) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigemptyset(&dfl.sa_mask);
    for (int s : kForwarded) ::sigaction(s, &dfl, nullptr);
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    // Its own process group, in the terminal's foreground, so that ^C reaches it once (and not
    // the init as well).
    ::setpgid(0, 0);
    if (tty) {
      ::signal(SIGTTOU, SIG_IGN);
      ::tcsetpgrp(0, ::getpid());
      ::signal(SIGTTOU, SIG_DFL);
    }
    return {};
  }
  ::close(channel);
  initLoop(child, waited);
}

}  // namespace strata::runtime::detail
