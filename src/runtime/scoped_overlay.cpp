// withOverlays: work on merged layer trees in a short-lived child process whose private mount
// namespace is the only place the overlays exist.
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include "runtime/mounts_internal.h"
#include "runtime/runtime.h"
#include "util/child.h"
#include "util/fs.h"

namespace strata::runtime {

namespace {

// Runs in the child: private mounts, then each root, then fn.
Status childWork(const std::vector<Overlay>& overlays, const std::vector<std::string>& points,
                 const std::function<Status(const std::vector<std::string>&)>& fn) {
  if (::unshare(CLONE_NEWNS) < 0) return failErrno("unshare mount namespace");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) return failErrno("make mounts private");
  std::vector<std::string> roots;
  for (std::size_t i = 0; i < overlays.size(); ++i) {
    const Overlay& o = overlays[i];
    // Overlay needs two lower layers when it has no upper: one tree is used as it is, none is
    // an empty directory.
    if (o.upperDir.empty() && o.lowerDirs.size() <= 1) {
      roots.push_back(o.lowerDirs.empty() ? points[i] : o.lowerDirs[0]);
      continue;
    }
    TRYV(detail::mountOverlay(o, points[i]));
    if (o.upperDir.empty() && ::mount(nullptr, points[i].c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) < 0)
      return failErrno("remount " + points[i] + " read-only");
    roots.push_back(points[i]);
  }
  return fn(roots);
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
  ChildProcess child = TRY(ChildProcess::spawn("the mount helper", [&] { return childWork(overlays, points, fn); }));
  return child.wait();
}

}  // namespace strata::runtime
