// The container's root: overlayfs over the image's layers and the container's upper dir.
//
// One mount(2) option string is limited to a page, which ~40 layers with store paths exceed.
// Linux 6.8 added fsconfig(FSCONFIG_SET_STRING, "lowerdir+", path): one layer per call, no
// limit. Older kernels get the classic option string, with the layer paths made relative to
// their common directory (and that directory as the cwd during mount) when they do not fit.
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <optional>

#include "runtime/mounts_internal.h"
#include "util/fs.h"

namespace strata::runtime::detail {

namespace {

std::string escape(const std::string& s, std::string_view special) {
  std::string out;
  for (char c : s) {
    if (special.find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::string buildData(const std::vector<std::string>& lowers, const Overlay& o) {
  std::string data = "lowerdir=";
  for (size_t i = 0; i < lowers.size(); ++i) {
    if (i > 0) data += ':';
    data += escape(lowers[i], "\\:,");
  }
  if (!o.upperDir.empty()) {
    data += ",upperdir=" + escape(o.upperDir, "\\,");
    data += ",workdir=" + escape(o.workDir, "\\,");
  }
  return data;
}

// The deepest directory that contains every path (all absolute): "/a/b/c", "/a/b/d" -> "/a/b".
std::string commonDirectory(const std::vector<std::string>& paths) {
  std::string common = dirName(paths.front());
  for (const std::string& p : paths) {
    while (common != "/" && !(p.starts_with(common) && p.size() > common.size() &&
                               p[common.size()] == '/')) {
      common = dirName(common);
    }
  }
  return common;
}

// Messages the kernel left in an fs_context ("e overlay: failed to ..."), joined by "; ".
std::string kernelLog(int fsfd) {
  std::string log;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(fsfd, buf, sizeof buf - 1);
    if (n <= 0) return log;
    std::string_view msg(buf, static_cast<size_t>(n));
    if (msg.size() > 2 && msg[1] == ' ') msg.remove_prefix(2);
    if (!log.empty()) log += "; ";
    log += msg;
  }
}

// An overlay fs_context configured with o's layers and created, so the kernel has checked every
// one; what names the operation in errors. nullopt (and no error) when this kernel has no new
// mount API or its overlayfs no "lowerdir+".
Result<std::optional<UniqueFd>> createOverlayContext(const Overlay& o, const std::string& what) {
  UniqueFd fs(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fs) {
    if (errno == ENOSYS) return std::optional<UniqueFd>();
    return failErrno(what + ": fsopen");
  }
  auto failWithLog = [&](const std::string& step) {
    int err = errno;
    std::string log = kernelLog(fs.get());
    return std::unexpected(Error(err, what + step + (log.empty() ? "" : " (" + log + ")")));
  };
  for (size_t i = 0; i < o.lowerDirs.size(); ++i) {
    const std::string& lower = o.lowerDirs[i];
    if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir+", lower.c_str(), 0) < 0) {
      if (i == 0 && errno == EINVAL) return std::optional<UniqueFd>();
      return failWithLog(": lower layer `" + lower + "`");
    }
  }
  if (!o.upperDir.empty()) {
    if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "upperdir", o.upperDir.c_str(), 0) < 0) {
      return failWithLog(": upperdir `" + o.upperDir + "`");
    }
    if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "workdir", o.workDir.c_str(), 0) < 0) {
      return failWithLog(": workdir `" + o.workDir + "`");
    }
  }
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) return failWithLog("");
  return std::optional<UniqueFd>(std::move(fs));
}

// The new mount API. Returns false (and no error) when this kernel's overlayfs has no
// "lowerdir+", so the caller falls back to the option string.
Result<bool> mountWithFsconfig(const Overlay& o, const std::string& target) {
  const std::string what = "mount overlay on " + target;
  std::optional<UniqueFd> fs = TRY(createOverlayContext(o, what));
  if (!fs) return false;
  UniqueFd mnt(::fsmount(fs->get(), FSMOUNT_CLOEXEC, 0));
  if (!mnt) return failErrno(what + ": fsmount");
  if (::move_mount(mnt.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0) {
    return failErrno(what);
  }
  return true;
}

Status mountLegacy(const Overlay& o, const std::string& target) {
  const std::string what = "mount overlay on " + target;
  LegacyOverlay plan = TRY_CTX(legacyOverlayOptions(o), what);
  UniqueFd oldCwd;
  if (!plan.chdirTo.empty()) {
    oldCwd.reset(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!oldCwd) return failErrno(what + ": open the current directory");
    if (::chdir(plan.chdirTo.c_str()) < 0) return failErrno(what + ": chdir " + plan.chdirTo);
  }
  int rc = ::mount("overlay", target.c_str(), "overlay", 0, plan.data.c_str());
  int err = errno;
  if (oldCwd && ::fchdir(oldCwd.get()) < 0 && rc == 0) return failErrno("fchdir back");
  if (rc < 0) return std::unexpected(Error(err, what));
  return {};
}

}  // namespace

Result<LegacyOverlay> legacyOverlayOptions(const Overlay& o, size_t limit) {
  if (o.lowerDirs.empty()) return failInvalid("no lower layers");
  LegacyOverlay out;
  out.data = buildData(o.lowerDirs, o);
  if (out.data.size() <= limit) return out;
  for (const std::string& l : o.lowerDirs) {
    if (l.empty() || l[0] != '/') {
      return fail(Error(E2BIG, "overlay options for " + std::to_string(o.lowerDirs.size()) +
                                   " layers do not fit in one page"));
    }
  }
  std::string common = commonDirectory(o.lowerDirs);
  size_t cut = common == "/" ? 1 : common.size() + 1;
  std::vector<std::string> relative;
  for (const std::string& l : o.lowerDirs) relative.push_back(l.substr(cut));
  out.data = buildData(relative, o);
  out.chdirTo = common;
  if (out.data.size() > limit) {
    return fail(Error(E2BIG, "overlay options for " + std::to_string(o.lowerDirs.size()) +
                                 " layers do not fit in one page"));
  }
  return out;
}

Status mountOverlay(const Overlay& o, const std::string& target, bool allowNewApi) {
  if (o.lowerDirs.empty()) return failInvalid("mount overlay on " + target + ": no lower layers");
  if (!o.upperDir.empty() && o.workDir.empty()) {
    return failInvalid("mount overlay on " + target + ": upperdir without workdir");
  }
  if (allowNewApi) {
    bool mounted = TRY(mountWithFsconfig(o, target));
    if (mounted) return {};
  }
  return mountLegacy(o, target);
}

}  // namespace strata::runtime::detail

namespace strata::runtime {

Result<UniqueFd> mountDetachedLayers(const std::vector<std::string>& lowerDirs) {
  if (lowerDirs.size() < 2) return failInvalid("mount detached layers: fewer than two layers");
  const std::string what = "mount " + std::to_string(lowerDirs.size()) + " layers detached";
  auto create = [&](const std::vector<std::string>& lowers) -> Result<UniqueFd> {
    std::optional<UniqueFd> fs = TRY(detail::createOverlayContext({.lowerDirs = lowers}, what));
    if (!fs) return failInvalid(what + ": this kernel's overlayfs has no lowerdir+");
    return std::move(*fs);
  };
  UniqueFd fs = TRY(create(lowerDirs));
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY));
  if (!mnt) return failErrno(what + ": fsmount");
  // Whether it can be a lower directory: older kernels refuse mounts outside a namespace, and
  // overlayfs stacks at most two deep.
  TRYV(create({"/proc/self/fd/" + std::to_string(mnt.get()), lowerDirs.front()}));
  return mnt;
}

}  // namespace strata::runtime
