#include "layer/overlay_tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string_view>
#include <vector>

#include "layer/in_root.h"
#include "util/fd.h"

namespace strata::layer {
namespace {

constexpr std::string_view kOverlayPrefix = "trusted.overlay.";
constexpr std::string_view kOpaque = "trusted.overlay.opaque";

// false: the entry needs its overlay (metacopy, redirect).
Result<bool> cleanEntry(const std::string& path, const std::string& display) {
  for (const std::string& name : TRY(detail::xattrNames(path, display))) {
    if (!name.starts_with(kOverlayPrefix) || name == kOpaque) continue;
    if (name == "trusted.overlay.metacopy" || name == "trusted.overlay.redirect") return false;
    if (::lremovexattr(path.c_str(), name.c_str()) < 0 && errno != ENODATA)
      return failErrno("remove xattr " + name + " of `" + display + "`");
  }
  return true;
}

// Removes a socket (tar cannot carry it) without changing its directory's mtime, which the tar
// records: the tree must give the same tar after this as before.
Status removeSocket(int dirfd, const std::string& name, const std::string& rel) {
  struct stat dir;
  if (::fstat(dirfd, &dir) < 0) return failErrno("stat the directory of `" + rel + "`");
  if (::unlinkat(dirfd, name.c_str(), 0) < 0) return failErrno("remove socket `" + rel + "`");
  const struct timespec times[2] = {{0, UTIME_OMIT}, dir.st_mtim};
  if (::futimens(dirfd, times) < 0)
    return failErrno("restore the mtime of the directory of `" + rel + "`");
  return {};
}

Result<bool> cleanDir(int dirfd, const std::string& display) {
  for (const std::string& name : TRY(detail::listDir(dirfd, display))) {
    const std::string rel = display == "." ? name : display + "/" + name;
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return failErrno("stat `" + rel + "`");
    if (S_ISSOCK(st.st_mode)) {
      TRYV(removeSocket(dirfd, name, rel));
      continue;
    }
    if (!TRY(cleanEntry(detail::procPathAt(dirfd, name), rel))) return false;
    if (!S_ISDIR(st.st_mode)) continue;
    UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) return failErrno("open `" + rel + "`");
    if (!TRY(cleanDir(sub.get(), rel))) return false;
  }
  return true;
}

}  // namespace

Result<bool> prepareUpperAsLayer(const std::string& root) {
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return failErrno("open `" + root + "`");
  if (!TRY(cleanEntry(root, root))) return false;
  return cleanDir(fd.get(), ".");
}

}  // namespace strata::layer
