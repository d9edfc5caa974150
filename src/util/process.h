// Telling whether a process recorded earlier is still the same live process: a pid with the
// start time it had (/proc/PID/stat), so that a reused pid is never mistaken for it.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace strata {

// /proc/PID/stat's start time (clock ticks since boot), or 0 when the process is gone.
uint64_t processStartTime(pid_t pid);
// True while pid is alive (not a zombie) and, when startTime is nonzero, still has that start
// time.
bool processAlive(pid_t pid, uint64_t startTime);

}  // namespace strata
