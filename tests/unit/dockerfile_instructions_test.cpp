// Typed instructions: flags, argument rules, stages and the error messages a user sees.
#include <gtest/gtest.h>

#include "dockerfile/instructions.h"
#include "dockerfile/mount.h"
#include "util/duration.h"

namespace strata::dockerfile {
namespace {

Dockerfile read(std::string_view text) {
  auto r = parseDockerfile(text);
  EXPECT_TRUE(r) << r.error().message();
  return r ? std::move(*r) : Dockerfile{};
}

std::string errorOf(std::string_view text) {
  auto r = parseDockerfile(text);
  EXPECT_FALSE(r);
  return r ? "" : r.error().message();
}

template <typename T>
const T& only(const Dockerfile& df, std::size_t stage = 0, std::size_t index = 0) {
  return std::get<T>(df.stages.at(stage).commands.at(index).instruction);
}

TEST(DockerfileInstructions, StagesAndGlobalArgs) {
  Dockerfile df = read(
      "ARG BASE=busybox\nARG TAG\n"
      "FROM --platform=linux/amd64 ${BASE}:${TAG} AS Build\nRUN make\n"
      "FROM scratch\nCOPY --from=build /out /\n");
  ASSERT_EQ(df.globalArgs.size(), 2u);
  EXPECT_EQ(df.globalArgs[0].key, "BASE");
  EXPECT_EQ(*df.globalArgs[0].value, "busybox");
  EXPECT_FALSE(df.globalArgs[1].value);
  ASSERT_EQ(df.stages.size(), 2u);
  EXPECT_EQ(df.stages[0].from.image, "${BASE}:${TAG}");
  EXPECT_EQ(df.stages[0].from.name, "build");
  EXPECT_EQ(df.stages[0].from.platform, "linux/amd64");
  EXPECT_EQ(df.stages[0].startLine, 3);
  EXPECT_EQ(df.stages[1].from.name, "");
  const auto& copy = only<CopyInstruction>(df, 1);
  EXPECT_EQ(copy.from, "build");
  EXPECT_EQ(copy.paths.sources, (std::vector<std::string>{"/out"}));
  EXPECT_EQ(copy.paths.dest, "/");
}

TEST(DockerfileInstructions, RunCmdEntrypointForms) {
  Dockerfile df = read(
      "FROM x\nRUN --network=none --mount=type=cache,target=/root/.cache,sharing=locked echo hi\n"
      "RUN [\"/bin/echo\", \"a b\"]\nCMD [\"sh\"]\nENTRYPOINT top -b\nCMD []\n");
  const auto& run = only<RunInstruction>(df, 0, 0);
  EXPECT_TRUE(run.command.shellForm);
  EXPECT_EQ(run.command.args, (std::vector<std::string>{"echo hi"}));
  EXPECT_EQ(run.network, "none");
  ASSERT_EQ(run.mounts.size(), 1u);
  EXPECT_EQ(run.mounts[0].type, Mount::Type::Cache);
  EXPECT_EQ(run.mounts[0].target, "/root/.cache");
  EXPECT_EQ(run.mounts[0].sharing, Mount::Sharing::Locked);
  EXPECT_FALSE(run.mounts[0].readOnly);
  const auto& exec = only<RunInstruction>(df, 0, 1);
  EXPECT_FALSE(exec.command.shellForm);
  EXPECT_EQ(exec.command.args, (std::vector<std::string>{"/bin/echo", "a b"}));
  EXPECT_EQ(only<CmdInstruction>(df, 0, 2).command.args, (std::vector<std::string>{"sh"}));
  const auto& entry = only<EntrypointInstruction>(df, 0, 3);
  EXPECT_TRUE(entry.command.shellForm);
  EXPECT_EQ(entry.command.args, (std::vector<std::string>{"top -b"}));
  EXPECT_TRUE(only<CmdInstruction>(df, 0, 4).command.args.empty());
}

TEST(DockerfileInstructions, RunHeredocFiles) {
  Dockerfile df = read("FROM x\nRUN <<EOF\necho one\nEOF\n");
  const auto& run = only<RunInstruction>(df);
  ASSERT_EQ(run.command.files.size(), 1u);
  EXPECT_EQ(run.command.files[0].content, "echo one\n");
  EXPECT_EQ(run.command.args, (std::vector<std::string>{"<<EOF"}));
}

TEST(DockerfileInstructions, CopyAndAddFlagsAndHeredocSources) {
  Dockerfile df = read(
      "FROM x\nCOPY --chown=app:app --chmod=0755 --link a b /dst/\n"
      "COPY <<-EOT /etc/motd\n\thello\n\tEOT\n"
      "ADD --checksum=sha256:abc --keep-git-dir=false https://example.invalid/x.tgz /x\n");
  const auto& copy = only<CopyInstruction>(df, 0, 0);
  EXPECT_EQ(copy.chown, "app:app");
  EXPECT_EQ(copy.chmod, "0755");
  EXPECT_TRUE(copy.link);
  EXPECT_EQ(copy.paths.sources, (std::vector<std::string>{"a", "b"}));
  const auto& inlined = only<CopyInstruction>(df, 0, 1);
  EXPECT_TRUE(inlined.paths.sources.empty());
  ASSERT_EQ(inlined.paths.inlineSources.size(), 1u);
  EXPECT_EQ(inlined.paths.inlineSources[0].content, "hello\n");
  EXPECT_EQ(inlined.paths.inlineSources[0].name, "EOT");
  const auto& add = only<AddInstruction>(df, 0, 2);
  EXPECT_EQ(add.checksum, "sha256:abc");
  EXPECT_FALSE(add.keepGitDir);
}

TEST(DockerfileInstructions, MetadataInstructions) {
  Dockerfile df = read(
      "FROM x\nENV A=1 B=\"2 3\"\nENV OLD value here\nLABEL k=v\nWORKDIR /app\nUSER 1000:1000\n"
      "EXPOSE 8080/tcp 443 80\nVOLUME [\"/data\", \"/logs\"]\nSHELL [\"/bin/bash\", \"-c\"]\n"
      "STOPSIGNAL SIGINT\nMAINTAINER someone <a@b.c>\nONBUILD RUN echo triggered\n"
      "ARG X=\"1 2\" Y\n");
  const auto& env = only<EnvInstruction>(df, 0, 0);
  ASSERT_EQ(env.vars.size(), 2u);
  EXPECT_EQ(env.vars[1].key, "B");
  EXPECT_EQ(env.vars[1].value, "\"2 3\"");  // quotes go when the builder expands the value
  EXPECT_EQ(only<EnvInstruction>(df, 0, 1).vars[0].value, "value here");
  EXPECT_EQ(only<LabelInstruction>(df, 0, 2).labels[0].key, "k");
  EXPECT_EQ(only<WorkdirInstruction>(df, 0, 3).path, "/app");
  EXPECT_EQ(only<UserInstruction>(df, 0, 4).user, "1000:1000");
  EXPECT_EQ(only<ExposeInstruction>(df, 0, 5).ports, (std::vector<std::string>{"443", "80", "8080/tcp"}));
  EXPECT_EQ(only<VolumeInstruction>(df, 0, 6).paths, (std::vector<std::string>{"/data", "/logs"}));
  EXPECT_EQ(only<ShellInstruction>(df, 0, 7).shell, (std::vector<std::string>{"/bin/bash", "-c"}));
  EXPECT_EQ(only<StopSignalInstruction>(df, 0, 8).signal, "SIGINT");
  EXPECT_EQ(only<MaintainerInstruction>(df, 0, 9).maintainer, "someone <a@b.c>");
  EXPECT_EQ(only<OnbuildInstruction>(df, 0, 10).expression, "RUN echo triggered");
  const auto& arg = only<ArgInstruction>(df, 0, 11);
  EXPECT_EQ(*arg.args[0].value, "\"1 2\"");
  EXPECT_FALSE(arg.args[1].value);
  EXPECT_EQ(df.stages[0].commands[10].keyword, "ONBUILD");
  EXPECT_EQ(df.stages[0].commands[10].startLine, 12);
}

TEST(DockerfileInstructions, Healthcheck) {
  Dockerfile df = read(
      "FROM x\nHEALTHCHECK --interval=1m30s --timeout=3s --start-period=0s --retries=5 "
      "CMD curl -f http://localhost/\nHEALTHCHECK CMD [\"/bin/check\", \"-q\"]\nHEALTHCHECK none\n");
  const auto& h = only<HealthcheckInstruction>(df, 0, 0);
  EXPECT_EQ(h.test, (std::vector<std::string>{"CMD-SHELL", "curl -f http://localhost/"}));
  EXPECT_EQ(h.interval, 90'000'000'000);
  EXPECT_EQ(h.timeout, 3'000'000'000);
  EXPECT_EQ(h.startPeriod, 0);
  EXPECT_EQ(h.retries, 5);
  EXPECT_EQ(only<HealthcheckInstruction>(df, 0, 1).test,
            (std::vector<std::string>{"CMD", "/bin/check", "-q"}));
  EXPECT_EQ(only<HealthcheckInstruction>(df, 0, 2).test, (std::vector<std::string>{"NONE"}));
}

TEST(DockerfileInstructions, ErrorsNameLineAndText) {
  EXPECT_EQ(errorOf("FROM x\nRUNN echo hi\n"),
            "Dockerfile:2: unknown instruction: RUNN (did you mean RUN?): `RUNN echo hi`");
  EXPECT_EQ(errorOf("FROM x\ncopi a b\n"),
            "Dockerfile:2: unknown instruction: copi (did you mean COPY?): `copi a b`");
  EXPECT_EQ(errorOf("FROM x\nFLY away\n"), "Dockerfile:2: unknown instruction: FLY: `FLY away`");
  EXPECT_EQ(errorOf("FROM x\nCOPY --chwon=1 a b\n"),
            "Dockerfile:2: unknown flag: chwon (did you mean chown?): `COPY --chwon=1 a b`");
  EXPECT_EQ(errorOf("FROM x\nCOPY --from=a --from=b a b\n"),
            "Dockerfile:2: duplicate flag specified: from: `COPY --from=a --from=b a b`");
  EXPECT_EQ(errorOf("FROM x\nCOPY --from a b\n"),
            "Dockerfile:2: missing a value on flag: from: `COPY --from a b`");
  EXPECT_EQ(errorOf("FROM x\nCOPY --link=maybe a b\n"),
            "Dockerfile:2: expecting boolean value for flag link, not: maybe: `COPY --link=maybe a b`");
  EXPECT_EQ(errorOf("FROM x\nCOPY onlyone\n"),
            "Dockerfile:2: COPY requires at least two arguments, but only one was provided. "
            "Destination could not be determined: `COPY onlyone`");
  EXPECT_EQ(errorOf("FROM x\nWORKDIR\n"), "Dockerfile:2: WORKDIR requires exactly one argument: `WORKDIR`");
  EXPECT_EQ(std::get<WorkdirInstruction>(read("FROM x\nWORKDIR /my dir\n").stages[0].commands[0].instruction).path,
            "/my dir");
  EXPECT_EQ(errorOf("FROM x\nEXPOSE\n"), "Dockerfile:2: EXPOSE requires at least one argument: `EXPOSE`");
  EXPECT_EQ(errorOf("FROM x\nSHELL sh -c\n"),
            "Dockerfile:2: SHELL requires the arguments to be in JSON form: `SHELL sh -c`");
  EXPECT_EQ(errorOf("FROM x\nHEALTHCHECK --retries=0 CMD true\n"),
            "Dockerfile:2: --retries must be at least 1 (not 0): `HEALTHCHECK --retries=0 CMD true`");
  EXPECT_EQ(errorOf("FROM x\nHEALTHCHECK --interval=10 CMD true\n"),
            "Dockerfile:2: missing unit in duration \"10\": `HEALTHCHECK --interval=10 CMD true`");
  EXPECT_EQ(errorOf("FROM x\nHEALTHCHECK NONE extra\n"),
            "Dockerfile:2: HEALTHCHECK NONE takes no arguments: `HEALTHCHECK NONE extra`");
  EXPECT_EQ(errorOf("FROM x\nHEALTHCHECK RUN true\n"),
            "Dockerfile:2: Unknown type \"RUN\" in HEALTHCHECK (try CMD): `HEALTHCHECK RUN true`");
  EXPECT_EQ(errorOf("FROM x\nONBUILD ONBUILD RUN x\n"),
            "Dockerfile:2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed: `ONBUILD ONBUILD RUN x`");
  EXPECT_EQ(errorOf("FROM x\nONBUILD FROM y\n"),
            "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger: `ONBUILD FROM y`");
  EXPECT_EQ(errorOf("FROM x AS 1st\n"),
            "Dockerfile:1: invalid name for build stage: \"1st\", name can't start with a number or "
            "contain symbols: `FROM x AS 1st`");
  EXPECT_EQ(errorOf("FROM x y\n"), "Dockerfile:1: FROM requires either one or three arguments: `FROM x y`");
  EXPECT_EQ(errorOf("RUN echo\nFROM x\n"),
            "Dockerfile:1: RUN before the first FROM: no build stage in current context: `RUN echo`");
  EXPECT_EQ(errorOf("ARG A\n"), "Dockerfile:1: no FROM instruction: no build stage");
  EXPECT_EQ(errorOf("FROM x\nCOPY a <<EOF\nbody\nEOF\n"),
            "Dockerfile:2: COPY cannot accept a heredoc as a destination: `COPY a <<EOF`");
  EXPECT_EQ(errorOf("FROM x\nRUN --network=bridge2 true\n"),
            "Dockerfile:2: unsupported network mode \"bridge2\": `RUN --network=bridge2 true`");
  EXPECT_EQ(errorOf("FROM x\nRUN --mount=type=cache,targt=/x true\n"),
            "Dockerfile:2: unexpected key 'targt' in 'targt=/x': `RUN --mount=type=cache,targt=/x true`");
  EXPECT_EQ(errorOf("FROM x\nLABEL =v\n"), "Dockerfile:2: LABEL names can not be blank: `LABEL =v`");
  EXPECT_EQ(errorOf("FROM x\nVOLUME [\"\"]\n"),
            "Dockerfile:2: VOLUME specified can not be an empty string: `VOLUME [\"\"]`");
}

TEST(DockerfileInstructions, Suggestions) {
  EXPECT_EQ(suggest("ENTRYPIONT", instructionNames()), "ENTRYPOINT");
  EXPECT_EQ(suggest("worKdir", instructionNames()), "");  // itself, in another case
  EXPECT_EQ(suggest("XY", instructionNames()), "");
}

TEST(DockerfileMount, Kinds) {
  auto bind = parseMount("type=bind,source=/src,target=/dst,from=builder,rw");
  ASSERT_TRUE(bind) << bind.error().message();
  EXPECT_EQ(bind->type, Mount::Type::Bind);
  EXPECT_FALSE(bind->readOnly);
  EXPECT_EQ(bind->from, "builder");
  auto plain = parseMount("target=/x");
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->readOnly);
  auto tmpfs = parseMount("type=tmpfs,dst=/tmp,size=64m");
  ASSERT_TRUE(tmpfs);
  EXPECT_EQ(*tmpfs->size, 64 * 1024 * 1024);
  auto secret = parseMount("type=secret,id=token,required,mode=0400,uid=1");
  ASSERT_TRUE(secret);
  EXPECT_TRUE(secret->required);
  EXPECT_EQ(*secret->mode, 0400u);
  auto quoted = parseMount("type=bind,\"source=a,b\",target=/t");
  ASSERT_TRUE(quoted) << quoted.error().message();
  EXPECT_EQ(quoted->source, "a,b");
  EXPECT_FALSE(parseMount("type=nfs,target=/x"));
  EXPECT_FALSE(parseMount("type=cache"));
  EXPECT_FALSE(parseMount("type=cache,target=/x,sharing=maybe"));
  EXPECT_FALSE(parseMount("type=bind,target=/x,size=1g"));
}

TEST(GoDuration, Parses) {
  EXPECT_EQ(*parseGoDuration("0"), 0);
  EXPECT_EQ(*parseGoDuration("1.5h"), 5'400'000'000'000);
  EXPECT_EQ(*parseGoDuration("1h2m3s4ms5us6ns"), 3'723'004'005'006);
  EXPECT_EQ(*parseGoDuration("-2s"), -2'000'000'000);
  EXPECT_EQ(*parseGoDuration("300ms"), 300'000'000);
  EXPECT_EQ(*parseGoDuration("3\xC2\xB5s"), 3000);
  for (std::string_view bad : {"", "10", "s", "1x", ".s", "1..2s", "9999999999h", "--1s"})
    EXPECT_FALSE(parseGoDuration(bad)) << bad;
}

}  // namespace
}  // namespace strata::dockerfile
