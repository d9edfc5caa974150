// cgroup v2 (unified): one directory <mount>/strata/<id> with memory, cpu and pids enabled on
// the way down.
//
// Device access is not limited here: v2 controls devices with a BPF program attached to the
// cgroup, not with files. Containers still only see the device nodes the runtime creates in
// their /dev, and seccomp refuses mknod of character and block devices.
#include <unistd.h>

#include <cctype>
#include <thread>

#include "runtime/cgroups_internal.h"
#include "util/fs.h"

namespace strata::runtime::cgroups::detail {
namespace {

constexpr std::string_view kControllers[] = {"memory", "cpu", "pids"};

std::string parentOf(const Layout& l) { return l.unifiedMount + "/" + kParent; }
std::string dirOf(const Layout& l, const std::string& id) { return parentOf(l) + "/" + id; }

// "cpu" in "cpuset io memory" is not there: whole words only.
bool hasWord(std::string_view text, std::string_view word) {
  for (size_t at = text.find(word); at != std::string_view::npos; at = text.find(word, at + 1)) {
    bool start = at == 0 || std::isspace(static_cast<unsigned char>(text[at - 1]));
    size_t end = at + word.size();
    if (start && (end == text.size() || std::isspace(static_cast<unsigned char>(text[end]))))
      return true;
  }
  return false;
}

// Enables the controllers the kernel offers at the root and in strata/, one at a time so that
// one missing controller does not keep the others off. A failure here shows up later, and by
// name, when a limit's file is missing.
void enableControllers(const Layout& l) {
  auto offered = readControl(l.unifiedMount, "cgroup.controllers");
  if (!offered) return;
  for (std::string_view c : kControllers) {
    if (!hasWord(*offered, c)) continue;
    std::string plus = "+" + std::string(c);
    (void)writeControl(l.unifiedMount, "cgroup.subtree_control", plus);
    (void)writeControl(parentOf(l), "cgroup.subtree_control", plus);
  }
}

Status writeLimit(const std::string& dir, const std::string& file, const std::string& value,
                  std::string_view controller) {
  if (!pathExists(dir + "/" + file))
    return fail(Error(ENOTSUP, "the " + std::string(controller) +
                                   " cgroup controller is not available in `" + dir + "`"));
  return writeControl(dir, file, value);
}

Status create(const Layout& l, const std::string& id, const Resources& r) {
  TRYV(mkdirAll(parentOf(l)));
  enableControllers(l);
  std::string dir = dirOf(l, id);
  TRYV(mkdirAll(dir));
  if (r.memoryBytes && *r.memoryBytes > 0) {
    TRYV(writeLimit(dir, "memory.max", std::to_string(*r.memoryBytes), "memory"));
    // No swap beyond the limit; the file is absent without swap accounting.
    if (pathExists(dir + "/memory.swap.max")) TRYV(writeControl(dir, "memory.swap.max", "0"));
  }
  if (r.cpuQuotaUs && *r.cpuQuotaUs > 0)
    TRYV(writeLimit(dir, "cpu.max",
                    std::to_string(*r.cpuQuotaUs) + " " + std::to_string(r.cpuPeriodUs), "cpu"));
  if (r.pidsLimit)
    TRYV(writeLimit(dir, "pids.max", *r.pidsLimit > 0 ? std::to_string(*r.pidsLimit) : "max",
                    "pids"));
  return {};
}

Status addProcess(const Layout& l, const std::string& id, pid_t pid) {
  TRYV_CTX(writeControl(dirOf(l, id), "cgroup.procs", std::to_string(pid)),
           "move process " + std::to_string(pid) + " into cgroup " + id);
  return {};
}

Status remove(const Layout& l, const std::string& id) {
  std::string dir = dirOf(l, id);
  if (!isDirectory(dir)) return {};
  // cgroup.kill (5.14) kills the whole subtree at once, frozen or not, and wins against forks.
  // Without it, thaw first: a frozen task does not act on SIGKILL.
  if (pathExists(dir + "/cgroup.kill"))
    (void)writeControl(dir, "cgroup.kill", "1");
  else if (pathExists(dir + "/cgroup.freeze"))
    (void)writeControl(dir, "cgroup.freeze", "0");
  TRYV(killAll({dir}));
  return removeCgroupDir(dir);
}

// cgroup.freeze (5.2) asks; cgroup.events' "frozen" says when every task has stopped.
Status freeze(const Layout& l, const std::string& id, bool frozen) {
  std::string dir = dirOf(l, id);
  TRYV(writeControl(dir, "cgroup.freeze", frozen ? "1" : "0"));
  auto deadline = std::chrono::steady_clock::now() + kSettleTimeout;
  for (;;) {
    std::string events = TRY(readControl(dir, "cgroup.events"));
    if (keyedValue(events, "frozen") == (frozen ? 1 : 0)) return {};
    if (std::chrono::steady_clock::now() > deadline) {
      if (frozen) (void)writeControl(dir, "cgroup.freeze", "0");
      return fail(Error(EBUSY, "`" + dir + "` did not settle " + (frozen ? "frozen" : "thawed")));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// memory.events counts OOM kills in the cgroup and below it.
bool oomKilled(const Layout& l, const std::string& id) {
  auto text = readControl(dirOf(l, id), "memory.events");
  if (!text) return false;
  auto n = keyedValue(*text, "oom_kill");
  return n && *n > 0;
}

Result<std::vector<pid_t>> pids(const Layout& l, const std::string& id) {
  return procsRecursive(dirOf(l, id));
}

}  // namespace

const Backend kV2Backend = {create, addProcess, remove, freeze, oomKilled, pids};

}  // namespace strata::runtime::cgroups::detail
