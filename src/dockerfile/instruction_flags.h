// Instruction flags (`--from=stage`, `--link`, `--mount=...`) with BuildKit's rules: a flag must
// be declared by the instruction, string flags need `=value`, boolean flags take no value or
// true/false, only list flags may repeat.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace strata::dockerfile::detail {

class InstructionFlags {
 public:
  enum class Kind { String, Bool, List };

  void declare(std::string name, Kind kind) { flags_.push_back({std::move(name), kind, {}, false}); }
  // Reads the raw flag words; fails on the first bad one.
  Status parse(const std::vector<std::string>& words);

  const std::string& string(std::string_view name) const;  // "" when not given
  bool boolean(std::string_view name) const;               // false when not given
  const std::vector<std::string>& list(std::string_view name) const;
  bool given(std::string_view name) const;

 private:
  struct Flag {
    std::string name;
    Kind kind;
    std::vector<std::string> values;
    bool given;
  };
  const Flag& find(std::string_view name) const;
  std::vector<Flag> flags_;
};


}  // namespace strata::dockerfile::detail
