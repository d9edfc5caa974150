// strata's entry point: global flags, then one command from the table in commands.h.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/output.h"
#include "layer/tar.h"

int main(int argc, char** argv) {
  using namespace strata::cli;
  // A closed output pipe (strata save | head) becomes an EPIPE error, not a silent death.
  std::signal(SIGPIPE, SIG_IGN);
  // A bad size limit is refused before any command runs, rather than silently ignored.
  if (auto limit = strata::layer::configuredMaxBytes(); !limit) return reportError(limit.error());
  std::vector<std::string> args(argv + 1, argv + argc);
  return runCli(args);
}
