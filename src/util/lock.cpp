#include "util/lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include "util/fs.h"

namespace strata {

Result<FileLock> FileLock::acquire(const std::string& path, Mode mode) {
  UniqueFd fd = TRY(openFile(path, O_RDWR | O_CREAT, 0600));
  int op = mode == Mode::Exclusive ? LOCK_EX : LOCK_SH;
  while (::flock(fd.get(), op) < 0) {
    if (errno != EINTR) return failErrno("lock `" + path + "`");
  }
  return FileLock(std::move(fd));
}

Result<std::optional<FileLock>> FileLock::tryAcquire(const std::string& path, Mode mode) {
  UniqueFd fd = TRY(openFile(path, O_RDWR | O_CREAT, 0600));
  int op = (mode == Mode::Exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
  while (::flock(fd.get(), op) < 0) {
    if (errno == EWOULDBLOCK) return std::optional<FileLock>();
    if (errno != EINTR) return failErrno("lock `" + path + "`");
  }
  return std::optional<FileLock>(FileLock(std::move(fd)));
}

}  // namespace strata
