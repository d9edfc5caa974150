// Private to the cgroups implementation (cgroups*.cpp) and its unit test: the host's cgroup
// layout as read from mountinfo, the v1 and v2 backends behind one small table (crun's cgroup
// manager in miniature), and the file helpers both use.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/spec.h"
#include "util/error.h"

namespace strata::runtime::cgroups::detail {

// One cgroup file system mount from /proc/self/mountinfo.
struct CgroupMount {
  std::string root;        // the cgroup this mount shows as its top ("/" unless in a cgroupns)
  std::string mountPoint;  // octal escapes (\040) decoded
  std::string fsType;      // "cgroup" (v1) or "cgroup2"
  std::vector<std::string> options;  // super options: v1 lists its controllers here
};
std::vector<CgroupMount> parseMountInfo(std::string_view text);

// A v1 hierarchy we use: its mount point and the wanted controllers it carries (cpu and
// cpuacct share one when co-mounted).
struct Hierarchy {
  std::string mountPoint;
  std::vector<std::string> controllers;
};

// Where the host keeps its cgroups. unified: pure v2, the container's cgroup is under
// unifiedMount. Otherwise v1 or hybrid: one directory per hierarchy (the hybrid's empty
// unified tree is not used).
struct Layout {
  bool unified = false;
  std::string unifiedMount;
  std::vector<Hierarchy> hierarchies;
};
// v1 when any wanted v1 controller is mounted (a hybrid host), else v2 when cgroup2 is mounted.
// A v1 controller mounted more than once counts at the mount that shows its whole tree.
Result<Layout> layoutFromMounts(const std::vector<CgroupMount>& mounts);
Result<Layout> detectLayout();  // from /proc/self/mountinfo

inline constexpr const char* kParent = "strata";  // the persistent parent of containers' cgroups
inline constexpr std::chrono::milliseconds kSettleTimeout{5000};

// The operations of cgroups.h for one kind of layout. The entry points in cgroups.cpp check the
// id and pick the table.
struct Backend {
  Status (*create)(const Layout&, const std::string& id, const Resources& r);
  Status (*addProcess)(const Layout&, const std::string& id, pid_t pid);
  Status (*remove)(const Layout&, const std::string& id);
  Status (*freeze)(const Layout&, const std::string& id, bool frozen);
  bool (*oomKilled)(const Layout&, const std::string& id);
  Result<std::vector<pid_t>> (*pids)(const Layout&, const std::string& id);
};
extern const Backend kV1Backend;
extern const Backend kV2Backend;

// Writes value to dir/file in one write(2), as the cgroup file systems want it; the error
// names both.
Status writeControl(const std::string& dir, const std::string& file, std::string_view value);
Result<std::string> readControl(const std::string& dir, const std::string& file);
// The value of "key N" in a flat-keyed file (memory.events, memory.oom_control, cgroup.events).
std::optional<int64_t> keyedValue(std::string_view text, std::string_view key);
// Pids in dir/cgroup.procs and in those of its sub-cgroups. A missing dir has none.
Result<std::vector<pid_t>> procsRecursive(const std::string& dir);
// SIGKILLs every process in dirs until none is left, for up to kSettleTimeout.
Status killAll(const std::vector<std::string>& dirs);
// rmdir of dir after its sub-cgroups, retrying EBUSY while exiting tasks leave. Missing is fine.
Status removeCgroupDir(const std::string& dir);
// Sorted, without duplicates.
void sortUnique(std::vector<pid_t>& pids);

}  // namespace strata::runtime::cgroups::detail
