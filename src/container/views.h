// What `ps` and `container inspect` show, in Docker's shapes.
#pragma once

#include <vector>

#include "container/containers.h"

namespace strata::container {

struct PsOptions {
  bool all = false;
  bool noTrunc = false;
  std::vector<std::string> filters;  // status=, name=, id=, ancestor=
};
// Rows {ID, Image, Command, CreatedAt, RunningFor, Ports, State, Status, Names, ...}, newest
// first.
Result<std::vector<oci::Json>> psRows(Containers& cs, const PsOptions& opt);

// Docker's STATUS text: "Up 2 seconds", "Exited (0) 3 minutes ago", "Created", "Up 1 second
// (Paused)", "Restarting (1) 2 seconds ago".
std::string statusText(const State& s);

// One element of `container inspect`'s JSON array.
Result<oci::Json> inspectJson(Containers& cs, const Record& r);

}  // namespace strata::container
