// Advisory whole-file locks (flock) held for the lifetime of a FileLock.
#pragma once

#include <optional>
#include <string>

#include "util/error.h"
#include "util/fd.h"

namespace strata {

class FileLock {
 public:
  enum class Mode { Shared, Exclusive };
  // Opens (creating if needed) path and blocks until the lock is held.
  static Result<FileLock> acquire(const std::string& path, Mode mode);
  // As acquire, without waiting: nullopt when another process holds a conflicting lock.
  static Result<std::optional<FileLock>> tryAcquire(const std::string& path, Mode mode);
  FileLock() = default;
  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&&) noexcept = default;
  bool held() const { return fd_.valid(); }
  // Drops the lock early; the destructor does the same.
  void release() { fd_.reset(); }

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace strata
