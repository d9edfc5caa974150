// writeTarFromDir: walks a tree through directory fds (never following symlinks) and writes it as
// a PAX tar with libarchive, hashing the output on its way to the sink.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "layer/in_root.h"
#include "layer/tar.h"
#include "layer/tar_stream_internal.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace strata::layer {

namespace {

constexpr size_t kChunk = size_t(1) << 20;
constexpr std::string_view kOverlayXattrPrefix = "trusted.overlay.";
constexpr const char* kOpaqueXattr = "trusted.overlay.opaque";
constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

// Receives libarchive's output: hashes and counts it, and hands it on in big chunks.
struct Output {
  const Sink& sink;
  Sha256 sha;
  uint64_t size = 0;
  std::vector<char> buf = std::vector<char>(kChunk);
  size_t used = 0;
  std::optional<Error> error;

  Status put(const void* data, size_t n) {
    sha.update(data, n);
    size += n;
    if (used + n > buf.size()) TRYV(flush());
    if (n >= buf.size()) return sink(data, n);
    std::memcpy(buf.data() + used, data, n);
    used += n;
    return {};
  }

  Status flush() {
    if (used == 0) return {};
    TRYV(sink(buf.data(), used));
    used = 0;
    return {};
  }

  static la_ssize_t callback(archive* a, void* self, const void* data, size_t n) {
    auto* out = static_cast<Output*>(self);
    auto st = out->put(data, n);
    if (!st) {
      archive_set_error(a, st.error().code(), "%s", st.error().what().c_str());
      out->error = std::move(st).error();
      return -1;
    }
    return static_cast<la_ssize_t>(n);
  }
};

struct ArchiveWriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

class Walker {
 public:
  Walker(archive* a, Output& out, const WriteTarOptions& options)
      : archive_(a), out_(out), options_(options), entry_(archive_entry_new()) {}

  Status walkDir(int dirfd, const std::string& prefix);
  // With OverlayMarkers::ToLayer, writes "<prefix>.wh..wh..opq" when the directory open as dirfd
  // (whose stat is dirSt) is opaque.
  Status writeOpaqueMarker(int dirfd, const std::string& prefix, const struct stat& dirSt);

 private:
  Status writeEntry(int dirfd, const std::string& name, const std::string& rel);
  Status writeWhiteout(const std::string& name, const std::string& rel, const struct stat& st);
  Status writeHeader(const std::string& rel);
  Status writeFileData(int dirfd, const std::string& name, const std::string& rel,
                       const struct stat& st);
  Status addXattrs(int dirfd, const std::string& name, const std::string& rel);
  Error archiveError(const std::string& what) const;

  archive* archive_;
  Output& out_;
  const WriteTarOptions& options_;
  std::unique_ptr<archive_entry, EntryDeleter> entry_;
  // First path written for each multiply-linked inode.
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  std::vector<char> buf_ = std::vector<char>(kChunk);
};

Error Walker::archiveError(const std::string& what) const {
  if (out_.error) return *out_.error;
  const char* msg = archive_error_string(archive_);
  return Error::invalid(what + ": " + (msg ? msg : "unknown libarchive error"));
}

// prefix is "" at the root, else the directory's relative path with a trailing '/'.
Status Walker::walkDir(int dirfd, const std::string& prefix) {
  auto names = TRY(detail::listDir(dirfd, prefix.empty() ? "." : prefix));
  for (const auto& name : names) TRYV(writeEntry(dirfd, name, prefix + name));
  return {};
}

Status Walker::writeEntry(int dirfd, const std::string& name, const std::string& rel) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    // overlayfs lists a bottom layer's whiteouts but finds nothing at their names.
    if (errno == ENOENT && options_.overlay == OverlayMarkers::Omit) return {};
    return failErrno("stat `" + rel + "`");
  }
  mode_t type = st.st_mode & S_IFMT;
  if (type == S_IFSOCK) return {};  // tar has no sockets
  // Before the hardlink check: overlayfs may link all its whiteouts to one shared inode.
  if (type == S_IFCHR && st.st_rdev == makedev(0, 0)) {
    if (options_.overlay == OverlayMarkers::Omit) return {};
    if (options_.overlay == OverlayMarkers::ToLayer) return writeWhiteout(name, rel, st);
  }

  archive_entry* e = entry_.get();
  archive_entry_clear(e);
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, st.st_mode & 07777);
  archive_entry_set_uid(e, st.st_uid);
  archive_entry_set_gid(e, st.st_gid);
  if (options_.mtime >= 0)
    archive_entry_set_mtime(e, options_.mtime, 0);
  else
    archive_entry_set_mtime(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  archive_entry_set_size(e, 0);

  if (type != S_IFDIR && st.st_nlink > 1) {
    auto [it, first] = links_.try_emplace({st.st_dev, st.st_ino}, rel);
    if (!first) {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_copy_hardlink(e, it->second.c_str());
      return writeHeader(rel);
    }
  }
  TRYV(addXattrs(dirfd, name, rel));
  switch (type) {
    case S_IFREG:
      archive_entry_set_size(e, st.st_size);
      TRYV(writeHeader(rel));
      return writeFileData(dirfd, name, rel, st);
    case S_IFDIR: {
      TRYV(writeHeader(rel + "/"));
      int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return failErrno("open `" + rel + "`");
      UniqueFd dir(fd);
      TRYV(writeOpaqueMarker(dir.get(), rel + "/", st));
      return walkDir(dir.get(), rel + "/");
    }
    case S_IFLNK: {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      for (;;) {
        ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
        if (n < 0) return failErrno("readlink `" + rel + "`");
        if (static_cast<size_t>(n) < target.size()) {
          target.resize(static_cast<size_t>(n));
          break;
        }
        target.resize(target.size() * 2);  // it grew since the stat
      }
      archive_entry_copy_symlink(e, target.c_str());
      return writeHeader(rel);
    }
    case S_IFCHR:
    case S_IFBLK:
      archive_entry_set_rdev(e, st.st_rdev);
      return writeHeader(rel);
    default:  // FIFO
      return writeHeader(rel);
  }
}

// As Docker's overlay whiteout converter: the device becomes an empty regular file named
// ".wh.NAME", mode 0600, keeping the device's owner and mtime; no xattrs.
Status Walker::writeWhiteout(const std::string& name, const std::string& rel,
                             const struct stat& st) {
  archive_entry* e = entry_.get();
  archive_entry_clear(e);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0600);
  archive_entry_set_uid(e, st.st_uid);
  archive_entry_set_gid(e, st.st_gid);
  if (options_.mtime >= 0)
    archive_entry_set_mtime(e, options_.mtime, 0);
  else
    archive_entry_set_mtime(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  archive_entry_set_size(e, 0);
  std::string prefix = rel.substr(0, rel.size() - name.size());
  return writeHeader(prefix + std::string(kWhiteoutPrefix) + name);
}

// As Docker's converter: an empty regular file with the directory's permission bits and owner,
// and no mtime of its own (0, or the fixed one).
Status Walker::writeOpaqueMarker(int dirfd, const std::string& prefix, const struct stat& dirSt) {
  if (options_.overlay != OverlayMarkers::ToLayer) return {};
  char value[2];
  ssize_t n = ::fgetxattr(dirfd, kOpaqueXattr, value, sizeof value);
  if (n < 0) {
    if (errno == ENODATA || errno == ENOTSUP || errno == ERANGE) return {};
    return failErrno("read xattr `" + std::string(kOpaqueXattr) + "` of `" +
                     (prefix.empty() ? std::string(".") : prefix) + "`");
  }
  if (n != 1 || value[0] != 'y') return {};
  archive_entry* e = entry_.get();
  archive_entry_clear(e);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, dirSt.st_mode & 0777);
  archive_entry_set_uid(e, dirSt.st_uid);
  archive_entry_set_gid(e, dirSt.st_gid);
  archive_entry_set_mtime(e, options_.mtime >= 0 ? options_.mtime : 0, 0);
  archive_entry_set_size(e, 0);
  return writeHeader(prefix + std::string(kOpaqueMarker));
}

Status Walker::writeHeader(const std::string& rel) {
  archive_entry_copy_pathname(entry_.get(), rel.c_str());
  // ARCHIVE_WARN: e.g. a name that is not UTF-8, written with hdrcharset=BINARY.
  if (archive_write_header(archive_, entry_.get()) < ARCHIVE_WARN)
    return fail(archiveError("write tar header for `" + rel + "`"));
  return {};
}

Status Walker::writeFileData(int dirfd, const std::string& name, const std::string& rel,
                             const struct stat& st) {
  int raw = ::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (raw < 0) return failErrno("open `" + rel + "`");
  UniqueFd fd(raw);
  struct stat now;
  if (::fstat(fd.get(), &now) < 0) return failErrno("stat `" + rel + "`");
  if (now.st_ino != st.st_ino || now.st_dev != st.st_dev)
    return failInvalid("`" + rel + "` was replaced while writing the tar");
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  auto remaining = static_cast<uint64_t>(st.st_size);
  while (remaining > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(remaining, buf_.size()));
    size_t n = TRY_CTX(readSome(fd.get(), buf_.data(), want), "read `" + rel + "`");
    if (n == 0) return failInvalid("`" + rel + "` shrank while writing the tar");
    for (size_t off = 0; off < n;) {
      la_ssize_t w = archive_write_data(archive_, buf_.data() + off, n - off);
      if (w <= 0) return fail(archiveError("write tar data for `" + rel + "`"));
      off += static_cast<size_t>(w);
    }
    remaining -= n;
  }
  return {};
}

// All xattrs but overlayfs's own, in name order (the output is reproducible).
Status Walker::addXattrs(int dirfd, const std::string& name, const std::string& rel) {
  std::string proc = detail::procPathAt(dirfd, name);
  std::vector<std::string> names = TRY(detail::xattrNames(proc, rel));
  std::erase_if(names, [](const std::string& key) { return key.starts_with(kOverlayXattrPrefix); });
  std::sort(names.begin(), names.end());
  std::string value;
  for (const auto& key : names) {
    ssize_t len;
    for (;;) {
      len = ::lgetxattr(proc.c_str(), key.c_str(), nullptr, 0);
      if (len < 0) break;
      value.resize(static_cast<size_t>(len));
      len = ::lgetxattr(proc.c_str(), key.c_str(), value.data(), value.size());
      if (len >= 0 || errno != ERANGE) break;
    }
    if (len < 0) {
      if (errno == ENODATA) continue;  // removed since the listing
      return failErrno("read xattr `" + key + "` of `" + rel + "`");
    }
    archive_entry_xattr_add_entry(entry_.get(), key.c_str(), value.data(),
                                  static_cast<size_t>(len));
  }
  return {};
}

}  // namespace

Result<WriteTarResult> writeTarFromDir(const std::string& root, int fd,
                                       const WriteTarOptions& options) {
  const Sink toFd = [fd](const void* data, size_t n) -> Status {
    TRYV_CTX(writeAll(fd, data, n), "write tar");
    return {};
  };
  return writeTarFromDir(root, toFd, options);
}

Result<WriteTarResult> writeTarFromDir(const std::string& root, const Sink& sink,
                                       const WriteTarOptions& options) {
  UniqueFd rootfd = TRY(openFile(root, O_RDONLY | O_DIRECTORY));
  detail::Utf8Locale utf8;
  Output out{sink};
  std::unique_ptr<archive, ArchiveWriteDeleter> a(archive_write_new());
  if (!a) return fail(Error(ENOMEM, "libarchive: cannot allocate a writer"));
  archive_write_set_format_pax_restricted(a.get());
  // xattrs as SCHILY.xattr records only (what Docker, containerd and GNU tar read), not also
  // libarchive's own LIBARCHIVE.xattr copies.
  if (archive_write_set_format_option(a.get(), "pax", "xattrheader", "SCHILY") < ARCHIVE_OK)
    return failInvalid(std::string("tar writer options: ") + archive_error_string(a.get()));
  // No blocking: libarchive hands each piece straight to the sink, and the tar ends right after
  // its two zero blocks instead of being padded to 10 KiB.
  archive_write_set_bytes_per_block(a.get(), 0);
  if (archive_write_open2(a.get(), &out, nullptr, &Output::callback, nullptr, nullptr) !=
      ARCHIVE_OK)
    return failInvalid(std::string("open tar writer: ") + archive_error_string(a.get()));

  Walker walker(a.get(), out, options);
  struct stat rootSt;
  if (::fstat(rootfd.get(), &rootSt) < 0) return failErrno("stat `" + root + "`");
  TRYV_CTX(walker.writeOpaqueMarker(rootfd.get(), "", rootSt), "write tar of `" + root + "`");
  TRYV_CTX(walker.walkDir(rootfd.get(), ""), "write tar of `" + root + "`");
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    if (out.error) return fail(*out.error);
    return failInvalid(std::string("finish tar: ") + archive_error_string(a.get()));
  }
  TRYV(out.flush());
  return WriteTarResult{out.sha.hex(), out.size};
}

}  // namespace strata::layer
