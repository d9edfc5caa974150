// A RUN step: the command runs in strata's runtime on the image's layers with a fresh writable
// layer, as a container without a record (no monitor, no log): its output streams to the caller.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "network/endpoint.h"
#include "runtime/spec.h"
#include "util/error.h"

namespace strata::build {

struct RunStep {
  std::vector<std::string> args;  // the full argv (shell form already wrapped in SHELL)
  std::vector<std::string> env;   // KEY=VALUE, PATH included
  std::string cwd = "/";
  std::string user;
  runtime::NetworkMode network = runtime::NetworkMode::None;
  network::BridgeRequest bridge;       // with NetworkMode::Bridge: the network to attach to
  std::vector<std::string> lowerDirs;  // the image's layer trees, top-most first
  std::vector<runtime::Mount> mounts;  // RUN --mount, in order
};

// Runs step with its writable layer in upperDir (an empty directory; what the command changes is
// left there in overlay form). scratchDir holds the step's temporary files (the store's tmp).
// stdout and stderr go, merged and as they come, to output. Returns the command's exit status
// (128+N when killed by signal N); fails when the command cannot be started (the error says
// whether it was not found). Needs root.
Result<int> runStep(const RunStep& step, const std::string& upperDir, const std::string& scratchDir,
                    const std::function<void(std::string_view)>& output);

}  // namespace strata::build
