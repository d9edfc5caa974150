// Container records and the rules that turn flags and an image into one (no root needed).
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>

#include "container/attach.h"
#include "container/create.h"
#include "container/lifecycle.h"
#include "container/record.h"
#include "util/fs.h"

namespace strata::container {
namespace {

image::Loaded imageWith(std::optional<std::vector<std::string>> entrypoint,
                        std::optional<std::vector<std::string>> cmd) {
  image::Loaded img;
  img.record.id = oci::Digest::of("config");
  img.config.config.entrypoint = std::move(entrypoint);
  img.config.config.cmd = std::move(cmd);
  img.config.config.env = {"PATH=/bin", "A=image"};
  img.config.config.workingDir = "/srv";
  return img;
}

const std::string kId(64, 'a');

TEST(Compose, CommandRulesFollowDocker) {
  CreateOptions o;
  o.image = "img";
  // Image CMD alone.
  auto r = compose(o, imageWith(std::nullopt, std::vector<std::string>{"sh"}), kId);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->path, (std::vector<std::string>{"sh"}));
  // Run arguments replace CMD and follow ENTRYPOINT.
  o.command = {"-c", "echo hi"};
  r = compose(o, imageWith(std::vector<std::string>{"/bin/sh"}, std::vector<std::string>{"-l"}), kId);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->path, (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
  // --entrypoint replaces ENTRYPOINT and drops the image's CMD.
  o.command.clear();
  o.entrypoint = "/bin/echo";
  r = compose(o, imageWith(std::vector<std::string>{"/bin/sh"}, std::vector<std::string>{"-l"}), kId);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->path, (std::vector<std::string>{"/bin/echo"}));
  // Nothing to run is an error.
  o.entrypoint = "";
  auto none = compose(o, imageWith(std::nullopt, std::nullopt), kId);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().what(), "No command specified");
}

TEST(Compose, EnvWorkdirHostnameAndLimits) {
  CreateOptions o;
  o.image = "img";
  o.env = {"A=flag", "B=2"};
  o.memory = "32m";
  o.cpus = "0.5";
  o.pidsLimit = 10;
  auto r = compose(o, imageWith(std::nullopt, std::vector<std::string>{"sh"}), kId);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->config.env, (std::vector<std::string>{"PATH=/bin", "A=flag", "B=2"}));
  EXPECT_EQ(r->config.workingDir, "/srv");
  EXPECT_EQ(r->hostname, kId.substr(0, 12));
  EXPECT_EQ(r->host.memory, 32 * 1024 * 1024);
  EXPECT_EQ(r->host.nanoCpus, 500000000);
  EXPECT_EQ(r->host.pidsLimit, 10);
  // The process environment adds what Docker adds at start, without changing the record.
  r->tty = true;
  auto env = processEnv(*r);
  EXPECT_NE(std::find(env.begin(), env.end(), "HOSTNAME=" + kId.substr(0, 12)), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), "TERM=xterm"), env.end());
  EXPECT_EQ(std::count_if(env.begin(), env.end(), [](auto& e) { return e.rfind("PATH=", 0) == 0; }), 1);
}

TEST(Compose, BadFlagsAreNamed) {
  CreateOptions o;
  o.image = "img";
  auto img = imageWith(std::nullopt, std::vector<std::string>{"sh"});
  o.memory = "lots";
  auto r = compose(o, img, kId);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("\"lots\""), std::string::npos);
  o.memory = "1m";
  EXPECT_NE(compose(o, img, kId).error().what().find("Minimum memory limit"), std::string::npos);
  o.memory.clear();
  o.workdir = "relative";
  EXPECT_FALSE(compose(o, img, kId));
  o.workdir.clear();
  o.volumes = {"/a:/b:zz"};
  EXPECT_NE(compose(o, img, kId).error().what().find("invalid volume specification"), std::string::npos);
  o.volumes = {"/a:relative"};
  EXPECT_FALSE(compose(o, img, kId));
  o.volumes = {"data:/data:ro", "/host:/ctr"};
  auto ok = compose(o, img, kId);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->host.binds.size(), 2u);
  EXPECT_TRUE(ok->host.binds[0].isVolume);
  EXPECT_TRUE(ok->host.binds[0].readOnly);
  EXPECT_FALSE(ok->host.binds[1].isVolume);
  o.volumes.clear();
  o.restart = "sometimes";
  EXPECT_FALSE(compose(o, img, kId));
  o.restart = "on-failure:3";
  auto rp = compose(o, img, kId);
  ASSERT_TRUE(rp);
  EXPECT_EQ(rp->host.restartMaxRetries, 3);
}

TEST(Compose, EnvFileAndHostEnv) {
  auto dir = TempDir::create("/tmp", "strata-envfile-");
  ASSERT_TRUE(dir);
  std::string f = dir->path() + "/env";
  ASSERT_TRUE(writeFileAtomic(f, "# comment\nX=1\n\nFROM_HOST\nY=two words\n"));
  ::setenv("FROM_HOST", "host-value", 1);
  auto env = userEnv({"Z=3", "UNSET_VARIABLE_XYZ"}, {f});
  ASSERT_TRUE(env) << env.error().what();
  EXPECT_EQ(*env, (std::vector<std::string>{"X=1", "FROM_HOST=host-value", "Y=two words", "Z=3"}));
  ASSERT_TRUE(writeFileAtomic(f, "BAD KEY=1\n"));
  auto bad = userEnv({}, {f});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find(f + ":1"), std::string::npos);
}

TEST(Record, JsonRoundTrip) {
  Record r;
  r.id = kId;
  r.name = "web";
  r.created = "2024-01-01T00:00:00Z";
  r.image = oci::Digest::of("x");
  r.imageName = "busybox";
  r.config.cmd = std::vector<std::string>{"sh"};
  r.config.env = {"A=1"};
  r.hostname = "h";
  r.tty = true;
  r.path = {"sh", "-c", "true"};
  r.host.binds.push_back({"/src", "/dst", true, false});
  r.host.memory = 1 << 25;
  r.host.restartPolicy = "always";
  auto back = recordFromJson(recordToJson(r).dump());
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(back->name, "web");
  EXPECT_EQ(back->image, r.image);
  EXPECT_EQ(back->path, r.path);
  EXPECT_EQ(back->host.binds[0].destination, "/dst");
  EXPECT_TRUE(back->host.binds[0].readOnly);
  EXPECT_EQ(back->host.memory, 1 << 25);
  EXPECT_EQ(back->host.restartPolicy, "always");
  EXPECT_TRUE(back->tty);
  EXPECT_EQ(recordToJson(r)["Image"], r.image.str());  // what the image-in-use check reads

  State s;
  s.status = RunStatus::Exited;
  s.exitCode = 137;
  s.oomKilled = true;
  auto sb = stateFromJson(stateToJson(s).dump());
  ASSERT_TRUE(sb);
  EXPECT_EQ(sb->status, RunStatus::Exited);
  EXPECT_EQ(sb->exitCode, 137);
  EXPECT_TRUE(sb->oomKilled);
  EXPECT_FALSE(stateFromJson("{\"Status\":\"weird\"}"));
}

TEST(Names, DockerRules) {
  EXPECT_TRUE(validName("web"));
  EXPECT_TRUE(validName("a.b-c_d"));
  EXPECT_FALSE(validName("-web"));
  EXPECT_FALSE(validName("w"));
  EXPECT_FALSE(validName("we b"));
  EXPECT_TRUE(validName(randomName()));
  std::string id = newContainerId();
  EXPECT_EQ(id.size(), 64u);
  EXPECT_NE(id, newContainerId());
}

TEST(Signals, ParseLikeDocker) {
  EXPECT_EQ(*parseSignal("TERM"), SIGTERM);
  EXPECT_EQ(*parseSignal("sigkill"), SIGKILL);
  EXPECT_EQ(*parseSignal("9"), 9);
  EXPECT_EQ(*parseSignal("SIGUSR1"), SIGUSR1);
  EXPECT_FALSE(parseSignal("NOPE"));
  EXPECT_FALSE(parseSignal("0"));
}

TEST(Attach, FramesAndDetachKeys) {
  FrameParser p;
  std::string wire = std::string("\x03\x00\x00\x00\x02hi", 7) + std::string("\x05\x00\x00\x00\x04\x00\x00\x00\x7f", 9);
  p.feed(wire.data(), 3);
  EXPECT_FALSE(p.next());
  p.feed(wire.data() + 3, wire.size() - 3);
  auto a = p.next();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->first, Frame::Stdout);
  EXPECT_EQ(a->second, "hi");
  auto b = p.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->first, Frame::Exit);
  EXPECT_EQ(b->second.size(), 4u);
  EXPECT_FALSE(p.next());
  EXPECT_EQ(*parseDetachKeys("ctrl-p,ctrl-q"), std::string("\x10\x11"));
  EXPECT_EQ(*parseDetachKeys("a,ctrl-a"), std::string("a\x01"));
  EXPECT_FALSE(parseDetachKeys("ctrl-1"));
  EXPECT_FALSE(parseDetachKeys("abc"));
}

TEST(Memory, DockerUnits) {
  EXPECT_EQ(*parseMemory("6m"), 6 * 1024 * 1024);
  EXPECT_EQ(*parseMemory("1g"), int64_t(1) << 30);
  EXPECT_EQ(*parseMemory("1GB"), int64_t(1) << 30);
  EXPECT_EQ(*parseMemory("104857600"), 104857600);
  EXPECT_FALSE(parseMemory("10x"));
  EXPECT_FALSE(parseMemory("m"));
}

}  // namespace
}  // namespace strata::container
