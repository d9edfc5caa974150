// start() and exec(): the parent's side. Each one makes a channel, clones or forks, puts the
// child in the container's cgroup while the child prepares, says Go, and reads the child's
// report until end of file (exec succeeded) or an error (then kills and reaps what it made).
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/cgroups.h"
#include "runtime/channel_internal.h"
#include "runtime/child_internal.h"
#include "runtime/runtime.h"
#include "runtime/syscalls_internal.h"

namespace strata::runtime {

using namespace detail;

namespace {

// Kills (SIGKILL) and reaps a child on scope exit unless released.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;
  ~ChildGuard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  pid_t release() { return std::exchange(pid_, -1); }

 private:
  pid_t pid_;
};

// The error a failed child reported, else e. Kills the child first so that the channel ends.
Error childErrorOr(pid_t child, int channel, Error e) {
  ::kill(child, SIGKILL);
  auto report = collectReport(channel, false);
  if (report && report->error) return std::move(*report->error);
  return e;
}

Status validate(const Spec& spec, bool forStart) {
  if (spec.args.empty()) return failInvalid("no command specified");
  if (spec.id.empty()) return failInvalid("container id is empty");
  if (!forStart) return {};
  if (spec.network == NetworkMode::Join && spec.joinNetns.empty())
    return failInvalid("no network namespace to join");
  if (spec.rootfs.lowerDirs.empty()) return failInvalid("rootfs has no layers");
  if (spec.rootfsMountPoint.empty() || spec.rootfsMountPoint[0] != '/') {
    return failInvalid("rootfs mount point `" + spec.rootfsMountPoint + "` is not absolute");
  }
  return {};
}

Result<Started> startInCgroup(const Spec& spec, const Stdio& stdio, const BeforeGo& beforeGo) {
  // The user namespace is made by host root before the clone, and the child inherits its fd:
  // the container's other namespaces are not created inside it (see userns.cpp).
  UniqueFd userns;
  if (spec.userns) userns = TRY_CTX(newUserNamespace(*spec.userns), "create the user namespace");
  Channel channel = TRY(makeChannel());
  uint64_t flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
  if (spec.network == NetworkMode::None || spec.network == NetworkMode::Bridge) flags |= CLONE_NEWNET;
  pid_t pid = sys::cloneProcess(flags, SIGCHLD);
  if (pid < 0) return failErrno("clone the container process");
  if (pid == 0) {
    ::close(channel.parent.get());
    runContainerProcess(spec, stdio, channel.child.get(), userns.get());
  }
  ChildGuard guard(pid);
  channel.child.reset();
  userns.reset();
  // The child sets up its file system meanwhile; when it failed, its error is the one to report
  // (the cgroup write then fails only because it is gone). The cgroup is made only now: its
  // mkdirs wait for the same kernel lock as the move (see prepareToStart).
  Status ready = cgroups::create(spec.id, spec.resources);
  if (!ready) {
    ready = fail(std::move(ready).error().wrap("create the container's cgroup"));
  } else if (ready = cgroups::addProcess(spec.id, pid); !ready) {
    ready = fail(std::move(ready).error().wrap("put the container process in its cgroup"));
  }
  if (ready && beforeGo) ready = beforeGo(pid);
  if (ready) ready = sendMessage(channel.parent.get(), MsgType::Go);
  if (!ready) return fail(childErrorOr(pid, channel.parent.get(), std::move(ready).error()));
  ChildReport report = TRY(collectReport(channel.parent.get(), false));
  if (report.error) return fail(std::move(*report.error));
  if (spec.tty && !report.ptyMaster) return failInvalid("container process sent no pty");
  Started started;
  started.pid = guard.release();
  started.ptyMaster = std::move(report.ptyMaster);
  return started;
}

}  // namespace

ExecFailure execFailureOf(const Error& e) {
  const std::string& m = e.message();
  if (m.find("exec: \"") == std::string::npos) return ExecFailure::None;
  if (m.find("executable file not found in $PATH") != std::string::npos) {
    return ExecFailure::NotFound;
  }
  switch (e.code()) {
    case ENOENT:
      return ExecFailure::NotFound;
    case EACCES:
    case EPERM:
    case ENOEXEC:
    case EISDIR:
      return ExecFailure::Permission;
    default:
      return ExecFailure::Other;
  }
}

void prepareToStart() { cgroups::warmUp(); }

Result<Started> start(const Spec& spec, const Stdio& stdio, const BeforeGo& beforeGo) {
  TRYV(validate(spec, true));
  Result<Started> started = startInCgroup(spec, stdio, beforeGo);
  // The failed child is reaped by now; whatever else is left in the cgroup goes with it.
  if (!started) (void)cgroups::remove(spec.id);
  return started;
}

Result<Started> exec(pid_t containerPid, const Spec& spec, const Stdio& stdio) {
  TRYV(validate(spec, false));
  // Opened here, before any fork, so that a container that is gone fails with a plain error.
  std::vector<UniqueFd> namespaces;
  for (const std::string& ns : namespacesToJoin()) {
    std::string path = "/proc/" + std::to_string(containerPid) + "/ns/" + ns;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return failErrno("open " + path);
    namespaces.emplace_back(fd);
  }
  UniqueFd userns;
  if (spec.userns) {
    std::string path = "/proc/" + std::to_string(containerPid) + "/ns/user";
    userns.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!userns) return failErrno("open " + path);
  }
  Channel channel = TRY(makeChannel());
  pid_t joiner = ::fork();
  if (joiner < 0) return failErrno("fork to join the container");
  if (joiner == 0) {
    ::close(channel.parent.get());
    runExecJoin(spec, stdio, channel.child.get(), namespaces, userns.get());
  }
  ChildGuard joinerGuard(joiner);
  channel.child.reset();
  namespaces.clear();
  userns.reset();
  Status ready = cgroups::addProcess(spec.id, joiner);
  if (!ready) ready = fail(std::move(ready).error().wrap("put the exec process in the container's cgroup"));
  if (ready) ready = sendMessage(channel.parent.get(), MsgType::Go);
  if (!ready) return fail(childErrorOr(joiner, channel.parent.get(), std::move(ready).error()));
  ChildReport report = TRY(collectReport(channel.parent.get(), true));
  // The joiner exits as soon as it has sent the command's pid; reap it now.
  joinerGuard.release();
  while (::waitpid(joiner, nullptr, 0) < 0 && errno == EINTR) {
  }
  std::optional<ChildGuard> commandGuard;
  if (report.pid) commandGuard.emplace(*report.pid);
  if (report.error) return fail(std::move(*report.error));
  if (!report.pid) return failInvalid("exec: the joining process sent no pid");
  if (spec.tty && !report.ptyMaster) return failInvalid("exec process sent no pty");
  Started started;
  started.pid = commandGuard->release();
  started.ptyMaster = std::move(report.ptyMaster);
  return started;
}

Status cleanup(const Spec& spec) { return cgroups::remove(spec.id); }

Status freeze(const std::string& id, bool frozen) { return cgroups::freeze(id, frozen); }

bool oomKilled(const std::string& id) { return cgroups::oomKilled(id); }

}  // namespace strata::runtime
