// Helpers shared by the command files.
#pragma once

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "store/store.h"
#include "util/template.h"

namespace strata::cli {

Result<store::Store> openStore(const Globals& g);

// Parses flags for a command; on --help prints usage and sets done with status 0, on a bad flag
// prints the error and sets done with status 125.
struct Parsed {
  std::vector<std::string> args;
  bool done = false;
  int status = 0;
};
Parsed parseFlags(const FlagSet& flags, const std::vector<std::string>& argv,
                  const std::string& synopsis, const std::string& description,
                  bool interspersed = true);

// Writes through write() to output: stdout when output is empty (a terminal is refused, as
// Docker does), otherwise a temporary file beside output, fsynced and renamed into place, so a
// failure leaves no partial file behind.
Status writeOutput(const std::string& output, const std::function<Status(int fd)>& write);

// Pulls an image named as the user typed it ("busybox", "reg:5000/app@sha256:...") into s,
// printing Docker's pull lines to out (a terminal gets progress bars; quiet prints nothing) and
// ending with "Status: Downloaded newer image for ..." or "Status: Image is up to date for ...".
struct PullSettings {
  std::string platform;  // "" = this host's
  bool quiet = false;
  FILE* out = stdout;
};
Result<store::ImageRecord> pullImage(const Globals& g, store::Store& s, const std::string& name,
                                     const PullSettings& settings);

// `inspect`-style output, in two steps so that a bad --format fails before the store is opened.
// inspectTemplate: the template Docker executes on the raw object (no list conventions, a
// missing field is an error), or none for an empty format. printInspected: for each argument,
// lookUp's object; all of them as one JSON array, or the template's line for each. An argument
// lookUp fails for gets its error line (status 125) and the others are still printed.
Result<std::optional<Template>> inspectTemplate(const std::string& format);
int printInspected(const std::vector<std::string>& args, const std::optional<Template>& tmpl,
                   const std::function<Result<oci::Json>(const std::string&)>& lookUp);

// Checks the positional argument count; prints Docker's message and returns false when wrong.
bool checkArgs(const std::string& command, const std::vector<std::string>& args, size_t min,
               size_t max, int& status);

// A prune's question: prints warning and "Are you sure you want to continue? [y/N] ", and
// reads the answer from stdin; true for y or Y.
bool confirm(const std::string& warning);
// "Deleted Images:" and rmi's lines in lower case, as the prune commands print them; nothing
// when lines is empty.
void printDeletedImages(const std::vector<std::string>& lines);

}  // namespace strata::cli
