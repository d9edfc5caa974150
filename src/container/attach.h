// The attach protocol between a container's monitor and the clients that show its output and
// feed its input (`run` in the foreground, `start -a`, `attach`), over a Unix stream socket.
//
// A frame is a 1-byte type, a 4-byte big-endian length and that many bytes.
//   client -> monitor: Stdin (data), StdinClose, Resize (rows, cols as 2 big-endian uint16)
//   monitor -> client: Stdout, Stderr (data), Exit (4-byte big-endian exit status)
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "util/error.h"
#include "util/fd.h"

namespace strata::container {

enum class Frame : uint8_t { Stdin = 0, StdinClose = 1, Resize = 2, Stdout = 3, Stderr = 4, Exit = 5 };

// Writes one frame, whole (retrying short writes; MSG_NOSIGNAL).
Status writeFrame(int fd, Frame type, const void* data, size_t size);

// Splits a byte stream into frames.
class FrameParser {
 public:
  void feed(const char* data, size_t size) { buf_.append(data, size); }
  // The next complete frame, if any.
  std::optional<std::pair<Frame, std::string>> next();

 private:
  std::string buf_;
};

struct RelayOptions {
  bool stdinOpen = false;  // -i: forward our stdin
  bool tty = false;        // -t: raw mode on our terminal, resize forwarding, detach keys
  std::string detachKeys = "ctrl-p,ctrl-q";
  // Docker's --sig-proxy: SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to us are
  // handed to this function (which passes them to the container) instead of ending us.
  std::function<void(int)> proxySignal;
};

// The result of relaying: the container's exit status, or detached (the user typed the detach
// keys; the container keeps running).
struct RelayResult {
  bool detached = false;
  int exitStatus = 0;
};

// Client side: relays our stdin/stdout/stderr to and from the monitor on sock until the
// container exits or the user detaches.
Result<RelayResult> relay(int sock, const RelayOptions& opt);

// The address of a container's attach socket, given an O_PATH fd of its directory (short,
// whatever the length of the store's path).
std::string socketPath(int dirFd);
// Connects to the attach socket of the container whose directory is dir.
Result<UniqueFd> connectAttach(const std::string& dir);

// "ctrl-p,ctrl-q" -> {0x10, 0x11}; Docker's syntax (ctrl-a..ctrl-z, ctrl-@, ctrl-[, ctrl-\\,
// ctrl-], ctrl-^, ctrl-_, single characters).
Result<std::string> parseDetachKeys(const std::string& text);

}  // namespace strata::container
