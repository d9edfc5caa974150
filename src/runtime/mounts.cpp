// Mounts inside the new root before pivot_root: Docker's defaults, then the spec's own.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/mounts_internal.h"
#include "runtime/userns_internal.h"

namespace strata::runtime::detail {

namespace {

// mount(2) of a file system on dest (a directory inside the root, made if missing).
Status mountFsAt(int rootfd, const std::string& dest, const char* source, const char* type,
                 unsigned long flags, const std::string& data) {
  UniqueFd target = TRY(makeInRoot(rootfd, dest, true));
  if (::mount(source, fdPath(target.get()).c_str(), type, flags,
              data.empty() ? nullptr : data.c_str()) < 0) {
    return failErrno("mount " + std::string(type) + " on " + dest);
  }
  return {};
}

struct Device {
  const char* name;
  unsigned major;
  unsigned minor;
};
constexpr Device kDevices[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
                               {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};

Status makeDevices(int rootfd) {
  UniqueFd dev = TRY(openInRoot(rootfd, "/dev", O_PATH | O_DIRECTORY));
  for (const Device& d : kDevices) {
    std::string path = std::string("/dev/") + d.name;
    if (::mknodat(dev.get(), d.name, S_IFCHR | 0666, makedev(d.major, d.minor)) == 0) {
      // mknod applies the umask.
      if (::fchmodat(dev.get(), d.name, 0666, 0) < 0) return failErrno("chmod " + path);
      continue;
    }
    if (errno != EPERM) return failErrno("mknod " + path);
    // No CAP_MKNOD (a user namespace): bind the host's node onto an empty file instead.
    UniqueFd node = TRY(makeInRoot(rootfd, path, false));
    if (::mount(path.c_str(), fdPath(node.get()).c_str(), nullptr, MS_BIND, nullptr) < 0) {
      return failErrno("bind mount " + path);
    }
  }
  return {};
}

Status makeDevSymlinks(int rootfd) {
  constexpr std::pair<const char*, const char*> kLinks[] = {
      {"ptmx", "pts/ptmx"},          {"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"},
      {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
  };
  UniqueFd dev = TRY(openInRoot(rootfd, "/dev", O_PATH | O_DIRECTORY));
  for (auto [name, target] : kLinks) {
    if (::symlinkat(target, dev.get(), name) < 0 && errno != EEXIST) {
      return failErrno(std::string("symlink /dev/") + name + " -> " + target);
    }
  }
  return {};
}

// sysfs shows the network devices of the mounter's network namespace, so the kernel may refuse
// a new sysfs to a process that shares the host's; then the host's /sys is bound read-only.
Status mountSys(int rootfd) {
  constexpr unsigned long kFlags = MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_NODEV;
  UniqueFd target = TRY(makeInRoot(rootfd, "/sys", true));
  if (::mount("sysfs", fdPath(target.get()).c_str(), "sysfs", kFlags, nullptr) == 0) return {};
  if (errno != EPERM) return failErrno("mount sysfs on /sys");
  if (::mount("/sys", fdPath(target.get()).c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
    return failErrno("bind mount the host's /sys on /sys");
  }
  UniqueFd bound = TRY(openInRoot(rootfd, "/sys", O_PATH | O_DIRECTORY));
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
  if (::mount_setattr(bound.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) == 0) {
    return {};
  }
  return bindRemount(fdPath(bound.get()), kFlags, "/sys");  // kernels before 5.12: top only
}

Status mountOne(int rootfd, const Mount& m) {
  if (m.destination.empty() || m.destination[0] != '/') {
    return failInvalid("mount destination `" + m.destination + "` is not an absolute path");
  }
  const std::string& dest = m.destination;
  MountOptions o = parseMountOptions(m);
  if (o.bind) {
    struct stat st;
    if (::stat(m.source.c_str(), &st) < 0) return failErrno("bind mount source " + m.source);
    UniqueFd target = TRY(makeInRoot(rootfd, dest, S_ISDIR(st.st_mode)));
    unsigned long flags = MS_BIND | (o.recursive ? MS_REC : 0);
    if (::mount(m.source.c_str(), fdPath(target.get()).c_str(), nullptr, flags, nullptr) < 0) {
      return failErrno("bind mount " + m.source + " on " + dest);
    }
    if (o.flags != 0) {
      // A bind takes ro/nosuid/... only on a remount of the new mount, which a fresh lookup
      // finds on top of the fd used above.
      UniqueFd mounted = TRY(openInRoot(rootfd, dest, O_PATH));
      TRYV(bindRemount(fdPath(mounted.get()), o.flags, dest));
    }
  } else {
    UniqueFd target = TRY(makeInRoot(rootfd, dest, true));
    const std::string& source = m.source.empty() ? m.type : m.source;
    if (::mount(source.c_str(), fdPath(target.get()).c_str(), m.type.c_str(), o.flags,
                o.data.empty() ? nullptr : o.data.c_str()) < 0) {
      return failErrno("mount " + m.type + " on " + dest);
    }
  }
  if (o.propagation != 0) {
    UniqueFd mounted = TRY(openInRoot(rootfd, dest, O_PATH));
    if (::mount(nullptr, fdPath(mounted.get()).c_str(), nullptr, o.propagation, nullptr) < 0) {
      return failErrno("set mount propagation of " + dest);
    }
  }
  return {};
}

}  // namespace

Status mountDefaults(int rootfd, const std::optional<IdMapping>& userns) {
  // Host root mounts these: in a user namespace, the tmpfs roots belong to the container's root
  // and new ptys to its tty group (5), as if the container had mounted them itself.
  const std::string owner = userns ? ",uid=" + std::to_string(userns->hostUid) +
                                         ",gid=" + std::to_string(userns->hostGid)
                                   : "";
  TRYV(mountFsAt(rootfd, "/proc", "proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, ""));
  TRYV(mountFsAt(rootfd, "/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME,
                 "mode=755,size=65536k" + owner));
  TRYV(makeDevices(rootfd));
  TRYV(mountFsAt(rootfd, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
                 "newinstance,ptmxmode=0666,mode=0620,gid=" + std::to_string(hostGid(userns, 5))));
  TRYV(makeDevSymlinks(rootfd));
  TRYV(mountFsAt(rootfd, "/dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                 "mode=1777,size=65536k" + owner));
  TRYV(mountFsAt(rootfd, "/dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, ""));
  return mountSys(rootfd);
}

Status mountAll(int rootfd, const std::vector<Mount>& mounts) {
  for (const Mount& m : mounts) TRYV(mountOne(rootfd, m));
  return {};
}

}  // namespace strata::runtime::detail
