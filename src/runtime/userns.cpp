// --userns=auto: the container's user namespace, and its root file system seen through it.
//
// Only the container's processes enter the user namespace, and they do so last (execProcess).
// Its mount, PID, network, IPC and UTS namespaces stay owned by the host's user namespace, so
// host root mounts the overlay: the layers carry trusted.overlay.* xattrs, which a user
// namespace cannot use. The layers are idmapped mounts instead (on-disk id N shows as host id
// base+N), so the image's files belong to the container's root, and what the container writes
// is stored with its own ids, unshifted, as commit, diff and export expect.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "runtime/caps.h"
#include "runtime/mounts_internal.h"
#include "runtime/runtime.h"
#include "runtime/syscalls_internal.h"
#include "runtime/userns_internal.h"
#include "util/child.h"
#include "util/fs.h"

namespace strata::runtime {

namespace {

Status writeIdMap(pid_t pid, const char* file, uint32_t hostBase, uint32_t size) {
  const std::string path = "/proc/" + std::to_string(pid) + "/" + file;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return failErrno("open " + path);
  // The kernel wants the whole map in one write.
  const std::string line = "0 " + std::to_string(hostBase) + " " + std::to_string(size) + "\n";
  if (::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    return failErrno("write `" + line.substr(0, line.size() - 1) + "` to " + path);
  }
  return {};
}

}  // namespace

Result<UniqueFd> newUserNamespace(const IdMapping& ids) {
  // A helper unshares and waits; we map its namespace and keep a handle to it. The namespace
  // lives as long as that handle (or a process in it) does.
  int ready[2], release[2];
  if (::pipe2(ready, O_CLOEXEC) < 0 || ::pipe2(release, O_CLOEXEC) < 0) return failErrno("pipe");
  UniqueFd readyRead(ready[0]), readyWrite(ready[1]), releaseRead(release[0]),
      releaseWrite(release[1]);
  ChildProcess helper = TRY(ChildProcess::spawn("the user namespace helper", [&]() -> Status {
    readyRead.reset();
    releaseWrite.reset();
    if (::unshare(CLONE_NEWUSER) < 0) return failErrno("unshare(CLONE_NEWUSER)");
    TRYV(writeAll(readyWrite.get(), "1"));
    char c;
    (void)readSome(releaseRead.get(), &c, 1);  // end of file: the parent is done
    return {};
  }));
  readyWrite.reset();
  releaseRead.reset();
  char c;
  if (TRY(readSome(readyRead.get(), &c, 1)) == 0) {
    TRYV(helper.wait());
    return failInvalid("the user namespace helper exited early");
  }
  const pid_t pid = helper.pid();
  TRYV(writeIdMap(pid, "uid_map", ids.hostUid, ids.size));
  TRYV(writeIdMap(pid, "gid_map", ids.hostGid, ids.size));
  const std::string nsPath = "/proc/" + std::to_string(pid) + "/ns/user";
  UniqueFd ns(::open(nsPath.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return failErrno("open " + nsPath);
  releaseWrite.reset();
  TRYV(helper.wait());
  return ns;
}

Status enterUserNamespace(int usernsFd) {
  TRYV(detail::joinUserNamespace(usernsFd));
  if (sys::setgroups(0, nullptr) < 0) return failErrno("setgroups in the user namespace");
  if (sys::setresgid(0, 0, 0) < 0) return failErrno("setgid 0 in the user namespace");
  if (sys::setresuid(0, 0, 0) < 0) return failErrno("setuid 0 in the user namespace");
  return {};
}

}  // namespace strata::runtime

namespace strata::runtime::detail {

namespace {

bool isUnder(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/';
}

// Replaces the mount at dir, in the caller's mount namespace, by an idmapped clone of itself.
Status idmapInPlace(const std::string& dir, int usernsFd) {
  const std::string what = "idmapped mount of `" + dir + "`";
  UniqueFd tree(::open_tree(AT_FDCWD, dir.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  if (!tree) return failErrno(what + ": open_tree");
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(usernsFd);
  if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
    // EINVAL/ENOSYS: a kernel or file system without idmapped mounts (Linux 5.12+).
    return failErrno(what + ": mount_setattr(MOUNT_ATTR_IDMAP)");
  }
  if (::move_mount(tree.get(), "", AT_FDCWD, dir.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0) {
    return failErrno(what + ": move_mount");
  }
  return {};
}

}  // namespace

Result<ContainerRootFsIds> ContainerRootFsIds::become(const IdMapping& ids) {
  ContainerRootFsIds m;
  sys::setfsgid(ids.hostGid);
  sys::setfsuid(ids.hostUid);
  m.active_ = true;
  if (sys::setfsuid(static_cast<uid_t>(-1)) != ids.hostUid ||
      sys::setfsgid(static_cast<gid_t>(-1)) != ids.hostGid) {
    return failInvalid("set the file system ids to " + std::to_string(ids.hostUid) + ":" +
                       std::to_string(ids.hostGid));
  }
  TRYV(caps::raiseEffective());
  return m;
}

ContainerRootFsIds::~ContainerRootFsIds() {
  if (!active_) return;
  // Back to 0:0, which also brings the file capabilities back to the effective set.
  sys::setfsuid(0);
  sys::setfsgid(0);
}

std::vector<std::string> idmapTargets(const Overlay& layers) {
  std::vector<std::string> out;
  std::string container;
  if (!layers.upperDir.empty()) {
    container = dirName(layers.upperDir);
    out.push_back(container);
  }
  for (const std::string& lower : layers.lowerDirs) {
    if (container.empty() || !isUnder(lower, container)) out.push_back(lower);
  }
  return out;
}

Status mountIdmappedOverlay(const Overlay& o, const std::string& target,
                            const std::vector<std::string>& idmapDirs, int usernsFd) {
  if (!o.upperDir.empty() && dirName(o.upperDir) != dirName(o.workDir)) {
    return failInvalid("mount overlay on " + target + ": upperdir and workdir are not siblings");
  }
  for (const std::string& dir : idmapDirs) TRYV(idmapInPlace(dir, usernsFd));
  TRYV(mountOverlay(o, target));
  struct statvfs st;
  if (::statvfs(target.c_str(), &st) < 0) return failErrno("statvfs " + target);
  if (!o.upperDir.empty() && (st.f_flag & ST_RDONLY) != 0) {
    return failInvalid("mount overlay on " + target +
                       ": the kernel made it read-only with idmapped layers (see dmesg)");
  }
  return {};
}

Status joinUserNamespace(int usernsFd) {
  if (::setns(usernsFd, CLONE_NEWUSER) < 0) return failErrno("join the container's user namespace");
  return {};
}

}  // namespace strata::runtime::detail
