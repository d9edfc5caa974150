#include "util/error.h"

#include <cstring>

namespace strata {

std::string Error::what() const {
  if (errno_ == 0) return message_;
  return message_ + ": " + std::strerror(errno_);
}

}  // namespace strata
