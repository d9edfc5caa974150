// Private to src/runtime: the container's file system, built in its own mount namespace.
//
// Order (containerSetup in container_init.cpp): overlay on the mount point, the default mounts
// (/proc /dev /sys ...), spec.mounts, pivot_root, then read-only and masked paths and the
// read-only root. Every path inside the new root is resolved with openat2(RESOLVE_IN_ROOT) and
// mounted on through /proc/self/fd/N, so a symlink in the image cannot send a mount to the host.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runtime/spec.h"
#include "util/error.h"
#include "util/fd.h"

namespace strata::runtime::detail {

// --- mount options (mount_options.cpp) ---

// Mount(5)-style options split into what mount(2) takes.
struct MountOptions {
  unsigned long flags = 0;        // MS_RDONLY, MS_NOSUID, ... (without MS_BIND/MS_REC)
  unsigned long propagation = 0;  // MS_PRIVATE, MS_SLAVE, MS_SHARED, MS_UNBINDABLE (| MS_REC)
  bool bind = false;              // type "bind", or a "bind"/"rbind" option
  bool recursive = false;         // rbind (the default for binds without "bind")
  std::string data;               // fs-specific options, comma-separated
};
MountOptions parseMountOptions(const Mount& m);
// The MS_* flags of the mount that path is on (statvfs), for remounts that must keep them.
unsigned long mountFlagsOf(const std::string& path);
// mount(NULL, target, NULL, MS_BIND|MS_REMOUNT|flags): on EPERM retries with the flags the
// mount already has (locked flags must be kept). display names the target in errors.
Status bindRemount(const std::string& target, unsigned long flags, const std::string& display);

// --- overlay (overlay.cpp) ---

// The classic mount(2) data for o when one page holds it: "lowerdir=a:b,upperdir=u,workdir=w"
// with ':' ',' '\' escaped. When the absolute lower paths do not fit, they are made relative to
// their deepest common directory, returned in chdirTo (mount(2) resolves them from the cwd).
struct LegacyOverlay {
  std::string data;
  std::string chdirTo;  // "" when the paths are absolute
};
Result<LegacyOverlay> legacyOverlayOptions(const Overlay& o, size_t limit = 4095);

// Mounts o on target (a host path) in the caller's mount namespace. With allowNewApi the kernel's
// fsconfig "lowerdir+" (one layer per call, no page limit, Linux 6.8+) is used when it exists;
// otherwise legacyOverlayOptions. Errors: "mount overlay on TARGET: <errno>".
Status mountOverlay(const Overlay& o, const std::string& target, bool allowNewApi = true);

// --- paths inside the new root (in_root.cpp) ---

// Lexically cleaned components of an absolute container path ("/a/../b/./c" -> b, c).
std::vector<std::string> pathComponents(const std::string& path);
// openat2(rootfd, path, flags, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS).
Result<UniqueFd> openInRoot(int rootfd, const std::string& path, int flags);
// An O_PATH fd for path inside rootfd, creating what is missing: parents as 0755 directories,
// the last component as a directory or (directory=false) an empty 0644 file.
Result<UniqueFd> makeInRoot(int rootfd, const std::string& path, bool directory);
// "/proc/self/fd/N": a name mount(2) can take for an fd.
std::string fdPath(int fd);

// --- mounts in the new root (mounts.cpp) ---

// proc, /dev (tmpfs with null zero full random urandom tty, devpts, ptmx, shm, mqueue, fd
// symlinks), sysfs read-only (the host's /sys bound read-only if the kernel refuses a new sysfs,
// as it may when the container shares the host's network namespace). With userns, the tmpfs
// mounts and new ptys are owned by its root (and tty group).
Status mountDefaults(int rootfd, const std::optional<IdMapping>& userns);
// spec.mounts, in order.
Status mountAll(int rootfd, const std::vector<Mount>& mounts);

// --- after the new root is in place (rootfs.cpp) ---

// Makes rootfd the process's root: pivot_root(".", ".") and a lazy unmount of the old root.
Status pivotInto(int rootfd);
// Bind-remounts path read-only; a missing path is fine.
Status readonlyPath(const std::string& path);
// Hides path: /dev/null over a file, an empty read-only tmpfs over a directory; missing is fine.
Status maskPath(const std::string& path);
// Remounts "/" read-only.
Status readonlyRoot();
// mkdir -p path (as the caller); the directories it makes are chowned to uid:gid.
Status makeWorkdir(const std::string& path, uid_t uid, gid_t gid);

}  // namespace strata::runtime::detail
