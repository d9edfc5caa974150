// A container's monitor: a small process per running container (like conmon) that starts the
// container process, holds it as its child, writes its output to the json-file log, serves
// attach clients on attach.sock, records its exit in state.json, carries out --restart, and
// removes the container after exit with --rm. It outlives the strata command that started it,
// so ps, logs, wait and inspect work from any later command.
#pragma once

#include <string>

#include "container/containers.h"

namespace strata::container {

struct StartOutcome {
  bool started = false;
  int exitCode = 0;     // when not started: 125, 126 (cannot execute) or 127 (not found)
  std::string message;  // when not started: why, one line
  pid_t monitorPid = 0;  // a child of the caller until the caller exits
};

// Forks r's monitor and waits until the container process runs or failed to start. client is
// the monitor's end of a socketpair the caller relays (a foreground run, start -a; the monitor
// starts the process only with it connected, so no output is missed), or -1 for detached.
// The caller closes its copy of client after this returns.
Result<StartOutcome> start(Containers& cs, const Record& r, int client);

}  // namespace strata::container
