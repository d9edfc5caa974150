// withOverlays: work on merged layer trees in a short-lived child process whose private mount
// namespace is the only place the overlays exist.
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/mounts_internal.h"
#include "runtime/runtime.h"
#include "util/fd.h"
#include "util/fs.h"

namespace strata::runtime {

namespace {

// Runs in the child: private mounts, then each root, then fn. Returns the failure text, empty on
// success.
std::string childWork(const std::vector<Overlay>& overlays, const std::vector<std::string>& points,
                      const std::function<Status(const std::vector<std::string>&)>& fn) {
  if (::unshare(CLONE_NEWNS) < 0) return std::string("unshare mount namespace: ") + std::strerror(errno);
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
    return std::string("make mounts private: ") + std::strerror(errno);
  std::vector<std::string> roots;
  for (std::size_t i = 0; i < overlays.size(); ++i) {
    const Overlay& o = overlays[i];
    // Overlay needs two lower layers when it has no upper: one tree is used as it is, none is
    // an empty directory.
    if (o.upperDir.empty() && o.lowerDirs.size() <= 1) {
      roots.push_back(o.lowerDirs.empty() ? points[i] : o.lowerDirs[0]);
      continue;
    }
    if (auto st = detail::mountOverlay(o, points[i]); !st) return st.error().what();
    if (o.upperDir.empty() && ::mount(nullptr, points[i].c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) < 0)
      return "remount " + points[i] + " read-only: " + std::strerror(errno);
    roots.push_back(points[i]);
  }
  if (auto st = fn(roots); !st) return st.error().what();
  return {};
}

}  // namespace

Status withOverlays(const std::vector<Overlay>& overlays, const std::string& scratchDir,
                    const std::function<Status(const std::vector<std::string>& roots)>& fn) {
  TempDir tmp = TRY(TempDir::create(scratchDir, "mnt-"));
  std::vector<std::string> points;
  for (std::size_t i = 0; i < overlays.size(); ++i) {
    points.push_back(tmp.path() + "/" + std::to_string(i));
    TRYV(mkdirAll(points.back(), 0755));
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return failErrno("pipe");
  UniqueFd readEnd(fds[0]), writeEnd(fds[1]);
  const pid_t pid = ::fork();
  if (pid < 0) return failErrno("fork");
  if (pid == 0) {
    readEnd.reset();
    const std::string failure = childWork(overlays, points, fn);
    std::size_t off = 0;
    while (off < failure.size()) {
      ssize_t n = ::write(writeEnd.get(), failure.data() + off, failure.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::_exit(failure.empty() ? 0 : 1);
  }
  writeEnd.reset();
  std::string failure = TRY(readAll(readEnd.get()));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return failErrno("wait for the mount helper");
  if (!failure.empty()) return failInvalid(failure);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return failInvalid("the mount helper process died");
  return {};
}

}  // namespace strata::runtime
