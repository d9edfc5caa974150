#include "layer/in_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>

namespace strata::layer::detail {

Result<std::string> cleanEntryPath(std::string_view name) {
  std::vector<std::string_view> parts;
  while (!name.empty()) {
    size_t slash = name.find('/');
    std::string_view part = name.substr(0, slash);
    name = slash == std::string_view::npos ? std::string_view() : name.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) return failInvalid("path escapes the layer root");
      parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (auto part : parts) {
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

std::pair<std::string, std::string> splitParent(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {std::string(), path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

Result<UniqueFd> openInRoot(int rootfd, const std::string& rel, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const char* path = rel.empty() ? "." : rel.c_str();
  // EAGAIN: a concurrent rename somewhere in the tree made the kernel give up; try again.
  for (int attempt = 0;; ++attempt) {
    long fd = ::syscall(SYS_openat2, rootfd, path, &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if ((errno == EINTR || errno == EAGAIN) && attempt < 16) continue;
    return failErrno("open `" + (rel.empty() ? std::string(".") : rel) + "` in the layer root");
  }
}

Status removeTreeAt(int dirfd, const std::string& name, const std::string& display) {
  if (::unlinkat(dirfd, name.c_str(), 0) == 0) return {};
  if (errno == ENOENT) return {};
  if (errno != EISDIR) return failErrno("unlink `" + display + "`");
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return failErrno("open `" + display + "`");
  UniqueFd dir(fd);
  auto names = TRY(listDir(dir.get(), display));
  for (const auto& n : names) TRYV(removeTreeAt(dir.get(), n, display + "/" + n));
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
    return failErrno("rmdir `" + display + "`");
  return {};
}

Result<std::vector<std::string>> listDir(int dirfd, const std::string& display) {
  // fdopendir takes ownership of its fd, and an O_PATH fd cannot be read: open a fresh one.
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return failErrno("open `" + display + "`");
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return failErrno("opendir `" + display + "`");
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return fail(Error(err, "readdir `" + display + "`"));
  std::sort(names.begin(), names.end());
  return names;
}

std::string procPathAt(int dirfd, const std::string& name) {
  return "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
}

Result<std::vector<std::string>> xattrNames(const std::string& path, const std::string& display) {
  std::string list;
  for (;;) {
    ssize_t len = ::llistxattr(path.c_str(), nullptr, 0);
    if (len < 0) {
      if (errno == ENOTSUP) return std::vector<std::string>{};
      return failErrno("list xattrs of `" + display + "`");
    }
    if (len == 0) return std::vector<std::string>{};
    list.resize(static_cast<size_t>(len));
    len = ::llistxattr(path.c_str(), list.data(), list.size());
    if (len >= 0) {
      list.resize(static_cast<size_t>(len));
      break;
    }
    if (errno != ERANGE) return failErrno("list xattrs of `" + display + "`");
  }
  std::vector<std::string> names;
  for (size_t pos = 0; pos < list.size();) {
    size_t end = list.find('\0', pos);
    if (end == std::string::npos) end = list.size();
    if (end > pos) names.emplace_back(list, pos, end - pos);
    pos = end + 1;
  }
  return names;
}

}  // namespace strata::layer::detail
