// Metadata instructions applied to an image config: expansion, config changes and the history
// text BuildKit records.
#include <gtest/gtest.h>

#include "dockerfile/apply.h"
#include "util/duration.h"

namespace strata::dockerfile {
namespace {

struct Applier {
  oci::ImageConfig image;
  StageFacts facts;
  Vars args;

  std::string apply(std::string_view line) {
    auto ast = parse(std::string(line) + "\n");
    EXPECT_TRUE(ast) << ast.error().message();
    auto command = readCommand(ast->instructions.at(0));
    EXPECT_TRUE(command) << command.error().message();
    auto history = applyMetadata(image, facts, command->instruction, args);
    EXPECT_TRUE(history) << line << ": " << history.error().message();
    return history ? *history : "";
  }
  std::string error(std::string_view line) {
    auto ast = parse(std::string(line) + "\n");
    auto command = readCommand(ast->instructions.at(0));
    auto history = applyMetadata(image, facts, command->instruction, args);
    EXPECT_FALSE(history) << line;
    return history ? "" : history.error().message();
  }
};

TEST(ApplyMetadata, EnvAndLabelExpandWithPreInstructionValues) {
  Applier a;
  a.args = {{"VERSION", "1.2"}, {"A", "from-arg"}};
  EXPECT_EQ(a.apply("ENV A=1 B=$A C=\"v $VERSION\""), "ENV A=1 B=from-arg C=v 1.2");
  EXPECT_EQ(a.image.config.env, (std::vector<std::string>{"A=1", "B=from-arg", "C=v 1.2"}));
  EXPECT_EQ(a.apply("ENV D=$A"), "ENV D=1");  // ENV wins over an ARG of the same name
  EXPECT_EQ(a.apply("LABEL \"com.x\"=\"$C\" k=v"), "LABEL com.x=v 1.2 k=v");
  EXPECT_EQ(a.image.config.labels.at("com.x"), "v 1.2");
}

TEST(ApplyMetadata, ExposeVolumeWorkdirUserStopsignal) {
  Applier a;
  a.args = {{"P", "8080"}};
  EXPECT_EQ(a.apply("EXPOSE $P 53/udp 7000-7001"), "EXPOSE map[53/udp:{} 7000/tcp:{} 7001/tcp:{} 8080/tcp:{}]");
  EXPECT_EQ(a.apply("EXPOSE 22"), "EXPOSE map[22/tcp:{}]");  // this instruction's ports only
  EXPECT_EQ(a.image.config.exposedPorts.size(), 5u);
  EXPECT_EQ(a.error("EXPOSE eighty"), "invalid containerPort: eighty");
  EXPECT_EQ(a.apply("VOLUME /data [\"/x\"]"), "VOLUME [/data [/x]]");  // quotes go in expansion
  EXPECT_EQ(a.apply("VOLUME [\"/logs\", \"/cache\"]"), "VOLUME [/logs /cache]");
  EXPECT_EQ(a.image.config.volumes, (std::vector<std::string>{"/cache", "/data", "/logs", "[/x]"}));
  EXPECT_EQ(a.apply("WORKDIR /app"), "WORKDIR /app");
  EXPECT_EQ(a.apply("WORKDIR sub/./x/.."), "WORKDIR /app/sub");
  EXPECT_EQ(a.apply("USER ${P}:0"), "USER 8080:0");
  EXPECT_EQ(a.apply("STOPSIGNAL SIGKILL"), "STOPSIGNAL SIGKILL");
  EXPECT_EQ(a.apply("STOPSIGNAL 9"), "STOPSIGNAL 9");
  EXPECT_EQ(a.error("STOPSIGNAL SIGNOPE"), "Invalid signal: SIGNOPE");
}

TEST(ApplyMetadata, CommandsUseTheShellAndEntrypointClearsAnInheritedCmd) {
  Applier a;
  a.image.config.cmd = std::vector<std::string>{"inherited"};
  EXPECT_EQ(a.apply("ENTRYPOINT [\"/init\"]"), "ENTRYPOINT [\"/init\"]");
  EXPECT_FALSE(a.image.config.cmd);
  EXPECT_EQ(a.apply("SHELL [\"/bin/bash\", \"-eu\", \"-c\"]"), "SHELL [/bin/bash -eu -c]");
  EXPECT_EQ(a.apply("CMD echo $HOME"), "CMD [\"/bin/bash\" \"-eu\" \"-c\" \"echo $HOME\"]");
  EXPECT_EQ(a.apply("ENTRYPOINT top -b"), "ENTRYPOINT [\"/bin/bash\" \"-eu\" \"-c\" \"top -b\"]");
  EXPECT_EQ(*a.image.config.cmd, (std::vector<std::string>{"/bin/bash", "-eu", "-c", "echo $HOME"}));
  EXPECT_EQ(a.apply("ENTRYPOINT []"), "ENTRYPOINT []");
  EXPECT_FALSE(a.image.config.entrypoint);
}

TEST(ApplyMetadata, HealthcheckOnbuildMaintainer) {
  Applier a;
  EXPECT_EQ(a.apply("HEALTHCHECK --interval=1m30s --timeout=3s --retries=5 CMD curl -f http://x/"),
            "HEALTHCHECK &{[\"CMD-SHELL\" \"curl -f http://x/\"] \"1m30s\" \"3s\" \"0s\" '\\x05'}");
  EXPECT_EQ(a.image.config.healthcheck->interval, 90'000'000'000);
  EXPECT_EQ(a.apply("HEALTHCHECK NONE"), "HEALTHCHECK &{[\"NONE\"] \"0s\" \"0s\" \"0s\" '\\x00'}");
  EXPECT_EQ(a.apply("ONBUILD RUN echo $X"), "ONBUILD RUN echo $X");
  EXPECT_EQ(a.image.config.onBuild, (std::vector<std::string>{"RUN echo $X"}));
  EXPECT_EQ(a.apply("MAINTAINER Some One <a@b.c>"), "MAINTAINER Some One <a@b.c>");
  EXPECT_EQ(a.image.author, "Some One <a@b.c>");
}

TEST(GoDuration, Formats) {
  EXPECT_EQ(formatGoDuration(0), "0s");
  EXPECT_EQ(formatGoDuration(90'000'000'000), "1m30s");
  EXPECT_EQ(formatGoDuration(3'600'000'000'000), "1h0m0s");
  EXPECT_EQ(formatGoDuration(1'500'000'000), "1.5s");
  EXPECT_EQ(formatGoDuration(300'000'000), "300ms");
  EXPECT_EQ(formatGoDuration(2'000), "2\xC2\xB5s");
  EXPECT_EQ(formatGoDuration(7), "7ns");
  EXPECT_EQ(formatGoDuration(-2'000'000'000), "-2s");
}

}  // namespace
}  // namespace strata::dockerfile
