// Cgroups: the layout read from mountinfo (no root needed), then real cgroups on this host
// (root): limits in the files, moving a process in, OOM kills, the pids limit, freezing, and
// removal that kills what is left. Every cgroup is strata/test-<random> and is removed again.
#include "runtime/cgroups.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>

#include "runtime/cgroups_internal.h"
#include "util/fs.h"

namespace strata::runtime::cgroups {
namespace {

using detail::Layout;

constexpr const char* kHybridMountInfo =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
    "90 41 0:35 /docker/x /mnt/memory\\040copy rw - cgroup cgroup rw,memory\n";

constexpr const char* kUnifiedMountInfo =
    "22 1 0:20 / /proc rw - proc proc rw\n"
    "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

TEST(CgroupsLayout, ParsesMountInfo) {
  auto mounts = detail::parseMountInfo(kHybridMountInfo);
  ASSERT_EQ(mounts.size(), 9u);  // the tmpfs is not a cgroup
  EXPECT_EQ(mounts[0].mountPoint, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(mounts[0].fsType, "cgroup");
  EXPECT_EQ(mounts[0].options, (std::vector<std::string>{"rw", "cpu", "cpuacct"}));
  EXPECT_EQ(mounts[8].root, "/docker/x");
  EXPECT_EQ(mounts[8].mountPoint, "/mnt/memory copy");
}

TEST(CgroupsLayout, HybridHostUsesV1Hierarchies) {
  auto l = detail::layoutFromMounts(detail::parseMountInfo(kHybridMountInfo));
  ASSERT_TRUE(l) << l.error().what();
  EXPECT_FALSE(l->unified);
  std::vector<std::pair<std::string, std::vector<std::string>>> got;
  for (const auto& h : l->hierarchies) got.emplace_back(h.mountPoint, h.controllers);
  // cpu and cpuacct share one directory; the bind mount of a sub-tree loses to the full one;
  // blkio and name=systemd are not used.
  EXPECT_EQ(got, (std::vector<std::pair<std::string, std::vector<std::string>>>{
                     {"/sys/fs/cgroup/memory", {"memory"}},
                     {"/sys/fs/cgroup/cpu,cpuacct", {"cpu", "cpuacct"}},
                     {"/sys/fs/cgroup/pids", {"pids"}},
                     {"/sys/fs/cgroup/freezer", {"freezer"}},
                     {"/sys/fs/cgroup/devices", {"devices"}},
                 }));
}

TEST(CgroupsLayout, UnifiedHostUsesTheCgroup2Mount) {
  auto l = detail::layoutFromMounts(detail::parseMountInfo(kUnifiedMountInfo));
  ASSERT_TRUE(l) << l.error().what();
  EXPECT_TRUE(l->unified);
  EXPECT_EQ(l->unifiedMount, "/sys/fs/cgroup");
  EXPECT_FALSE(detail::layoutFromMounts({}));
}

TEST(CgroupsLayout, KeyedValues) {
  const char* oomControl = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
  EXPECT_EQ(detail::keyedValue(oomControl, "oom_kill"), 3);
  EXPECT_EQ(detail::keyedValue(oomControl, "under_oom"), 0);
  EXPECT_EQ(detail::keyedValue(oomControl, "oom"), std::nullopt);
  EXPECT_EQ(detail::keyedValue("populated 1\nfrozen 0\n", "frozen"), 0);
}

TEST(Cgroups, RejectsIdsThatLeaveTheParent) {
  for (const char* id : {"", ".", "..", "../x", "a/b"}) {
    EXPECT_FALSE(create(id, {})) << id;
    EXPECT_FALSE(remove(id)) << id;
  }
}

// ---- real cgroups (root) ----

class CgroupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    auto l = detail::detectLayout();
    ASSERT_TRUE(l) << l.error().what();
    layout_ = *l;
    std::mt19937_64 rng{std::random_device{}()};
    char buf[32];
    std::snprintf(buf, sizeof buf, "test-%016llx", static_cast<unsigned long long>(rng()));
    id_ = buf;
  }
  void TearDown() override {
    if (id_.empty()) return;
    for (pid_t p : children_) ::kill(p, SIGKILL);
    EXPECT_TRUE(remove(id_));
    for (pid_t p : children_) ::waitpid(p, nullptr, 0);
    for (const auto& d : dirs()) EXPECT_FALSE(pathExists(d)) << d;
  }

  // The container's directory in every hierarchy (one on v2).
  std::vector<std::string> dirs() const {
    if (layout_.unified) return {layout_.unifiedMount + "/strata/" + id_};
    std::vector<std::string> out;
    for (const auto& h : layout_.hierarchies) out.push_back(h.mountPoint + "/strata/" + id_);
    return out;
  }
  // The directory holding controller's files ("" when it is not mounted).
  std::string dirFor(const std::string& controller) const {
    if (layout_.unified) return dirs()[0];
    for (const auto& h : layout_.hierarchies)
      for (const auto& c : h.controllers)
        if (c == controller) return h.mountPoint + "/strata/" + id_;
    return "";
  }
  std::string read(const std::string& path) {
    auto s = readFile(path);
    EXPECT_TRUE(s) << path << ": " << s.error().what();
    return s.value_or("");
  }

  // A child that waits until go() before running body, so it can be moved into the cgroup
  // first. body returns the child's exit status.
  struct Blocked {
    pid_t pid;
    UniqueFd go;
    void start() {
      char c = 1;
      (void)!::write(go.get(), &c, 1);
      go.reset();
    }
  };
  template <typename F>
  Blocked forkBlocked(F body) {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(p[1]);
      char c;
      if (::read(p[0], &c, 1) != 1) ::_exit(100);
      ::_exit(body());
    }
    ::close(p[0]);
    children_.push_back(pid);
    return Blocked{pid, UniqueFd(p[1])};
  }
  int waitFor(pid_t pid) {
    int st = 0;
    EXPECT_EQ(::waitpid(pid, &st, 0), pid);
    std::erase(children_, pid);
    return st;
  }

  Layout layout_;
  std::string id_;
  std::vector<pid_t> children_;
};

TEST_F(CgroupsTest, CreateWritesTheLimits) {
  Resources r;
  r.memoryBytes = 64 << 20;
  r.cpuQuotaUs = 50000;
  r.cpuPeriodUs = 100000;
  r.pidsLimit = 5;
  auto s = create(id_, r);
  ASSERT_TRUE(s) << s.error().what();
  for (const auto& d : dirs()) EXPECT_TRUE(isDirectory(d)) << d;

  std::string mem = dirFor("memory"), cpu = dirFor("cpu"), pidsDir = dirFor("pids");
  if (layout_.unified) {
    EXPECT_EQ(read(mem + "/memory.max"), "67108864\n");
    if (pathExists(mem + "/memory.swap.max")) {
      EXPECT_EQ(read(mem + "/memory.swap.max"), "0\n");
    }
    EXPECT_EQ(read(cpu + "/cpu.max"), "50000 100000\n");
    EXPECT_EQ(read(pidsDir + "/pids.max"), "5\n");
  } else {
    EXPECT_EQ(read(mem + "/memory.limit_in_bytes"), "67108864\n");
    if (pathExists(mem + "/memory.memsw.limit_in_bytes")) {
      EXPECT_EQ(read(mem + "/memory.memsw.limit_in_bytes"), "67108864\n");
    }
    EXPECT_EQ(read(cpu + "/cpu.cfs_quota_us"), "50000\n");
    EXPECT_EQ(read(cpu + "/cpu.cfs_period_us"), "100000\n");
    EXPECT_EQ(read(pidsDir + "/pids.max"), "5\n");
    std::string devices = dirFor("devices");
    if (!devices.empty()) {
      std::string list = read(devices + "/devices.list");
      EXPECT_EQ(list.find("a *:* rwm"), std::string::npos) << list;
      for (const char* rule : {"c 1:3 rwm", "c 1:9 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm",
                               "c *:* m", "b *:* m"})
        EXPECT_NE(list.find(rule), std::string::npos) << rule << " not in\n" << list;
    }
  }

  // Creating again over the existing cgroup with other limits (raising memory above memsw).
  r.memoryBytes = 128 << 20;
  r.pidsLimit = 0;  // unlimited
  s = create(id_, r);
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(read(pidsDir + "/pids.max"), "max\n");
  if (!layout_.unified) {
    EXPECT_EQ(read(mem + "/memory.limit_in_bytes"), "134217728\n");
    if (pathExists(mem + "/memory.memsw.limit_in_bytes")) {
      EXPECT_EQ(read(mem + "/memory.memsw.limit_in_bytes"), "134217728\n");
    }
  }
}

TEST_F(CgroupsTest, AddProcessMovesItAndRemoveKillsIt) {
  ASSERT_TRUE(create(id_, {}));
  Blocked child = forkBlocked([] {
    ::pause();
    return 0;
  });
  auto s = addProcess(id_, child.pid);
  ASSERT_TRUE(s) << s.error().what();
  std::string self = read("/proc/" + std::to_string(child.pid) + "/cgroup");
  std::string want = ":/strata/" + id_ + "\n";
  if (layout_.unified) {
    EXPECT_NE(self.find("0::/strata/" + id_ + "\n"), std::string::npos) << self;
  } else {
    for (const char* c : {"memory", "pids", "freezer", "devices"})
      EXPECT_NE(self.find(std::string(c) + want), std::string::npos) << c << "\n" << self;
  }
  auto p = pids(id_);
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ(*p, std::vector<pid_t>{child.pid});

  s = remove(id_);
  ASSERT_TRUE(s) << s.error().what();
  int st = waitFor(child.pid);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << st;
  for (const auto& d : dirs()) EXPECT_FALSE(pathExists(d)) << d;
  EXPECT_TRUE(remove(id_)) << "a missing cgroup is fine";
  EXPECT_FALSE(oomKilled(id_));
  auto none = pids(id_);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(CgroupsTest, ExceedingTheMemoryLimitIsAnOomKill) {
  Resources r;
  r.memoryBytes = 32 << 20;
  ASSERT_TRUE(create(id_, r));
  EXPECT_FALSE(oomKilled(id_));
  Blocked child = forkBlocked([] {
    // Touch 256 MiB, a page at a time; the limit stops it long before.
    size_t size = size_t{256} << 20;
    auto* p = static_cast<char*>(
        ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (p == MAP_FAILED) return 2;
    for (size_t i = 0; i < size; i += 4096) p[i] = 1;
    return 0;
  });
  ASSERT_TRUE(addProcess(id_, child.pid));
  child.start();
  int st = waitFor(child.pid);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << "status " << st;
  EXPECT_TRUE(oomKilled(id_));
}

TEST_F(CgroupsTest, PidsLimitStopsForks) {
  Resources r;
  r.pidsLimit = 5;
  ASSERT_TRUE(create(id_, r));
  // The child forks until fork fails and exits with how many it made (itself counts as one).
  Blocked child = forkBlocked([] {
    std::vector<pid_t> made;
    for (int i = 0; i < 20; ++i) {
      pid_t p = ::fork();
      if (p == 0) {
        ::pause();
        ::_exit(0);
      }
      if (p < 0) break;
      made.push_back(p);
    }
    for (pid_t p : made) ::kill(p, SIGKILL);
    for (pid_t p : made) ::waitpid(p, nullptr, 0);
    return static_cast<int>(made.size());
  });
  ASSERT_TRUE(addProcess(id_, child.pid));
  child.start();
  int st = waitFor(child.pid);
  ASSERT_TRUE(WIFEXITED(st)) << st;
  EXPECT_EQ(WEXITSTATUS(st), 4);
}

TEST_F(CgroupsTest, FreezeStopsTheProcessesAndThawResumesThem) {
  ASSERT_TRUE(create(id_, {}));
  auto* counter = static_cast<std::atomic<uint64_t>*>(::mmap(nullptr, sizeof(std::atomic<uint64_t>),
                                                             PROT_READ | PROT_WRITE,
                                                             MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(counter, MAP_FAILED);
  new (counter) std::atomic<uint64_t>(0);
  Blocked child = forkBlocked([counter] {
    for (;;) counter->fetch_add(1, std::memory_order_relaxed);
    return 0;
  });
  ASSERT_TRUE(addProcess(id_, child.pid));
  child.start();
  while (counter->load() == 0) std::this_thread::yield();

  auto s = freeze(id_, true);
  ASSERT_TRUE(s) << s.error().what();
  if (layout_.unified) {
    EXPECT_EQ(detail::keyedValue(read(dirs()[0] + "/cgroup.events"), "frozen"), 1);
  } else {
    EXPECT_EQ(read(dirFor("freezer") + "/freezer.state"), "FROZEN\n");
  }
  uint64_t before = counter->load();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(counter->load(), before) << "a frozen process ran";

  s = freeze(id_, false);
  ASSERT_TRUE(s) << s.error().what();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_GT(counter->load(), before) << "a thawed process did not run";

  // remove() of a frozen cgroup still kills it.
  ASSERT_TRUE(freeze(id_, true));
  s = remove(id_);
  ASSERT_TRUE(s) << s.error().what();
  int st = waitFor(child.pid);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << st;
  ::munmap(counter, sizeof(std::atomic<uint64_t>));
}

// The v2 backend against a cgroup2 tree: the host's on a v2 host; on a hybrid host the empty
// unified tree, where the core files (cgroup.procs, cgroup.freeze, cgroup.kill) work but no
// controller is available.
TEST_F(CgroupsTest, V2BackendOnAUnifiedTree) {
  Layout v2;
  v2.unified = true;
  if (layout_.unified) {
    v2 = layout_;
  } else {
    auto mounts = detail::parseMountInfo(read("/proc/self/mountinfo"));
    for (const auto& m : mounts)
      if (m.fsType == "cgroup2" && m.root == "/") v2.unifiedMount = m.mountPoint;
    if (v2.unifiedMount.empty()) GTEST_SKIP() << "no cgroup2 mount";
  }
  const detail::Backend& b = detail::kV2Backend;
  std::string dir = v2.unifiedMount + "/strata/" + id_;
  struct Cleanup {
    const Layout& l;
    const std::string& id;
    ~Cleanup() { (void)detail::kV2Backend.remove(l, id); }
  } cleanup{v2, id_};

  if (!layout_.unified) {
    Resources limited;
    limited.memoryBytes = 32 << 20;
    auto s = b.create(v2, id_, limited);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), ENOTSUP) << s.error().what();
  }
  auto s = b.create(v2, id_, {});
  ASSERT_TRUE(s) << s.error().what();
  ASSERT_TRUE(isDirectory(dir));

  auto* counter = static_cast<std::atomic<uint64_t>*>(::mmap(nullptr, sizeof(std::atomic<uint64_t>),
                                                             PROT_READ | PROT_WRITE,
                                                             MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(counter, MAP_FAILED);
  new (counter) std::atomic<uint64_t>(0);
  Blocked child = forkBlocked([counter] {
    for (;;) counter->fetch_add(1, std::memory_order_relaxed);
    return 0;
  });
  s = b.addProcess(v2, id_, child.pid);
  ASSERT_TRUE(s) << s.error().what();
  child.start();
  EXPECT_NE(read("/proc/" + std::to_string(child.pid) + "/cgroup").find("0::/strata/" + id_),
            std::string::npos);
  auto p = b.pids(v2, id_);
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ(*p, std::vector<pid_t>{child.pid});

  if (pathExists(dir + "/cgroup.freeze")) {
    while (counter->load() == 0) std::this_thread::yield();
    s = b.freeze(v2, id_, true);
    ASSERT_TRUE(s) << s.error().what();
    uint64_t before = counter->load();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(counter->load(), before) << "a frozen process ran";
    s = b.freeze(v2, id_, false);
    ASSERT_TRUE(s) << s.error().what();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_GT(counter->load(), before) << "a thawed process did not run";
    ASSERT_TRUE(b.freeze(v2, id_, true));  // remove() must kill it anyway
  }
  EXPECT_FALSE(b.oomKilled(v2, id_));

  s = b.remove(v2, id_);
  ASSERT_TRUE(s) << s.error().what();
  int st = waitFor(child.pid);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << st;
  EXPECT_FALSE(pathExists(dir));
  EXPECT_TRUE(b.remove(v2, id_)) << "a missing cgroup is fine";
  ::munmap(counter, sizeof(std::atomic<uint64_t>));
}

}  // namespace
}  // namespace strata::runtime::cgroups
