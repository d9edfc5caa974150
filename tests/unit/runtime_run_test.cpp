// start(): real containers from a busybox root (root only; skipped otherwise).
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <string>

#include "runtime/runtime.h"
#include "runtime_test_util.h"
#include "util/fs.h"

namespace strata::runtime {
namespace {

using testing::ContainerTest;
using testing::Output;

class RuntimeRun : public ContainerTest {
 protected:
  Output mustRun(const Spec& spec, const std::string* input = nullptr) {
    Result<Output> r = run(spec, input);
    EXPECT_TRUE(r) << r.error().what();
    return r ? *r : Output{};
  }
  Output runCmd(std::vector<std::string> args) { return mustRun(makeSpec(std::move(args))); }
};

TEST_F(RuntimeRun, CommandIsPidOne) {
  Output o = runCmd({"sh", "-c", "echo $$"});
  EXPECT_EQ(o.out, "1\n");
  EXPECT_EQ(o.err, "");
  EXPECT_EQ(o.status, 0);
}

TEST_F(RuntimeRun, ExitStatusAndStdin) {
  EXPECT_EQ(runCmd({"sh", "-c", "exit 3"}).status, 3);
  EXPECT_EQ(runCmd({"sh", "-c", "echo oops >&2; kill -9 $$"}).err, "oops\n");
  std::string input = "hello from stdin\n";
  Output o = mustRun(makeSpec({"cat"}), &input);
  EXPECT_EQ(o.out, input);
}

TEST_F(RuntimeRun, HostnameIsSet) {
  EXPECT_EQ(runCmd({"hostname"}).out, "testhost\n");
}

TEST_F(RuntimeRun, OnlyTheContainersProcessesAreVisible) {
  Output o = runCmd({"sh", "-c", "cd /proc && echo [0-9]*"});
  EXPECT_EQ(o.out, "1\n");
}

TEST_F(RuntimeRun, UserByNameAndNumber) {
  Spec s = makeSpec({"sh", "-c", "id -u; id -g; id -G; echo $HOME"});
  s.user = "nobody";
  EXPECT_EQ(mustRun(s).out, "65534\n65534\n65534 50\n/home/nobody\n");
  s.user = "1234";
  EXPECT_EQ(mustRun(s).out, "1234\n0\n0\n/\n");
  s.user = "nobody:5";
  s.additionalGroups = {"root"};
  EXPECT_EQ(mustRun(s).out, "65534\n5\n5 0\n/home/nobody\n");
}

TEST_F(RuntimeRun, UnknownUserFailsWithDockersWording) {
  Spec s = makeSpec({"id"});
  s.user = "foo";
  auto r = start(s, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "unable to find user foo: no matching entries in passwd file");
  EXPECT_EQ(execFailureOf(r.error()), ExecFailure::None);
  EXPECT_EQ(testing::mountsMentioning(dir_.path()), 0);
  EXPECT_TRUE(cleanup(s));
}

TEST_F(RuntimeRun, MissingOrUnrunnableExecutable) {
  auto r = start(makeSpec({"nosuch"}), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "exec: \"nosuch\": executable file not found in $PATH");
  EXPECT_EQ(execFailureOf(r.error()), ExecFailure::NotFound);
  r = start(makeSpec({"/bin/nosuch"}), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(execFailureOf(r.error()), ExecFailure::NotFound) << r.error().what();
  r = start(makeSpec({"/etc/passwd"}), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(execFailureOf(r.error()), ExecFailure::Permission) << r.error().what();
  // Not executable as a program: the kernel refuses it at execve (no #! and no ELF header).
  testing::writeText(lower_ + "/bin/garbage", "garbage", 0755);
  r = start(makeSpec({"garbage"}), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ENOEXEC) << r.error().what();
  EXPECT_EQ(execFailureOf(r.error()), ExecFailure::Permission);
}

TEST_F(RuntimeRun, WorkingDirectoryIsCreatedForTheUser) {
  Spec s = makeSpec({"sh", "-c", "pwd; stat -c %u:%g /work/dir; touch mine && echo ok"});
  s.cwd = "/work/dir";
  s.user = "nobody";
  Output o = mustRun(s);
  EXPECT_EQ(o.out, "/work/dir\n65534:65534\nok\n") << o.err;
}

TEST_F(RuntimeRun, EnvironmentIsPassed) {
  Spec s = makeSpec({"sh", "-c", "echo $FOO; echo $HOME; echo $PATH"});
  s.env = {"FOO=bar baz"};
  EXPECT_EQ(mustRun(s).out,
            "bar baz\n/root\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
}

TEST_F(RuntimeRun, ReadonlyRootfs) {
  Spec s = makeSpec({"sh", "-c", "touch /x || echo refused; touch /dev/shm/y && echo shm-ok"});
  s.readonlyRootfs = true;
  Output o = mustRun(s);
  EXPECT_EQ(o.out, "refused\nshm-ok\n");
  EXPECT_NE(o.err.find("Read-only file system"), std::string::npos) << o.err;
}

TEST_F(RuntimeRun, BindMountsReadWriteAndReadOnly) {
  const std::string host = dir_.path() + "/host";
  ASSERT_TRUE(mkdirAll(host));
  testing::writeText(host + "/f", "from host\n");
  testing::writeText(dir_.path() + "/single", "one file\n");
  Spec s = makeSpec({"sh", "-c",
                     "cat /data/f; echo new > /data/new; cat /deep/er/single;"
                     "touch /ro/x 2>/dev/null || echo ro-refused"});
  s.mounts = {{host, "/data", "bind", {"rbind", "rw"}},
              {host, "/ro", "bind", {"ro"}},
              {dir_.path() + "/single", "/deep/er/single", "bind", {"ro"}}};
  Output o = mustRun(s);
  EXPECT_EQ(o.out, "from host\none file\nro-refused\n") << o.err;
  EXPECT_EQ(readFile(host + "/new").value_or(""), "new\n");
  EXPECT_FALSE(pathExists(host + "/x"));
}

TEST_F(RuntimeRun, SymlinkInTheImageCannotRedirectAMount) {
  // /escape -> /tmp/.. -> ... all resolve inside the root, never to the host's directory.
  const std::string host = dir_.path() + "/host";
  ASSERT_TRUE(mkdirAll(host));
  ASSERT_EQ(::symlink(("../../../../../../.." + dir_.path() + "/victim").c_str(),
                      (lower_ + "/escape").c_str()), 0);
  ASSERT_TRUE(mkdirAll(dir_.path() + "/victim"));
  Spec s = makeSpec({"true"});
  s.args = {"sh", "-c", "echo ok"};
  s.mounts = {{host, "/escape", "bind", {"rbind"}}};
  Output o = mustRun(s);
  EXPECT_EQ(o.out, "ok\n") << o.err;
  // The mount went to <root>/<dir>/victim, created in the container's upper layer.
  EXPECT_TRUE(isDirectory(upper_ + dir_.path() + "/victim"));
}

TEST_F(RuntimeRun, MaskedAndReadonlyPaths) {
  // Which of Docker's masked paths exist depends on the kernel; check those the host has.
  std::string script;
  std::string want;
  for (const char* file : {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug"}) {
    if (!pathExists(file)) continue;
    script += std::string("wc -c < ") + file + ";";
    want += "0\n";
  }
  for (const char* dir : {"/proc/acpi", "/proc/scsi", "/sys/firmware"}) {
    if (!isDirectory(dir)) continue;
    script += std::string("ls ") + dir + " | wc -l;";
    want += "0\n";
  }
  ASSERT_FALSE(want.empty()) << "no masked path exists on this host";
  script += "echo x > /proc/sys/kernel/hostname 2>/dev/null || echo sys-refused;";
  script += "grep -c ' /proc/sys proc ro,' /proc/mounts";
  want += "sys-refused\n1\n";
  Output o = runCmd({"sh", "-c", script});
  EXPECT_EQ(o.out, want) << o.err;
}

TEST_F(RuntimeRun, DevicesAndSpecialFileSystems) {
  Output o = runCmd({"sh", "-c",
                      "head -c 5 /dev/urandom | wc -c; echo x > /dev/null && echo null-ok;"
                      "stat -c '%F %t,%T %a' /dev/zero; readlink /dev/ptmx; readlink /dev/fd;"
                      "grep -c ' /dev/mqueue mqueue ' /proc/mounts;"
                      "grep ' /sys sysfs ' /proc/mounts | grep -c ro,;"
                      "ls /sys/class/net"});
  EXPECT_EQ(o.out,
            "5\nnull-ok\ncharacter special file 1,5 666\npts/ptmx\n/proc/self/fd\n1\n1\nlo\n")
      << o.err;
}

TEST_F(RuntimeRun, CapabilitiesAndNoNewPrivs) {
  Output o = runCmd({"sh", "-c", "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status"});
  EXPECT_EQ(o.out,
            "CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nNoNewPrivs:\t1\nSeccomp:\t2\n");
  Spec s = makeSpec({"sh", "-c", "grep -E '^(CapEff|CapPrm):' /proc/self/status"});
  s.user = "nobody";
  EXPECT_EQ(mustRun(s).out, "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n");
}

TEST_F(RuntimeRun, SeccompWithoutNoNewPrivsIsLoadedBeforeTheUserChange) {
  Spec s = makeSpec({"sh", "-c", "id -u; grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status"});
  s.user = "nobody";
  s.noNewPrivileges = false;
  EXPECT_EQ(mustRun(s).out, "65534\nNoNewPrivs:\t0\nSeccomp:\t2\n");
}

TEST_F(RuntimeRun, TheProcessIsInTheContainersCgroup) {
  Spec s = makeSpec({"cat", "/proc/self/cgroup"});
  Output o = mustRun(s);
  EXPECT_NE(o.out.find(":memory:"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("/" + s.id + "\n"), std::string::npos) << o.out;
}

TEST_F(RuntimeRun, HostNetworkSharesTheHostsInterfaces) {
  auto host = listDirectory("/sys/class/net");
  ASSERT_TRUE(host);
  Spec s = makeSpec({"sh", "-c", "ls /sys/class/net | wc -l; grep -c ' /sys sysfs ro,' /proc/mounts"});
  s.network = NetworkMode::Host;
  EXPECT_EQ(mustRun(s).out, std::to_string(host->size()) + "\n1\n");
}

TEST_F(RuntimeRun, SeccompRefusesMountEvenWithAllCapabilities) {
  Spec s = makeSpec({"sh", "-c", "mkdir -p /m && mount -t tmpfs x /m && echo mounted"});
  s.capabilities = 0;  // every capability this process's bounding set has
  for (int c = 0; c < 64; ++c) {
    if (::prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1) s.capabilities |= 1ULL << c;
  }
  Output o = mustRun(s);
  EXPECT_NE(o.status, 0);
  EXPECT_EQ(o.out, "");
  EXPECT_NE(o.err.find("permission denied"), std::string::npos) << o.err;  // busybox's EPERM
  s.seccomp = false;  // the same with the filter off works: it was the filter
  o = mustRun(s);
  EXPECT_EQ(o.out, "mounted\n") << o.err;
}

TEST_F(RuntimeRun, OverlayUpperGetsTheWritesAndNoMountIsLeftOnTheHost) {
  Output o = runCmd({"sh", "-c", "echo hi > /written; rm /bin/touch; echo done"});
  EXPECT_EQ(o.out, "done\n") << o.err;
  EXPECT_EQ(readFile(upper_ + "/written").value_or(""), "hi\n");
  EXPECT_FALSE(pathExists(lower_ + "/written"));
  EXPECT_TRUE(pathExists(lower_ + "/bin/touch"));  // the layer is untouched; upper has a whiteout
  struct stat st;
  ASSERT_EQ(::lstat((upper_ + "/bin/touch").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(testing::mountsMentioning(dir_.path()), 0);  // the overlay lived in the container's namespace
}

TEST_F(RuntimeRun, ManyLayers) {
  // 60 layers with long paths: past one page of lowerdir= options.
  Spec s = makeSpec({"sh", "-c", "cat /which; ls /layers | wc -l"});
  std::vector<std::string> layers;
  const std::string base = dir_.path() + "/layers-with-a-rather-long-directory-name";
  for (int i = 0; i < 60; ++i) {
    std::string d = base + "/" + testing::randomHex(64) + "-" + std::to_string(i);
    ASSERT_TRUE(mkdirAll(d + "/layers"));
    testing::writeText(d + "/layers/" + std::to_string(i), "");
    testing::writeText(d + "/which", std::to_string(i) + "\n");
    layers.push_back(d);
  }
  s.rootfs.lowerDirs = layers;  // top-most first: layer 0 wins
  s.rootfs.lowerDirs.push_back(lower_);
  Output o = mustRun(s);
  EXPECT_EQ(o.out, "0\n60\n") << o.err;
}

TEST_F(RuntimeRun, MountErrorNamesTheStep) {
  Spec s = makeSpec({"true"});
  s.rootfs.lowerDirs = {dir_.path() + "/no-such-layer"};
  auto r = start(s, {});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message().starts_with("mount overlay on " + mnt_)) << r.error().what();
  EXPECT_NE(r.error().code(), 0);
}

}  // namespace
}  // namespace strata::runtime
