// How `cp` reaches a container's files: a forked helper process that joins a private copy of a
// running container's mount namespace, or mounts a stopped one's layers in a private namespace
// of its own; its failure travels back to the parent over a pipe.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "container/copy_internal.h"
#include "layer/in_root.h"
#include "runtime/mounts_internal.h"
#include "runtime/runtime.h"
#include "runtime/userns_internal.h"
#include "util/fs.h"

namespace strata::container::detail {

Result<Pipe> makePipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return failErrno("pipe");
  return Pipe{UniqueFd(p[0]), UniqueFd(p[1])};
}

Status firstCause(Status writer, Status reader) {
  if (!writer && writer.error().code() != EPIPE) return writer;
  if (!reader) return reader;
  return writer;
}

// ---------------------------------------------------------------------------------------------
// Reaching the container's files (in a helper child)

namespace {

// Joins a private copy of the running container's mount namespace, drops its /proc, /sys and
// /dev (Docker's cp sees the root file system and volumes only), and goes back to the host's
// root, whose /proc the tar code needs for /proc/self/fd paths (the container's /proc belongs to
// its PID namespace, where this process has no /proc/self). Returns the container's root.
Result<UniqueFd> enterRunning(pid_t pid) {
  UniqueFd hostRoot = TRY(openFile("/", O_PATH | O_DIRECTORY));
  UniqueFd ns = TRY(openFile("/proc/" + std::to_string(pid) + "/ns/mnt", O_RDONLY));
  if (::setns(ns.get(), CLONE_NEWNS) < 0) return failErrno("join the container's mount namespace");
  if (::unshare(CLONE_NEWNS) < 0) return failErrno("unshare the mount namespace");
  // Private first: nothing unmounted below may propagate back to the container.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
    return failErrno("make / private");
  for (const char* path : {"/proc", "/sys", "/dev"}) {
    if (::umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
      return failErrno(std::string("unmount ") + path);
  }
  UniqueFd root = TRY(openFile("/", O_PATH | O_DIRECTORY));
  if (::fchdir(hostRoot.get()) < 0 || ::chroot(".") < 0)
    return failErrno("return to the host root");
  return root;
}

// Mounts a stopped container's layers on mountPoint in a private mount namespace: writable with
// its upper dir, or read-only with the upper dir as the top lower layer (idmapped through
// userns when the container has one). Then its binds.
Result<UniqueFd> mountLayers(const ContainerFs& c, const std::string& mountPoint, bool writable,
                             int userns) {
  if (::unshare(CLONE_NEWNS) < 0) return failErrno("unshare the mount namespace");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
    return failErrno("make / private");
  runtime::Overlay o;
  if (writable) {
    o = c.layers;
  } else {
    if (!c.layers.upperDir.empty()) o.lowerDirs.push_back(c.layers.upperDir);
    o.lowerDirs.insert(o.lowerDirs.end(), c.layers.lowerDirs.begin(), c.layers.lowerDirs.end());
  }
  // What is made in the idmapped layers (mount points) belongs to the container's root.
  std::optional<runtime::detail::ContainerRootFsIds> asContainerRoot;
  if (c.userns) {
    asContainerRoot.emplace(TRY(runtime::detail::ContainerRootFsIds::become(*c.userns)));
    TRYV(runtime::detail::mountIdmappedOverlay(o, mountPoint,
                                               runtime::detail::idmapTargets(c.layers), userns));
  } else if (o.lowerDirs.size() == 1 && o.upperDir.empty()) {  // overlayfs wants two layers then
    if (::mount(o.lowerDirs[0].c_str(), mountPoint.c_str(), nullptr, MS_BIND, nullptr) < 0)
      return failErrno("bind mount " + o.lowerDirs[0]);
    if (::mount(nullptr, mountPoint.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) <
        0)
      return failErrno("remount " + mountPoint + " read-only");
  } else {
    TRYV(runtime::detail::mountOverlay(o, mountPoint));
  }
  UniqueFd root = TRY(openFile(mountPoint, O_PATH | O_DIRECTORY));
  std::vector<runtime::Mount> mounts;
  for (const auto& m : c.mounts) {
    // The read-only view cannot make a missing mount point; what is not there is left out.
    if (writable || layer::detail::openInRoot(root.get(), m.destination, O_PATH))
      mounts.push_back(m);
  }
  TRYV(runtime::detail::mountAll(root.get(), mounts));
  return root;
}

}  // namespace

Result<View> prepareView(const ContainerFs& c) {
  View v;
  if (c.pid > 0) return v;
  v.tmp = TRY(TempDir::create(c.tmpDir, "strata-cp-"));
  v.mountPoint = joinPath(v.tmp.path(), "rootfs");
  if (::mkdir(v.mountPoint.c_str(), 0755) < 0) return failErrno("mkdir `" + v.mountPoint + "`");
  return v;
}

Result<UniqueFd> openContainerRoot(const ContainerFs& c, const View& v, bool writable) {
  UniqueFd userns;
  if (c.userns && c.pid > 0) {
    userns = TRY(openFile("/proc/" + std::to_string(c.pid) + "/ns/user", O_RDONLY));
  } else if (c.userns) {
    userns = TRY(runtime::newUserNamespace(*c.userns));
  }
  UniqueFd root;
  if (c.pid > 0) {
    root = TRY(enterRunning(c.pid));
  } else {
    root = TRY(mountLayers(c, v.mountPoint, writable, userns.get()));
  }
  // Host root's ids are not mapped in the idmapped layers: the copy reads and writes as the
  // container's root, so files get and show the container's ids.
  if (userns) TRYV(runtime::enterUserNamespace(userns.get()));
  return root;
}

}  // namespace strata::container::detail
