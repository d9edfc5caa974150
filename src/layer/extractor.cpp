#include "layer/extractor.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layer/in_root.h"
#include "util/fs.h"

namespace strata::layer::detail {

namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr std::string_view kOverlayXattrPrefix = "trusted.overlay.";

}  // namespace

const char* entryName(archive_entry* e) {
  const char* name = archive_entry_pathname(e);
  return name ? name : archive_entry_pathname_utf8(e);
}

Extractor::Extractor(int rootfd, const ExtractOptions& options, archive* a,
                     std::function<Error(const std::string& what)> readError)
    : rootfd_(rootfd), options_(options), archive_(a), readError_(std::move(readError)),
      isRoot_(::geteuid() == 0) {}

Status Extractor::apply(archive_entry* e) {
  const char* raw = entryName(e);
  if (!raw) return failInvalid("entry without a name");
  std::string path = TRY(cleanEntryPath(raw));
  auto [parent, base] = splitParent(path);
  if (base.starts_with(kWhiteoutPrefix)) return applyWhiteout(parent, base);

  mode_t type = archive_entry_filetype(e);
  const char* hardlink = archive_entry_hardlink(e);
  if (!hardlink) hardlink = archive_entry_hardlink_utf8(e);
  if (path.empty()) {
    // "./" itself: a directory entry for the root updates the root's own metadata.
    if (hardlink || type != AE_IFDIR) return failInvalid("the layer root must be a directory");
    TRYV(setMetadata(e, rootfd_, -1, ""));
    deferDir(path, e);
    return {};
  }
  if (type == AE_IFSOCK) return {};  // nothing a tar can carry
  // Device nodes need root (CAP_MKNOD); without it they are left out, not failed.
  if ((type == AE_IFCHR || type == AE_IFBLK) && !hardlink &&
      (!options_.restoreOwnership || !isRoot_))
    return {};
  int parentfd = TRY(parentDir(parent));
  bool isDir = false;

  if (hardlink) {
    std::string target =
        TRY_CTX(cleanEntryPath(hardlink), "hardlink target \"" + std::string(hardlink) + "\"");
    if (target.empty()) return failInvalid("hardlink to the layer root");
    if (target == path) return {};
    auto [tparent, tbase] = splitParent(target);
    UniqueFd tdir = TRY_CTX(openInRoot(rootfd_, tparent, O_PATH | O_DIRECTORY),
                            "hardlink target \"" + std::string(hardlink) + "\"");
    TRYV(removeExisting(parentfd, base, path, false, isDir));
    if (::linkat(tdir.get(), tbase.c_str(), parentfd, base.c_str(), 0) < 0)
      return failErrno("link `" + path + "` to `" + target + "`");
    touch(path);
    return {};
  }

  switch (type) {
    case AE_IFREG: {
      TRYV(removeExisting(parentfd, base, path, false, isDir));
      int fd = ::openat(parentfd, base.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0) return failErrno("create `" + path + "`");
      UniqueFd file(fd);
      TRYV(writeData(file.get(), e));
      TRYV(setMetadata(e, file.get(), parentfd, base));
      break;
    }
    case AE_IFDIR: {
      TRYV(removeExisting(parentfd, base, path, true, isDir));
      if (!isDir && ::mkdirat(parentfd, base.c_str(), 0700) < 0)
        return failErrno("mkdir `" + path + "`");
      int fd = ::openat(parentfd, base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return failErrno("open `" + path + "`");
      UniqueFd dir(fd);
      TRYV(setMetadata(e, dir.get(), parentfd, base));
      deferDir(path, e);
      break;
    }
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(e);
      if (!target) target = archive_entry_symlink_utf8(e);
      if (!target) return failInvalid("symlink without a target");
      TRYV(removeExisting(parentfd, base, path, false, isDir));
      // The target is stored as text and never resolved here.
      if (::symlinkat(target, parentfd, base.c_str()) < 0)
        return failErrno("symlink `" + path + "`");
      TRYV(setMetadata(e, -1, parentfd, base));
      break;
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: {
      TRYV(removeExisting(parentfd, base, path, false, isDir));
      dev_t dev = type == AE_IFIFO ? 0
                                   : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
      if (::mknodat(parentfd, base.c_str(), type | 0600, dev) < 0)
        return failErrno("mknod `" + path + "`");
      TRYV(setMetadata(e, -1, parentfd, base));
      break;
    }
    default:
      return failInvalid("unsupported entry type " + std::to_string(type));
  }
  touch(path);
  return {};
}

// Whiteout entries are never materialized as themselves.
Status Extractor::applyWhiteout(const std::string& parent, std::string_view base) {
  if (base == kOpaqueMarker) return applyOpaque(parent);
  if (base.starts_with(kWhiteoutMetaPrefix)) return {};  // aufs bookkeeping (.wh..wh.plnk ...)
  std::string name(base.substr(kWhiteoutPrefix.size()));
  if (name.empty() || name == "." || name == "..")
    return failInvalid("invalid whiteout name \"" + std::string(base) + "\"");
  std::string path = parent.empty() ? name : parent + "/" + name;
  if (options_.whiteouts == WhiteoutMode::Apply) {
    auto dir = openInRoot(rootfd_, parent, O_PATH | O_DIRECTORY);
    if (!dir) {
      int err = dir.error().code();
      if (err == ENOENT || err == ENOTDIR) return {};  // nothing there to hide
      return fail(std::move(dir).error());
    }
    forgetCachedParentUnder(path);
    return removeTreeAt(dir->get(), name, path);
  }
  int parentfd = TRY(parentDir(parent));
  forgetCachedParentUnder(path);
  TRYV(removeTreeAt(parentfd, name, path));
  if (::mknodat(parentfd, name.c_str(), S_IFCHR | 0, makedev(0, 0)) < 0)
    return failErrno("mknod whiteout `" + path + "`");
  return {};
}

Status Extractor::applyOpaque(const std::string& dir) {
  if (options_.whiteouts == WhiteoutMode::Overlay) {
    if (!dir.empty()) TRYV(parentDir(dir));  // creates it if missing
    UniqueFd fd = TRY(openInRoot(rootfd_, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    if (::fsetxattr(fd.get(), "trusted.overlay.opaque", "y", 1, 0) < 0)
      return failErrno("mark `" + (dir.empty() ? std::string(".") : dir) + "` opaque");
    return {};
  }
  auto fd = openInRoot(rootfd_, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (!fd) {
    int err = fd.error().code();
    if (err == ENOENT || err == ENOTDIR || err == ELOOP) return {};
    return fail(std::move(fd).error());
  }
  forgetCachedParentUnder(dir);
  return clearUntouched(fd->get(), dir);
}

// Removes what earlier layers left in the directory: everything this layer did not write.
Status Extractor::clearUntouched(int dirfd, const std::string& rel) {
  auto names = TRY(detail::listDir(dirfd, rel.empty() ? "." : rel));
  for (const auto& name : names) {
    std::string child = rel.empty() ? name : rel + "/" + name;
    if (!touched_.contains(child)) {
      TRYV(removeTreeAt(dirfd, name, child));
      continue;
    }
    int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOTDIR || errno == ELOOP) continue;  // a file or symlink of this layer
      return failErrno("open `" + child + "`");
    }
    UniqueFd sub(fd);
    TRYV(clearUntouched(sub.get(), child));
  }
  return {};
}

// An O_PATH fd of the directory rel (resolved in the root), creating missing directories.
Result<int> Extractor::parentDir(const std::string& rel) {
  if (rel.empty()) return rootfd_;
  if (cacheValid_ && cachedPath_ == rel) return cachedFd_.get();
  auto fd = openInRoot(rootfd_, rel, O_PATH | O_DIRECTORY);
  if (!fd && fd.error().code() == ENOENT) fd = createDirs(rel);
  if (!fd) return fail(std::move(fd).error());
  cachedFd_ = std::move(*fd);
  cachedPath_ = rel;
  cacheValid_ = true;
  return cachedFd_.get();
}

// Creates the missing directories of rel one component at a time, each inside the directory
// that its prefix resolves to in the root.
Result<UniqueFd> Extractor::createDirs(const std::string& rel) {
  UniqueFd cur;
  size_t pos = 0;
  for (;;) {
    size_t slash = rel.find('/', pos);
    std::string prefix = rel.substr(0, slash);
    auto next = openInRoot(rootfd_, prefix, O_PATH | O_DIRECTORY);
    if (!next && next.error().code() == ENOENT) {
      std::string name = prefix.substr(pos);
      int at = cur ? cur.get() : rootfd_;
      if (::mkdirat(at, name.c_str(), 0755) < 0 && errno != EEXIST)
        return failErrno("mkdir `" + prefix + "`");
      touch(prefix);
      next = openInRoot(rootfd_, prefix, O_PATH | O_DIRECTORY);
    }
    if (!next) return fail(std::move(next).error());
    cur = std::move(*next);
    if (slash == std::string::npos) return cur;
    pos = slash + 1;
  }
}

// Clears the final component for a new entry: any non-directory is unlinked; a directory is
// kept (isDir = true) when keepDir, else removed with its contents.
Status Extractor::removeExisting(int parentfd, const std::string& base, const std::string& path,
                                 bool keepDir, bool& isDir) {
  isDir = false;
  struct stat st;
  if (::fstatat(parentfd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return {};
    return failErrno("stat `" + path + "`");
  }
  if (S_ISDIR(st.st_mode) && keepDir) {
    isDir = true;
    return {};
  }
  forgetCachedParentUnder(path);
  return removeTreeAt(parentfd, base, path);
}

void Extractor::forgetCachedParentUnder(const std::string& removed) {
  if (!cacheValid_) return;
  if (removed.empty() || cachedPath_ == removed ||
      (cachedPath_.starts_with(removed) && cachedPath_[removed.size()] == '/'))
    cacheValid_ = false;  // the fd stays open until replaced: a caller may still hold it
}

Status Extractor::writeData(int fd, archive_entry* e) {
  int64_t pos = 0;
  for (;;) {
    const void* data;
    size_t size;
    la_int64_t offset;
    int r = archive_read_data_block(archive_, &data, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return fail(readError_("read file data"));
    if (offset != pos) {  // a hole in a sparse file
      if (::lseek(fd, offset, SEEK_SET) < 0) return failErrno("seek");
      pos = offset;
    }
    TRYV(writeAll(fd, data, size));
    pos += static_cast<int64_t>(size);
  }
  if (archive_entry_size_is_set(e) && archive_entry_size(e) > pos &&
      ::ftruncate(fd, archive_entry_size(e)) < 0)
    return failErrno("truncate");
  return {};
}

// Ownership, then mode (chown clears setuid/setgid), then xattrs (chown clears
// security.capability too), then times. fd is the entry's own fd, or -1 to act on base inside
// parentfd without following it. Directory modes and times are deferred (deferDir).
Status Extractor::setMetadata(archive_entry* e, int fd, int parentfd, const std::string& base) {
  mode_t type = archive_entry_filetype(e);
  if (options_.restoreOwnership) {
    auto uid = static_cast<uid_t>(archive_entry_uid(e));
    auto gid = static_cast<gid_t>(archive_entry_gid(e));
    int r = fd >= 0 ? ::fchown(fd, uid, gid)
                    : ::fchownat(parentfd, base.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
    if (r < 0) return failErrno("chown");
  }
  mode_t perm = archive_entry_perm(e) & 07777;
  if (type != AE_IFDIR && type != AE_IFLNK) {
    int r = fd >= 0 ? ::fchmod(fd, perm)
                    : ::fchmodat(parentfd, base.c_str(), perm, AT_SYMLINK_NOFOLLOW);
    if (r < 0) return failErrno("chmod");
  }
  TRYV(setXattrs(e, fd, parentfd, base));
  if (type != AE_IFDIR && archive_entry_mtime_is_set(e)) {
    timespec ts{archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    timespec times[2] = {ts, ts};
    int r = fd >= 0 ? ::futimens(fd, times)
                    : ::utimensat(parentfd, base.c_str(), times, AT_SYMLINK_NOFOLLOW);
    if (r < 0) return failErrno("set times");
  }
  return {};
}

Status Extractor::setXattrs(archive_entry* e, int fd, int parentfd, const std::string& base) {
  if (archive_entry_xattr_reset(e) == 0) return {};
  std::string proc = fd >= 0 ? std::string() : detail::procPathAt(parentfd, base);
  const char* name;
  const void* value;
  size_t size;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    // Overlay's own xattrs come only from whiteout conversion, never from a layer's content:
    // a crafted redirect or metacopy xattr would steer overlayfs.
    if (std::string_view(name).starts_with(kOverlayXattrPrefix)) continue;
    int r = fd >= 0 ? ::fsetxattr(fd, name, value, size, 0)
                    : ::lsetxattr(proc.c_str(), name, value, size, 0);
    if (r < 0) {
      // Unprivileged, trusted.* and friends are out of reach; and no user.* xattr can sit on a
      // symlink. Neither is worth failing the layer for.
      bool unsupported = errno == EPERM || errno == ENOTSUP;
      if (unsupported && (!isRoot_ || archive_entry_filetype(e) == AE_IFLNK)) continue;
      return failErrno("set xattr `" + std::string(name) + "`");
    }
  }
  return {};
}

void Extractor::deferDir(const std::string& path, archive_entry* e) {
  DeferredDir d{path, static_cast<mode_t>(archive_entry_perm(e) & 07777),
                archive_entry_mtime_is_set(e) != 0, {}};
  if (d.hasTime) d.mtime = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
  dirs_.push_back(std::move(d));
}

void Extractor::touch(std::string path) {
  if (options_.whiteouts != WhiteoutMode::Apply) return;
  while (!path.empty() && touched_.insert(path).second) path = splitParent(path).first;
}

Status Extractor::finish() {
  for (const auto& d : dirs_) {
    auto fd = openInRoot(rootfd_, d.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!fd) continue;  // replaced by a later entry or whited out
    if (::fchmod(fd->get(), d.mode) < 0) return failErrno("chmod `" + d.path + "`");
    if (d.hasTime) {
      timespec times[2] = {d.mtime, d.mtime};
      if (::futimens(fd->get(), times) < 0) return failErrno("set times of `" + d.path + "`");
    }
  }
  return {};
}

}  // namespace strata::layer::detail
