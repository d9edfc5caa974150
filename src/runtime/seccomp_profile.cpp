// Reading Docker's seccomp profiles (the JSON of moby's profiles/seccomp types) into a Profile.
//
// Everything that would make runc refuse the profile when the container starts (an unknown
// action, operator or architecture, a missing defaultAction, "name" with "names") is refused
// here, with the field's path, so that `create` can say so before anything exists. Names of
// syscalls are not checked: runc skips the ones libseccomp does not know.
#include <seccomp.h>

#include <cctype>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

#include "runtime/seccomp.h"

namespace strata::runtime::seccomp {
namespace {

using Json = nlohmann::json;

std::unexpected<Error> bad(const std::string& field, const std::string& why) {
  return failInvalid(field + ": " + why);
}

// The member key of object j, or nullptr when it is absent or null (Go leaves such fields
// at their zero value).
const Json* member(const Json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

Result<std::string> stringAt(const Json& j, const std::string& field) {
  if (!j.is_string()) return bad(field, "expected a string");
  return j.get<std::string>();
}

Result<uint64_t> unsignedAt(const Json& j, const std::string& field, uint64_t max) {
  if (!j.is_number_integer() || (!j.is_number_unsigned() && j.get<int64_t>() < 0))
    return bad(field, "expected a non-negative integer");
  uint64_t v = j.get<uint64_t>();
  if (v > max) return bad(field, "out of range (at most " + std::to_string(max) + ")");
  return v;
}

Result<std::vector<std::string>> stringsAt(const Json* j, const std::string& field) {
  std::vector<std::string> out;
  if (!j) return out;
  if (!j->is_array()) return bad(field, "expected an array of strings");
  for (size_t i = 0; i < j->size(); ++i)
    out.push_back(TRY(stringAt((*j)[i], field + "[" + std::to_string(i) + "]")));
  return out;
}

Result<Action> actionOf(const Json& j, const std::string& field) {
  std::string s = TRY(stringAt(j, field));
  static const std::pair<const char*, Action> kActions[] = {
      {"SCMP_ACT_ALLOW", Action::Allow},
      {"SCMP_ACT_ERRNO", Action::Errno},
      {"SCMP_ACT_KILL", Action::KillThread},
      {"SCMP_ACT_KILL_THREAD", Action::KillThread},
      {"SCMP_ACT_KILL_PROCESS", Action::KillProcess},
      {"SCMP_ACT_TRAP", Action::Trap},
      {"SCMP_ACT_TRACE", Action::Trace},
      {"SCMP_ACT_LOG", Action::Log}};
  for (const auto& [name, a] : kActions)
    if (s == name) return a;
  if (s == "SCMP_ACT_NOTIFY") return bad(field, "SCMP_ACT_NOTIFY is not supported");
  return bad(field, "unknown action \"" + s + "\"");
}

Result<Op> opOf(const Json& j, const std::string& field) {
  std::string s = TRY(stringAt(j, field));
  static const std::pair<const char*, Op> kOps[] = {{"SCMP_CMP_EQ", Op::Eq},
                                                    {"SCMP_CMP_NE", Op::Ne},
                                                    {"SCMP_CMP_LT", Op::Lt},
                                                    {"SCMP_CMP_LE", Op::Le},
                                                    {"SCMP_CMP_GT", Op::Gt},
                                                    {"SCMP_CMP_GE", Op::Ge},
                                                    {"SCMP_CMP_MASKED_EQ", Op::MaskedEq}};
  for (const auto& [name, op] : kOps)
    if (s == name) return op;
  return bad(field, "unknown operator \"" + s + "\"");
}

// "SCMP_ARCH_X86_64" -> libseccomp's token for "x86_64".
Result<uint32_t> archOf(const Json& j, const std::string& field) {
  std::string s = TRY(stringAt(j, field));
  constexpr std::string_view kPrefix = "SCMP_ARCH_";
  uint32_t token = 0;
  if (s.size() > kPrefix.size() && s.compare(0, kPrefix.size(), kPrefix) == 0) {
    std::string name = s.substr(kPrefix.size());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    token = seccomp_arch_resolve_name(name.c_str());
  }
  if (token == 0) return bad(field, "unknown architecture \"" + s + "\"");
  return token;
}

Result<std::vector<uint32_t>> archesAt(const Json* j, const std::string& field) {
  std::vector<uint32_t> out;
  if (!j) return out;
  if (!j->is_array()) return bad(field, "expected an array of architectures");
  for (size_t i = 0; i < j->size(); ++i)
    out.push_back(TRY(archOf((*j)[i], field + "[" + std::to_string(i) + "]")));
  return out;
}

// "4.8" (moby's KernelVersion: major.minor, nothing after).
Result<std::pair<unsigned, unsigned>> kernelOf(const Json& j, const std::string& field) {
  std::string s = TRY(stringAt(j, field));
  unsigned major = 0, minor = 0;
  int used = 0;
  if (std::sscanf(s.c_str(), "%u.%u%n", &major, &minor, &used) != 2 ||
      static_cast<size_t>(used) != s.size() || !std::isdigit(static_cast<unsigned char>(s[0])))
    return bad(field, "invalid kernel version \"" + s + "\" (want MAJOR.MINOR)");
  return std::pair{major, minor};
}

Result<RuleFilter> filterOf(const Json* j, const std::string& field) {
  RuleFilter f;
  if (!j) return f;
  if (!j->is_object()) return bad(field, "expected an object");
  f.caps = TRY(stringsAt(member(*j, "caps"), field + ".caps"));
  f.arches = TRY(stringsAt(member(*j, "arches"), field + ".arches"));
  if (const Json* k = member(*j, "minKernel"))
    f.minKernel = TRY(kernelOf(*k, field + ".minKernel"));
  return f;
}

Result<ArgCondition> argOf(const Json& j, const std::string& field) {
  if (!j.is_object()) return bad(field, "expected an object");
  ArgCondition a;
  const uint64_t u64 = std::numeric_limits<uint64_t>::max();
  if (const Json* v = member(j, "index"))
    a.index = static_cast<unsigned>(TRY(unsignedAt(*v, field + ".index", 5)));
  if (const Json* v = member(j, "value")) a.value = TRY(unsignedAt(*v, field + ".value", u64));
  if (const Json* v = member(j, "valueTwo"))
    a.valueTwo = TRY(unsignedAt(*v, field + ".valueTwo", u64));
  const Json* op = member(j, "op");
  if (!op) return bad(field + ".op", "missing");
  a.op = TRY(opOf(*op, field + ".op"));
  return a;
}

Result<SyscallRule> ruleOf(const Json& j, const std::string& field) {
  if (!j.is_object()) return bad(field, "expected an object");
  SyscallRule r;
  r.names = TRY(stringsAt(member(j, "names"), field + ".names"));
  if (const Json* name = member(j, "name")) {
    if (!r.names.empty()) return bad(field, "both \"name\" and \"names\" are given; use one");
    r.names.push_back(TRY(stringAt(*name, field + ".name")));
  }
  const Json* action = member(j, "action");
  if (!action) return bad(field + ".action", "missing");
  r.action = TRY(actionOf(*action, field + ".action"));
  if (const Json* e = member(j, "errnoRet"))
    r.errnoRet = static_cast<uint32_t>(TRY(unsignedAt(*e, field + ".errnoRet", 0xffff)));
  if (const Json* args = member(j, "args")) {
    if (!args->is_array()) return bad(field + ".args", "expected an array");
    for (size_t i = 0; i < args->size(); ++i)
      r.args.push_back(TRY(argOf((*args)[i], field + ".args[" + std::to_string(i) + "]")));
  }
  r.includes = TRY(filterOf(member(j, "includes"), field + ".includes"));
  r.excludes = TRY(filterOf(member(j, "excludes"), field + ".excludes"));
  return r;
}

Result<ArchMapEntry> archMapEntryOf(const Json& j, const std::string& field) {
  if (!j.is_object()) return bad(field, "expected an object");
  ArchMapEntry e;
  const Json* arch = member(j, "architecture");
  if (!arch) return bad(field + ".architecture", "missing");
  e.arch = TRY(archOf(*arch, field + ".architecture"));
  e.subArches = TRY(archesAt(member(j, "subArchitectures"), field + ".subArchitectures"));
  return e;
}

// The profile's whole text as JSON; the parser's message names the line and column.
Result<Json> parseJson(std::string_view text) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 5: ..." -> from "parse"
    if (auto p = what.find("] "); what.rfind("[json.exception", 0) == 0 && p != std::string::npos)
      what.erase(0, p + 2);
    for (char& c : what)
      if (c == '\n') c = ' ';
    return failInvalid("invalid JSON: " + what);
  }
}

}  // namespace

Result<Profile> parseProfile(std::string_view text) {
  Json j = TRY(parseJson(text));
  if (!j.is_object()) return failInvalid("invalid profile: expected a JSON object");
  Profile p;
  const Json* def = member(j, "defaultAction");
  if (!def) return bad("defaultAction", "missing");
  p.defaultAction = TRY(actionOf(*def, "defaultAction"));
  if (const Json* e = member(j, "defaultErrnoRet"))
    p.defaultErrnoRet = static_cast<uint32_t>(TRY(unsignedAt(*e, "defaultErrnoRet", 0xffff)));
  if (const Json* l = member(j, "listenerPath");
      l && !(l->is_string() && l->get<std::string>().empty()))
    return bad("listenerPath", "seccomp notification listeners are not supported");
  if (const Json* f = member(j, "flags"); f && !(f->is_array() && f->empty()))
    return bad("flags", "filter flags are not supported");
  p.architectures = TRY(archesAt(member(j, "architectures"), "architectures"));
  if (const Json* m = member(j, "archMap")) {
    if (!m->is_array()) return bad("archMap", "expected an array");
    for (size_t i = 0; i < m->size(); ++i)
      p.archMap.push_back(TRY(archMapEntryOf((*m)[i], "archMap[" + std::to_string(i) + "]")));
  }
  if (!p.architectures.empty() && !p.archMap.empty())
    return failInvalid("both \"architectures\" and \"archMap\" are given; use one");
  if (const Json* s = member(j, "syscalls")) {
    if (!s->is_array()) return bad("syscalls", "expected an array");
    for (size_t i = 0; i < s->size(); ++i) {
      if ((*s)[i].is_null()) continue;
      p.syscalls.push_back(TRY(ruleOf((*s)[i], "syscalls[" + std::to_string(i) + "]")));
    }
  }
  return p;
}

}  // namespace strata::runtime::seccomp
