// Signals and waiting: stop, kill, wait, remove, pause.
#pragma once

#include <string>

#include "container/containers.h"

namespace strata::container {

// "SIGTERM", "TERM", "term", "15" -> 15. Error names the text.
Result<int> parseSignal(const std::string& text);

// Sends the stop signal (the image's STOPSIGNAL or SIGTERM), waits up to timeoutSec for the
// container to exit, then SIGKILL. A container that is not running is left as it is. A stopped
// container is not restarted by its restart policy.
Status stop(Containers& cs, const Record& r, int timeoutSec);
// Sends sig to the container's pid 1. Error when it is not running.
Status kill(Containers& cs, const Record& r, int sig);
// Blocks until the container is not running (or restarting) and returns its exit code.
Result<int> wait(Containers& cs, const Record& r);
// Removes the container. A running one needs force (then it is killed first). With volumes,
// its anonymous volumes go too.
Status remove(Containers& cs, const Record& r, bool force, bool volumes);
Status pause(Containers& cs, const Record& r, bool paused);

}  // namespace strata::container
