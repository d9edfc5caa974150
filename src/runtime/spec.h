// The plan for one container process: everything the runtime does to start it, as data.
//
// The container module fills a Spec from the image config, the user's flags and the store's
// paths; the runtime (runtime.h) carries it out. A Spec can be built, printed and unit-tested
// without root.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/seccomp.h"
#include "util/error.h"

namespace strata::runtime {

// One mount made inside the container's mount namespace before pivot_root. destination is a
// path inside the container (resolved inside the new root, never outside it).
struct Mount {
  std::string source;       // host path for binds; fs-specific source otherwise
  std::string destination;  // absolute path in the container
  std::string type;         // "bind", "tmpfs", "proc", ...
  std::vector<std::string> options;  // "ro", "nosuid", "nodev", "noexec", "rbind", "mode=755", ...
};

struct Overlay {
  std::vector<std::string> lowerDirs;  // top-most first, as overlayfs' lowerdir= wants them
  std::string upperDir;                // the container's writable layer
  std::string workDir;                 // overlayfs work dir on the same file system as upperDir
};

// None: a new network namespace with only lo (up). Host: the host's namespace. Bridge: a new
// namespace whose interface (plugged in by the caller of start() before the process runs; see
// runtime.h) is configured from Spec::interface. Join: the namespace at Spec::joinNetns.
enum class NetworkMode { None, Host, Bridge, Join };

// The container's end of a veth pair, configured inside its namespace: address, up, default
// route through the gateway. IPv4 in host byte order.
struct Interface {
  std::string name = "eth0";
  uint32_t address = 0;
  int prefix = 0;
  uint32_t gateway = 0;
};

// --userns=auto: the container's user namespace maps its ids 0..size-1 to the host ids
// hostUid..hostUid+size-1 and hostGid..hostGid+size-1 (one line in uid_map and gid_map).
struct IdMapping {
  uid_t hostUid = 0;
  gid_t hostGid = 0;
  uint32_t size = 0;
};

struct Resources {
  std::optional<int64_t> memoryBytes;  // -m
  std::optional<int64_t> cpuQuotaUs;   // --cpus N -> quota N*period per period
  int64_t cpuPeriodUs = 100000;
  std::optional<int64_t> pidsLimit;    // --pids-limit
};

struct Spec {
  std::string id;  // container ID (64 hex); names the cgroup
  // Process
  std::vector<std::string> args;  // argv; args[0] is looked up in PATH from env when it has no '/'
  std::vector<std::string> env;   // KEY=VALUE
  std::string cwd = "/";
  std::string user;               // "", "name", "uid", "name:group", "uid:gid": resolved in the
                                  // container's /etc/passwd and /etc/group
  std::vector<std::string> additionalGroups;
  bool primaryGroupSupplementary = true;  // the primary gid also in setgroups (docker run: yes,
                                          // BuildKit's RUN: no)
  bool tty = false;               // stdio is a pty slave made by the runtime (see Stdio)
  bool init = false;              // --init: a minimal init (pid 1) reaps zombies, forwards signals

  // File system
  Overlay rootfs;
  std::string rootfsMountPoint;  // where the overlay is mounted (in the new mount namespace)
  bool readonlyRootfs = false;
  std::vector<Mount> mounts;     // after the default /proc /dev /sys ... ones, in this order
  std::vector<std::string> maskedPaths;    // Docker's list by default (defaultMaskedPaths())
  std::vector<std::string> readonlyPaths;  // Docker's list by default (defaultReadonlyPaths())
  std::string hostname;

  // Isolation
  NetworkMode network = NetworkMode::None;
  Interface interface;     // with NetworkMode::Bridge
  std::string joinNetns;   // with NetworkMode::Join: /proc/PID/ns/net of the container to share
  uint64_t capabilities = 0;  // bit per CAP_* (defaultCapabilities())
  bool noNewPrivileges = true;
  bool seccomp = true;  // a filter: strata's default profile (Docker's default's intent)
  std::optional<seccomp::Profile> seccompProfile;  // with seccomp: this one instead of the default
  // The container's processes run in a user namespace of their own (mapped as this says); its
  // other namespaces stay the host user namespace's, so host root builds its file system.
  std::optional<IdMapping> userns;
  Resources resources;
};

// Docker's defaults.
uint64_t defaultCapabilities();
std::vector<std::string> defaultMaskedPaths();
std::vector<std::string> defaultReadonlyPaths();
// Docker's default PATH for containers whose image sets none.
inline constexpr const char* kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Writes, under dir, the directories and empty files the runtime mounts over (/proc, /sys, /dev
// and its subdirectories, /etc/hostname, /etc/hosts, /etc/resolv.conf). Placed as a lower layer
// above an image's layers, it keeps those mount points out of the writable layer above it.
Status writeMountPointLayer(const std::string& dir);
// /etc/hosts for a container: the host's with host networking, else localhost entries and the
// hostname.
std::string hostsFile(const std::string& hostname, bool hostNetwork);

// Human-readable dump of the plan (for debugging and tests).
std::string describe(const Spec& spec);

}  // namespace strata::runtime
