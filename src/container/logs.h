// Reading a container's json-file log (`logs`).
#pragma once

#include <optional>

#include "container/containers.h"

namespace strata::container {

struct LogOptions {
  bool follow = false;
  bool timestamps = false;
  std::optional<size_t> tail;  // last N lines only
};

// Writes the log to our stdout and stderr (each line to the stream it came from). With follow,
// keeps reading until the container is no longer running.
Status printLogs(Containers& cs, const Record& r, const LogOptions& opt);

}  // namespace strata::container
