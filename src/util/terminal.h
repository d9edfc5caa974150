// Terminal modes for attaching to containers.
#pragma once

#include <termios.h>

namespace strata {

// Puts a terminal in raw mode for the life of the object (as Docker does when attaching to a
// container's pty); a no-op when fd is not a terminal.
class RawTerminal {
 public:
  explicit RawTerminal(int fd);
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

}  // namespace strata
