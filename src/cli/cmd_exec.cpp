// exec, diff, commit, export, top: working with a container's processes and files.
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>

#include "cli/common.h"
#include "container/changes.h"
#include "container/commit.h"
#include "container/create.h"
#include "container/top.h"
#include "runtime/cgroups.h"
#include "runtime/runtime.h"
#include "util/fs.h"
#include "util/terminal.h"

namespace strata::cli {

namespace {

int exitCodeOf(int ws) { return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws); }

// Copies between our terminal and an exec's pty until the process exits.
int relayPty(int master, pid_t pid) {
  RawTerminal raw(STDIN_FILENO);
  winsize ws{};
  if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) ::ioctl(master, TIOCSWINSZ, &ws);
  char buf[65536];
  bool inOpen = true;
  for (;;) {
    pollfd fds[2] = {{master, POLLIN, 0}, {inOpen ? STDIN_FILENO : -1, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n <= 0) inOpen = false;
      else (void)writeAll(master, buf, static_cast<size_t>(n));
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n <= 0) break;  // EIO: the process side closed
      (void)writeAll(STDOUT_FILENO, buf, static_cast<size_t>(n));
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return exitCodeOf(status);
}

Result<container::Record> runningContainer(container::Containers& cs, const std::string& arg,
                                           container::State& st) {
  container::Record r = TRY(cs.resolve(arg));
  st = TRY(cs.state(r.id));
  if (st.status == container::RunStatus::Paused)
    return failInvalid("Container " + r.id + " is paused, unpause the container before exec");
  if (st.status != container::RunStatus::Running)
    return failInvalid("Container " + r.id + " is not running");
  return r;
}

}  // namespace

int cmdExec(const Globals& g, const std::vector<std::string>& argv) {
  runtime::prepareToStart();
  bool interactive = false, tty = false, detach = false, privileged = false;
  std::vector<std::string> env, envFiles;
  std::string user, workdir;
  FlagSet flags("exec");
  flags.boolean("detach", 'd', &detach, "Detached mode: run command in the background");
  flags.list("env", 'e', &env, "Set environment variables");
  flags.list("env-file", 0, &envFiles, "Read in a file of environment variables");
  flags.boolean("interactive", 'i', &interactive, "Keep STDIN open even if not attached");
  flags.boolean("privileged", 0, &privileged, "Give extended privileges to the command");
  flags.boolean("tty", 't', &tty, "Allocate a pseudo-TTY");
  flags.string("user", 'u', &user, "Username or UID (format: <name|uid>[:<group|gid>])");
  flags.string("workdir", 'w', &workdir, "Working directory inside the container");
  Parsed p = parseFlags(flags, argv, "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
                        "Run a command in a running container", /*interspersed=*/false);
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("exec", p.args, 2, SIZE_MAX, status)) return status;
  if (privileged) return reportError("exec --privileged is not supported yet");
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  container::Containers cs(*s);
  container::State st;
  auto rec = runningContainer(cs, p.args[0], st);
  if (!rec) return reportError(rec.error());
  // The exec'd process gets the container's environment plus -e, its user and workdir unless
  // overridden, and the same isolation.
  container::Record r = *rec;
  r.tty = tty;
  auto spec = container::specFor(cs, r);
  if (!spec) return reportError(spec.error());
  spec->args.assign(p.args.begin() + 1, p.args.end());
  auto extraEnv = container::userEnv(env, envFiles);
  if (!extraEnv) return reportError(extraEnv.error());
  for (const auto& e : *extraEnv) {
    std::string key = e.substr(0, e.find('='));
    std::erase_if(spec->env, [&](const std::string& x) { return x.rfind(key + "=", 0) == 0; });
    spec->env.push_back(e);
  }
  if (!user.empty()) spec->user = user;
  if (!workdir.empty()) spec->cwd = workdir;
  runtime::Stdio stdio;
  if (!tty) {
    stdio.in = interactive ? STDIN_FILENO : -1;
    stdio.out = detach ? -1 : STDOUT_FILENO;
    stdio.err = detach ? -1 : STDERR_FILENO;
  }
  auto started = runtime::exec(st.pid, *spec, stdio);
  if (!started) {
    switch (runtime::execFailureOf(started.error())) {
      case runtime::ExecFailure::NotFound: reportError(started.error()); return 127;
      case runtime::ExecFailure::Permission: reportError(started.error()); return 126;
      default: return reportError(started.error());
    }
  }
  if (detach) return 0;
  if (tty) return relayPty(started->ptyMaster.get(), started->pid);
  int ws = 0;
  while (::waitpid(started->pid, &ws, 0) < 0 && errno == EINTR) {
  }
  return exitCodeOf(ws);
}

int cmdDiff(const Globals& g, const std::vector<std::string>& argv) {
  FlagSet flags("diff");
  Parsed p = parseFlags(flags, argv, "diff CONTAINER",
                        "Inspect changes to files or directories on a container's filesystem");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("diff", p.args, 1, 1, status)) return status;
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  container::Containers cs(*s);
  auto rec = cs.resolve(p.args[0]);
  if (!rec) return reportError(rec.error());
  // Against the image's layers only: the init layer's mount points are not the user's changes.
  auto lowers = container::layerDirs(cs, *rec, /*withInit=*/false);
  if (!lowers) return reportError(lowers.error());
  auto changes = container::diff(cs.paths(rec->id).upper(), *lowers);
  if (!changes) return reportError(changes.error());
  for (const auto& c : *changes) std::printf("%c %s\n", container::changeLetter(c.kind), c.path.c_str());
  return 0;
}

int cmdCommit(const Globals& g, const std::vector<std::string>& argv) {
  container::CommitOptions opt;
  FlagSet flags("commit");
  flags.string("author", 'a', &opt.author, "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")");
  flags.list("change", 'c', &opt.changes, "Apply Dockerfile instruction to the created image");
  flags.string("message", 'm', &opt.message, "Commit message");
  flags.boolean("pause", 'p', &opt.pause, "Pause container during commit (default true)");
  Parsed p = parseFlags(flags, argv, "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
                        "Create a new image from a container's changes");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("commit", p.args, 1, 2, status)) return status;
  if (p.args.size() == 2) {
    auto ref = oci::Reference::parse(p.args[1]);
    if (!ref) return reportError(ref.error());
    if (ref->digest) return reportError("refusing to create a tag with a digest reference: " + p.args[1]);
    opt.tag = *ref;
  }
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  container::Containers cs(*s);
  auto rec = cs.resolve(p.args[0]);
  if (!rec) return reportError(rec.error());
  auto img = container::commit(cs, *rec, opt);
  if (!img) return reportError(img.error());
  std::printf("%s\n", img->id.str().c_str());
  return 0;
}

int cmdExport(const Globals& g, const std::vector<std::string>& argv) {
  std::string output;
  FlagSet flags("export");
  flags.string("output", 'o', &output, "Write to a file, instead of STDOUT");
  Parsed p = parseFlags(flags, argv, "export [OPTIONS] CONTAINER",
                        "Export a container's filesystem as a tar archive");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("export", p.args, 1, 1, status)) return status;
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  container::Containers cs(*s);
  auto rec = cs.resolve(p.args[0]);
  if (!rec) return reportError(rec.error());
  auto lowers = container::layerDirs(cs, *rec, /*withInit=*/true);
  if (!lowers) return reportError(lowers.error());
  auto tmpGuard = s->ingestGuard();  // export mounts the layers under tmp/
  if (!tmpGuard) return reportError(tmpGuard.error());
  Status st = writeOutput(output, [&](int fd) {
    return container::exportRootfs(*lowers, cs.paths(rec->id).upper(), fd, s->tmpDir());
  });
  if (!st) return reportError(st.error());
  return 0;
}

int cmdTop(const Globals& g, const std::vector<std::string>& argv) {
  FlagSet flags("top");
  Parsed p = parseFlags(flags, argv, "top CONTAINER", "Display the running processes of a container");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("top", p.args, 1, 1, status)) return status;
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  container::Containers cs(*s);
  container::State st;
  auto rec = runningContainer(cs, p.args[0], st);
  if (!rec) return reportError(rec.error());
  auto pids = runtime::cgroups::pids(rec->id);
  if (!pids) return reportError(pids.error());
  auto table = container::processTable(*pids);
  std::fputs(formatTable(table).c_str(), stdout);
  return 0;
}

}  // namespace strata::cli
