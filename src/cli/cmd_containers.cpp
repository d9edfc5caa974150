// ps, logs, stop, kill, restart, rm, wait, pause, unpause, rename.
#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include "cli/common.h"
#include "container/lifecycle.h"
#include "container/logs.h"
#include "container/monitor.h"
#include "container/views.h"
#include "image/images.h"
#include "image/views.h"
#include "runtime/runtime.h"
#include "util/format.h"
#include "util/template.h"

namespace strata::cli {

namespace {

// Runs op on each named container; prints the name on success (Docker's output for stop, kill,
// rm, pause, ...) and an error line for each failure.
template <typename Op>
int forEachContainer(const Globals& g, const std::vector<std::string>& args, Op op,
                     bool printName = true) {
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  container::Containers cs(*s);
  int rc = 0;
  for (const auto& arg : args) {
    auto rec = cs.resolve(arg);
    Status st = rec ? op(cs, *rec) : Status(std::unexpected(rec.error()));
    if (!st) {
      rc = reportError(st.error());
      continue;
    }
    if (printName) std::printf("%s\n", arg.c_str());
  }
  return rc;
}

}  // namespace

int cmdPs(const Globals& g, const std::vector<std::string>& argv) {
  container::PsOptions opt;
  bool quiet = false, latest = false;
  std::string format;
  FlagSet flags("ps");
  flags.boolean("all", 'a', &opt.all, "Show all containers (default shows just running)");
  flags.list("filter", 'f', &opt.filters, "Filter output based on conditions provided");
  flags.string("format", 0, &format, "Pretty-print containers using a Go template");
  flags.boolean("latest", 'l', &latest, "Show the latest created container");
  flags.boolean("no-trunc", 0, &opt.noTrunc, "Don't truncate output");
  flags.boolean("quiet", 'q', &quiet, "Only display container IDs");
  Parsed p = parseFlags(flags, argv, "ps [OPTIONS]", "List containers");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("ps", p.args, 0, 0, status)) return status;
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  container::Containers cs(*s);
  if (latest) opt.all = true;
  auto rows = container::psRows(cs, opt);
  if (!rows) return reportError(rows.error());
  if (latest && rows->size() > 1) rows->resize(1);
  if (quiet) {
    for (const auto& r : *rows) std::printf("%s\n", std::string(r["ID"]).c_str());
    return 0;
  }
  std::vector<Column> cols{{"CONTAINER ID", "ID"}, {"IMAGE", "Image"},   {"COMMAND", "Command"},
                           {"CREATED", "RunningFor"}, {"STATUS", "Status"}, {"PORTS", "Ports"},
                           {"NAMES", "Names"}};
  if (auto st = printRows(*rows, cols, format); !st) return reportError(st.error());
  return 0;
}

int cmdLogs(const Globals& g, const std::vector<std::string>& argv) {
  container::LogOptions opt;
  std::string tail = "all";
  FlagSet flags("logs");
  flags.boolean("follow", 'f', &opt.follow, "Follow log output");
  flags.string("tail", 'n', &tail, "Number of lines to show from the end of the logs");
  flags.boolean("timestamps", 't', &opt.timestamps, "Show timestamps");
  Parsed p = parseFlags(flags, argv, "logs [OPTIONS] CONTAINER", "Fetch the logs of a container");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("logs", p.args, 1, 1, status)) return status;
  if (tail != "all") {
    char* end = nullptr;
    long n = std::strtol(tail.c_str(), &end, 10);
    if (*end != '\0' || tail.empty()) return reportError("invalid argument \"" + tail + "\" for \"--tail\" flag");
    if (n >= 0) opt.tail = static_cast<size_t>(n);
  }
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  container::Containers cs(*s);
  auto rec = cs.resolve(p.args[0]);
  if (!rec) return reportError(rec.error());
  if (auto st = container::printLogs(cs, *rec, opt); !st) return reportError(st.error());
  return 0;
}

int cmdStop(const Globals& g, const std::vector<std::string>& argv) {
  std::string time = "10";
  FlagSet flags("stop");
  flags.string("time", 't', &time, "Seconds to wait for stop before killing it");
  Parsed p = parseFlags(flags, argv, "stop [OPTIONS] CONTAINER [CONTAINER...]",
                        "Stop one or more running containers");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("stop", p.args, 1, SIZE_MAX, status)) return status;
  int secs = std::atoi(time.c_str());
  return forEachContainer(g, p.args, [&](container::Containers& cs, const container::Record& r) {
    return container::stop(cs, r, secs);
  });
}

int cmdRestart(const Globals& g, const std::vector<std::string>& argv) {
  runtime::prepareToStart();
  std::string time = "10";
  FlagSet flags("restart");
  flags.string("time", 't', &time, "Seconds to wait for stop before killing the container");
  Parsed p = parseFlags(flags, argv, "restart [OPTIONS] CONTAINER [CONTAINER...]",
                        "Restart one or more containers");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("restart", p.args, 1, SIZE_MAX, status)) return status;
  int secs = std::atoi(time.c_str());
  return forEachContainer(g, p.args, [&](container::Containers& cs, const container::Record& r) -> Status {
    TRYV(container::stop(cs, r, secs));
    // Wait for the monitor of the old run to let go before starting a new one.
    TRYV(container::wait(cs, r));
    auto out = TRY(container::start(cs, r, -1));
    if (!out.started) return failInvalid(out.message);
    return {};
  });
}

int cmdKill(const Globals& g, const std::vector<std::string>& argv) {
  std::string signal = "KILL";
  FlagSet flags("kill");
  flags.string("signal", 's', &signal, "Signal to send to the container");
  Parsed p = parseFlags(flags, argv, "kill [OPTIONS] CONTAINER [CONTAINER...]",
                        "Kill one or more running containers");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("kill", p.args, 1, SIZE_MAX, status)) return status;
  auto sig = container::parseSignal(signal);
  if (!sig) return reportError(sig.error());
  return forEachContainer(g, p.args, [&](container::Containers& cs, const container::Record& r) {
    return container::kill(cs, r, *sig);
  });
}

int cmdRm(const Globals& g, const std::vector<std::string>& argv) {
  bool force = false, volumes = false;
  FlagSet flags("rm");
  flags.boolean("force", 'f', &force, "Force the removal of a running container (uses SIGKILL)");
  flags.boolean("volumes", 'v', &volumes, "Remove anonymous volumes associated with the container");
  Parsed p = parseFlags(flags, argv, "rm [OPTIONS] CONTAINER [CONTAINER...]",
                        "Remove one or more containers");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("rm", p.args, 1, SIZE_MAX, status)) return status;
  return forEachContainer(g, p.args, [&](container::Containers& cs, const container::Record& r) {
    return container::remove(cs, r, force, volumes);
  });
}

int cmdWait(const Globals& g, const std::vector<std::string>& argv) {
  FlagSet flags("wait");
  Parsed p = parseFlags(flags, argv, "wait CONTAINER [CONTAINER...]",
                        "Block until one or more containers stop, then print their exit codes");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("wait", p.args, 1, SIZE_MAX, status)) return status;
  return forEachContainer(
      g, p.args,
      [&](container::Containers& cs, const container::Record& r) -> Status {
        int code = TRY(container::wait(cs, r));
        std::printf("%d\n", code);
        return {};
      },
      false);
}

int cmdPause(const Globals& g, const std::vector<std::string>& argv) {
  FlagSet flags("pause");
  Parsed p = parseFlags(flags, argv, "pause CONTAINER [CONTAINER...]",
                        "Pause all processes within one or more containers");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("pause", p.args, 1, SIZE_MAX, status)) return status;
  return forEachContainer(g, p.args, [](container::Containers& cs, const container::Record& r) {
    return container::pause(cs, r, true);
  });
}

int cmdUnpause(const Globals& g, const std::vector<std::string>& argv) {
  FlagSet flags("unpause");
  Parsed p = parseFlags(flags, argv, "unpause CONTAINER [CONTAINER...]",
                        "Unpause all processes within one or more containers");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("unpause", p.args, 1, SIZE_MAX, status)) return status;
  return forEachContainer(g, p.args, [](container::Containers& cs, const container::Record& r) {
    return container::pause(cs, r, false);
  });
}

int cmdRename(const Globals& g, const std::vector<std::string>& argv) {
  FlagSet flags("rename");
  Parsed p = parseFlags(flags, argv, "rename CONTAINER NEW_NAME", "Rename a container");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("rename", p.args, 2, 2, status)) return status;
  std::string newName = p.args[1];
  return forEachContainer(
      g, {p.args[0]},
      [&](container::Containers& cs, const container::Record& r) { return cs.rename(r.id, newName); },
      false);
}

}  // namespace strata::cli
