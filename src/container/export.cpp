// exportRootfs: the container's merged file system as one tar, read through a read-only overlay
// mount that only a short-lived child process can see.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "container/changes.h"
#include "layer/tar.h"
#include "util/child.h"
#include "util/fd.h"
#include "util/fs.h"

namespace strata::container {

namespace {

// mount(2) copies at most one page of option data, its terminating NUL included.
size_t mountDataMax() { return static_cast<size_t>(::sysconf(_SC_PAGESIZE)) - 1; }

// Overlay splits its options at ',' and lowerdir at ':'; a backslash escapes either.
std::string escapeOverlayPath(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == ',' || c == ':' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string lowerdirOption(const std::vector<std::string>& dirs) {
  std::string data = "lowerdir=";
  for (size_t i = 0; i < dirs.size(); ++i) {
    if (i > 0) data += ':';
    data += escapeOverlayPath(dirs[i]);
  }
  return data;
}

// What the child does, planned by the parent: everything that can fail without privileges or
// that needs cleaning up afterwards happens in the parent, so the child only enters its own
// mount namespace, mounts and writes.
struct ExportPlan {
  std::string workDir;  // the child's working directory (relative lowerdir paths)
  std::string mountPoint;
  std::string mountData;
};

// Read-only overlay options for dirs (top-most first). A list too long for one page of mount
// data names the layers through short symlinks made in tmp (overlay follows them when it
// resolves lowerdir at mount time), as Docker's overlay2 driver does with its "l/" links.
Result<ExportPlan> planExport(const std::vector<std::string>& dirs, const std::string& tmp) {
  ExportPlan plan;
  plan.workDir = tmp;
  plan.mountPoint = joinPath(tmp, "rootfs");
  if (::mkdir(plan.mountPoint.c_str(), 0755) < 0)
    return failErrno("mkdir `" + plan.mountPoint + "`");
  plan.mountData = lowerdirOption(dirs);
  if (plan.mountData.size() <= mountDataMax()) return plan;

  std::string links = joinPath(tmp, "l");
  if (::mkdir(links.c_str(), 0700) < 0) return failErrno("mkdir `" + links + "`");
  std::vector<std::string> shortNames;
  for (size_t i = 0; i < dirs.size(); ++i) {
    std::string name = "l/" + std::to_string(i);
    if (::symlink(dirs[i].c_str(), joinPath(tmp, name).c_str()) < 0)
      return failErrno("symlink `" + joinPath(tmp, name) + "`");
    shortNames.push_back(std::move(name));
  }
  plan.mountData = lowerdirOption(shortNames);
  if (plan.mountData.size() > mountDataMax())
    return fail(Error(
        E2BIG, "too many layers for one overlay mount (" + std::to_string(dirs.size()) + ")"));
  return plan;
}

// Runs in the child: never returns an error by exception, never returns to the caller's stack
// (the caller _exits).
Status exportInChild(const ExportPlan& plan, int fd) {
  // A reader that went away must fail the write, not kill us silently.
  ::signal(SIGPIPE, SIG_IGN);
  if (::chdir(plan.workDir.c_str()) < 0) return failErrno("chdir `" + plan.workDir + "`");
  if (::unshare(CLONE_NEWNS) < 0) return failErrno("unshare the mount namespace");
  // Private before mounting: nothing this process mounts may propagate back to the host.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
    return failErrno("make / private");
  if (::mount("overlay", plan.mountPoint.c_str(), "overlay", MS_RDONLY | MS_NODEV | MS_NOSUID,
              plan.mountData.c_str()) < 0)
    return failErrno("mount the read-only overlay on `" + plan.mountPoint + "`");
  layer::WriteTarOptions options;
  options.overlay = layer::OverlayMarkers::Omit;
  TRYV(layer::writeTarFromDir(plan.mountPoint, fd, options));
  return {};
}

Status exportMerged(const std::vector<std::string>& dirs, int fd, const std::string& scratchDir) {
  auto tmp = TRY(TempDir::create(scratchDir, "strata-export-"));
  ExportPlan plan = TRY(planExport(dirs, tmp.path()));
  ChildProcess child = TRY(ChildProcess::spawn("the export child", [&] { return exportInChild(plan, fd); }));
  // The mount lives in the child's namespace and ends with it; tmp goes when this returns.
  return child.wait();
}

}  // namespace

Status exportRootfs(const std::vector<std::string>& lowerDirs, const std::string& upperDir, int fd,
                    const std::string& scratchDir) {
  std::vector<std::string> dirs;
  if (!upperDir.empty()) {
    auto names = TRY_CTX(listDirectory(upperDir), "export");
    if (!names.empty()) dirs.push_back(upperDir);
  }
  dirs.insert(dirs.end(), lowerDirs.begin(), lowerDirs.end());

  layer::WriteTarOptions single;
  single.overlay = layer::OverlayMarkers::Omit;
  if (dirs.empty()) {  // nothing at all: an empty archive
    auto empty = TRY_CTX(TempDir::create(scratchDir, "strata-export-"), "export");
    TRYV_CTX(layer::writeTarFromDir(empty.path(), fd, single), "export");
    return {};
  }
  // One tree is its own merged view (overlay would only hide its whiteouts): no mount needed.
  if (dirs.size() == 1) {
    TRYV_CTX(layer::writeTarFromDir(dirs[0], fd, single), "export");
    return {};
  }
  TRYV_CTX(exportMerged(dirs, fd, scratchDir), "export");
  return {};
}

}  // namespace strata::container
