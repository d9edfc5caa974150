// From parse-tree nodes to typed instructions, with BuildKit's argument rules and messages.
#include "dockerfile/instructions.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "dockerfile/instruction_flags.h"
#include "dockerfile/mount.h"
#include "dockerfile/parse_internal.h"
#include "dockerfile/text.h"
#include "util/duration.h"

namespace strata::dockerfile {
namespace {

using detail::InstructionFlags;
using Kind = InstructionFlags::Kind;

Status atLeastOne(const Node& node, std::string_view name) {
  if (node.values.empty()) return failInvalid(fmt::format("{} requires at least one argument", name));
  return {};
}

Status exactlyOne(const Node& node, std::string_view name) {
  if (node.values.size() != 1) return failInvalid(fmt::format("{} requires exactly one argument", name));
  return {};
}

// Only flags the instruction declares are accepted.
Result<InstructionFlags> flags(const Node& node,
                               std::initializer_list<std::pair<const char*, Kind>> declared = {}) {
  InstructionFlags out;
  for (const auto& [name, kind] : declared) out.declare(name, kind);
  TRYV(out.parse(node.flags));
  return out;
}

// Shell form joins its (single) value; JSON form keeps the elements.
CommandLine commandLine(const Node& node) {
  CommandLine out;
  out.shellForm = !node.json;
  if (node.json) {
    out.args = node.values;
  } else {
    std::string joined;
    for (std::size_t i = 0; i < node.values.size(); ++i) joined += (i ? " " : "") + node.values[i];
    out.args = {std::move(joined)};
  }
  out.files = node.heredocs;
  return out;
}

Result<std::vector<KeyValue>> keyValues(const Node& node, std::string_view name) {
  TRYV(atLeastOne(node, name));
  std::vector<KeyValue> out;
  for (std::size_t i = 0; i + 1 < node.values.size(); i += 3) {
    if (node.values[i].empty()) return failInvalid(fmt::format("{} names can not be blank", name));
    out.push_back({node.values[i], node.values[i + 1]});
  }
  return out;
}

Result<SourcesAndDest> sourcesAndDest(const Node& node, std::string_view name) {
  if (node.values.size() < 2)
    return failInvalid(fmt::format(
        "{} requires at least two arguments, but only one was provided. Destination could not be "
        "determined",
        name));
  SourcesAndDest out;
  out.dest = node.values.back();
  if (TRY(parseHeredocMarker(out.dest)))
    return failInvalid(fmt::format("{} cannot accept a heredoc as a destination", name));
  for (std::size_t i = 0; i + 1 < node.values.size(); ++i) {
    const std::string& src = node.values[i];
    std::optional<Heredoc> marker = TRY(parseHeredocMarker(src));
    if (!marker) {
      out.sources.push_back(src);
      continue;
    }
    Heredoc doc = *marker;
    for (const Heredoc& body : node.heredocs)
      if (body.name == marker->name) doc.content = body.content;
    if (doc.chomp) doc.content = chompHeredoc(doc.content);
    out.inlineSources.push_back(std::move(doc));
  }
  return out;
}

Result<int64_t> interval(const InstructionFlags& f, const char* name) {
  const std::string& value = f.string(name);
  if (value.empty()) return 0;
  int64_t d = TRY(parseGoDuration(value));
  if (d == 0) return 0;
  if (d < 1000000)
    return failInvalid(fmt::format("Interval \"{}\" cannot be less than 1ms", name));
  return d;
}

Result<Instruction> healthcheck(const Node& node) {
  TRYV(atLeastOne(node, "HEALTHCHECK"));
  HealthcheckInstruction out;
  const std::string type = text::toUpper(node.values[0]);
  if (type == "NONE") {
    if (node.values.size() != 1) return failInvalid("HEALTHCHECK NONE takes no arguments");
    TRYV(flags(node));
    out.test = {"NONE"};
    return out;
  }
  InstructionFlags f = TRY(flags(node, {{"interval", Kind::String},
                                        {"timeout", Kind::String},
                                        {"start-period", Kind::String},
                                        {"start-interval", Kind::String},
                                        {"retries", Kind::String}}));
  if (type != "CMD")
    return failInvalid(fmt::format("Unknown type \"{}\" in HEALTHCHECK (try CMD)", type));
  Node command;
  command.values.assign(node.values.begin() + 1, node.values.end());
  command.json = node.json;
  CommandLine cmd = commandLine(command);
  if (node.values.size() == 1 || (cmd.shellForm && cmd.args[0].empty()))
    return failInvalid("Missing command after HEALTHCHECK CMD");
  out.test = {cmd.shellForm ? "CMD-SHELL" : "CMD"};
  out.test.insert(out.test.end(), cmd.args.begin(), cmd.args.end());
  out.interval = TRY(interval(f, "interval"));
  out.timeout = TRY(interval(f, "timeout"));
  out.startPeriod = TRY(interval(f, "start-period"));
  out.startInterval = TRY(interval(f, "start-interval"));
  if (const std::string& r = f.string("retries"); !r.empty()) {
    int32_t retries = 0;
    auto [end, ec] = std::from_chars(r.data(), r.data() + r.size(), retries);
    if (ec != std::errc() || end != r.data() + r.size())
      return failInvalid(fmt::format("invalid value for --retries: {}", r));
    if (retries < 1) return failInvalid(fmt::format("--retries must be at least 1 (not {})", retries));
    out.retries = retries;
  }
  return out;
}

Result<Instruction> onbuild(const Node& node) {
  if (!node.trigger) return failInvalid("ONBUILD requires at least one argument");
  TRYV(flags(node));
  const std::string trigger = text::toUpper(node.trigger->keyword);
  if (trigger == "ONBUILD") return failInvalid("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (trigger == "MAINTAINER" || trigger == "FROM")
    return failInvalid(fmt::format("{} isn't allowed as an ONBUILD trigger", trigger));
  // The trigger's text: the original line without the leading ONBUILD keyword.
  std::string_view rest = text::trimLeft(node.original);
  rest.remove_prefix(std::min<std::size_t>(7, rest.size()));
  OnbuildInstruction out{std::string(text::trimLeft(rest))};
  for (const Heredoc& doc : node.heredocs) out.expression += "\n" + doc.content + doc.name;
  return out;
}

Result<Instruction> arg(const Node& node) {
  TRYV(atLeastOne(node, "ARG"));
  TRYV(flags(node));
  ArgInstruction out;
  for (const std::string& word : node.values) {
    ArgDecl decl;
    const std::size_t eq = word.find('=');
    if (eq != std::string::npos) {
      if (eq == 0) return failInvalid("ARG names can not be blank");
      decl.key = word.substr(0, eq);
      decl.value = word.substr(eq + 1);
    } else {
      decl.key = word;
    }
    for (const std::string& comment : node.comments)
      if (comment.starts_with(decl.key + " ")) {
        decl.comment = comment.substr(decl.key.size() + 1);
        break;
      }
    out.args.push_back(std::move(decl));
  }
  return out;
}

Result<Instruction> instruction(const Node& node) {
  const std::string cmd = node.command();
  if (cmd == "run") {
    InstructionFlags f = TRY(flags(node, {{"mount", Kind::List}, {"network", Kind::String},
                                          {"security", Kind::String}}));
    if (node.values.empty()) return failInvalid("RUN requires at least one argument");
    RunInstruction out{commandLine(node), {}, f.string("network"), f.string("security")};
    for (const std::string& m : f.list("mount")) out.mounts.push_back(TRY(parseMount(m)));
    if (!out.network.empty() && out.network != "default" && out.network != "none" &&
        out.network != "host")
      return failInvalid(fmt::format("unsupported network mode \"{}\"", out.network));
    if (!out.security.empty() && out.security != "sandbox" && out.security != "insecure")
      return failInvalid(fmt::format("unsupported security mode \"{}\"", out.security));
    return out;
  }
  if (cmd == "cmd") {
    TRYV(flags(node));
    return CmdInstruction{commandLine(node)};
  }
  if (cmd == "entrypoint") {
    TRYV(flags(node));
    return EntrypointInstruction{commandLine(node)};
  }
  if (cmd == "copy") {
    InstructionFlags f = TRY(flags(node, {{"from", Kind::String}, {"chown", Kind::String},
                                          {"chmod", Kind::String}, {"link", Kind::Bool},
                                          {"parents", Kind::Bool}, {"exclude", Kind::List}}));
    return CopyInstruction{TRY(sourcesAndDest(node, "COPY")), f.string("from"), f.string("chown"),
                           f.string("chmod"), f.boolean("link"), f.boolean("parents"),
                           f.list("exclude")};
  }
  if (cmd == "add") {
    InstructionFlags f = TRY(flags(node, {{"chown", Kind::String}, {"chmod", Kind::String},
                                          {"link", Kind::Bool}, {"checksum", Kind::String},
                                          {"keep-git-dir", Kind::Bool}, {"exclude", Kind::List}}));
    return AddInstruction{TRY(sourcesAndDest(node, "ADD")), f.string("chown"), f.string("chmod"),
                          f.boolean("link"), f.string("checksum"), f.boolean("keep-git-dir"),
                          f.list("exclude")};
  }
  if (cmd == "env") {
    TRYV(flags(node));
    return EnvInstruction{TRY(keyValues(node, "ENV"))};
  }
  if (cmd == "label") {
    TRYV(flags(node));
    return LabelInstruction{TRY(keyValues(node, "LABEL"))};
  }
  if (cmd == "arg") return arg(node);
  if (cmd == "workdir") {
    TRYV(exactlyOne(node, "WORKDIR"));
    TRYV(flags(node));
    return WorkdirInstruction{node.values[0]};
  }
  if (cmd == "user") {
    TRYV(exactlyOne(node, "USER"));
    TRYV(flags(node));
    return UserInstruction{node.values[0]};
  }
  if (cmd == "expose") {
    TRYV(atLeastOne(node, "EXPOSE"));
    TRYV(flags(node));
    ExposeInstruction out{node.values};
    std::sort(out.ports.begin(), out.ports.end());
    return out;
  }
  if (cmd == "volume") {
    TRYV(atLeastOne(node, "VOLUME"));
    TRYV(flags(node));
    VolumeInstruction out;
    for (const std::string& v : node.values) {
      std::string_view path = text::trim(v);
      if (path.empty()) return failInvalid("VOLUME specified can not be an empty string");
      out.paths.emplace_back(path);
    }
    return out;
  }
  if (cmd == "shell") {
    TRYV(flags(node));
    if (!node.json) return failInvalid("SHELL requires the arguments to be in JSON form");
    return ShellInstruction{node.values};
  }
  if (cmd == "stopsignal") {
    TRYV(exactlyOne(node, "STOPSIGNAL"));
    TRYV(flags(node));
    return StopSignalInstruction{node.values[0]};
  }
  if (cmd == "healthcheck") return healthcheck(node);
  if (cmd == "onbuild") return onbuild(node);
  if (cmd == "maintainer") {
    TRYV(exactlyOne(node, "MAINTAINER"));
    TRYV(flags(node));
    return MaintainerInstruction{node.values[0]};
  }
  if (node.keyword.empty())
    return failInvalid("empty instruction: a line continuation with no instruction before it");
  std::string hint = suggest(node.keyword, instructionNames());
  return failInvalid(hint.empty()
                         ? fmt::format("unknown instruction: {}", node.keyword)
                         : fmt::format("unknown instruction: {} (did you mean {}?)", node.keyword, hint));
}

Result<std::string> stageName(const Node& node) {
  if (node.values.size() == 3 && text::toLower(node.values[1]) == "as") {
    std::string name = text::toLower(node.values[2]);
    bool ok = !name.empty() && name[0] >= 'a' && name[0] <= 'z';
    for (char c : name)
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.');
    if (!ok)
      return failInvalid(fmt::format(
          "invalid name for build stage: {}, name can't start with a number or contain symbols",
          text::quote(node.values[2])));
    return name;
  }
  if (node.values.size() != 1) return failInvalid("FROM requires either one or three arguments");
  return std::string();
}

Result<Stage> stage(const Node& node) {
  std::string name = TRY(stageName(node));
  InstructionFlags f = TRY(flags(node, {{"platform", Kind::String}}));
  Stage out;
  out.from = FromInstruction{node.values[0], name, f.string("platform")};
  out.original = std::string(text::trim(node.original));
  out.startLine = node.startLine;
  if (!name.empty())
    for (const std::string& comment : node.comments)
      if (comment.starts_with(name + " ")) out.comment = comment.substr(name.size() + 1);
  return out;
}

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

const std::vector<std::string>& instructionNames() {
  static const std::vector<std::string> kNames = {
      "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
      "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"};
  return kNames;
}

std::string suggest(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string lower = text::toLower(word);
  if (lower.size() < 2) return {};
  std::string best;
  std::size_t bestDistance = 3;
  for (const std::string& candidate : candidates) {
    const std::string c = text::toLower(candidate);
    if (c == lower) return {};
    std::size_t d = editDistance(lower, c);
    if (d < bestDistance && d < lower.size()) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best;
}

Result<Command> readCommand(const Node& node) {
  if (node.command() == "from") return failInvalid("FROM cannot be used here");
  Command out;
  out.instruction = TRY(instruction(node));
  out.keyword = text::toUpper(node.keyword);
  out.original = std::string(text::trim(node.original));
  out.startLine = node.startLine;
  out.endLine = node.endLine;
  return out;
}

Result<Dockerfile> readInstructions(const Ast& ast, const ParseOptions& options) {
  Dockerfile out;
  out.escape = ast.escape;
  out.warnings = ast.warnings;
  for (const Node& node : ast.instructions) {
    const auto located = [&](const Error& e) {
      return fail(detail::locatedError(options, node.startLine, e.message(), node.original));
    };
    if (node.command() == "from") {
      auto s = stage(node);
      if (!s) return located(s.error());
      out.stages.push_back(std::move(*s));
      continue;
    }
    auto command = readCommand(node);
    if (!command) return located(command.error());
    if (out.stages.empty()) {
      if (auto* a = std::get_if<ArgInstruction>(&command->instruction)) {
        for (ArgDecl& decl : a->args) out.globalArgs.push_back(std::move(decl));
        continue;
      }
      return located(Error::invalid(fmt::format(
          "{} before the first FROM: no build stage in current context", command->keyword)));
    }
    out.stages.back().commands.push_back(std::move(*command));
  }
  if (out.stages.empty())
    return fail(detail::locatedError(options, ast.endLine, "no FROM instruction: no build stage"));
  return out;
}

Result<Dockerfile> parseDockerfile(std::string_view content, const ParseOptions& options) {
  Ast ast = TRY(parse(content, options));
  return readInstructions(ast, options);
}

}  // namespace strata::dockerfile
