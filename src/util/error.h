// Error values for every fallible call in strata.
//
// An Error keeps the errno of the failed system call (0 when none) and a message naming the
// operation and the object it acted on ("open `/var/lib/strata/index.json`"). Callers add context
// on the way up with wrap(); the CLI prints what() once, on one line.
#pragma once

#include <cerrno>
#include <expected>
#include <string>
#include <utility>

namespace strata {

class Error {
 public:
  Error() = default;
  Error(int err, std::string message) : errno_(err), message_(std::move(message)) {}

  // An error from the current errno, for use right after a failed system call.
  static Error fromErrno(std::string message) { return Error(errno, std::move(message)); }
  // An error with no errno: bad input, a failed check.
  static Error invalid(std::string message) { return Error(0, std::move(message)); }

  int code() const { return errno_; }
  const std::string& message() const { return message_; }

  // Prefixes context: "load `x.tar`" + "read manifest.json" -> "load `x.tar`: read manifest.json".
  Error& wrap(const std::string& context) & {
    message_ = context + ": " + message_;
    return *this;
  }
  Error&& wrap(const std::string& context) && {
    message_ = context + ": " + message_;
    return std::move(*this);
  }

  // The full one-line text: the message, then strerror(errno) when there is one.
  std::string what() const;

 private:
  int errno_ = 0;
  std::string message_;
};

template <typename T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(Error e) { return std::unexpected<Error>(std::move(e)); }
inline std::unexpected<Error> failErrno(std::string message) {
  return std::unexpected<Error>(Error::fromErrno(std::move(message)));
}
inline std::unexpected<Error> failInvalid(std::string message) {
  return std::unexpected<Error>(Error::invalid(std::move(message)));
}

}  // namespace strata

// TRY(expr): evaluates a Result<T>; on error returns it from the enclosing function, otherwise
// yields the value. TRYV for Status. Both use GNU statement expressions (GCC and clang).
#define TRY(expr)                                                   \
  ({                                                                \
    auto strata_try_r_ = (expr);                                    \
    if (!strata_try_r_) return std::unexpected(std::move(strata_try_r_).error()); \
    std::move(*strata_try_r_);                                      \
  })
#define TRYV(expr)                                                  \
  do {                                                              \
    auto strata_try_r_ = (expr);                                    \
    if (!strata_try_r_) return std::unexpected(std::move(strata_try_r_).error()); \
  } while (0)
// TRY_CTX(expr, ctx): as TRY, wrapping the error with a context string.
#define TRY_CTX(expr, ctx)                                          \
  ({                                                                \
    auto strata_try_r_ = (expr);                                    \
    if (!strata_try_r_) return std::unexpected(std::move(strata_try_r_).error().wrap(ctx)); \
    std::move(*strata_try_r_);                                      \
  })
#define TRYV_CTX(expr, ctx)                                         \
  do {                                                              \
    auto strata_try_r_ = (expr);                                    \
    if (!strata_try_r_) return std::unexpected(std::move(strata_try_r_).error().wrap(ctx)); \
  } while (0)
