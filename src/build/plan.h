// Which stages a build runs and in what order: global ARGs resolved, each FROM's base named
// (scratch, an image, or an earlier stage), the stages the target needs found through FROM,
// COPY --from and RUN --mount from=, everything else left out.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dockerfile/instructions.h"
#include "dockerfile/shell.h"

namespace strata::build {

// The platform a build targets and runs on (strata builds linux/amd64 on linux/amd64).
struct Platform {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;
  std::string str() const;  // "linux/amd64"
};

// The ARGs every Dockerfile can use without declaring them in a stage's FROM line:
// TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT, BUILDPLATFORM, BUILDOS, BUILDARCH,
// BUILDVARIANT.
dockerfile::Vars platformArgs(const Platform& target, const Platform& build);

struct PlannedStage {
  std::size_t index = 0;  // position in the Dockerfile (COPY --from=N refers to this)
  std::string name;       // `AS name`, lower case; empty when unnamed
  enum class Base { Scratch, Image, Stage } base = Base::Scratch;
  std::string image;         // Base::Image: the reference after ARG expansion
  std::size_t baseStage = 0; // Base::Stage: the stage's index
  std::vector<std::size_t> dependsOn;  // stage indexes this stage needs (base stage first)
};

struct Plan {
  std::vector<PlannedStage> stages;  // every stage of the file, by index
  std::vector<std::size_t> order;    // the stages to build, each after the ones it depends on
  std::size_t target = 0;
  dockerfile::Vars globalArgs;       // global ARGs with their values (defaults or --build-arg)
  std::set<std::string> unusedBuildArgs;  // --build-arg names no ARG declares (warned about)
};

// Plans a build. buildArgs are --build-arg values; target is --target (empty: the last stage).
// Fails naming the problem: an unknown target, a stage that uses itself or a later stage, a FROM
// whose image expands to nothing, a bad --from index.
Result<Plan> plan(const dockerfile::Dockerfile& file, const std::map<std::string, std::string>& buildArgs,
                  std::string_view target, const Platform& platform = {});

// What a COPY --from= or RUN --mount from= value names, given the stages before `current`:
// a stage index, or nullopt for an image reference.
std::optional<std::size_t> stageReference(const Plan& plan, std::string_view from, std::size_t current);

}  // namespace strata::build
