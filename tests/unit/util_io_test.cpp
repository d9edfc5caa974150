// sendAll: whole sends on blocking and non-blocking sockets, and the errors a caller relies on
// (a send timeout and a peer that went away end the call instead of waiting or killing).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "util/fd.h"
#include "util/fs.h"

namespace {

struct Pair {
  strata::UniqueFd a, b;
};

Pair socketPair(int extraFlags = 0) {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | extraFlags, 0, fds), 0);
  return {strata::UniqueFd(fds[0]), strata::UniqueFd(fds[1])};
}

// Reads everything from fd until the peer closes.
std::string drain(int fd) {
  std::string got;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return got;
    got.append(buf, static_cast<size_t>(n));
  }
}

std::string pattern(size_t size) {
  std::string data(size, '\0');
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>(i * 7 + i / 4096);
  return data;
}

TEST(SendAll, SendsEverythingOnABlockingSocket) {
  Pair p = socketPair();
  const std::string data = pattern(8 << 20);  // far more than the socket buffer
  std::string got;
  std::thread reader([&] { got = drain(p.b.get()); });
  ASSERT_TRUE(strata::sendAll(p.a.get(), data.data(), data.size(), "send test data"));
  p.a.reset();
  reader.join();
  EXPECT_EQ(got, data);
}

TEST(SendAll, WaitsOutAFullNonBlockingSocket) {
  Pair p = socketPair(SOCK_NONBLOCK);
  const std::string data = pattern(8 << 20);
  std::string got;
  std::thread reader([&] {
    ::usleep(50000);  // let the sender fill the buffer and meet EAGAIN first
    const int flags = ::fcntl(p.b.get(), F_GETFL);
    ::fcntl(p.b.get(), F_SETFL, flags & ~O_NONBLOCK);
    got = drain(p.b.get());
  });
  ASSERT_TRUE(strata::sendAll(p.a.get(), data.data(), data.size(), "send test data"));
  p.a.reset();
  reader.join();
  EXPECT_EQ(got, data);
}

TEST(SendAll, ASendTimeoutIsAnErrorNamingTheOperation) {
  Pair p = socketPair();
  timeval tv{0, 100000};
  ASSERT_EQ(::setsockopt(p.a.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
  const std::string data = pattern(8 << 20);  // nobody reads: the buffer fills, then the timeout
  auto r = strata::sendAll(p.a.get(), data.data(), data.size(), "write to client");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), EAGAIN);
  EXPECT_NE(r.error().message().find("write to client"), std::string::npos) << r.error().message();
}

TEST(SendAll, APeerThatWentAwayIsEpipeNotSigpipe) {
  Pair p = socketPair();
  p.b.reset();
  const std::string data = pattern(4096);
  auto r = strata::sendAll(p.a.get(), data.data(), data.size(), "send layer tar");
  ASSERT_FALSE(r);  // the process is still here: no SIGPIPE
  EXPECT_EQ(r.error().code(), EPIPE);
  EXPECT_NE(r.error().message().find("send layer tar"), std::string::npos);
}

}  // namespace
