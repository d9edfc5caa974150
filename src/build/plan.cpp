#include "build/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <functional>

#include "dockerfile/text.h"

namespace strata::build {
namespace {

using dockerfile::Vars;

// Proxy variables Docker lets through without an ARG declaring them.
bool isPredefinedProxyArg(std::string_view name) {
  static const char* const kNames[] = {"HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY"};
  const std::string upper = dockerfile::text::toUpper(name);
  for (const char* n : kNames)
    if (upper == n) return true;
  return false;
}

std::optional<std::size_t> stageByName(const std::vector<PlannedStage>& stages, std::string_view name) {
  const std::string lower = dockerfile::text::toLower(name);
  for (const PlannedStage& s : stages)
    if (!s.name.empty() && s.name == lower) return s.index;
  return std::nullopt;
}

// The stage a --from value names: an index, or a stage name; nullopt for an image.
Result<std::optional<std::size_t>> fromReference(const std::vector<PlannedStage>& stages,
                                                 std::string_view from, std::size_t current) {
  std::size_t index = 0;
  auto [end, ec] = std::from_chars(from.data(), from.data() + from.size(), index);
  if (!from.empty() && ec == std::errc() && end == from.data() + from.size()) {
    if (index >= current)
      return failInvalid(fmt::format("invalid stage index {}: a stage can only copy from an earlier one", from));
    return std::optional<std::size_t>(index);
  }
  return stageByName(stages, from);
}

}  // namespace

std::string Platform::str() const {
  return os + "/" + architecture + (variant.empty() ? "" : "/" + variant);
}

Vars platformArgs(const Platform& target, const Platform& build) {
  return {{"TARGETPLATFORM", target.str()}, {"TARGETOS", target.os},
          {"TARGETARCH", target.architecture}, {"TARGETVARIANT", target.variant},
          {"BUILDPLATFORM", build.str()}, {"BUILDOS", build.os},
          {"BUILDARCH", build.architecture}, {"BUILDVARIANT", build.variant}};
}

std::optional<std::size_t> stageReference(const Plan& plan, std::string_view from, std::size_t current) {
  auto r = fromReference(plan.stages, from, current);
  return r ? *r : std::nullopt;
}

Result<Plan> plan(const dockerfile::Dockerfile& file, const std::map<std::string, std::string>& buildArgs,
                  std::string_view target, const Platform& platform) {
  Plan out;
  const dockerfile::ShellLexer lexer(dockerfile::ShellOptions{.escape = file.escape});

  // Global ARGs: a --build-arg wins over the default, which may use earlier global ARGs.
  Vars scope = platformArgs(platform, platform);
  std::set<std::string> declared;
  for (const dockerfile::ArgDecl& arg : file.globalArgs) {
    declared.insert(arg.key);
    if (auto it = buildArgs.find(arg.key); it != buildArgs.end()) {
      out.globalArgs[arg.key] = it->second;
    } else if (arg.value) {
      out.globalArgs[arg.key] = TRY_CTX(lexer.processWord(*arg.value, scope), "ARG " + arg.key);
    } else {
      continue;
    }
    scope[arg.key] = out.globalArgs[arg.key];
  }

  // Every stage's base.
  for (std::size_t i = 0; i < file.stages.size(); ++i) {
    const dockerfile::Stage& stage = file.stages[i];
    PlannedStage p;
    p.index = i;
    p.name = stage.from.name;
    if (!p.name.empty() && stageByName(out.stages, p.name))
      return failInvalid(fmt::format("duplicate name {}: stage names must be unique", p.name));
    std::string image = TRY_CTX(lexer.processWord(stage.from.image, scope),
                                fmt::format("Dockerfile:{}", stage.startLine));
    if (image.empty())
      return failInvalid(fmt::format("Dockerfile:{}: base name ({}) should not be blank", stage.startLine,
                                     stage.from.image));
    if (image == "scratch") {
      p.base = PlannedStage::Base::Scratch;
    } else if (auto base = stageByName(out.stages, image)) {
      p.base = PlannedStage::Base::Stage;
      p.baseStage = *base;
      p.dependsOn.push_back(*base);
    } else {
      p.base = PlannedStage::Base::Image;
      p.image = image;
    }
    out.stages.push_back(std::move(p));
  }

  // What each stage copies or mounts from.
  for (std::size_t i = 0; i < file.stages.size(); ++i) {
    PlannedStage& p = out.stages[i];
    const auto addDependency = [&](const std::string& from, int line) -> Status {
      if (from.empty()) return {};
      std::string expanded = TRY_CTX(lexer.processWord(from, scope), fmt::format("Dockerfile:{}", line));
      auto ref = fromReference(out.stages, expanded, i);
      if (!ref) return fail(std::move(ref).error().wrap(fmt::format("Dockerfile:{}", line)));
      if (*ref && std::find(p.dependsOn.begin(), p.dependsOn.end(), **ref) == p.dependsOn.end())
        p.dependsOn.push_back(**ref);
      return {};
    };
    for (const dockerfile::Command& c : file.stages[i].commands) {
      if (const auto* copy = std::get_if<dockerfile::CopyInstruction>(&c.instruction))
        TRYV(addDependency(copy->from, c.startLine));
      if (const auto* run = std::get_if<dockerfile::RunInstruction>(&c.instruction))
        for (const dockerfile::Mount& m : run->mounts) TRYV(addDependency(m.from, c.startLine));
      if (const auto* arg = std::get_if<dockerfile::ArgInstruction>(&c.instruction))
        for (const dockerfile::ArgDecl& d : arg->args) declared.insert(d.key);
    }
  }

  // The target and, depth first, what it needs.
  if (target.empty()) {
    out.target = file.stages.size() - 1;
  } else if (auto t = stageByName(out.stages, target)) {
    out.target = *t;
  } else {
    return failInvalid(fmt::format("target stage \"{}\" could not be found", target));
  }
  enum class Mark { None, Visiting, Done };
  std::vector<Mark> marks(out.stages.size(), Mark::None);
  std::function<Status(std::size_t)> visit = [&](std::size_t s) -> Status {
    if (marks[s] == Mark::Done) return {};
    if (marks[s] == Mark::Visiting) {
      const PlannedStage& p = out.stages[s];
      return failInvalid(fmt::format("circular dependency detected on stage: {}",
                                     p.name.empty() ? std::to_string(s) : p.name));
    }
    marks[s] = Mark::Visiting;
    for (std::size_t d : out.stages[s].dependsOn) TRYV(visit(d));
    marks[s] = Mark::Done;
    out.order.push_back(s);
    return {};
  };
  TRYV(visit(out.target));

  for (const auto& [name, value] : buildArgs)
    if (!declared.contains(name) && !isPredefinedProxyArg(name)) out.unusedBuildArgs.insert(name);
  return out;
}

}  // namespace strata::build
