// create, run, start, attach: making containers and connecting to them.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <variant>
#include <cstring>

#include "cli/common.h"
#include "container/attach.h"
#include "container/create.h"
#include "container/lifecycle.h"
#include "container/monitor.h"
#include "image/images.h"
#include "runtime/runtime.h"

namespace strata::cli {

namespace {

struct RunFlags {
  container::CreateOptions opt;
  std::string entrypoint, pidsLimit, detachKeys = "ctrl-p,ctrl-q", pull = "missing", platform;
  bool entrypointSet = false, detach = false;
};

void defineCreateFlags(FlagSet& f, RunFlags& r) {
  container::CreateOptions& o = r.opt;
  f.list("env", 'e', &o.env, "Set environment variables");
  f.list("env-file", 0, &o.envFiles, "Read in a file of environment variables");
  f.string("entrypoint", 0, &r.entrypoint, "Overwrite the default ENTRYPOINT of the image");
  f.string("hostname", 'h', &o.hostname, "Container host name");
  f.boolean("init", 0, &o.init, "Run an init inside the container that forwards signals and reaps processes");
  f.boolean("interactive", 'i', &o.interactive, "Keep STDIN open even if not attached");
  f.list("label", 'l', &o.labels, "Set meta data on a container");
  f.string("memory", 'm', &o.memory, "Memory limit");
  f.string("cpus", 0, &o.cpus, "Number of CPUs");
  f.string("name", 0, &o.name, "Assign a name to the container");
  f.string("network", 0, &o.network, "Connect a container to a network (bridge, host, none, container:NAME, NETWORK)");
  f.list("publish", 'p', &o.publish, "Publish a container's port(s) to the host");
  f.boolean("publish-all", 'P', &o.publishAll, "Publish all exposed ports to random ports");
  f.list("expose", 0, &o.expose, "Expose a port or a range of ports");
  f.list("cap-add", 0, &o.capAdd, "Add Linux capabilities");
  f.list("cap-drop", 0, &o.capDrop, "Drop Linux capabilities");
  f.boolean("privileged", 0, &o.privileged, "Give extended privileges to this container");
  f.list("security-opt", 0, &o.securityOpt, "Security Options");
  f.string("pids-limit", 0, &r.pidsLimit, "Tune container pids limit (-1 for unlimited)");
  f.string("platform", 0, &r.platform, "Set platform if server is multi-platform capable");
  f.string("pull", 0, &r.pull, "Pull image before running (\"always\"|\"missing\"|\"never\")");
  f.boolean("read-only", 0, &o.readOnly, "Mount the container's root filesystem as read only");
  f.string("restart", 0, &o.restart, "Restart policy to apply when a container exits");
  f.boolean("rm", 0, &o.autoRemove, "Automatically remove the container when it exits");
  f.string("stop-signal", 0, &o.stopSignal, "Signal to stop a container");
  f.boolean("tty", 't', &o.tty, "Allocate a pseudo-TTY");
  f.string("user", 'u', &o.user, "Username or UID (format: <name|uid>[:<group|gid>])");
  f.string("userns", 0, &o.userns, "User namespace to use (host, or auto: a range of /etc/subuid)");
  f.list("volume", 'v', &o.volumes, "Bind mount a volume");
  f.string("workdir", 'w', &o.workdir, "Working directory inside the container");
}

// Applies the flags that need checking after parsing; returns false (status set) on error.
bool finishFlags(RunFlags& r, const std::vector<std::string>& argv, int& status) {
  for (size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--entrypoint" || argv[i].rfind("--entrypoint=", 0) == 0) r.entrypointSet = true;
    if (argv[i] == "--") break;
  }
  if (r.entrypointSet) r.opt.entrypoint = r.entrypoint;
  if (r.opt.network == "host" && (!r.opt.publish.empty() || r.opt.publishAll))
    std::fprintf(stderr, "WARNING: Published ports are discarded when using host network mode\n");
  if (!r.pidsLimit.empty()) {
    char* end = nullptr;
    long long v = std::strtoll(r.pidsLimit.c_str(), &end, 10);
    if (*end != '\0') {
      status = reportError("invalid argument \"" + r.pidsLimit + "\" for \"--pids-limit\" flag");
      return false;
    }
    r.opt.pidsLimit = v < 0 ? 0 : v;
  }
  return true;
}

// Relays a started container's stdio until it exits or the user detaches; returns the exit code
// to use.
int attachAndWait(container::Containers& cs, const container::Record& rec, int sock,
                  pid_t monitorPid, bool stdinOpen, const std::string& detachKeys) {
  container::RelayOptions ro;
  ro.stdinOpen = stdinOpen;
  ro.tty = rec.tty;
  ro.detachKeys = detachKeys;
  if (!rec.tty) {  // with a tty, ^C and friends travel through the terminal instead
    ro.proxySignal = [&](int sig) {
      auto st = cs.state(rec.id);
      if (st && st->pid > 0) ::kill(st->pid, sig);
    };
  }
  auto res = container::relay(sock, ro);
  ::close(sock);
  if (!res) return reportError(res.error());
  if (res->detached) return 0;
  // With --rm, the monitor removes the container after it exits: wait for that, as Docker's
  // run --rm returns only once the container is gone.
  if (rec.host.autoRemove && monitorPid > 0) ::waitpid(monitorPid, nullptr, 0);
  return res->exitStatus;
}

// Starts rec, attached (foreground run, start -a) or not. Returns the exit code to use when the
// start failed or the attached container ended; nullopt when it runs detached.
std::optional<int> launch(container::Containers& cs, const container::Record& rec, bool attach,
                          bool stdinOpen, const std::string& detachKeys) {
  int pair[2] = {-1, -1};
  if (attach && ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
    return reportError(Error::fromErrno("socketpair"));
  auto out = container::start(cs, rec, attach ? pair[1] : -1);
  if (pair[1] >= 0) ::close(pair[1]);
  if (!out || !out->started) {
    if (pair[0] >= 0) ::close(pair[0]);
    if (!out) return reportError(out.error());
    reportError(out->message);
    return out->exitCode;
  }
  if (!attach) return std::nullopt;
  return attachAndWait(cs, rec, pair[0], out->monitorPid, stdinOpen, detachKeys);
}

// Parses the flags shared by create and run and creates the container; on failure (or --help)
// returns the exit status to end with.
std::variant<container::Record, int> createFromArgs(const Globals& g, FlagSet& flags, RunFlags& r,
                                                    const std::vector<std::string>& argv,
                                                    const std::string& what) {
  defineCreateFlags(flags, r);
  Parsed p = parseFlags(flags, argv, flags.command() + " [OPTIONS] IMAGE [COMMAND] [ARG...]", what,
                        /*interspersed=*/false);
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs(flags.command(), p.args, 1, SIZE_MAX, status)) return status;
  if (!finishFlags(r, argv, status)) return status;
  if (auto k = container::parseDetachKeys(r.detachKeys); !k) return reportError(k.error());
  r.opt.image = p.args[0];
  r.opt.command.assign(p.args.begin() + 1, p.args.end());
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  if (r.pull != "missing" && r.pull != "always" && r.pull != "never")
    return reportError("invalid pull option: '" + r.pull + "': must be one of \"always\", \"missing\" or \"never\"");
  // Docker's implicit pull: a missing image (or any, with --pull=always) comes from its
  // registry, with the pull's lines on stderr.
  const bool missing = !image::resolve(*s, r.opt.image) && !oci::asImageIdPrefix(r.opt.image);
  if (r.pull == "always" || (r.pull == "missing" && missing)) {
    auto ref = oci::Reference::parse(r.opt.image);
    if (!ref) return reportError(ref.error());
    if (missing) std::fprintf(stderr, "Unable to find image '%s' locally\n", ref->familiar().c_str());
    PullSettings ps;
    ps.platform = r.platform;
    ps.out = stderr;
    auto pulled = pullImage(g, *s, r.opt.image, ps);
    if (!pulled) return reportError(pulled.error());
  }
  container::Containers cs(*s);
  auto rec = container::create(cs, r.opt);
  if (!rec) return reportError(rec.error());
  return *rec;
}

}  // namespace

int cmdCreate(const Globals& g, const std::vector<std::string>& argv) {
  RunFlags r;
  FlagSet flags("create");
  auto made = createFromArgs(g, flags, r, argv, "Create a new container");
  if (auto* status = std::get_if<int>(&made)) return *status;
  std::printf("%s\n", std::get<container::Record>(made).id.c_str());
  return 0;
}

int cmdRun(const Globals& g, const std::vector<std::string>& argv) {
  runtime::prepareToStart();
  RunFlags r;
  FlagSet flags("run");
  flags.boolean("detach", 'd', &r.detach, "Run container in background and print container ID");
  flags.string("detach-keys", 0, &r.detachKeys, "Override the key sequence for detaching a container");
  auto made = createFromArgs(g, flags, r, argv, "Run a command in a new container");
  if (auto* status = std::get_if<int>(&made)) return *status;
  const container::Record& rec = std::get<container::Record>(made);
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  container::Containers cs(*s);
  auto code = launch(cs, rec, !r.detach, r.opt.interactive, r.detachKeys);
  if (!code) {
    std::printf("%s\n", rec.id.c_str());
    return 0;
  }
  // A container that could not start goes with --rm too.
  if (rec.host.autoRemove && cs.state(rec.id) && cs.state(rec.id)->status == container::RunStatus::Created)
    (void)container::remove(cs, rec, true, true);
  return *code;
}

int cmdStart(const Globals& g, const std::vector<std::string>& argv) {
  runtime::prepareToStart();
  bool attach = false, interactive = false;
  std::string detachKeys = "ctrl-p,ctrl-q";
  FlagSet flags("start");
  flags.boolean("attach", 'a', &attach, "Attach STDOUT/STDERR and forward signals");
  flags.boolean("interactive", 'i', &interactive, "Attach container's STDIN");
  flags.string("detach-keys", 0, &detachKeys, "Override the key sequence for detaching a container");
  Parsed p = parseFlags(flags, argv, "start [OPTIONS] CONTAINER [CONTAINER...]",
                        "Start one or more stopped containers");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("start", p.args, 1, SIZE_MAX, status)) return status;
  if ((attach || interactive) && p.args.size() > 1)
    return reportError("you cannot start and attach multiple containers at once");
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  container::Containers cs(*s);
  int rc = 0;
  for (const auto& arg : p.args) {
    auto rec = cs.resolve(arg);
    if (!rec) {
      rc = reportError(rec.error());
      continue;
    }
    auto st = cs.state(rec->id);
    if (!st) {
      rc = reportError(st.error());
      continue;
    }
    if (st->status == container::RunStatus::Running || st->status == container::RunStatus::Paused) {
      if (!attach) std::printf("%s\n", arg.c_str());
      continue;
    }
    auto code = launch(cs, *rec, attach, interactive, detachKeys);
    if (code && attach) return *code;
    if (code) {
      rc = *code;
      continue;
    }
    std::printf("%s\n", arg.c_str());
  }
  return rc;
}

int cmdAttach(const Globals& g, const std::vector<std::string>& argv) {
  bool noStdin = false;
  std::string detachKeys = "ctrl-p,ctrl-q";
  FlagSet flags("attach");
  flags.boolean("no-stdin", 0, &noStdin, "Do not attach STDIN");
  flags.string("detach-keys", 0, &detachKeys, "Override the key sequence for detaching a container");
  Parsed p = parseFlags(flags, argv, "attach [OPTIONS] CONTAINER",
                        "Attach local standard input, output, and error streams to a running container");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("attach", p.args, 1, 1, status)) return status;
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  container::Containers cs(*s);
  auto rec = cs.resolve(p.args[0]);
  if (!rec) return reportError(rec.error());
  auto st = cs.state(rec->id);
  if (!st) return reportError(st.error());
  if (st->status != container::RunStatus::Running)
    return reportError("You cannot attach to a stopped container, start it first");
  auto fd = container::connectAttach(cs.paths(rec->id).dir);
  if (!fd) return reportError(fd.error());
  return attachAndWait(cs, *rec, fd->release(), 0, rec->openStdin && !noStdin, detachKeys);
}

}  // namespace strata::cli
