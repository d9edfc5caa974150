// The runtime's plan and its pure parts (no root needed): Docker's defaults, describe(), user
// resolution, PATH lookup, overlay and mount options, path cleaning, exec failure mapping.
// Containers themselves run in runtime_run_test.cpp and runtime_exec_test.cpp.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "runtime/caps.h"
#include "runtime/mounts_internal.h"
#include "runtime/process_internal.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"
#include "runtime/users_internal.h"
#include "runtime_test_util.h"
#include "util/fs.h"

namespace strata::runtime {
namespace {

using detail::ExecUser;
using detail::resolveUser;

TEST(RuntimeSpec, DefaultCapabilitiesAreDockers) {
  // The CapEff Docker shows for root in a default container.
  EXPECT_EQ(defaultCapabilities(), 0xa80425fbULL);
  std::vector<std::string> names = caps::names(defaultCapabilities());
  EXPECT_EQ(names.size(), 14u);
  for (const char* n : {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                        "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                        "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
  EXPECT_EQ(defaultCapabilities() & (1ULL << 21), 0u) << "CAP_SYS_ADMIN must not be a default";
}

TEST(RuntimeSpec, DefaultMaskedAndReadonlyPaths) {
  std::vector<std::string> masked = defaultMaskedPaths();
  EXPECT_EQ(masked.size(), 11u);
  EXPECT_NE(std::find(masked.begin(), masked.end(), "/proc/kcore"), masked.end());
  EXPECT_NE(std::find(masked.begin(), masked.end(), "/sys/firmware"), masked.end());
  EXPECT_NE(std::find(masked.begin(), masked.end(), "/sys/devices/virtual/powercap"), masked.end());
  EXPECT_EQ(defaultReadonlyPaths(), (std::vector<std::string>{"/proc/bus", "/proc/fs", "/proc/irq",
                                                             "/proc/sys", "/proc/sysrq-trigger"}));
}

TEST(RuntimeSpec, DescribeShowsThePlan) {
  Spec s;
  s.id = "abc123";
  s.args = {"sh", "-c", "echo hi"};
  s.env = {"PATH=/bin", "A=b c"};
  s.user = "nobody";
  s.rootfs = {{"/l/top", "/l/base"}, "/c/upper", "/c/work"};
  s.rootfsMountPoint = "/c/merged";
  s.readonlyRootfs = true;
  s.mounts = {{"/host/data", "/data", "bind", {"rbind", "ro"}}};
  s.maskedPaths = {"/proc/kcore"};
  s.readonlyPaths = {"/proc/sys"};
  s.hostname = "abc123";
  s.capabilities = defaultCapabilities();
  s.resources.memoryBytes = 1 << 20;
  s.resources.pidsLimit = 10;
  std::string d = describe(s);
  for (const char* want :
       {"id: abc123\n", "args: [sh -c \"echo hi\"]\n", "env: [PATH=/bin \"A=b c\"]\n",
        "cwd: /\n", "user: nobody\n", "tty: false\n", "init: false\n",
        "rootfs: overlay lower=[/l/top:/l/base] upper=/c/upper work=/c/work on /c/merged (read-only)\n",
        "mount: bind /host/data -> /data [rbind,ro]\n", "masked: [/proc/kcore]\n",
        "readonly: [/proc/sys]\n", "hostname: abc123\n", "network: none (new namespace)\n",
        "namespaces: mount pid uts ipc net\n", "CAP_CHOWN", "CAP_AUDIT_WRITE",
        "no_new_privileges: true\n", "seccomp: default\n",
        "resources: memory=1048576 pids=10\n"}) {
    EXPECT_NE(d.find(want), std::string::npos) << "missing `" << want << "` in\n" << d;
  }
  s.network = NetworkMode::Host;
  s.seccomp = false;
  d = describe(s);
  EXPECT_NE(d.find("namespaces: mount pid uts ipc\n"), std::string::npos) << d;
  EXPECT_NE(d.find("seccomp: unconfined\n"), std::string::npos) << d;
}

const std::string kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "  \n"
    "alice:x:1000:1001:Alice:/home/alice:/bin/sh\n"
    "nohome:x:1002:1002::\n";
const std::string kGroup =
    "root:x:0:\n"
    "wheel:x:10:alice,daemon\n"
    "staff:x:50:alice\n"
    "alice:x:1001:\n"
    "video:x:44:\n";

TEST(RuntimeUsers, DefaultIsRootWithHomeFromPasswd) {
  ExecUser u = resolveUser("", kPasswd, kGroup, {}).value();
  EXPECT_EQ(u.uid, 0u);
  EXPECT_EQ(u.gid, 0u);
  EXPECT_EQ(u.home, "/root");
  EXPECT_TRUE(u.groups.empty());
  u = resolveUser("", std::nullopt, std::nullopt, {}).value();
  EXPECT_EQ(u.uid, 0u);
  EXPECT_EQ(u.home, "/");
}

TEST(RuntimeUsers, NameGivesUidGidHomeAndGroupMembership) {
  ExecUser u = resolveUser("alice", kPasswd, kGroup, {}).value();
  EXPECT_EQ(u.uid, 1000u);
  EXPECT_EQ(u.gid, 1001u);
  EXPECT_EQ(u.home, "/home/alice");
  EXPECT_EQ(u.groups, (std::vector<gid_t>{10, 50}));
  // A numeric uid that passwd has is the same user.
  u = resolveUser("1000", kPasswd, kGroup, {}).value();
  EXPECT_EQ(u.gid, 1001u);
  EXPECT_EQ(u.groups, (std::vector<gid_t>{10, 50}));
  EXPECT_EQ(resolveUser("nohome", kPasswd, kGroup, {}).value().home, "/");
}

TEST(RuntimeUsers, NumericUidWithoutEntryGetsGidZero) {
  ExecUser u = resolveUser("4242", kPasswd, kGroup, {}).value();
  EXPECT_EQ(u.uid, 4242u);
  EXPECT_EQ(u.gid, 0u);
  EXPECT_EQ(u.home, "/");
  u = resolveUser("4242:4343", std::nullopt, std::nullopt, {}).value();
  EXPECT_EQ(u.uid, 4242u);
  EXPECT_EQ(u.gid, 4343u);
}

TEST(RuntimeUsers, ExplicitGroupReplacesGidAndDropsMembership) {
  ExecUser u = resolveUser("alice:video", kPasswd, kGroup, {}).value();
  EXPECT_EQ(u.gid, 44u);
  EXPECT_TRUE(u.groups.empty());
  EXPECT_EQ(resolveUser("alice:77", kPasswd, kGroup, {}).value().gid, 77u);
}

TEST(RuntimeUsers, DockersErrors) {
  auto r = resolveUser("bob", kPasswd, kGroup, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "unable to find user bob: no matching entries in passwd file");
  r = resolveUser("bob", std::nullopt, std::nullopt, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "unable to find user bob: no matching entries in passwd file");
  r = resolveUser("alice:nogroup", kPasswd, kGroup, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "unable to find group nogroup: no matching entries in group file");
  r = resolveUser("-1", kPasswd, kGroup, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "uids and gids must be in range 0-2147483647");
}

TEST(RuntimeUsers, AdditionalGroupsByNameOrNumber) {
  ExecUser u = resolveUser("alice", kPasswd, kGroup, {"video", "12345", "video"}).value();
  EXPECT_EQ(u.groups, (std::vector<gid_t>{10, 50, 44, 12345}));
  auto r = resolveUser("", kPasswd, kGroup, {"nosuch"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "Unable to find group nosuch: no matching entries in group file");
}

TEST(RuntimeProcess, EnvGetsDockersPathAndHome) {
  EXPECT_EQ(detail::processEnv({"A=1"}, "/root"),
            (std::vector<std::string>{"A=1", kDefaultPath, "HOME=/root"}));
  EXPECT_EQ(detail::processEnv({"PATH=/x", "HOME=/h"}, "/root"),
            (std::vector<std::string>{"PATH=/x", "HOME=/h"}));
}

TEST(RuntimeProcess, LookPathFollowsGo) {
  auto dir = TempDir::create("/tmp", "strata-lookpath-");
  ASSERT_TRUE(dir);
  const std::string a = dir->path() + "/a", b = dir->path() + "/b";
  ASSERT_TRUE(mkdirAll(a));
  ASSERT_TRUE(mkdirAll(b + "/tool-dir"));
  testing::writeText(a + "/tool", "#!/bin/sh\n", 0644);  // not executable: skipped
  testing::writeText(b + "/tool", "#!/bin/sh\n", 0755);
  std::vector<std::string> env = {"PATH=/nonexistent", "PATH=" + a + ":" + b};
  EXPECT_EQ(detail::lookPath("tool", env).value(), b + "/tool");
  auto r = detail::lookPath("tool-dir", env);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "exec: \"tool-dir\": executable file not found in $PATH");
  EXPECT_EQ(execFailureOf(r.error()), ExecFailure::NotFound);
  r = detail::lookPath(a + "/tool", env);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), EACCES);
  EXPECT_EQ(execFailureOf(r.error()), ExecFailure::Permission);
  r = detail::lookPath(a + "/missing", env);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "exec: \"" + a + "/missing\": stat " + a + "/missing");
  EXPECT_EQ(execFailureOf(r.error()), ExecFailure::NotFound);
  EXPECT_EQ(detail::lookPath(b + "/tool", {}).value(), b + "/tool");
}

TEST(RuntimeProcess, ExecFailureMapping) {
  EXPECT_EQ(execFailureOf(Error(EINVAL, "mount overlay on /x")), ExecFailure::None);
  EXPECT_EQ(execFailureOf(Error(ENOEXEC, "exec: \"/bin/x\"")), ExecFailure::Permission);
  EXPECT_EQ(execFailureOf(Error(E2BIG, "exec: \"/bin/x\"")), ExecFailure::Other);
  Error wrapped = Error(0, "exec: \"x\": executable file not found in $PATH");
  wrapped.wrap("start container abc");
  EXPECT_EQ(execFailureOf(wrapped), ExecFailure::NotFound);
}

TEST(RuntimeOverlay, ShortListIsAbsolute) {
  Overlay o{{"/l/a:b", "/l/c"}, "/u,x", "/w"};
  auto r = detail::legacyOverlayOptions(o).value();
  EXPECT_EQ(r.data, "lowerdir=/l/a\\:b:/l/c,upperdir=/u\\,x,workdir=/w");
  EXPECT_EQ(r.chdirTo, "");
}

TEST(RuntimeOverlay, LongListBecomesRelativeToTheCommonDirectory) {
  Overlay o;
  const std::string base = "/var/lib/strata/overlay-snapshots/sha256";
  for (int i = 0; i < 50; ++i) {
    o.lowerDirs.push_back(base + "/" + testing::randomHex(64) + "/fs");
  }
  o.upperDir = "/var/lib/strata/containers/c/upper";
  o.workDir = "/var/lib/strata/containers/c/work";
  auto r = detail::legacyOverlayOptions(o).value();
  EXPECT_EQ(r.chdirTo, base);
  EXPECT_LE(r.data.size(), 4095u);
  EXPECT_TRUE(r.data.starts_with("lowerdir=" + o.lowerDirs[0].substr(base.size() + 1) + ":"))
      << r.data;
  EXPECT_NE(r.data.find(",upperdir=/var/lib/strata/containers/c/upper,"), std::string::npos);
  // Beyond what even relative names fit in.
  for (int i = 0; i < 100; ++i) o.lowerDirs.push_back(base + "/" + testing::randomHex(64) + "/fs");
  auto tooMany = detail::legacyOverlayOptions(o);
  ASSERT_FALSE(tooMany);
  EXPECT_EQ(tooMany.error().code(), E2BIG);
}

TEST(RuntimeMounts, ParseOptions) {
  auto o = detail::parseMountOptions({"/a", "/b", "bind", {"ro", "nosuid"}});
  EXPECT_TRUE(o.bind);
  EXPECT_TRUE(o.recursive);
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_RDONLY | MS_NOSUID));
  o = detail::parseMountOptions({"/a", "/b", "none", {"bind", "rw", "rprivate"}});
  EXPECT_TRUE(o.bind);
  EXPECT_FALSE(o.recursive);
  EXPECT_EQ(o.flags, 0u);
  EXPECT_EQ(o.propagation, static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  o = detail::parseMountOptions({"tmpfs", "/t", "tmpfs", {"nodev", "size=10m", "mode=1777"}});
  EXPECT_FALSE(o.bind);
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NODEV));
  EXPECT_EQ(o.data, "size=10m,mode=1777");
}

TEST(RuntimeMounts, PathComponentsStayInsideTheRoot) {
  using V = std::vector<std::string>;
  EXPECT_EQ(detail::pathComponents("/a/./b//c/"), (V{"a", "b", "c"}));
  EXPECT_EQ(detail::pathComponents("/../../etc/x/../passwd"), (V{"etc", "passwd"}));
  EXPECT_EQ(detail::pathComponents("/"), V{});
}

}  // namespace
}  // namespace strata::runtime
