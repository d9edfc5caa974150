// Build planning: global ARGs, stage bases, the stages a target needs and their order.
#include <gtest/gtest.h>

#include "build/plan.h"

namespace strata::build {
namespace {

Result<Plan> planOf(std::string_view dockerfile, std::map<std::string, std::string> args = {},
                    std::string_view target = "") {
  auto file = dockerfile::parseDockerfile(dockerfile);
  EXPECT_TRUE(file) << file.error().message();
  return plan(*file, args, target);
}

TEST(BuildPlan, GlobalArgsAndBases) {
  auto p = planOf(
      "ARG BASE=busybox\nARG TAG=1\nARG REF=${BASE}:${TAG}\n"
      "FROM $REF AS one\nFROM scratch\nFROM ONE\nFROM debian:${CODENAME:-bookworm}\n",
      {{"TAG", "2"}});
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->globalArgs.at("REF"), "busybox:2");
  ASSERT_EQ(p->stages.size(), 4u);
  EXPECT_EQ(p->stages[0].base, PlannedStage::Base::Image);
  EXPECT_EQ(p->stages[0].image, "busybox:2");
  EXPECT_EQ(p->stages[1].base, PlannedStage::Base::Scratch);
  EXPECT_EQ(p->stages[2].base, PlannedStage::Base::Stage);
  EXPECT_EQ(p->stages[2].baseStage, 0u);
  EXPECT_EQ(p->stages[3].image, "debian:bookworm");
  EXPECT_EQ(p->target, 3u);
  EXPECT_EQ(p->order, (std::vector<std::size_t>{3}));  // nothing else is needed
}

TEST(BuildPlan, OnlyWhatTheTargetNeedsInDependencyOrder) {
  const char* df =
      "FROM busybox AS tools\nRUN make\n"
      "FROM busybox AS unused\nRUN sleep 100\n"
      "FROM busybox AS assets\nRUN --mount=type=bind,from=tools,target=/t cp /t/x /x\n"
      "FROM scratch AS final\nCOPY --from=assets /x /x\nCOPY --from=0 /y /y\nCOPY --from=alpine:3 /z /z\n";
  auto p = planOf(df);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->order, (std::vector<std::size_t>{0, 2, 3}));
  auto assetsOnly = planOf(df, {}, "assets");
  ASSERT_TRUE(assetsOnly);
  EXPECT_EQ(assetsOnly->order, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(stageReference(*p, "ASSETS", 3), std::optional<std::size_t>(2));
  EXPECT_EQ(stageReference(*p, "alpine:3", 3), std::nullopt);
}

TEST(BuildPlan, PlatformArgsAreGlobal) {
  auto p = planOf("FROM busybox:${TARGETARCH}\nFROM --platform=$BUILDPLATFORM busybox\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->stages[0].image, "busybox:amd64");
}

TEST(BuildPlan, UnusedBuildArgs) {
  auto p = planOf("ARG A\nFROM busybox\nARG B\n", {{"A", "1"}, {"B", "2"}, {"C", "3"}, {"http_proxy", "x"}});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->unusedBuildArgs, (std::set<std::string>{"C"}));
}

TEST(BuildPlan, Errors) {
  EXPECT_EQ(planOf("FROM busybox\n", {}, "nope").error().message(), "target stage \"nope\" could not be found");
  EXPECT_EQ(planOf("FROM busybox AS a\nFROM busybox AS A\n").error().message(),
            "duplicate name a: stage names must be unique");
  EXPECT_EQ(planOf("ARG X\nFROM $X\n").error().message(), "Dockerfile:2: base name ($X) should not be blank");
  EXPECT_EQ(planOf("FROM busybox\nCOPY --from=1 /a /b\n").error().message(),
            "Dockerfile:2: invalid stage index 1: a stage can only copy from an earlier one");
}

}  // namespace
}  // namespace strata::build
