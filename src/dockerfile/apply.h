// What the metadata instructions do to an image config, as BuildKit's dispatcher does it: words
// expanded with the variables in scope, the config changed, and the history text BuildKit writes.
// Used by the builder for every stage and by `import -c` / `commit -c`.
#pragma once

#include <string>

#include "dockerfile/instructions.h"
#include "dockerfile/shell.h"
#include "oci/image.h"

namespace strata::dockerfile {

// The variables an instruction's words see: build arguments in scope, overridden by the
// config's environment (an ENV always wins over an ARG of the same name).
Vars expansionVars(const Vars& args, const std::vector<std::string>& env);

// Per-stage facts the dispatcher needs besides the config.
struct StageFacts {
  bool cmdSet = false;  // a CMD in this stage (an ENTRYPOINT clears an inherited CMD only)
};

// Applies one metadata instruction (ENV, LABEL, EXPOSE, VOLUME, WORKDIR, USER, STOPSIGNAL, CMD,
// ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER) to image and returns the history
// `created_by` text BuildKit records for it. `args` are the build arguments in scope. Fails on a
// bad expansion, port, signal or empty value, naming it; fails for other instructions.
Result<std::string> applyMetadata(oci::ImageConfig& image, StageFacts& facts,
                                  const Instruction& instruction, const Vars& args,
                                  char escape = '\\');

// True for the instructions applyMetadata handles.
bool isMetadata(const Instruction& instruction);

// The command a CMD, ENTRYPOINT or RUN runs: the JSON elements, or SHELL (default
// `/bin/sh -c`) followed by the shell-form text.
std::vector<std::string> commandArgs(const CommandLine& command,
                                     const std::vector<std::string>& shell);

}  // namespace strata::dockerfile
