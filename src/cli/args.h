// Docker-style command-line flags: --name value, --name=value, -n value, -nvalue, grouped bool
// shorthands (-aq), repeatable list flags, "--" to end flags. Parsing only fills typed fields;
// commands act on them afterwards.
#pragma once

#include <string>
#include <vector>

#include "util/error.h"

namespace strata::cli {

class FlagSet {
 public:
  explicit FlagSet(std::string command) : command_(std::move(command)) {}

  void boolean(const std::string& name, char shorthand, bool* out, const std::string& help);
  void string(const std::string& name, char shorthand, std::string* out, const std::string& help);
  void list(const std::string& name, char shorthand, std::vector<std::string>* out,
            const std::string& help);

  // Parses args, returning the positional arguments. With interspersed=false, flags end at the
  // first positional argument (for commands that pass the rest to a container).
  // Errors are Docker's: "unknown flag: --x", "flag needs an argument: --x".
  Result<std::vector<std::string>> parse(const std::vector<std::string>& args,
                                         bool interspersed = true) const;
  // True after parse() saw --help / -h.
  bool helpRequested() const { return help_; }
  std::string usage(const std::string& synopsis, const std::string& description) const;
  const std::string& command() const { return command_; }

 private:
  enum class Kind { Bool, String, List };
  struct Flag {
    std::string name;
    char shorthand;
    Kind kind;
    void* out;
    std::string help;
  };
  const Flag* findLong(const std::string& name) const;
  const Flag* findShort(char c) const;
  Status assign(const Flag& f, const std::string& value) const;

  std::string command_;
  std::vector<Flag> flags_;
  mutable bool help_ = false;
};

}  // namespace strata::cli
