#include "dockerfile/instruction_flags.h"

#include <fmt/format.h>

#include <algorithm>

#include "dockerfile/instructions.h"
#include "dockerfile/text.h"

namespace strata::dockerfile::detail {

Status InstructionFlags::parse(const std::vector<std::string>& words) {
  for (const std::string& word : words) {
    if (!word.starts_with("--")) return failInvalid(fmt::format("arg should start with -- : {}", word));
    std::string_view body = std::string_view(word).substr(2);
    std::string_view name = body, value;
    const std::size_t eq = body.find('=');
    if (eq != std::string_view::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
    }
    auto it = std::find_if(flags_.begin(), flags_.end(), [&](const Flag& f) { return f.name == name; });
    if (it == flags_.end()) {
      std::vector<std::string> names;
      for (const Flag& f : flags_) names.push_back(f.name);
      std::string hint = suggest(name, names);
      return failInvalid(hint.empty() ? fmt::format("unknown flag: {}", name)
                                      : fmt::format("unknown flag: {} (did you mean {}?)", name, hint));
    }
    if (it->given && it->kind != Kind::List)
      return failInvalid(fmt::format("duplicate flag specified: {}", name));
    it->given = true;
    switch (it->kind) {
      case Kind::Bool: {
        if (eq != std::string_view::npos && value.empty())
          return failInvalid(fmt::format("missing a value on flag: {}", name));
        const std::string lower = text::toLower(value);
        if (lower == "true" || lower.empty()) {
          it->values = {"true"};
        } else if (lower == "false") {
          it->values = {"false"};
        } else {
          return failInvalid(fmt::format("expecting boolean value for flag {}, not: {}", name, value));
        }
        break;
      }
      case Kind::String:
        if (eq == std::string_view::npos)
          return failInvalid(fmt::format("missing a value on flag: {}", name));
        it->values = {std::string(value)};
        break;
      case Kind::List:
        if (eq == std::string_view::npos)
          return failInvalid(fmt::format("missing a value on flag: {}", name));
        it->values.emplace_back(value);
        break;
    }
  }
  return {};
}

const InstructionFlags::Flag& InstructionFlags::find(std::string_view name) const {
  // Only names the instruction declared are asked for; a typo here is a programming error.
  return *std::find_if(flags_.begin(), flags_.end(), [&](const Flag& f) { return f.name == name; });
}

const std::string& InstructionFlags::string(std::string_view name) const {
  static const std::string kEmpty;
  const Flag& f = find(name);
  return f.values.empty() ? kEmpty : f.values.back();
}

bool InstructionFlags::boolean(std::string_view name) const { return string(name) == "true"; }

const std::vector<std::string>& InstructionFlags::list(std::string_view name) const {
  return find(name).values;
}

bool InstructionFlags::given(std::string_view name) const { return find(name).given; }

}  // namespace strata::dockerfile::detail
