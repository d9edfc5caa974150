// `cp`'s paths: SRC and DEST as typed, and their resolution inside a root (the container's, in a
// helper child, or the host's), confined to it with openat2(RESOLVE_IN_ROOT).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "container/copy_internal.h"
#include "layer/in_root.h"
#include "layer/tar.h"
#include "layer/tar_stream.h"
#include "util/fs.h"

namespace strata::container::detail {

namespace {

std::string withoutLeadingSlashes(const std::string& path) {
  size_t start = path.find_first_not_of('/');
  return start == std::string::npos ? std::string() : path.substr(start);
}

PathParts splitPath(const std::string& absolute) {
  PathParts p;
  p.rel = withoutLeadingSlashes(absolute);
  p.shown = "/" + p.rel;
  bool dot = absolute == "." || absolute.ends_with("/.");
  p.endsWithSlash = dot || absolute.ends_with('/');
  std::string trimmed = p.rel;
  for (;;) {
    if (trimmed.ends_with('/'))
      trimmed.pop_back();
    else if (trimmed == "." || trimmed.ends_with("/."))
      trimmed.pop_back();
    else
      break;
  }
  p.base = baseName(trimmed);
  p.contentsOnly = dot || trimmed.empty() || p.base == "." || p.base == "..";
  return p;
}

std::string fdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

}  // namespace

PathParts containerPath(const std::string& path) { return splitPath("/" + path); }

Result<PathParts> hostPath(const std::string& path) {
  if (path.starts_with('/')) return splitPath(path);
  char* cwd = ::getcwd(nullptr, 0);
  if (!cwd) return failErrno("getcwd");
  std::string dir(cwd);
  ::free(cwd);
  return splitPath(dir + "/" + path);
}

Result<Source> openSource(int rootfd, const std::string& rel, bool follow) {
  Source s;
  s.fd = TRY(layer::detail::openInRoot(rootfd, rel, O_PATH | (follow ? 0 : O_NOFOLLOW)));
  if (::fstat(s.fd.get(), &s.st) < 0) return failErrno("stat `" + rel + "`");
  return s;
}

Result<Dest> resolveDest(int rootfd, std::string rel) {
  for (int hops = 0; hops <= 10; ++hops) {
    while (rel.ends_with('/') || rel == "." || rel.ends_with("/.")) rel.pop_back();
    Dest d;
    d.shown = "/" + rel;
    auto [parent, base] = layer::detail::splitParent(rel);
    if (base.empty() || base == "..") {  // the root, or a path that ends going up
      d.self = TRY(layer::detail::openInRoot(rootfd, rel, O_PATH | O_DIRECTORY));
      d.exists = d.isDir = true;
      d.type = S_IFDIR;
      return d;
    }
    auto dir = layer::detail::openInRoot(rootfd, parent, O_PATH | O_DIRECTORY);
    if (!dir) return fail(Error(dir.error().code(), "/" + parent));
    d.parent = std::move(*dir);
    d.name = base;
    struct stat st;
    if (::fstatat(d.parent.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) return d;
      return failErrno("lstat " + d.shown);
    }
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(d.parent.get(), base.c_str(), target.data(), target.size());
      if (n < 0) return failErrno("readlink " + d.shown);
      target.resize(static_cast<size_t>(n));
      // Resolved again from the root, so a relative target starts where the link is.
      if (target.starts_with('/'))
        rel = withoutLeadingSlashes(target);
      else
        rel = parent.empty() ? target : parent + "/" + target;
      continue;
    }
    d.exists = true;
    d.type = st.st_mode & S_IFMT;
    d.isDir = S_ISDIR(st.st_mode);
    if (d.isDir) {
      int fd =
          ::openat(d.parent.get(), base.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return failErrno("open " + d.shown);
      d.self.reset(fd);
    }
    return d;
  }
  return fail(Error(ELOOP, "too many symlinks"));
}

Status extractInto(int fd, layer::TarRename how, int dirfd) {
  auto reader = layer::renamingReader(layer::fdReader(fd), std::move(how));
  layer::ExtractOptions options;
  options.whiteouts = layer::WhiteoutMode::Apply;
  TRYV(layer::extractLayer(std::move(reader), fdPath(dirfd), options));
  return {};
}

Status streamTo(int fd, layer::TarRename how, int outFd) {
  auto reader = layer::renamingReader(layer::fdReader(fd), std::move(how));
  std::vector<char> buf(size_t(1) << 20);
  for (;;) {
    size_t n = TRY(reader->read(buf.data(), buf.size()));
    if (n == 0) return {};
    TRYV_CTX(writeAll(outFd, buf.data(), n), "write the tar");
  }
}

}  // namespace strata::container::detail
