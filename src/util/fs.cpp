#include "util/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <utility>
#include <vector>

#include "util/random.h"

namespace strata {

Result<UniqueFd> openFile(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return failErrno("open `" + path + "`");
  return UniqueFd(fd);
}

Result<UniqueFd> openAt(int dirfd, const std::string& path, int flags, mode_t mode) {
  int fd = ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return failErrno("open `" + path + "`");
  return UniqueFd(fd);
}

Result<size_t> readSome(int fd, void* buf, size_t size) {
  for (;;) {
    ssize_t n = ::read(fd, buf, size);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return failErrno("read");
  }
}

Result<std::string> readAll(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    size_t n = TRY(readSome(fd, buf, sizeof buf));
    if (n == 0) return out;
    out.append(buf, n);
  }
}

Result<std::string> readFile(const std::string& path) {
  UniqueFd fd = TRY(openFile(path, O_RDONLY));
  return TRY_CTX(readAll(fd.get()), "read `" + path + "`");
}

Status writeAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno("write");
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

Status sendAll(int fd, const void* data, size_t size, const std::string& what) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      // On a non-blocking socket EAGAIN means full: wait. On a blocking one it means the send
      // timeout (SO_SNDTIMEO) ran out, which is the caller's error to report.
      if (errno == EAGAIN && (::fcntl(fd, F_GETFL) & O_NONBLOCK)) {
        pollfd pfd{fd, POLLOUT, 0};
        ::poll(&pfd, 1, -1);
        continue;
      }
      return failErrno(what);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

Status fsyncFd(int fd, const std::string& what) {
  if (::fsync(fd) < 0) return failErrno("fsync `" + what + "`");
  return {};
}

Status fsyncDir(const std::string& dir) {
  UniqueFd fd = TRY(openFile(dir, O_RDONLY | O_DIRECTORY));
  return fsyncFd(fd.get(), dir);
}

Status writeFileInPlace(const std::string& path, std::string_view data, mode_t mode) {
  UniqueFd fd = TRY(openFile(path, O_WRONLY | O_CREAT | O_TRUNC, mode));
  return writeAll(fd.get(), data);
}

namespace {

enum class Sync { None, File, FileAndDir };

Status replaceFile(const std::string& path, std::string_view data, mode_t mode, Sync sync) {
  std::string dir = dirName(path);
  std::string tmp = joinPath(dir, ".tmp-" + baseName(path) + "-" + randomHex(12));
  {
    UniqueFd fd = TRY(openFile(tmp, O_WRONLY | O_CREAT | O_EXCL, mode));
    Status st = writeAll(fd.get(), data);
    if (st && sync != Sync::None) st = fsyncFd(fd.get(), tmp);
    if (!st) {
      ::unlink(tmp.c_str());
      return fail(std::move(st).error().wrap("write `" + tmp + "`"));
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    Error e = Error::fromErrno("rename `" + tmp + "` to `" + path + "`");
    ::unlink(tmp.c_str());
    return fail(std::move(e));
  }
  return sync == Sync::FileAndDir ? fsyncDir(dir) : Status{};
}

}  // namespace

Status writeFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  return replaceFile(path, data, mode, Sync::FileAndDir);
}

Status writeFileSynced(const std::string& path, std::string_view data, mode_t mode) {
  return replaceFile(path, data, mode, Sync::File);
}

Status writeFileReplace(const std::string& path, std::string_view data, mode_t mode) {
  return replaceFile(path, data, mode, Sync::None);
}

Status mkdirAll(const std::string& path, mode_t mode) {
  if (path.empty()) return {};
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return fail(Error(ENOTDIR, "mkdir `" + path + "`"));
  }
  std::string parent = dirName(path);
  if (parent != path) TRYV(mkdirAll(parent, mode));
  if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST) return failErrno("mkdir `" + path + "`");
  return {};
}

static Status removeAllAt(int dirfd, const std::string& name, const std::string& display) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return {};
    return failErrno("stat `" + display + "`");
  }
  if (S_ISDIR(st.st_mode)) {
    int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return failErrno("open `" + display + "`");
    DIR* d = ::fdopendir(fd);
    if (!d) {
      ::close(fd);
      return failErrno("opendir `" + display + "`");
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(std::move(n));
    }
    Status result;
    for (const auto& n : names) {
      result = removeAllAt(::dirfd(d), n, display + "/" + n);
      if (!result) break;
    }
    ::closedir(d);
    if (!result) return result;
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
      return failErrno("rmdir `" + display + "`");
    return {};
  }
  if (::unlinkat(dirfd, name.c_str(), 0) < 0 && errno != ENOENT)
    return failErrno("unlink `" + display + "`");
  return {};
}

Status removeAll(const std::string& path) { return removeAllAt(AT_FDCWD, path, path); }

Result<std::vector<std::string>> listDirectory(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return names;
    return failErrno("opendir `" + dir + "`");
  }
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  return names;
}

bool pathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool isDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

static Status treeSizeAt(int dirfd, const std::string& name, const std::string& display,
                         std::set<std::pair<dev_t, ino_t>>& seen, uint64_t& total) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
    return failErrno("stat `" + display + "`");
  if (S_ISREG(st.st_mode)) {
    if (st.st_nlink > 1 && !seen.insert({st.st_dev, st.st_ino}).second) return {};
    total += static_cast<uint64_t>(st.st_size);
  } else if (S_ISLNK(st.st_mode)) {
    total += static_cast<uint64_t>(st.st_size);
  } else if (S_ISDIR(st.st_mode)) {
    int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return failErrno("open `" + display + "`");
    DIR* d = ::fdopendir(fd);
    if (!d) {
      ::close(fd);
      return failErrno("opendir `" + display + "`");
    }
    Status result;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      result = treeSizeAt(::dirfd(d), n, display + "/" + n, seen, total);
      if (!result) break;
    }
    ::closedir(d);
    return result;
  }
  return {};
}

Result<uint64_t> treeSize(const std::string& path) {
  std::set<std::pair<dev_t, ino_t>> seen;
  uint64_t total = 0;
  TRYV(treeSizeAt(AT_FDCWD, path, path, seen, total));
  return total;
}

std::string joinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  std::string out(a);
  if (out.back() != '/') out += '/';
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  out += b;
  return out;
}

std::string dirName(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  auto pos = path.rfind('/');
  if (pos == std::string_view::npos) return ".";
  if (pos == 0) return "/";
  return std::string(path.substr(0, pos));
}

std::string baseName(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  auto pos = path.rfind('/');
  return std::string(pos == std::string_view::npos ? path : path.substr(pos + 1));
}

Result<TempDir> TempDir::create(const std::string& parent, const std::string& prefix) {
  TRYV(mkdirAll(parent, 0700));
  std::string tmpl = joinPath(parent, prefix + "XXXXXX");
  if (!::mkdtemp(tmpl.data())) return failErrno("mkdtemp `" + tmpl + "`");
  return TempDir(std::move(tmpl));
}

TempDir& TempDir::operator=(TempDir&& o) noexcept {
  if (this != &o) {
    if (!path_.empty()) (void)removeAll(path_);
    path_ = std::exchange(o.path_, std::string());
  }
  return *this;
}

TempDir::~TempDir() {
  if (!path_.empty()) (void)removeAll(path_);
}

}  // namespace strata
