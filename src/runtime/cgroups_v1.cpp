// cgroup v1 (and hybrid hosts): one directory strata/<id> in each controller's hierarchy.
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "runtime/cgroups_internal.h"
#include "util/fs.h"

namespace strata::runtime::cgroups::detail {
namespace {

// Docker's default device rules: every device denied, then null, zero, full, random, urandom,
// tty, console, ptmx, the pts slaves and tun usable; mknod of any node is left to seccomp.
constexpr const char* kAllowedDevices[] = {
    "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",   "c 1:8 rwm",    "c 1:9 rwm", "c 5:0 rwm",
    "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm", "c *:* m",   "b *:* m",
};

std::string dirOf(const Hierarchy& h, const std::string& id) {
  return h.mountPoint + "/" + kParent + "/" + id;
}

// The container's directory in the hierarchy carrying controller, or "" when it is not mounted.
std::string controllerDir(const Layout& l, std::string_view controller, const std::string& id) {
  for (const Hierarchy& h : l.hierarchies)
    if (std::find(h.controllers.begin(), h.controllers.end(), controller) != h.controllers.end())
      return dirOf(h, id);
  return "";
}

Result<std::string> requireController(const Layout& l, std::string_view controller,
                                      const std::string& id) {
  std::string dir = controllerDir(l, controller, id);
  if (dir.empty())
    return failInvalid("the " + std::string(controller) + " cgroup controller is not mounted");
  return dir;
}

// memsw (memory + swap) must stay >= the memory limit at every step: when the new limit is
// above the current memsw, memsw goes first; otherwise the limit goes first.
Status setMemory(const std::string& dir, int64_t bytes) {
  std::string v = std::to_string(bytes);
  bool hasMemsw = pathExists(dir + "/memory.memsw.limit_in_bytes");
  auto limit = writeControl(dir, "memory.limit_in_bytes", v);
  if (!limit && limit.error().code() == EINVAL && hasMemsw) {
    TRYV(writeControl(dir, "memory.memsw.limit_in_bytes", v));
    return writeControl(dir, "memory.limit_in_bytes", v);
  }
  TRYV(limit);
  if (hasMemsw) TRYV(writeControl(dir, "memory.memsw.limit_in_bytes", v));
  return {};
}

Status setDevices(const std::string& dir) {
  TRYV(writeControl(dir, "devices.deny", "a"));
  for (const char* rule : kAllowedDevices) TRYV(writeControl(dir, "devices.allow", rule));
  return {};
}

Status create(const Layout& l, const std::string& id, const Resources& r) {
  for (const Hierarchy& h : l.hierarchies) TRYV(mkdirAll(dirOf(h, id)));
  if (r.memoryBytes && *r.memoryBytes > 0)
    TRYV(setMemory(TRY(requireController(l, "memory", id)), *r.memoryBytes));
  if (r.cpuQuotaUs && *r.cpuQuotaUs > 0) {
    std::string dir = TRY(requireController(l, "cpu", id));
    TRYV(writeControl(dir, "cpu.cfs_period_us", std::to_string(r.cpuPeriodUs)));
    TRYV(writeControl(dir, "cpu.cfs_quota_us", std::to_string(*r.cpuQuotaUs)));
  }
  if (r.pidsLimit) {
    std::string dir = TRY(requireController(l, "pids", id));
    TRYV(writeControl(dir, "pids.max", *r.pidsLimit > 0 ? std::to_string(*r.pidsLimit) : "max"));
  }
  if (std::string dir = controllerDir(l, "devices", id); !dir.empty()) TRYV(setDevices(dir));
  return {};
}

Status addProcess(const Layout& l, const std::string& id, pid_t pid) {
  for (const Hierarchy& h : l.hierarchies)
    TRYV_CTX(writeControl(dirOf(h, id), "cgroup.procs", std::to_string(pid)),
             "move process " + std::to_string(pid) + " into cgroup " + id);
  return {};
}

std::vector<std::string> existingDirs(const Layout& l, const std::string& id) {
  std::vector<std::string> dirs;
  for (const Hierarchy& h : l.hierarchies)
    if (isDirectory(dirOf(h, id))) dirs.push_back(dirOf(h, id));
  return dirs;
}

Status remove(const Layout& l, const std::string& id) {
  std::vector<std::string> dirs = existingDirs(l, id);
  if (dirs.empty()) return {};
  // A frozen task does not act on SIGKILL until thawed.
  if (std::string f = controllerDir(l, "freezer", id); !f.empty() && isDirectory(f))
    (void)writeControl(f, "freezer.state", "THAWED");
  TRYV(killAll(dirs));
  for (const std::string& d : dirs) TRYV(removeCgroupDir(d));
  return {};
}

// Writing FROZEN starts freezing; freezer.state reads FREEZING until every task has stopped.
// Like runc, keep asking until it settles, and thaw again rather than leave it half frozen.
Status freeze(const Layout& l, const std::string& id, bool frozen) {
  std::string dir = TRY(requireController(l, "freezer", id));
  std::string want = frozen ? "FROZEN" : "THAWED";
  auto deadline = std::chrono::steady_clock::now() + kSettleTimeout;
  for (;;) {
    TRYV(writeControl(dir, "freezer.state", want));
    std::string state = TRY(readControl(dir, "freezer.state"));
    if (state.starts_with(want)) return {};
    if (std::chrono::steady_clock::now() > deadline) {
      if (frozen) (void)writeControl(dir, "freezer.state", "THAWED");
      return fail(Error(EBUSY, "`" + dir + "/freezer.state` did not settle at " + want));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// memory.oom_control counts OOM kills in this cgroup since kernel 4.13 ("oom_kill N").
bool oomKilled(const Layout& l, const std::string& id) {
  std::string dir = controllerDir(l, "memory", id);
  if (dir.empty()) return false;
  auto text = readControl(dir, "memory.oom_control");
  if (!text) return false;
  auto n = keyedValue(*text, "oom_kill");
  return n && *n > 0;
}

Result<std::vector<pid_t>> pids(const Layout& l, const std::string& id) {
  std::vector<pid_t> out;
  for (const Hierarchy& h : l.hierarchies) {
    auto more = TRY(procsRecursive(dirOf(h, id)));
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

}  // namespace

const Backend kV1Backend = {create, addProcess, remove, freeze, oomKilled, pids};

}  // namespace strata::runtime::cgroups::detail
