#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "runtime/channel_internal.h"

namespace strata::runtime::detail {

namespace {

void copyTruncated(char* dst, size_t size, const std::string& src) {
  size_t n = std::min(size - 1, src.size());
  std::memcpy(dst, src.data(), n);
  dst[n] = '\0';
}

}  // namespace

Result<Channel> makeChannel() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0) {
    return failErrno("socketpair for the container process");
  }
  return Channel{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

static Status sendRaw(int fd, const Message& m, int passFd) {
  iovec iov{const_cast<Message*>(&m), sizeof m};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (passFd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &passFd, sizeof(int));
  }
  for (;;) {
    if (::sendmsg(fd, &msg, MSG_NOSIGNAL) >= 0) return {};
    if (errno != EINTR) return failErrno("send to the container process channel");
  }
}

Status sendMessage(int fd, MsgType type, int32_t value, int passFd) {
  Message m;
  m.type = type;
  m.value = value;
  return sendRaw(fd, m, passFd);
}

Result<std::optional<Message>> receiveMessage(int fd, UniqueFd* passed) {
  Message m;
  iovec iov{&m, sizeof m};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  // A child that exits without reading Go (it failed while preparing) leaves ECONNRESET here,
  // reported once and before the messages it sent: read on for them.
  bool reset = false;
  do {
    n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && (errno == EINTR || (errno == ECONNRESET && !std::exchange(reset, true))));
  if (n < 0) return failErrno("read from the container process channel");
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int received;
    std::memcpy(&received, CMSG_DATA(c), sizeof(int));
    if (passed != nullptr) {
      passed->reset(received);
    } else {
      ::close(received);
    }
  }
  if (n == 0) return std::optional<Message>();
  if (static_cast<size_t>(n) != sizeof m) {
    return failInvalid("container process channel: short message (" + std::to_string(n) +
                       " bytes)");
  }
  m.stage[sizeof m.stage - 1] = '\0';
  m.text[sizeof m.text - 1] = '\0';
  return std::optional<Message>(m);
}

Error errorOf(const Message& m) { return Error(m.value, m.text); }

bool waitForGo(int fd) {
  Message m;
  for (;;) {
    ssize_t n = ::recv(fd, &m, sizeof m, 0);
    if (n < 0 && errno == EINTR) continue;
    return n == static_cast<ssize_t>(sizeof m) && m.type == MsgType::Go;
  }
}

void failAndExit(int fd, const char* stage, const Error& e, int status) {
  Message m;
  m.type = MsgType::Error;
  m.value = e.code();
  copyTruncated(m.stage, sizeof m.stage, stage);
  copyTruncated(m.text, sizeof m.text, e.message());
  (void)sendRaw(fd, m, -1);
  ::_exit(status);
}

Result<ChildReport> collectReport(int fd, bool waitPid) {
  ChildReport report;
  for (;;) {
    if (report.error && (!waitPid || report.pid)) return report;
    UniqueFd passed;
    std::optional<Message> m = TRY(receiveMessage(fd, &passed));
    if (!m) return report;
    switch (m->type) {
      case MsgType::Error:
        if (!report.error) report.error = errorOf(*m);
        break;
      case MsgType::Pid:
        report.pid = m->value;
        break;
      case MsgType::PtyMaster:
        if (passed) report.ptyMaster = std::move(passed);
        break;
      case MsgType::Go:
        break;
    }
  }
}

}  // namespace strata::runtime::detail
