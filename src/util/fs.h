// File-system helpers: whole-file reads, atomic replacement, directory trees, temp dirs.
//
// Every fd opened here is O_CLOEXEC. Functions taking a path act on it as given; functions with an
// _at suffix take a directory fd and a path relative to it.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"
#include "util/fd.h"

namespace strata {

Result<UniqueFd> openFile(const std::string& path, int flags, mode_t mode = 0644);
Result<UniqueFd> openAt(int dirfd, const std::string& path, int flags, mode_t mode = 0644);

Result<std::string> readFile(const std::string& path);
Result<std::string> readAll(int fd);
// Writes all of data, retrying short writes and EINTR.
Status writeAll(int fd, const void* data, size_t size);
inline Status writeAll(int fd, std::string_view s) { return writeAll(fd, s.data(), s.size()); }
// Sends all of data on a socket, retrying short sends and EINTR; a non-blocking socket's full
// buffer is waited out, a blocking socket's send timeout (SO_SNDTIMEO) is an error (EAGAIN). A
// peer that went away is an error (EPIPE), never SIGPIPE. Errors are named by what.
Status sendAll(int fd, const void* data, size_t size, const std::string& what);
// Reads up to size bytes; returns the count (0 at end of file). Retries EINTR.
Result<size_t> readSome(int fd, void* buf, size_t size);

// Replaces path with data so that a reader sees either the old or the new file, never a mix,
// even after a crash: write to a temp name in the same directory, fsync, rename, fsync the dir.
Status writeFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0644);
// The same replacement without the two fsyncs: a reader, or a writer killed half way, still
// never sees a mix, but a power failure may lose the new content. For state that a restart
// recomputes anyway (a container's runtime state, the files of a container being created).
Status writeFileReplace(const std::string& path, std::string_view data, mode_t mode = 0644);
// writeFileAtomic without the directory's fsync: the new content is durable once the caller
// fsyncs the directory, so many files written together pay for one directory fsync.
Status writeFileSynced(const std::string& path, std::string_view data, mode_t mode = 0644);
// Writes path in place (created if missing, truncated), no fsync: for files that keep their
// inode (bind-mounted into a running container, /proc/sys) and need no crash safety.
Status writeFileInPlace(const std::string& path, std::string_view data, mode_t mode = 0644);
Status fsyncDir(const std::string& dir);
Status fsyncFd(int fd, const std::string& what);

// Creates dir and its missing parents (like mkdir -p). An existing directory is fine.
Status mkdirAll(const std::string& path, mode_t mode = 0755);
// Removes path and everything under it without following symlinks. A missing path is fine.
Status removeAll(const std::string& path);
// Names in dir (without "." and ".."), unsorted. A missing dir is empty.
Result<std::vector<std::string>> listDirectory(const std::string& dir);
bool pathExists(const std::string& path);
bool isDirectory(const std::string& path);
// Bytes of disk-visible content under path (regular file sizes, symlink lengths), not following
// symlinks; hardlinked files count once.
Result<uint64_t> treeSize(const std::string& path);

std::string joinPath(std::string_view a, std::string_view b);
std::string dirName(std::string_view path);
std::string baseName(std::string_view path);

// A directory made under parent (mkdtemp) and removed with its contents on destruction unless
// release()d. Move-only.
class TempDir {
 public:
  static Result<TempDir> create(const std::string& parent, const std::string& prefix = "tmp-");
  TempDir() = default;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  TempDir& operator=(TempDir&& o) noexcept;
  ~TempDir();

  const std::string& path() const { return path_; }
  // Keeps the directory: the caller now owns it.
  std::string release() { return std::exchange(path_, std::string()); }

 private:
  explicit TempDir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

}  // namespace strata
