#include "dockerfile/apply.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "dockerfile/text.h"
#include "util/duration.h"
#include "util/path.h"

namespace strata::dockerfile {
namespace {

void setEnv(std::vector<std::string>& env, const std::string& key, const std::string& value) {
  for (std::string& e : env)
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') {
      e = key + "=" + value;
      return;
    }
  env.push_back(key + "=" + value);
}

void addSorted(std::vector<std::string>& set, const std::string& value) {
  if (std::find(set.begin(), set.end(), value) == set.end()) set.push_back(value);
  std::sort(set.begin(), set.end());
}

// Go's %q of a []string: ["a" "b"].
std::string quotedList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? " " : "") + text::quote(items[i]);
  return out + "]";
}

// Go's %v of a []string: [a b].
std::string plainList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? " " : "") + items[i];
  return out + "]";
}

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Result<unsigned> portNumber(std::string_view s, std::string_view spec) {
  unsigned n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (!allDigits(s) || ec != std::errc() || end != s.data() + s.size() || n > 65535)
    return failInvalid(fmt::format("invalid containerPort: {}", spec));
  return n;
}

// EXPOSE's port specs: [ip:][hostPort:]port[-end][/proto], proto tcp (default), udp or sctp.
Result<std::vector<std::string>> exposedPorts(std::string_view spec) {
  std::string_view rest = spec;
  std::string proto = "tcp";
  if (std::size_t slash = rest.rfind('/'); slash != std::string_view::npos) {
    proto = text::toLower(rest.substr(slash + 1));
    rest = rest.substr(0, slash);
    if (proto != "tcp" && proto != "udp" && proto != "sctp")
      return failInvalid(fmt::format("invalid proto: {}", proto));
  }
  if (std::size_t colon = rest.rfind(':'); colon != std::string_view::npos)
    rest = rest.substr(colon + 1);
  std::string_view first = rest, last = rest;
  if (std::size_t dash = rest.find('-'); dash != std::string_view::npos) {
    first = rest.substr(0, dash);
    last = rest.substr(dash + 1);
  }
  unsigned from = TRY(portNumber(first, spec));
  unsigned to = TRY(portNumber(last, spec));
  if (to < from) return failInvalid(fmt::format("invalid range specified for container port: {}", spec));
  std::vector<std::string> out;
  for (unsigned p = from; p <= to; ++p) out.push_back(std::to_string(p) + "/" + proto);
  return out;
}

Status checkSignal(std::string_view sig) {
  static const char* const kNames[] = {
      "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT",
      "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM",
      "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ"};
  if (allDigits(sig)) {
    unsigned n = 0;
    auto [end, ec] = std::from_chars(sig.data(), sig.data() + sig.size(), n);
    if (ec == std::errc() && end == sig.data() + sig.size() && n > 0 && n <= 64) return {};
    return failInvalid(fmt::format("Invalid signal: {}", sig));
  }
  std::string name = text::toUpper(sig);
  if (name.starts_with("SIG")) name.erase(0, 3);
  for (const char* known : kNames)
    if (name == known) return {};
  // Real-time signals: RTMIN, RTMIN+n, RTMAX-n.
  if (name == "RTMIN" || name == "RTMAX" || name.starts_with("RTMIN+") || name.starts_with("RTMAX-"))
    return {};
  return failInvalid(fmt::format("Invalid signal: {}", sig));
}

// Go's %q of the health config struct pointer, as BuildKit's history text has it.
std::string healthText(const oci::HealthConfig& h) {
  std::string retries;
  if (h.retries >= 0x20 && h.retries < 0x7F) {
    retries = fmt::format("'{}'", static_cast<char>(h.retries));
    if (h.retries == '\'' || h.retries == '\\') retries = fmt::format("'\\{}'", static_cast<char>(h.retries));
  } else {
    retries = fmt::format("'\\x{:02x}'", h.retries & 0xFF);
  }
  return fmt::format("&{{{} {} {} {} {}}}", quotedList(h.test),
                     text::quote(formatGoDuration(h.interval)), text::quote(formatGoDuration(h.timeout)),
                     text::quote(formatGoDuration(h.startPeriod)), retries);
}

}  // namespace

Vars expansionVars(const Vars& args, const std::vector<std::string>& env) {
  Vars out = args;
  for (const std::string& e : env) {
    std::size_t eq = e.find('=');
    if (eq == std::string::npos) out[e] = "";
    else out[e.substr(0, eq)] = e.substr(eq + 1);
  }
  return out;
}

std::vector<std::string> commandArgs(const CommandLine& command, const std::vector<std::string>& shell) {
  if (!command.shellForm) return command.args;
  std::vector<std::string> out = shell.empty() ? std::vector<std::string>{"/bin/sh", "-c"} : shell;
  out.insert(out.end(), command.args.begin(), command.args.end());
  return out;
}

bool isMetadata(const Instruction& instruction) {
  return !std::holds_alternative<RunInstruction>(instruction) &&
         !std::holds_alternative<CopyInstruction>(instruction) &&
         !std::holds_alternative<AddInstruction>(instruction) &&
         !std::holds_alternative<ArgInstruction>(instruction);
}

Result<std::string> applyMetadata(oci::ImageConfig& image, StageFacts& facts,
                                  const Instruction& instruction, const Vars& args, char escape) {
  oci::ContainerConfig& c = image.config;
  const Vars vars = expansionVars(args, c.env);
  const ShellLexer lexer(ShellOptions{.escape = escape});
  const auto word = [&](const std::string& w) { return lexer.processWord(w, vars); };

  if (const auto* env = std::get_if<EnvInstruction>(&instruction)) {
    std::string history = "ENV";
    for (const KeyValue& kv : env->vars) {
      std::string key = TRY(word(kv.key)), value = TRY(word(kv.value));
      setEnv(c.env, key, value);
      history += " " + key + "=" + value;
    }
    return history;
  }
  if (const auto* label = std::get_if<LabelInstruction>(&instruction)) {
    std::string history = "LABEL";
    for (const KeyValue& kv : label->labels) {
      std::string key = TRY(word(kv.key)), value = TRY(word(kv.value));
      c.labels[key] = value;
      history += " " + key + "=" + value;
    }
    return history;
  }
  if (const auto* expose = std::get_if<ExposeInstruction>(&instruction)) {
    std::vector<std::string> added;  // the history shows this instruction's ports only
    for (const std::string& spec : expose->ports)
      for (const std::string& port : TRY(exposedPorts(TRY(word(spec))))) {
        addSorted(c.exposedPorts, port);
        addSorted(added, port);  // Go prints a map's keys sorted
      }
    std::string history = "EXPOSE map[";
    for (std::size_t i = 0; i < added.size(); ++i) history += (i ? " " : "") + added[i] + ":{}";
    return history + "]";
  }
  if (const auto* volume = std::get_if<VolumeInstruction>(&instruction)) {
    std::vector<std::string> added;
    for (const std::string& v : volume->paths) {
      std::string path = std::string(text::trim(TRY(word(v))));
      if (path.empty()) return failInvalid("VOLUME specified can not be an empty string");
      addSorted(c.volumes, path);
      added.push_back(path);
    }
    return "VOLUME " + plainList(added);
  }
  if (const auto* workdir = std::get_if<WorkdirInstruction>(&instruction)) {
    std::string dir = TRY(word(workdir->path));
    if (dir.empty()) return failInvalid("WORKDIR cannot be empty");
    if (dir[0] != '/') dir = (c.workingDir.empty() ? std::string("/") : c.workingDir) + "/" + dir;
    c.workingDir = cleanPath(dir);
    return "WORKDIR " + c.workingDir;
  }
  if (const auto* user = std::get_if<UserInstruction>(&instruction)) {
    c.user = TRY(word(user->user));
    return "USER " + c.user;
  }
  if (const auto* sig = std::get_if<StopSignalInstruction>(&instruction)) {
    std::string s = TRY(word(sig->signal));
    TRYV(checkSignal(s));
    c.stopSignal = s;
    return "STOPSIGNAL " + s;
  }
  if (const auto* cmd = std::get_if<CmdInstruction>(&instruction)) {
    c.cmd = commandArgs(cmd->command, c.shell);
    facts.cmdSet = true;
    return "CMD " + quotedList(*c.cmd);
  }
  if (const auto* entry = std::get_if<EntrypointInstruction>(&instruction)) {
    std::vector<std::string> argv = commandArgs(entry->command, c.shell);
    if (argv.empty()) c.entrypoint.reset();
    else c.entrypoint = argv;
    if (!facts.cmdSet) c.cmd.reset();
    return "ENTRYPOINT " + quotedList(argv);
  }
  if (const auto* shell = std::get_if<ShellInstruction>(&instruction)) {
    c.shell = shell->shell;
    return "SHELL " + plainList(c.shell);
  }
  if (const auto* health = std::get_if<HealthcheckInstruction>(&instruction)) {
    oci::HealthConfig h;
    h.test = health->test;
    h.interval = health->interval;
    h.timeout = health->timeout;
    h.startPeriod = health->startPeriod;
    h.startInterval = health->startInterval;
    h.retries = health->retries;
    c.healthcheck = h;
    return "HEALTHCHECK " + healthText(h);
  }
  if (const auto* onbuild = std::get_if<OnbuildInstruction>(&instruction)) {
    c.onBuild.push_back(onbuild->expression);
    return "ONBUILD " + onbuild->expression;
  }
  if (const auto* maintainer = std::get_if<MaintainerInstruction>(&instruction)) {
    image.author = maintainer->maintainer;
    return "MAINTAINER " + maintainer->maintainer;
  }
  return failInvalid("not a metadata instruction");
}

}  // namespace strata::dockerfile
