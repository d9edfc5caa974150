// writePathTar: one path as a tar stream, its own entry first (named "."), then a directory's
// contents through writeTarFromDir. Also the libarchive plumbing tar_stream_internal.h declares.
#include "layer/tar_stream.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "layer/tar.h"
#include "layer/tar_stream_internal.h"
#include "util/fs.h"

namespace strata::layer {

namespace detail {

Error archiveError(archive* a, const std::optional<Error>& ours, const std::string& what) {
  if (ours) return *ours;
  const char* msg = archive_error_string(a);
  return Error::invalid(what + ": " + (msg ? msg : "unknown libarchive error"));
}

Result<ArchiveWrite> openTarWriter(void* client, archive_write_callback* cb) {
  ArchiveWrite a(archive_write_new());
  if (!a) return fail(Error(ENOMEM, "libarchive: cannot allocate a writer"));
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_set_format_option(a.get(), "pax", "xattrheader", "SCHILY") < ARCHIVE_OK)
    return failInvalid(std::string("tar writer options: ") + archive_error_string(a.get()));
  archive_write_set_bytes_per_block(a.get(), 0);
  if (archive_write_open2(a.get(), client, nullptr, cb, nullptr, nullptr) != ARCHIVE_OK)
    return failInvalid(std::string("open tar writer: ") + archive_error_string(a.get()));
  return a;
}

}  // namespace detail

namespace {

using detail::archiveError;
using detail::ArchiveWrite;

constexpr std::string_view kOverlayXattrPrefix = "trusted.overlay.";

std::string fdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

struct FdSink {
  int fd;
  std::optional<Error> error;
  static la_ssize_t callback(archive* a, void* self, const void* data, size_t n) {
    auto* sink = static_cast<FdSink*>(self);
    if (auto st = writeAll(sink->fd, data, n); !st) {
      archive_set_error(a, st.error().code(), "%s", st.error().what().c_str());
      sink->error = std::move(st).error().wrap("write tar");
      return -1;
    }
    return static_cast<la_ssize_t>(n);
  }
};

// The xattrs of the file open as fd, but overlayfs's own.
Status addXattrs(archive_entry* e, int fd) {
  std::string list;
  for (;;) {
    ssize_t len = ::flistxattr(fd, nullptr, 0);
    if (len < 0) return errno == ENOTSUP ? Status{} : failErrno("list xattrs");
    list.resize(static_cast<size_t>(len));
    len = ::flistxattr(fd, list.data(), list.size());
    if (len >= 0) {
      list.resize(static_cast<size_t>(len));
      break;
    }
    if (errno != ERANGE) return failErrno("list xattrs");
  }
  std::string value;
  for (size_t pos = 0; pos < list.size();) {
    std::string key(list.c_str() + pos);
    pos += key.size() + 1;
    if (key.empty() || key.starts_with(kOverlayXattrPrefix)) continue;
    ssize_t len = ::fgetxattr(fd, key.c_str(), nullptr, 0);
    if (len >= 0) {
      value.resize(static_cast<size_t>(len));
      len = ::fgetxattr(fd, key.c_str(), value.data(), value.size());
    }
    if (len < 0) {
      if (errno == ENODATA) continue;
      return failErrno("read xattr `" + key + "`");
    }
    archive_entry_xattr_add_entry(e, key.c_str(), value.data(), static_cast<size_t>(len));
  }
  return {};
}

Status copyFileData(archive* a, int fd, const struct stat& st, const FdSink& sink) {
  std::vector<char> buf(detail::kStreamChunk);
  auto remaining = static_cast<uint64_t>(st.st_size);
  while (remaining > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(remaining, buf.size()));
    size_t n = TRY_CTX(readSome(fd, buf.data(), want), "read");
    if (n == 0) return failInvalid("the file shrank while it was copied");
    for (size_t off = 0; off < n;) {
      la_ssize_t w = archive_write_data(a, buf.data() + off, n - off);
      if (w <= 0) return fail(archiveError(a, sink.error, "write tar data"));
      off += static_cast<size_t>(w);
    }
    remaining -= n;
  }
  return {};
}

// A one-entry tar of the path open as fd itself, named ".": its type, mode, owner, mtime, xattrs
// and, for a regular file, its data.
Status writeTopEntry(int fd, const struct stat& st, int outFd) {
  detail::Utf8Locale utf8;
  FdSink sink{outFd, std::nullopt};
  ArchiveWrite a = TRY(detail::openTarWriter(&sink, &FdSink::callback));
  std::unique_ptr<archive_entry, detail::EntryFree> owned(archive_entry_new());
  archive_entry* e = owned.get();
  mode_t type = st.st_mode & S_IFMT;
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, st.st_mode & 07777);
  archive_entry_set_uid(e, st.st_uid);
  archive_entry_set_gid(e, st.st_gid);
  archive_entry_set_mtime(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  archive_entry_set_size(e, 0);
  archive_entry_copy_pathname(e, type == S_IFDIR ? "./" : ".");
  UniqueFd file;
  switch (type) {
    case S_IFREG:
    case S_IFDIR: {
      // Reopened through the O_PATH fd: the very file that was resolved, now readable.
      file = TRY(openFile(fdPath(fd), O_RDONLY | (type == S_IFDIR ? O_DIRECTORY : 0)));
      TRYV(addXattrs(e, file.get()));
      if (type == S_IFREG) archive_entry_set_size(e, st.st_size);
      break;
    }
    case S_IFLNK: {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(fd, "", target.data(), target.size());
      if (n < 0) return failErrno("readlink");
      target.resize(static_cast<size_t>(n));
      archive_entry_copy_symlink(e, target.c_str());
      break;
    }
    case S_IFCHR:
    case S_IFBLK:
      archive_entry_set_rdev(e, st.st_rdev);
      break;
    case S_IFIFO:
      break;
    default:
      return failInvalid("cannot copy a socket");
  }
  if (archive_write_header(a.get(), e) < ARCHIVE_WARN)
    return fail(archiveError(a.get(), sink.error, "write tar header"));
  if (type == S_IFREG) TRYV(copyFileData(a.get(), file.get(), st, sink));
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return fail(archiveError(a.get(), sink.error, "finish tar"));
  return {};
}

}  // namespace

Status writePathTar(int fd, const struct stat& st, int outFd, OverlayMarkers markers) {
  TRYV(writeTopEntry(fd, st, outFd));
  if (!S_ISDIR(st.st_mode)) return {};
  WriteTarOptions options;
  options.overlay = markers;
  TRYV(writeTarFromDir(fdPath(fd), outFd, options));
  return {};
}

}  // namespace strata::layer
