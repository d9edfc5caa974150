// Terminal modes for attaching to containers.
#pragma once

#include <termios.h>

namespace strata {

// Puts a terminal in raw mode (output processing kept, so "\n" still returns the carriage)
// for the life of the object; a no-op when fd is not a terminal.
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
