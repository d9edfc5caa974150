#include "build/copy_step.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>

#include "layer/compression.h"
#include "layer/tar.h"
#include "runtime/runtime.h"
#include "util/fs.h"
#include "util/path.h"

namespace strata::build {
namespace {

// --- inside the child, chrooted into the image's merged file system ---

Result<UniqueFd> openBelow(int rootFd, const std::string& path, int flags, bool inRoot) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = inRoot ? (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) : (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
  const std::string rel = path.empty() ? "." : path;
  long fd = ::syscall(SYS_openat2, rootFd, rel.c_str(), &how, sizeof how);
  if (fd < 0) return failErrno("open `" + (path.empty() ? std::string("/") : path) + "`");
  return UniqueFd(static_cast<int>(fd));
}

// A name or number from /etc/passwd or /etc/group of the image (field 0 = name, field 2 = id).
// Unknown names are 0, as BuildKit resolves them.
uint32_t lookupId(const std::string& file, const std::string& nameOrId) {
  uint32_t id = 0;
  auto [end, ec] = std::from_chars(nameOrId.data(), nameOrId.data() + nameOrId.size(), id);
  if (ec == std::errc() && end == nameOrId.data() + nameOrId.size()) return id;
  auto text = readFile(file);
  if (!text) return 0;
  std::size_t pos = 0;
  while (pos < text->size()) {
    std::size_t nl = text->find('\n', pos);
    if (nl == std::string::npos) nl = text->size();
    std::string line = text->substr(pos, nl - pos);
    pos = nl + 1;
    std::vector<std::string> fields;
    for (std::size_t p = 0;;) {
      std::size_t colon = line.find(':', p);
      fields.push_back(line.substr(p, colon == std::string::npos ? std::string::npos : colon - p));
      if (colon == std::string::npos) break;
      p = colon + 1;
    }
    if (fields.size() > 2 && fields[0] == nameOrId) {
      uint32_t v = 0;
      std::from_chars(fields[2].data(), fields[2].data() + fields[2].size(), v);
      return v;
    }
  }
  return 0;
}

struct Ownership {
  uid_t uid;
  gid_t gid;
};

// --chown=user[:group]: a lone user also names the group (by the same id).
Ownership resolveChown(const std::string& spec) {
  const std::size_t colon = spec.find(':');
  const std::string user = spec.substr(0, colon);
  uid_t uid = lookupId("/etc/passwd", user);
  gid_t gid = colon == std::string::npos ? uid : lookupId("/etc/group", spec.substr(colon + 1));
  return {uid, gid};
}

class Writer {
 public:
  Writer(int sourceRoot, bool inRoot, std::optional<Ownership> owner, std::optional<mode_t> chmod)
      : sourceRoot_(sourceRoot), inRoot_(inRoot), owner_(owner), chmod_(chmod) {}

  // Writes one entry at target (an absolute path in the image).
  Status put(const std::string& target, const ContextEntry& e) {
    const mode_t type = e.st.st_mode & S_IFMT;
    const mode_t perm = chmod_ ? *chmod_ : (e.st.st_mode & 07777);
    const uid_t uid = owner_ ? owner_->uid : e.st.st_uid;
    const gid_t gid = owner_ ? owner_->gid : e.st.st_gid;
    struct stat existing;
    const bool exists = ::lstat(target.c_str(), &existing) == 0;
    if (type == S_IFDIR) {
      if (exists && !S_ISDIR(existing.st_mode) && ::unlink(target.c_str()) < 0)
        return failErrno("replace `" + target + "`");
      if ((!exists || !S_ISDIR(existing.st_mode)) && ::mkdir(target.c_str(), 0700) < 0)
        return failErrno("create `" + target + "`");
      TRYV(finish(target, perm, uid, gid, e));
      dirTimes_.push_back({target, e.st.st_mtim});
      return {};
    }
    if (exists) {
      if (S_ISDIR(existing.st_mode))
        return failInvalid("cannot replace directory `" + target + "` with a non-directory");
      if (::unlink(target.c_str()) < 0) return failErrno("replace `" + target + "`");
    }
    if (type == S_IFREG && e.st.st_nlink > 1) {
      auto [it, first] = links_.try_emplace({e.st.st_dev, e.st.st_ino}, target);
      if (!first) {
        if (::link(it->second.c_str(), target.c_str()) < 0) return failErrno("link `" + target + "`");
        return {};
      }
    }
    switch (type) {
      case S_IFREG: {
        UniqueFd in = TRY(openBelow(sourceRoot_, e.path, O_RDONLY | O_NOFOLLOW, inRoot_));
        UniqueFd out = TRY(openFile(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        TRYV_CTX(copyData(in.get(), out.get()), "copy `" + e.path + "`");
        return finishFile(out.get(), target, perm, uid, gid, e.st.st_mtim);
      }
      case S_IFLNK:
        if (::symlink(e.linkTarget.c_str(), target.c_str()) < 0) return failErrno("create `" + target + "`");
        break;
      case S_IFIFO:
        if (::mkfifo(target.c_str(), 0600) < 0) return failErrno("create `" + target + "`");
        break;
      default:
        return failInvalid("cannot copy `" + e.path + "`: not a file, directory or symlink");
    }
    return finish(target, perm, uid, gid, e);
  }

  // A regular file whose content comes from an open fd (a download) instead of the source root.
  Status putFromFd(const std::string& target, const ContextEntry& e, int in) {
    struct stat existing;
    if (::lstat(target.c_str(), &existing) == 0) {
      if (S_ISDIR(existing.st_mode))
        return failInvalid("cannot replace directory `" + target + "` with a non-directory");
      if (::unlink(target.c_str()) < 0) return failErrno("replace `" + target + "`");
    }
    if (::lseek(in, 0, SEEK_SET) < 0) return failErrno("rewind the download of `" + e.path + "`");
    UniqueFd out = TRY(openFile(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    TRYV_CTX(copyData(in, out.get()), "copy `" + e.path + "`");
    return finishFile(out.get(), target, chmod_ ? *chmod_ : (e.st.st_mode & 07777),
                      owner_ ? owner_->uid : 0, owner_ ? owner_->gid : 0, e.st.st_mtim);
  }

  // Directory times last: writing into a directory changes its mtime.
  Status restoreDirectoryTimes() {
    for (auto it = dirTimes_.rbegin(); it != dirTimes_.rend(); ++it) {
      timespec times[2] = {it->second, it->second};
      if (::utimensat(AT_FDCWD, it->first.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0)
        return failErrno("set times of `" + it->first + "`");
    }
    return {};
  }

 private:
  static Status copyData(int in, int out) {
    char buf[1 << 16];
    for (;;) {
      ssize_t n = ::read(in, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        return failErrno("read");
      }
      if (n == 0) return {};
      for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(out, buf + off, static_cast<std::size_t>(n - off));
        if (w < 0) {
          if (errno == EINTR) continue;
          return failErrno("write");
        }
        off += w;
      }
    }
  }

  // finish for a regular file still open as fd: through the fd, so that no path is looked up
  // again (each lookup crosses the overlay). Owner before mode: chown clears setuid bits.
  static Status finishFile(int fd, const std::string& target, mode_t perm, uid_t uid, gid_t gid,
                           const timespec& mtime) {
    if (::fchown(fd, uid, gid) < 0) return failErrno("chown `" + target + "`");
    if (::fchmod(fd, perm) < 0) return failErrno("chmod `" + target + "`");
    timespec times[2] = {mtime, mtime};
    if (::futimens(fd, times) < 0) return failErrno("set times of `" + target + "`");
    return {};
  }

  Status finish(const std::string& target, mode_t perm, uid_t uid, gid_t gid, const ContextEntry& e) {
    if (::lchown(target.c_str(), uid, gid) < 0) return failErrno("chown `" + target + "`");
    if (!S_ISLNK(e.st.st_mode) && ::chmod(target.c_str(), perm) < 0) return failErrno("chmod `" + target + "`");
    if (!S_ISDIR(e.st.st_mode)) {
      timespec times[2] = {e.st.st_mtim, e.st.st_mtim};
      if (::utimensat(AT_FDCWD, target.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0)
        return failErrno("set times of `" + target + "`");
    }
    return {};
  }

  int sourceRoot_;
  bool inRoot_;
  std::optional<Ownership> owner_;
  std::optional<mode_t> chmod_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  std::vector<std::pair<std::string, timespec>> dirTimes_;
};

// mkdir -p for the directories up to the last '/' of path: 0755, owned by the --chown owner (or
// root), as BuildKit creates them.
Status makeParents(const std::string& path, const std::optional<Ownership>& owner) {
  std::size_t pos = 1;
  while (true) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string::npos) return {};
    const std::string cur = path.substr(0, slash);
    pos = slash + 1;
    if (::mkdir(cur.c_str(), 0755) < 0) {
      if (errno == EEXIST) continue;
      return failErrno("create `" + cur + "`");
    }
    const Ownership o = owner ? *owner : Ownership{0, 0};
    if (::lchown(cur.c_str(), o.uid, o.gid) < 0) return failErrno("chown `" + cur + "`");
  }
}

// The names in an open directory (no /proc needed: this runs chrooted).
Result<std::vector<std::string>> namesIn(int dirFd) {
  int dup = ::fcntl(dirFd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return failErrno("read directory");
  DIR* d = ::fdopendir(dup);
  if (!d) {
    ::close(dup);
    return failErrno("read directory");
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool isDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<ContextEntry> entryAt(int rootFd, const std::string& path) {
  ContextEntry e;
  e.path = path;
  UniqueFd fd = TRY(openBelow(rootFd, path, O_PATH | O_NOFOLLOW, true));
  if (::fstatat(fd.get(), "", &e.st, AT_EMPTY_PATH) < 0) return failErrno("stat `" + path + "`");
  if (S_ISLNK(e.st.st_mode)) {
    char buf[4096];
    ssize_t n = ::readlinkat(fd.get(), "", buf, sizeof buf);
    if (n < 0) return failErrno("read link `" + path + "`");
    e.linkTarget.assign(buf, static_cast<std::size_t>(n));
  }
  return e;
}

// Everything below a directory of another image's file system, parents first, names sorted.
Status walkBelow(int rootFd, const std::string& dir, std::vector<ContextEntry>& out) {
  UniqueFd fd = TRY(openBelow(rootFd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, true));
  for (const std::string& name : TRY(namesIn(fd.get()))) {
    const std::string path = dir.empty() ? name : dir + "/" + name;
    ContextEntry e = TRY(entryAt(rootFd, path));
    const bool isDir = S_ISDIR(e.st.st_mode);
    out.push_back(std::move(e));
    if (isDir) TRYV(walkBelow(rootFd, path, out));
  }
  return {};
}

bool hasWildcard(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

// A COPY --from source: its path taken inside the other file system, wildcards per component.
Result<std::vector<CopyItem>> resolveInRoot(int rootFd, const std::string& pattern) {
  const std::string clean = cleanPath("/" + pattern);
  std::vector<std::string> components;
  for (std::size_t pos = 1; pos < clean.size();) {
    std::size_t slash = clean.find('/', pos);
    if (slash == std::string::npos) slash = clean.size();
    components.push_back(clean.substr(pos, slash - pos));
    pos = slash + 1;
  }
  std::vector<std::string> candidates{""};
  for (const std::string& c : components) {
    std::vector<std::string> next;
    for (const std::string& base : candidates) {
      if (!hasWildcard(c)) {
        next.push_back(base.empty() ? c : base + "/" + c);
        continue;
      }
      auto dir = openBelow(rootFd, base, O_RDONLY | O_DIRECTORY, true);
      if (!dir) continue;
      for (const std::string& n : TRY(namesIn(dir->get())))
        if (::fnmatch(c.c_str(), n.c_str(), 0) == 0) next.push_back(base.empty() ? n : base + "/" + n);
    }
    candidates = std::move(next);
  }
  std::vector<CopyItem> items;
  for (const std::string& path : candidates) {
    auto top = entryAt(rootFd, path);
    if (!top) {
      if (hasWildcard(pattern)) continue;
      return failInvalid("\"" + clean + "\": not found");
    }
    CopyItem item;
    const bool isDir = S_ISDIR(top->st.st_mode);
    item.entries.push_back(std::move(*top));
    if (isDir) TRYV(walkBelow(rootFd, path, item.entries));
    items.push_back(std::move(item));
  }
  return items;
}

std::string baseName(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Whether the file starts like a tar archive, plain or gzip- or zstd-compressed (ADD decides by
// content, not by name).
Result<bool> looksLikeArchive(int fd) {
  unsigned char head[512];
  ssize_t n = ::pread(fd, head, sizeof head, 0);
  if (n < 0) return failErrno("read");
  return layer::looksLikeTar(head, static_cast<std::size_t>(n));
}

// ADD of a local archive: its entries land in the destination directory (made first, with
// makeDir) with their owners and modes (setuid kept as data), as a plain untar. False when the
// entry is not an archive.
Result<bool> unpackIfArchive(int sourceRoot, bool inRoot, const ContextEntry& e, const std::string& destDir,
                             const std::function<Status()>& makeDir) {
  if (!S_ISREG(e.st.st_mode)) return false;
  UniqueFd in = TRY(openBelow(sourceRoot, e.path, O_RDONLY | O_NOFOLLOW, inRoot));
  if (!TRY(looksLikeArchive(in.get()))) return false;
  auto reader = layer::decompressingReader(layer::fdReader(in.get()));
  if (!reader) return false;
  TRYV(makeDir());
  layer::ExtractOptions options;
  options.whiteouts = layer::WhiteoutMode::Apply;
  TRYV_CTX(layer::extractLayer(std::move(*reader), destDir, options), "unpack `" + e.path + "`");
  return true;
}

Status copyInto(const CopyStep& step, std::vector<CopyItem> items, int sourceRoot, bool inRoot,
                const std::vector<UniqueFd>& fetchedFds) {
  std::optional<Ownership> owner;
  if (!step.chown.empty()) owner = resolveChown(step.chown);
  else if (!inRoot) owner = Ownership{0, 0};  // context files belong to root in the image
  Writer writer(sourceRoot, inRoot, owner, step.chmod);

  const bool slash = step.dest.size() > 1 && step.dest.back() == '/';
  const std::string dest = cleanPath(step.dest);
  std::size_t sources = step.inlineFiles.size() + step.fetched.size();
  for (const CopyItem& item : items) sources += item.entries.empty() ? 0 : 1;
  const bool destIsDir = slash || sources > 1 || isDirectory(dest);
  const std::optional<Ownership> dirOwner = step.chown.empty() ? std::nullopt : owner;
  TRYV(makeParents(destIsDir ? dest + "/" : dest, dirOwner));
  const auto join = [](const std::string& dir, const std::string& name) {
    return dir == "/" ? "/" + name : dir + "/" + name;
  };
  for (const CopyItem& item : items) {
    if (item.entries.empty()) continue;
    const ContextEntry& top = item.entries[0];
    const bool topIsDir = S_ISDIR(top.st.st_mode);
    // A directory's contents go into the destination; anything else goes to it or into it.
    const std::string name = item.name.empty() ? baseName(top.path) : item.name;
    const std::string target = topIsDir ? dest : (destIsDir ? join(dest, name) : dest);
    if (step.unpackArchives &&
        TRY(unpackIfArchive(sourceRoot, inRoot, top, dest, [&] { return makeParents(dest + "/", dirOwner); })))
      continue;
    if (topIsDir) {
      TRYV(makeParents(target + "/", dirOwner));
    } else {
      TRYV(writer.put(target, top));
    }
    const std::string prefix = top.path.empty() ? "" : top.path + "/";
    for (std::size_t i = 1; i < item.entries.size(); ++i) {
      const ContextEntry& e = item.entries[i];
      TRYV(writer.put(join(target, e.path.substr(prefix.size())), e));
    }
  }
  for (const InlineFile& f : step.inlineFiles) {
    const std::string target = destIsDir ? join(dest, f.name) : dest;
    UniqueFd out = TRY(openFile(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    TRYV(writeAll(out.get(), f.content));
    const Ownership o = owner ? *owner : Ownership{0, 0};
    if (::fchown(out.get(), o.uid, o.gid) < 0) return failErrno("chown `" + target + "`");
    if (::fchmod(out.get(), step.chmod ? *step.chmod : 0644) < 0) return failErrno("chmod `" + target + "`");
  }
  for (std::size_t i = 0; i < step.fetched.size(); ++i) {
    const FetchedFile& f = step.fetched[i];
    const std::string target = destIsDir ? join(dest, f.name) : dest;
    ContextEntry e;
    e.path = f.name;
    if (::fstat(fetchedFds[i].get(), &e.st) < 0) return failErrno("stat the download of `" + f.name + "`");
    e.st.st_mode = S_IFREG | 0600;  // what ADD gives a remote file
    e.st.st_uid = 0;
    e.st.st_gid = 0;
    e.st.st_nlink = 1;
    e.st.st_mtim = timespec{static_cast<time_t>(f.mtime), 0};
    TRYV(writer.putFromFd(target, e, fetchedFds[i].get()));
  }
  return writer.restoreDirectoryTimes();
}

}  // namespace

Status copyStep(const CopyStep& step, const std::string& upperDir, const std::string& scratchDir) {
  TempDir tmp = TRY(TempDir::create(scratchDir, "copy-"));
  const std::string work = tmp.path() + "/work", empty = tmp.path() + "/empty";
  TRYV(mkdirAll(work, 0700));
  TRYV(mkdirAll(empty, 0755));
  runtime::Overlay target;
  target.lowerDirs = step.lowerDirs.empty() ? std::vector<std::string>{empty} : step.lowerDirs;
  target.upperDir = upperDir;
  target.workDir = work;
  std::vector<runtime::Overlay> overlays{target};
  if (step.sourceLowerDirs) overlays.push_back(runtime::Overlay{*step.sourceLowerDirs, "", ""});

  UniqueFd context;
  if (!step.sourceLowerDirs) context = TRY(openFile(step.contextRoot, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  // Downloads are opened before the child enters the image's file system.
  std::vector<UniqueFd> fetchedFds;
  for (const FetchedFile& f : step.fetched) fetchedFds.push_back(TRY(openFile(f.hostPath, O_RDONLY | O_CLOEXEC)));
  return runtime::withOverlays(overlays, scratchDir, [&](const std::vector<std::string>& roots) -> Status {
    int sourceRoot = context.get();
    UniqueFd stageRoot;
    if (step.sourceLowerDirs) {
      stageRoot = TRY(openFile(roots[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      sourceRoot = stageRoot.get();
    }
    if (::chroot(roots[0].c_str()) < 0 || ::chdir("/") < 0) return failErrno("enter the image's file system");
    if (!step.sourceLowerDirs) return copyInto(step, step.items, sourceRoot, false, fetchedFds);
    std::vector<CopyItem> items;
    for (const std::string& p : step.patterns)
      for (CopyItem& item : TRY(resolveInRoot(sourceRoot, p))) items.push_back(std::move(item));
    return copyInto(step, std::move(items), sourceRoot, true, fetchedFds);
  });
}

}  // namespace strata::build
