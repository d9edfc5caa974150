#include "cli/args.h"

#include <fmt/format.h>

namespace strata::cli {

void FlagSet::boolean(const std::string& name, char shorthand, bool* out, const std::string& help) {
  flags_.push_back({name, shorthand, Kind::Bool, out, help});
}
void FlagSet::string(const std::string& name, char shorthand, std::string* out,
                     const std::string& help) {
  flags_.push_back({name, shorthand, Kind::String, out, help});
}
void FlagSet::list(const std::string& name, char shorthand, std::vector<std::string>* out,
                   const std::string& help) {
  flags_.push_back({name, shorthand, Kind::List, out, help});
}

const FlagSet::Flag* FlagSet::findLong(const std::string& name) const {
  for (const auto& f : flags_)
    if (f.name == name) return &f;
  return nullptr;
}

const FlagSet::Flag* FlagSet::findShort(char c) const {
  for (const auto& f : flags_)
    if (f.shorthand == c) return &f;
  return nullptr;
}

Status FlagSet::assign(const Flag& f, const std::string& value) const {
  switch (f.kind) {
    case Kind::Bool:
      if (value == "true" || value == "1") *static_cast<bool*>(f.out) = true;
      else if (value == "false" || value == "0") *static_cast<bool*>(f.out) = false;
      else return failInvalid(fmt::format("invalid argument \"{}\" for \"--{}\" flag: invalid boolean", value, f.name));
      break;
    case Kind::String:
      *static_cast<std::string*>(f.out) = value;
      break;
    case Kind::List:
      static_cast<std::vector<std::string>*>(f.out)->push_back(value);
      break;
  }
  return {};
}

Result<std::vector<std::string>> FlagSet::parse(const std::vector<std::string>& args,
                                                bool interspersed) const {
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      positional.insert(positional.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a.size() < 2 || a[0] != '-') {
      if (!interspersed) {
        positional.insert(positional.end(), args.begin() + static_cast<long>(i), args.end());
        break;
      }
      positional.push_back(a);
      continue;
    }
    if (a[1] == '-') {  // --name[=value]
      std::string body = a.substr(2);
      auto eq = body.find('=');
      std::string name = body.substr(0, eq);
      if (name == "help") {
        help_ = true;
        continue;
      }
      const Flag* f = findLong(name);
      if (!f) return failInvalid("unknown flag: --" + name);
      if (eq != std::string::npos) {
        TRYV(assign(*f, body.substr(eq + 1)));
      } else if (f->kind == Kind::Bool) {
        TRYV(assign(*f, "true"));
      } else {
        if (i + 1 >= args.size()) return failInvalid("flag needs an argument: --" + name);
        TRYV(assign(*f, args[++i]));
      }
      continue;
    }
    // -abc: bool shorthands grouped; the first non-bool takes the rest or the next argument.
    for (size_t k = 1; k < a.size(); ++k) {
      char c = a[k];
      if (c == 'h' && !findShort('h')) {
        help_ = true;
        continue;
      }
      const Flag* f = findShort(c);
      if (!f) return failInvalid(fmt::format("unknown shorthand flag: '{}' in {}", c, a));
      if (f->kind == Kind::Bool) {
        if (k + 1 < a.size() && a[k + 1] == '=') {
          TRYV(assign(*f, a.substr(k + 2)));
          break;
        }
        TRYV(assign(*f, "true"));
        continue;
      }
      std::string rest = a.substr(k + 1);
      if (!rest.empty() && rest[0] == '=') rest.erase(0, 1);
      if (rest.empty()) {
        if (i + 1 >= args.size())
          return failInvalid(fmt::format("flag needs an argument: '{}' in -{}", c, c));
        rest = args[++i];
      }
      TRYV(assign(*f, rest));
      break;
    }
  }
  return positional;
}

std::string FlagSet::usage(const std::string& synopsis, const std::string& description) const {
  std::string out = "\nUsage:  strata " + synopsis + "\n\n" + description + "\n";
  if (!flags_.empty()) out += "\nOptions:\n";
  for (const auto& f : flags_) {
    std::string left = f.shorthand ? fmt::format("  -{}, --{}", f.shorthand, f.name)
                                   : fmt::format("      --{}", f.name);
    if (f.kind == Kind::String) left += " string";
    if (f.kind == Kind::List) left += " list";
    out += fmt::format("{:<28}{}\n", left, f.help);
  }
  return out;
}

}  // namespace strata::cli
