// `top`: the container's processes as `ps -ef` shows them (Docker runs ps -ef on the host and
// keeps the container's pids): UID PID PPID C STIME TTY TIME CMD.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "util/error.h"

namespace strata::container {

// The header row, then one row per pid still alive, read from /proc.
std::vector<std::vector<std::string>> processTable(const std::vector<pid_t>& pids);

}  // namespace strata::container
