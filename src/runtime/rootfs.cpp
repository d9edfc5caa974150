// The container's root after the mounts: pivot_root, then what runs with "/" as the new root.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/mounts_internal.h"
#include "runtime/syscalls_internal.h"

namespace strata::runtime::detail {

Status pivotInto(int rootfd) {
  if (::fchdir(rootfd) < 0) return failErrno("chdir to the new root");
  // pivot_root(".", ".") stacks the old root on top of the new one; unmounting "." then drops
  // it, with no put_old directory left in the image.
  if (sys::pivotRoot(".", ".") < 0) return failErrno("pivot_root");
  // Keep the lazy unmount from propagating anywhere (everything is private already; runc does
  // the same belt and braces).
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) {
    return failErrno("make the old root a slave");
  }
  if (::umount2(".", MNT_DETACH) < 0) return failErrno("unmount the old root");
  if (::chdir("/") < 0) return failErrno("chdir /");
  return {};
}

Status readonlyPath(const std::string& path) {
  if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
    if (errno == ENOENT) return {};
    return failErrno("bind mount " + path + " on itself");
  }
  return bindRemount(path, MS_RDONLY | mountFlagsOf(path), path + " read-only");
}

Status maskPath(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) < 0) {
    if (errno == ENOENT) return {};
    return failErrno("mask " + path);
  }
  if (S_ISDIR(st.st_mode)) {
    if (::mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY, nullptr) < 0) {
      return failErrno("mask " + path + " with an empty tmpfs");
    }
  } else if (::mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr) < 0) {
    return failErrno("mask " + path + " with /dev/null");
  }
  return {};
}

Status readonlyRoot() { return bindRemount("/", MS_RDONLY | mountFlagsOf("/"), "/ read-only"); }

Status makeWorkdir(const std::string& path, uid_t uid, gid_t gid) {
  std::string current;
  for (const std::string& part : pathComponents(path)) {
    current += "/" + part;
    if (::mkdir(current.c_str(), 0755) == 0) {
      if (::lchown(current.c_str(), uid, gid) < 0) return failErrno("chown working directory " + current);
      continue;
    }
    if (errno != EEXIST) return failErrno("mkdir working directory " + current);
  }
  return {};
}

}  // namespace strata::runtime::detail
