// strata's entry point: global flags, then one command from the table in commands.h.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/output.h"

int main(int argc, char** argv) {
  using namespace strata::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  return runCli(args);
}
