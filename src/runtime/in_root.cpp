// Paths inside the container's root, before pivot_root: resolved with RESOLVE_IN_ROOT so that
// "..", absolute symlinks and symlinks to "/etc" in the image all stay inside the root.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <string_view>

#include "runtime/mounts_internal.h"
#include "runtime/syscalls_internal.h"

namespace strata::runtime::detail {

std::vector<std::string> pathComponents(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string c = path.substr(i, j - i);
    if (c == "..") {
      if (!out.empty()) out.pop_back();
    } else if (!c.empty() && c != ".") {
      out.push_back(std::move(c));
    }
    i = j + 1;
  }
  return out;
}

static std::string joinComponents(const std::vector<std::string>& parts, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out += '/';
    out += parts[i];
  }
  return n == 0 ? "." : out;
}

static int resolve(int rootfd, const std::string& rel, int flags) {
  return sys::openat2(rootfd, rel.c_str(), static_cast<uint64_t>(flags),
                      RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

Result<UniqueFd> openInRoot(int rootfd, const std::string& path, int flags) {
  std::vector<std::string> parts = pathComponents(path);
  std::string rel = joinComponents(parts, parts.size());
  int fd = resolve(rootfd, rel, flags);
  if (fd < 0) return failErrno("open " + path + " in the container root");
  return UniqueFd(fd);
}

// The path inside the root of the directory open as dirfd (both seen from the caller).
static Result<std::string> pathInRoot(int rootfd, int dirfd) {
  char root[PATH_MAX], dir[PATH_MAX];
  ssize_t rn = ::readlink(fdPath(rootfd).c_str(), root, sizeof root - 1);
  ssize_t dn = ::readlink(fdPath(dirfd).c_str(), dir, sizeof dir - 1);
  if (rn < 0 || dn < 0) return failErrno("find a directory's path in the container root");
  std::string_view r(root, static_cast<size_t>(rn)), d(dir, static_cast<size_t>(dn));
  if (d == r) return std::string("/");
  if (r == "/") return std::string(d);
  if (d.starts_with(r) && d.size() > r.size() && d[r.size()] == '/') {
    return std::string(d.substr(r.size()));
  }
  return failInvalid("directory `" + std::string(d) + "` is outside the container root");
}

Result<UniqueFd> makeInRoot(int rootfd, const std::string& path, bool directory) {
  std::string pending = path;
  // Each round walks pending from the root; a dangling symlink on the way (say /etc/resolv.conf
  // -> ../run/resolv.conf) restarts the walk at its target, so that what gets created is what
  // the symlink names, inside the root, as runc's securejoin does.
  for (int links = 0; links < 40; ++links) {
    std::vector<std::string> parts = pathComponents(pending);
    int raw = resolve(rootfd, ".", O_PATH | O_DIRECTORY);
    if (raw < 0) return failErrno("open the container root");
    UniqueFd current(raw);
    bool restart = false;
    for (size_t i = 0; i < parts.size() && !restart; ++i) {
      std::string prefix = joinComponents(parts, i + 1);
      int fd = resolve(rootfd, prefix, O_PATH);
      if (fd < 0 && errno == ENOENT) {
        // Create the missing component in the directory its parent resolved to (current),
        // which is inside the root whatever symlinks led there.
        bool last = i + 1 == parts.size();
        const char* name = parts[i].c_str();
        int rc;
        if (!last || directory) {
          rc = ::mkdirat(current.get(), name, 0755);
        } else {
          rc = ::openat(current.get(), name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        0644);
          if (rc >= 0) ::close(rc);
        }
        if (rc < 0 && errno != EEXIST) return failErrno("create /" + prefix + " in the container root");
        if (rc < 0) {
          char target[PATH_MAX];
          ssize_t n = ::readlinkat(current.get(), name, target, sizeof target - 1);
          if (n < 0) return failErrno("open /" + prefix + " in the container root");
          std::string next(target, static_cast<size_t>(n));
          if (next.empty() || next[0] != '/') next = TRY(pathInRoot(rootfd, current.get())) + "/" + next;
          for (size_t j = i + 1; j < parts.size(); ++j) next += "/" + parts[j];
          pending = next;
          restart = true;
          continue;
        }
        fd = resolve(rootfd, prefix, O_PATH);
      }
      if (fd < 0) return failErrno("open /" + prefix + " in the container root");
      current.reset(fd);
    }
    if (!restart) return current;
  }
  return fail(Error(ELOOP, "open " + path + " in the container root"));
}

std::string fdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

}  // namespace strata::runtime::detail
