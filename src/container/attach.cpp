#include "container/attach.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/fs.h"
#include "util/terminal.h"

namespace strata::container {

Status writeFrame(int fd, Frame type, const void* data, size_t size) {
  unsigned char head[5] = {static_cast<unsigned char>(type), static_cast<unsigned char>(size >> 24),
                           static_cast<unsigned char>(size >> 16), static_cast<unsigned char>(size >> 8),
                           static_cast<unsigned char>(size)};
  std::string buf(reinterpret_cast<char*>(head), 5);
  buf.append(static_cast<const char*>(data), size);
  return sendAll(fd, buf.data(), buf.size(), "attach: send");
}

std::optional<std::pair<Frame, std::string>> FrameParser::next() {
  if (buf_.size() < 5) return std::nullopt;
  auto u = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(buf_[i])); };
  uint32_t len = (u(1) << 24) | (u(2) << 16) | (u(3) << 8) | u(4);
  if (buf_.size() < 5 + static_cast<size_t>(len)) return std::nullopt;
  auto type = static_cast<Frame>(buf_[0]);
  std::string data = buf_.substr(5, len);
  buf_.erase(0, 5 + static_cast<size_t>(len));
  return std::make_pair(type, std::move(data));
}

std::string socketPath(int dirFd) { return "/proc/self/fd/" + std::to_string(dirFd) + "/attach.sock"; }

Result<UniqueFd> connectAttach(const std::string& dir) {
  UniqueFd d = TRY(openFile(dir, O_PATH | O_DIRECTORY));
  std::string path = socketPath(d.get());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    return failErrno("attach: connect to `" + dir + "/attach.sock`");
  return fd;
}

Result<std::string> parseDetachKeys(const std::string& text) {
  std::string out;
  for (size_t pos = 0; pos <= text.size();) {
    size_t comma = text.find(',', pos);
    std::string key = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? text.size() + 1 : comma + 1;
    if (key.size() == 1) {
      out += key;
    } else if (key.size() == 6 && key.rfind("ctrl-", 0) == 0) {
      char c = key[5];
      if (c >= 'a' && c <= 'z') out += static_cast<char>(c - 'a' + 1);
      else if (c == '@') out += '\0';
      else if (c == '[') out += '\x1b';
      else if (c == '\\') out += '\x1c';
      else if (c == ']') out += '\x1d';
      else if (c == '^') out += '\x1e';
      else if (c == '_') out += '\x1f';
      else return failInvalid("invalid detach keys: " + text);
    } else {
      return failInvalid("invalid detach keys: " + text);
    }
  }
  return out;
}

namespace {

Status sendSize(int sock) {
  winsize ws{};
  if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) != 0 && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0)
    return {};
  unsigned char b[4] = {static_cast<unsigned char>(ws.ws_row >> 8), static_cast<unsigned char>(ws.ws_row),
                        static_cast<unsigned char>(ws.ws_col >> 8), static_cast<unsigned char>(ws.ws_col)};
  return writeFrame(sock, Frame::Resize, b, 4);
}

}  // namespace

Result<RelayResult> relay(int sock, const RelayOptions& opt) {
  std::string detach = opt.tty ? TRY(parseDetachKeys(opt.detachKeys)) : std::string();
  std::optional<RawTerminal> raw;
  bool stdinTty = ::isatty(STDIN_FILENO);
  if (opt.tty && opt.stdinOpen && stdinTty) raw.emplace(STDIN_FILENO);

  // SIGWINCH arrives through a signalfd so the loop can forward the new size.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGWINCH);
  if (opt.proxySignal)
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) sigaddset(&mask, sig);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  UniqueFd winch(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (opt.tty) TRYV(sendSize(sock));

  FrameParser parser;
  bool stdinOpen = opt.stdinOpen;
  size_t matched = 0;  // how much of the detach sequence has been typed
  char buf[65536];
  for (;;) {
    pollfd fds[3] = {{sock, POLLIN, 0}, {stdinOpen ? STDIN_FILENO : -1, POLLIN, 0},
                     {winch.get(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return failErrno("attach: poll");
    }
    if (fds[2].revents & POLLIN) {
      signalfd_siginfo si;
      bool resized = false;
      while (::read(winch.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo == SIGWINCH) resized = true;
        else if (opt.proxySignal) opt.proxySignal(static_cast<int>(si.ssi_signo));
      }
      if (resized && opt.tty) TRYV(sendSize(sock));
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n <= 0) {
        stdinOpen = false;
        TRYV(writeFrame(sock, Frame::StdinClose, nullptr, 0));
      } else {
        std::string data(buf, static_cast<size_t>(n));
        if (!detach.empty()) {
          // Hold back a partial detach sequence; forward it if the next key breaks it.
          std::string out;
          for (char c : data) {
            if (c == detach[matched]) {
              if (++matched == detach.size()) return RelayResult{true, 0};
              continue;
            }
            out.append(detach, 0, matched);
            matched = 0;
            if (c == detach[0]) {
              matched = 1;
              continue;
            }
            out += c;
          }
          data = std::move(out);
        }
        if (!data.empty()) TRYV(writeFrame(sock, Frame::Stdin, data.data(), data.size()));
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(sock, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return failInvalid("lost the connection to the container's monitor");
      parser.feed(buf, static_cast<size_t>(n));
      while (auto f = parser.next()) {
        auto& [type, data] = *f;
        if (type == Frame::Stdout) TRYV(writeAll(STDOUT_FILENO, data));
        else if (type == Frame::Stderr) TRYV(writeAll(STDERR_FILENO, data));
        else if (type == Frame::Exit && data.size() == 4) {
          auto u = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(data[i])); };
          return RelayResult{false, static_cast<int>((u(0) << 24) | (u(1) << 16) | (u(2) << 8) | u(3))};
        }
      }
    }
  }
}

}  // namespace strata::container
