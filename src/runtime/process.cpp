// The last steps of a container process, shared by start() and exec(). Runs in a child made by
// clone/fork: no exceptions leave it, every failure is returned as a Failure for the channel.
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/caps.h"
#include "runtime/channel_internal.h"
#include "runtime/process_internal.h"
#include "runtime/seccomp.h"
#include "runtime/userns_internal.h"

namespace strata::runtime::detail {

namespace {

bool hasVar(const std::vector<std::string>& env, std::string_view name) {
  for (const std::string& e : env) {
    if (e.size() > name.size() && e.starts_with(name) && e[name.size()] == '=') return true;
  }
  return false;
}

// Points 0, 1 and 2 at the given fds (or /dev/null). Every source is first copied to 3 or above
// so that a source that is itself 0, 1 or 2 is not overwritten before it is used.
Status setupStdio(const Stdio& stdio) {
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return failErrno("open /dev/null");
  null = moveAboveStdio(null);
  const int sources[3] = {stdio.in, stdio.out, stdio.err};
  int copies[3];
  for (int i = 0; i < 3; ++i) {
    copies[i] = ::fcntl(sources[i] >= 0 ? sources[i] : null, F_DUPFD_CLOEXEC, 3);
    if (copies[i] < 0) return failErrno("duplicate stdio fd " + std::to_string(sources[i]));
  }
  for (int i = 0; i < 3; ++i) {
    if (::dup2(copies[i], i) < 0) return failErrno("dup2 stdio fd " + std::to_string(i));
  }
  return {};  // the copies go with the other fds in closeOtherFds
}

// A pty from the container's own devpts (so the command sees /dev/pts/N of its namespace): the
// master goes to the parent, the slave becomes the controlling terminal and stdio.
Status setupPty(int channel, uid_t uid, bool consoleMount) {
  int master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return failErrno("open /dev/ptmx");
  UniqueFd masterFd(master);
  if (::unlockpt(master) < 0) return failErrno("unlockpt");
  int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) return failErrno("open the pty slave");
  UniqueFd slaveFd(slave);
  if (::fchown(slave, uid, static_cast<gid_t>(-1)) < 0) return failErrno("chown the pty slave");
  if (consoleMount) {
    unsigned n = 0;
    if (::ioctl(master, TIOCGPTN, &n) < 0) return failErrno("get the pty number");
    std::string pts = "/dev/pts/" + std::to_string(n);
    int f = ::open("/dev/console", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (f < 0) return failErrno("create /dev/console");
    ::close(f);
    if (::mount(pts.c_str(), "/dev/console", nullptr, MS_BIND, nullptr) < 0) {
      return failErrno("bind mount " + pts + " on /dev/console");
    }
  }
  TRYV(sendMessage(channel, MsgType::PtyMaster, 0, master));
  masterFd.reset();  // the container must not hold the master, or the parent never sees EOF
  if (::ioctl(slave, TIOCSCTTY, 0) < 0) return failErrno("make the pty the controlling terminal");
  for (int i = 0; i < 3; ++i) {
    if (::dup2(slave, i) < 0) return failErrno("dup2 the pty slave to " + std::to_string(i));
  }
  return {};
}

void closeOtherFds(int keep) {
  if (keep > 3) ::close_range(3, static_cast<unsigned>(keep) - 1, 0);
  ::close_range(static_cast<unsigned>(keep) + 1, ~0U, 0);
}

// execFailureOf() recognises these by the `exec: "` prefix.
std::string execName(const std::string& file) { return "exec: \"" + file + "\""; }

// 0 when path names an executable non-directory, else an errno.
int checkExecutable(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) < 0) return errno;
  if (!S_ISDIR(st.st_mode) && (st.st_mode & 0111) != 0) return 0;
  return EACCES;
}

}  // namespace

int moveAboveStdio(int fd) {
  if (fd > 2) return fd;
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (moved < 0) return fd;
  ::close(fd);
  return moved;
}

std::vector<std::string> processEnv(const std::vector<std::string>& env, const std::string& home) {
  std::vector<std::string> out = env;
  if (!hasVar(out, "PATH")) out.emplace_back(kDefaultPath);
  if (!hasVar(out, "HOME")) out.push_back("HOME=" + home);
  return out;
}

Result<std::string> lookPath(const std::string& file, const std::vector<std::string>& env) {
  if (file.find('/') != std::string::npos) {
    int err = checkExecutable(file);
    if (err == 0) return file;
    if (err == EACCES) return fail(Error(EACCES, execName(file)));
    return fail(Error(err, execName(file) + ": stat " + file));
  }
  std::string path = std::string(kDefaultPath).substr(5);
  for (const std::string& e : env) {
    if (e.starts_with("PATH=")) path = e.substr(5);  // the last one wins, as with setenv
  }
  if (!file.empty()) {
    size_t start = 0;
    for (;;) {
      size_t end = path.find(':', start);
      std::string dir = path.substr(start, end == std::string::npos ? end : end - start);
      std::string candidate = (dir.empty() ? "." : dir) + "/" + file;
      if (checkExecutable(candidate) == 0) return candidate;
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  return failInvalid(execName(file) + ": executable file not found in $PATH");
}

// Signal dispositions set to "ignore" and the blocked mask survive exec: whatever the process
// that started us ignored or blocked (the monitor blocks SIGCHLD and ignores SIGPIPE) must not
// reach the container's command.
void resetSignals() {
  // Through the system call: glibc refuses to touch the two real-time signals it reserves for
  // itself (32 and 33), yet their "ignore" disposition would be inherited all the same.
  struct KernelSigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    uint64_t mask;
  } dfl{SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof(uint64_t));
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

Result<seccomp::Program> compileSeccomp(const Spec& spec) {
  if (spec.seccompProfile) return seccomp::compile(*spec.seccompProfile, spec.capabilities);
  return seccomp::compileDefault();
}

Failure execProcess(const Spec& spec, const ExecUser& user, const Stdio& stdio, int channel,
                    const ProcessOptions& opts) {
  auto failed = [](const char* stage, Error e) { return Failure{stage, std::move(e)}; };
  if (spec.args.empty()) return failed("process", Error::invalid("no command to run"));
  // A new session: the container's processes must not share the caller's terminal.
  if (::setsid() < 0) return failed("process", Error::fromErrno("setsid"));
  Status st = spec.tty ? setupPty(channel, hostUid(spec.userns, user.uid), opts.consoleMount)
                       : setupStdio(stdio);
  if (!st) return failed("stdio", std::move(st).error());
  // Everything that needs host root is done (the pty's chown and /dev/console mount were the
  // last). From here the process has capabilities in its user namespace only; the filter below
  // refuses setns, so this comes first.
  if (opts.usernsFd >= 0) {
    if (Status s = joinUserNamespace(opts.usernsFd); !s) return failed("userns", std::move(s).error());
  }
  seccomp::Program compiled;
  const seccomp::Program* filter = opts.seccomp;
  if (spec.seccomp && !filter) {
    auto c = compileSeccomp(spec);
    if (!c) return failed("seccomp", std::move(c).error());
    compiled = std::move(*c);
    filter = &compiled;
  }
  // Without no_new_privs a seccomp filter needs CAP_SYS_ADMIN: load it while we have it.
  bool seccompEarly = spec.seccomp && !spec.noNewPrivileges;
  if (seccompEarly) {
    if (Status s = seccomp::load(*filter); !s) return failed("seccomp", std::move(s).error());
  }
  if (Status s = switchUser(user, spec.primaryGroupSupplementary); !s) return failed("user", std::move(s).error());
  if (Status s = caps::apply(spec.capabilities, user.uid != 0); !s) {
    return failed("capabilities", std::move(s).error());
  }
  const std::string cwd = spec.cwd.empty() ? "/" : spec.cwd;
  if (::chdir(cwd.c_str()) < 0) {
    return failed("cwd", Error::fromErrno("chdir to cwd (\"" + cwd + "\")"));
  }
  if (spec.noNewPrivileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    return failed("no_new_privs", Error::fromErrno("prctl(PR_SET_NO_NEW_PRIVS)"));
  }
  ::umask(022);
  std::vector<std::string> env = processEnv(spec.env, user.home);
  Result<std::string> path = lookPath(spec.args[0], env);
  if (!path) return failed("exec", std::move(path).error());
  std::vector<char*> argv, envp;
  for (const std::string& a : spec.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  closeOtherFds(channel);
  resetSignals();
  if (spec.seccomp && !seccompEarly) {
    if (Status s = seccomp::load(*filter); !s) return failed("seccomp", std::move(s).error());
  }
  if (opts.runInit) {
    if (Status s = becomeInit(channel, spec.tty); !s) return failed("init", std::move(s).error());
  }
  ::execve(path->c_str(), argv.data(), envp.data());
  return failed("exec", Error::fromErrno(execName(spec.args[0])));
}

}  // namespace strata::runtime::detail
