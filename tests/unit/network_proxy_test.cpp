// The port proxy against real sockets on the loopback: host port binding, TCP forwarding (echo,
// bulk both ways, half-close, many connections, refused targets, resets, a stalled peer), UDP
// sessions, and stopping. No root needed; IPv6 cases skip when ::1 is not available.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "network/proxy.h"

namespace strata::network {
namespace {

using namespace std::chrono_literals;

// Every socket the tests read or write has these timeouts: a broken proxy fails a test, it
// does not hang it.
constexpr int kIoTimeoutSeconds = 10;

void setIoTimeouts(int fd) {
  timeval tv{kIoTimeoutSeconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

socklen_t makeAddress(const std::string& ip, uint16_t port, sockaddr_storage& ss) {
  ss = {};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  if (::inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return sizeof(sockaddr_in);
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return sizeof(sockaddr_in6);
  }
  return 0;
}

// A blocking socket with I/O timeouts, bound to ip:0 (UDP) or connected to ip:port (TCP).
UniqueFd clientSocket(int type, const std::string& ip, uint16_t port) {
  sockaddr_storage ss;
  const socklen_t len = makeAddress(ip, port, ss);
  UniqueFd fd(::socket(ss.ss_family, type | SOCK_CLOEXEC, 0));
  if (!fd) return {};
  setIoTimeouts(fd.get());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return {};
  return fd;
}

UniqueFd connectTcp(const std::string& ip, uint16_t port) {
  return clientSocket(SOCK_STREAM, ip, port);
}

bool haveIpv6Loopback() {
  UniqueFd fd(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_storage ss;
  const socklen_t len = makeAddress("::1", 0, ss);
  return fd && ::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0;
}

bool sendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Up to n bytes: fewer when the stream ended, failed or timed out first.
std::string recvExactly(int fd, size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::recv(fd, out.data() + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

// What arrived until the stream ended (or failed); error is 0 for an orderly end, the errno
// otherwise (EAGAIN: the receive timed out, nothing ended).
struct StreamEnd {
  std::string data;
  int error = 0;
};

StreamEnd readToEnd(int fd) {
  StreamEnd end;
  char buf[16384];
  for (;;) {
    const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r > 0) {
      end.data.append(buf, static_cast<size_t>(r));
    } else if (r == 0) {
      return end;
    } else if (errno != EINTR) {
      end.error = errno;
      return end;
    }
  }
}

// The connection was closed under the client: an orderly end or a reset, not a timeout.
bool closedByPeer(const StreamEnd& end) { return end.error == 0 || end.error == ECONNRESET; }

// n bytes that differ with seed and position, so lost, duplicated or reordered chunks show.
std::string pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

// Compares without printing megabytes: the sizes and the first differing offset.
::testing::AssertionResult sameBytes(const std::string& got, const std::string& want) {
  if (got == want) return ::testing::AssertionSuccess();
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  return ::testing::AssertionFailure()
         << "got " << got.size() << " bytes, want " << want.size() << ", first difference at " << i;
}

int openDescriptors() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return -1;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n - 1;  // the directory's own descriptor
}

template <typename Pred>
bool waitUntil(Pred pred, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// What the "container" does with each TCP connection.
enum class Serve {
  Echo,              // sends back what it reads; ends its stream after the client's ends
  ReplyAtEnd,        // reads to the end of the client's stream, then sends "reply:" + what it read
  GreetThenCollect,  // sends "greeting", ends its stream, then keeps what it reads (collected())
  Reset,             // reads a little, then resets the connection (SO_LINGER 0)
};

// A TCP server on 127.0.0.1 with a thread per connection.
class TcpServer {
 public:
  explicit TcpServer(Serve mode) : TcpServer(mode, boundLoopbackSocket()) {}
  // Listens on an already bound socket (for a target that starts refusing and later accepts).
  TcpServer(Serve mode, UniqueFd listener) : mode_(mode), listener_(std::move(listener)) {
    ::listen(listener_.get(), SOMAXCONN);
    port_ = boundPort(listener_.get());
    acceptThread_ = std::thread([this] { acceptLoop(); });
  }
  ~TcpServer() {
    stop_ = true;
    acceptThread_.join();
    for (auto& t : connections_) t.join();
  }

  static UniqueFd boundLoopbackSocket() {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_storage ss;
    const socklen_t len = makeAddress("127.0.0.1", 0, ss);
    ::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len);
    return fd;
  }

  uint16_t port() const { return port_; }
  int finished() const { return finished_; }
  std::string collected() {
    std::lock_guard lock(mu_);
    return collected_;
  }

 private:
  void acceptLoop() {
    while (!stop_) {
      pollfd p{listener_.get(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!fd) continue;
      setIoTimeouts(fd.get());
      connections_.emplace_back([this, fd = std::move(fd)]() mutable {
        serve(fd.get());
        fd.reset();
        ++finished_;
      });
    }
  }

  // Waits for input while the server runs; false once stopping.
  bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    while (!stop_) {
      if (::poll(&p, 1, 20) > 0) return true;
    }
    return false;
  }

  // Reads one chunk: its size, 0 at the end of the stream, -1 on error or when stopping.
  ssize_t readChunk(int fd, char* buf, size_t size) {
    if (!readable(fd)) return -1;
    return ::recv(fd, buf, size, 0);
  }

  void serve(int fd) {
    char buf[65536];
    std::string all;
    ssize_t n = 0;
    switch (mode_) {
      case Serve::Echo:
        while ((n = readChunk(fd, buf, sizeof buf)) > 0) {
          if (!sendAll(fd, std::string_view(buf, static_cast<size_t>(n)))) return;
        }
        if (n == 0) ::shutdown(fd, SHUT_WR);
        return;
      case Serve::ReplyAtEnd:
        while ((n = readChunk(fd, buf, sizeof buf)) > 0) all.append(buf, static_cast<size_t>(n));
        if (n == 0) sendAll(fd, "reply:" + all);
        return;
      case Serve::GreetThenCollect:
        sendAll(fd, "greeting");
        ::shutdown(fd, SHUT_WR);
        while ((n = readChunk(fd, buf, sizeof buf)) > 0) {
          std::lock_guard lock(mu_);
          collected_.append(buf, static_cast<size_t>(n));
        }
        return;
      case Serve::Reset: {
        readChunk(fd, buf, sizeof buf);
        const linger hard{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        return;  // the close that follows sends RST
      }
    }
  }

  Serve mode_;
  UniqueFd listener_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> finished_{0};
  std::thread acceptThread_;
  std::vector<std::thread> connections_;  // only the accept thread adds, until it is joined
  std::mutex mu_;
  std::string collected_;
};

// A UDP server on 127.0.0.1 that answers each datagram with "<payload>|<sender's port>", so a
// client sees both that the reply is its own and which proxy socket spoke for it.
class UdpEchoServer {
 public:
  explicit UdpEchoServer(uint16_t port = 0) {
    fd_ = UniqueFd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_storage ss;
    const socklen_t len = makeAddress("127.0.0.1", port, ss);
    bound_ = ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0;
    port_ = boundPort(fd_.get());
    thread_ = std::thread([this] { loop(); });
  }
  ~UdpEchoServer() {
    stop_ = true;
    thread_.join();
  }
  bool bound() const { return bound_; }
  uint16_t port() const { return port_; }

 private:
  void loop() {
    char buf[65536];
    while (!stop_) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      const ssize_t n =
          ::recvfrom(fd_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) continue;
      const auto senderPort = ntohs(reinterpret_cast<sockaddr_in*>(&from)->sin_port);
      const std::string reply =
          std::string(buf, static_cast<size_t>(n)) + "|" + std::to_string(senderPort);
      ::sendto(fd_.get(), reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }

  UniqueFd fd_;
  bool bound_ = false;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// One UDP exchange: sends payload, returns the reply ("" on timeout).
std::string udpAsk(int fd, const std::string& payload) {
  if (::send(fd, payload.data(), payload.size(), 0) < 0) return "";
  char buf[65536];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

// runProxy on a thread, stopped through a pipe.
class ProxyRunner {
 public:
  explicit ProxyRunner(std::vector<Forward> forwards, ProxyOptions options = {})
      : forwards_(std::move(forwards)), options_(options) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) std::abort();
    stopRead_.reset(p[0]);
    stopWrite_.reset(p[1]);
    for (auto& f : forwards_) ports_.push_back(boundPort(f.host.get()));
    result_ = promise_.get_future();
    thread_ =
        std::thread([this] { promise_.set_value(runProxy(forwards_, stopRead_.get(), options_)); });
  }
  ~ProxyRunner() { stop(); }

  uint16_t port(size_t i) const { return ports_[i]; }
  bool running() const {
    return result_.valid() && result_.wait_for(0s) == std::future_status::timeout;
  }

  // Closes (or, with byWriting, writes a byte to) the stop pipe and waits for runProxy to
  // return. A proxy that does not return ends the test binary: better than a hung test run.
  Status stop(bool byWriting = false) {
    if (!thread_.joinable()) return status_;
    if (byWriting) {
      if (::write(stopWrite_.get(), "x", 1) != 1) std::abort();
    } else {
      stopWrite_.reset();
    }
    if (result_.wait_for(10s) != std::future_status::ready) {
      std::fprintf(stderr, "FATAL: runProxy did not return within 10 s of being stopped\n");
      std::_Exit(1);
    }
    thread_.join();
    status_ = result_.get();
    return status_;
  }

  // Closes the host sockets; only after stop().
  void closeHostSockets() { forwards_.clear(); }

 private:
  std::vector<Forward> forwards_;
  ProxyOptions options_;
  std::vector<uint16_t> ports_;
  UniqueFd stopRead_, stopWrite_;
  std::promise<Status> promise_;
  std::future<Status> result_;
  std::thread thread_;
  Status status_;
};

// A forward from a fresh host port (kernel-picked) to 127.0.0.1:targetPort.
Forward forwardTo(Proto proto, uint16_t targetPort, const std::string& hostIp = "127.0.0.1") {
  auto host = bindHostPort(proto, hostIp, 0);
  EXPECT_TRUE(host) << host.error().what();
  Forward f;
  f.proto = proto;
  if (host) f.host = std::move(*host);
  f.targetIp = "127.0.0.1";
  f.targetPort = targetPort;
  return f;
}

std::vector<Forward> forwards(Forward a) {
  std::vector<Forward> v;
  v.push_back(std::move(a));
  return v;
}

std::vector<Forward> forwards(Forward a, Forward b) {
  std::vector<Forward> v = forwards(std::move(a));
  v.push_back(std::move(b));
  return v;
}

// ---- bindHostPort / boundPort

TEST(ProxyBind, PortZeroLetsTheKernelPick) {
  std::vector<std::string> ips = {"127.0.0.1"};
  if (haveIpv6Loopback()) ips.push_back("::1");
  for (const auto& ip : ips) {
    for (Proto proto : {Proto::Tcp, Proto::Udp}) {
      auto fd = bindHostPort(proto, ip, 0);
      ASSERT_TRUE(fd) << fd.error().what();
      EXPECT_NE(boundPort(fd->get()), 0) << ip;
      const int fl = ::fcntl(fd->get(), F_GETFL);
      EXPECT_TRUE(fl & O_NONBLOCK) << ip;
      EXPECT_TRUE(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC) << ip;
      int listening = 0;
      socklen_t len = sizeof listening;
      ::getsockopt(fd->get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len);
      EXPECT_EQ(listening, proto == Proto::Tcp ? 1 : 0) << ip;
    }
  }
  EXPECT_EQ(boundPort(-1), 0);
}

TEST(ProxyBind, BusyPortIsEaddrinuseNamingTheAddress) {
  std::vector<std::pair<std::string, std::string>> ips = {{"127.0.0.1", "127.0.0.1"}};
  if (haveIpv6Loopback()) ips.emplace_back("::1", "[::1]");
  for (const auto& [ip, shown] : ips) {
    for (Proto proto : {Proto::Tcp, Proto::Udp}) {
      auto first = bindHostPort(proto, ip, 0);
      ASSERT_TRUE(first) << first.error().what();
      const uint16_t port = boundPort(first->get());
      auto second = bindHostPort(proto, ip, port);
      ASSERT_FALSE(second) << ip << " port " << port << " bound twice";
      EXPECT_EQ(second.error().code(), EADDRINUSE);
      EXPECT_EQ(second.error().message(), "bind " + shown + ":" + std::to_string(port));
    }
  }
}

TEST(ProxyBind, AddressNotOnThisHostIsEaddrnotavail) {
  // 192.0.2.0/24 is TEST-NET-1: documentation only, on no interface.
  auto fd = bindHostPort(Proto::Tcp, "192.0.2.1", 8080);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().code(), EADDRNOTAVAIL);
  EXPECT_EQ(fd.error().message(), "bind 192.0.2.1:8080");
}

TEST(ProxyBind, NonLiteralAddressIsRefused) {
  for (const char* ip : {"localhost", "", "[::1]", "1.2.3", "127.0.0.1:80"}) {
    auto fd = bindHostPort(Proto::Tcp, ip, 80);
    ASSERT_FALSE(fd) << ip;
    EXPECT_EQ(fd.error().code(), 0) << ip;
    EXPECT_NE(fd.error().message().find(std::string("`") + ip + "`"), std::string::npos)
        << fd.error().message();
  }
}

TEST(ProxyBind, Ipv6SocketsLeaveTheIpv4PortFree) {
  if (!haveIpv6Loopback()) GTEST_SKIP() << "no IPv6 loopback";
  auto v6 = bindHostPort(Proto::Tcp, "::", 0);
  ASSERT_TRUE(v6) << v6.error().what();
  int only = 0;
  socklen_t len = sizeof only;
  ASSERT_EQ(::getsockopt(v6->get(), IPPROTO_IPV6, IPV6_V6ONLY, &only, &len), 0);
  EXPECT_EQ(only, 1);
  auto v4 = bindHostPort(Proto::Tcp, "0.0.0.0", boundPort(v6->get()));
  EXPECT_TRUE(v4) << v4.error().what();
}

// ---- TCP

TEST(ProxyTcp, EchoRoundTrip) {
  TcpServer server(Serve::Echo);
  ProxyRunner proxy(forwards(forwardTo(Proto::Tcp, server.port())));
  UniqueFd c = connectTcp("127.0.0.1", proxy.port(0));
  ASSERT_TRUE(c);
  ASSERT_TRUE(sendAll(c.get(), "hello, proxy"));
  EXPECT_EQ(recvExactly(c.get(), 12), "hello, proxy");
  ASSERT_TRUE(sendAll(c.get(), "again"));
  EXPECT_EQ(recvExactly(c.get(), 5), "again");
  ::shutdown(c.get(), SHUT_WR);
  const StreamEnd end = readToEnd(c.get());
  EXPECT_EQ(end.error, 0);
  EXPECT_EQ(end.data, "");
  EXPECT_TRUE(proxy.running());
  auto st = proxy.stop();
  EXPECT_TRUE(st) << st.error().what();
}

TEST(ProxyTcp, MegabytesFlowBothWaysAtOnce) {
  TcpServer server(Serve::Echo);
  ProxyRunner proxy(forwards(forwardTo(Proto::Tcp, server.port())));
  UniqueFd c = connectTcp("127.0.0.1", proxy.port(0));
  ASSERT_TRUE(c);
  const std::string data = pattern(3 * 1024 * 1024 + 123, 7);
  // The writer and the reader run at once: the echo comes back while the upload still flows.
  std::atomic<bool> sent{false};
  std::thread writer([&] { sent = sendAll(c.get(), data); });
  const std::string back = recvExactly(c.get(), data.size());
  writer.join();
  EXPECT_TRUE(sent);
  EXPECT_TRUE(sameBytes(back, data));
  ::shutdown(c.get(), SHUT_WR);
  const StreamEnd end = readToEnd(c.get());
  EXPECT_EQ(end.error, 0);
  EXPECT_EQ(end.data.size(), 0u);
}

TEST(ProxyTcp, ClientHalfCloseReachesTheTargetWhichStillReplies) {
  TcpServer server(Serve::ReplyAtEnd);
  ProxyRunner proxy(forwards(forwardTo(Proto::Tcp, server.port())));
  UniqueFd c = connectTcp("127.0.0.1", proxy.port(0));
  ASSERT_TRUE(c);
  ASSERT_TRUE(sendAll(c.get(), "question"));
  ASSERT_EQ(::shutdown(c.get(), SHUT_WR), 0);
  // The server answers only after it saw our end of stream.
  const StreamEnd end = readToEnd(c.get());
  EXPECT_EQ(end.error, 0) << std::strerror(end.error);
  EXPECT_EQ(end.data, "reply:question");
}

TEST(ProxyTcp, TargetHalfCloseReachesTheClientWhichStillSends) {
  TcpServer server(Serve::GreetThenCollect);
  ProxyRunner proxy(forwards(forwardTo(Proto::Tcp, server.port())));
  UniqueFd c = connectTcp("127.0.0.1", proxy.port(0));
  ASSERT_TRUE(c);
  const StreamEnd end = readToEnd(c.get());
  EXPECT_EQ(end.error, 0) << std::strerror(end.error);
  EXPECT_EQ(end.data, "greeting");
  ASSERT_TRUE(sendAll(c.get(), "still talking"));
  ::shutdown(c.get(), SHUT_WR);
  EXPECT_TRUE(waitUntil([&] { return server.collected() == "still talking"; }))
      << server.collected();
  EXPECT_TRUE(waitUntil([&] { return server.finished() == 1; }));
}

TEST(ProxyTcp, FiftyConcurrentConnections) {
  constexpr int kClients = 50;
  TcpServer server(Serve::Echo);
  ProxyRunner proxy(forwards(forwardTo(Proto::Tcp, server.port())));
  std::vector<UniqueFd> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(connectTcp("127.0.0.1", proxy.port(0)));
    ASSERT_TRUE(clients.back()) << "client " << i;
  }
  // All are open together; each sends first, then each reads its own bytes back.
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(sendAll(clients[i].get(), "client-" + std::to_string(i) + pattern(1000, i)));
  }
  for (int i = 0; i < kClients; ++i) {
    const std::string want = "client-" + std::to_string(i) + pattern(1000, i);
    EXPECT_TRUE(sameBytes(recvExactly(clients[i].get(), want.size()), want)) << "client " << i;
  }
  for (auto& c : clients) ::shutdown(c.get(), SHUT_WR);
  for (auto& c : clients) EXPECT_EQ(readToEnd(c.get()).error, 0);
  EXPECT_TRUE(waitUntil([&] { return server.finished() == kClients; })) << server.finished();
}

TEST(ProxyTcp, RefusedTargetClosesTheClientAndTheProxyCarriesOn) {
  // Bound but not listening: connections to it are refused until listen().
  UniqueFd parked = TcpServer::boundLoopbackSocket();
  const uint16_t targetPort = boundPort(parked.get());
  ASSERT_NE(targetPort, 0);
  ProxyRunner proxy(forwards(forwardTo(Proto::Tcp, targetPort)));
  for (int i = 0; i < 3; ++i) {
    UniqueFd c = connectTcp("127.0.0.1", proxy.port(0));
    ASSERT_TRUE(c);
    sendAll(c.get(), "anyone there?");
    const StreamEnd end = readToEnd(c.get());
    EXPECT_TRUE(closedByPeer(end)) << std::strerror(end.error);
    EXPECT_EQ(end.data, "");
  }
  EXPECT_TRUE(proxy.running());
  TcpServer server(Serve::Echo, std::move(parked));
  UniqueFd c = connectTcp("127.0.0.1", proxy.port(0));
  ASSERT_TRUE(c);
  ASSERT_TRUE(sendAll(c.get(), "now?"));
  EXPECT_EQ(recvExactly(c.get(), 4), "now?");
  c.reset();
  EXPECT_TRUE(proxy.stop());
}

TEST(ProxyTcp, StalledClientDoesNotHoldUpOthersAndLosesNothing) {
  TcpServer server(Serve::Echo);
  ProxyRunner proxy(forwards(forwardTo(Proto::Tcp, server.port())));
  UniqueFd stalled = connectTcp("127.0.0.1", proxy.port(0));
  ASSERT_TRUE(stalled);
  // Send without reading until everything on the way is full: our socket, the proxy's buffers,
  // the echo server's socket (blocked writing back to the proxy).
  const std::string data = pattern(64 * 1024 * 1024, 3);
  size_t sent = 0;
  int idleRounds = 0;
  while (sent < data.size() && idleRounds < 30) {
    const ssize_t n =
        ::send(stalled.get(), data.data() + sent, data.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      idleRounds = 0;
    } else {
      ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK) << std::strerror(errno);
      ++idleRounds;
      std::this_thread::sleep_for(10ms);
    }
  }
  ASSERT_LT(sent, data.size()) << "nothing pushed back: the buffers never filled";

  const auto start = std::chrono::steady_clock::now();
  UniqueFd other = connectTcp("127.0.0.1", proxy.port(0));
  ASSERT_TRUE(other);
  ASSERT_TRUE(sendAll(other.get(), "not blocked"));
  EXPECT_EQ(recvExactly(other.get(), 11), "not blocked");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);

  // The stalled client now reads: every byte it sent comes back, in order.
  EXPECT_TRUE(sameBytes(recvExactly(stalled.get(), sent), data.substr(0, sent)));
}

TEST(ProxyTcp, ResetsOnEitherSideDoNotHurtTheProxy) {
  TcpServer resetter(Serve::Reset);
  TcpServer echo(Serve::Echo);
  TcpServer replier(Serve::ReplyAtEnd);
  ProxyRunner proxy(
      forwards(forwardTo(Proto::Tcp, resetter.port()), forwardTo(Proto::Tcp, echo.port())));
  ProxyRunner proxy2(forwards(forwardTo(Proto::Tcp, replier.port())));
  const std::string mb = pattern(1024 * 1024, 9);
  for (int round = 0; round < 3; ++round) {
    // The client closes and goes away; the target's reply then meets a reset, and the
    // proxy's socket (its peer's stream already ended) fails further writes with EPIPE:
    // without MSG_NOSIGNAL that is a SIGPIPE, which would end this test binary.
    UniqueFd gone = connectTcp("127.0.0.1", proxy2.port(0));
    ASSERT_TRUE(gone);
    ASSERT_TRUE(sendAll(gone.get(), std::string_view(mb).substr(0, 256 * 1024)));
    gone.reset();

    // The target resets while the client keeps sending: the proxy's writes to it fail.
    UniqueFd c = connectTcp("127.0.0.1", proxy.port(0));
    ASSERT_TRUE(c);
    sendAll(c.get(), mb);  // may fail part way: the proxy closes us
    const StreamEnd end = readToEnd(c.get());
    EXPECT_TRUE(closedByPeer(end)) << std::strerror(end.error);

    // The client resets while the echo of a megabyte is on its way to it.
    UniqueFd r = connectTcp("127.0.0.1", proxy.port(1));
    ASSERT_TRUE(r);
    std::atomic<bool> stopWriting{false};
    std::thread writer([&] {
      for (size_t sent = 0; sent < mb.size() && !stopWriting;) {
        const ssize_t n =
            ::send(r.get(), mb.data() + sent, mb.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0)
          sent += static_cast<size_t>(n);
        else
          std::this_thread::sleep_for(1ms);
      }
    });
    std::this_thread::sleep_for(50ms);
    stopWriting = true;
    writer.join();
    const linger hard{1, 0};
    ::setsockopt(r.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    r.reset();  // RST, with echoed bytes unread and more on the way
  }
  EXPECT_TRUE(waitUntil([&] { return replier.finished() == 3; })) << replier.finished();
  EXPECT_TRUE(proxy.running());
  EXPECT_TRUE(proxy2.running());
  UniqueFd c = connectTcp("127.0.0.1", proxy.port(1));
  ASSERT_TRUE(c);
  ASSERT_TRUE(sendAll(c.get(), "alive"));
  EXPECT_EQ(recvExactly(c.get(), 5), "alive");
}

TEST(ProxyTcp, Ipv6HostPortToIpv4Target) {
  if (!haveIpv6Loopback()) GTEST_SKIP() << "no IPv6 loopback";
  TcpServer server(Serve::Echo);
  ProxyRunner proxy(forwards(forwardTo(Proto::Tcp, server.port(), "::1")));
  UniqueFd c = connectTcp("::1", proxy.port(0));
  ASSERT_TRUE(c);
  ASSERT_TRUE(sendAll(c.get(), "over six"));
  EXPECT_EQ(recvExactly(c.get(), 8), "over six");
}

// ---- UDP

TEST(ProxyUdp, EachClientGetsItsOwnReplies) {
  UdpEchoServer server;
  ProxyRunner proxy(forwards(forwardTo(Proto::Udp, server.port())));
  UniqueFd a = clientSocket(SOCK_DGRAM, "127.0.0.1", proxy.port(0));
  UniqueFd b = clientSocket(SOCK_DGRAM, "127.0.0.1", proxy.port(0));
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  const std::string a1 = udpAsk(a.get(), "from-a");
  const std::string b1 = udpAsk(b.get(), "from-b");
  const std::string a2 = udpAsk(a.get(), "from-a again");
  ASSERT_EQ(a1.rfind("from-a|", 0), 0u) << a1;
  ASSERT_EQ(b1.rfind("from-b|", 0), 0u) << b1;
  ASSERT_EQ(a2.rfind("from-a again|", 0), 0u) << a2;
  const std::string portA = a1.substr(7), portB = b1.substr(7);
  EXPECT_NE(portA, portB) << "both clients went through one socket";
  EXPECT_EQ(a2.substr(13), portA) << "one client, two sockets";
  // A large datagram passes whole.
  const std::string big = pattern(60000, 5);
  EXPECT_TRUE(sameBytes(udpAsk(b.get(), big), big + "|" + portB));
}

TEST(ProxyUdp, IdleClientsAreForgotten) {
  UdpEchoServer server;
  ProxyOptions options;
  options.udpIdleTimeout = 300ms;
  ProxyRunner proxy(forwards(forwardTo(Proto::Udp, server.port())), options);
  UniqueFd c = clientSocket(SOCK_DGRAM, "127.0.0.1", proxy.port(0));
  ASSERT_TRUE(c);
  const std::string r1 = udpAsk(c.get(), "x");
  std::this_thread::sleep_for(100ms);
  const std::string r2 = udpAsk(c.get(), "x");
  ASSERT_EQ(r1.rfind("x|", 0), 0u) << r1;
  EXPECT_EQ(r2, r1) << "forgotten while active";
  std::this_thread::sleep_for(800ms);
  // A new session: a new socket, so the server sees another sender port.
  const std::string r3 = udpAsk(c.get(), "x");
  ASSERT_EQ(r3.rfind("x|", 0), 0u) << r3;
  EXPECT_NE(r3, r1) << "still the old session after the idle timeout";
}

TEST(ProxyUdp, TargetThatStartsLateIsReachedBySameClient) {
  uint16_t port = 0;
  {
    UdpEchoServer probe;  // a free port, released at once
    port = probe.port();
  }
  ProxyRunner proxy(forwards(forwardTo(Proto::Udp, port)));
  UniqueFd c = clientSocket(SOCK_DGRAM, "127.0.0.1", proxy.port(0));
  ASSERT_TRUE(c);
  // Nobody listens: the proxy's socket gets a port unreachable, which must not end anything.
  ASSERT_GT(::send(c.get(), "lost", 4, 0), 0);
  std::this_thread::sleep_for(100ms);
  UdpEchoServer server(port);
  ASSERT_TRUE(server.bound()) << "port " << port << " was taken meanwhile";
  const std::string r = udpAsk(c.get(), "found");
  EXPECT_EQ(r.rfind("found|", 0), 0u) << r;
  EXPECT_TRUE(proxy.running());
}

TEST(ProxyUdp, Ipv6HostPortToIpv4Target) {
  if (!haveIpv6Loopback()) GTEST_SKIP() << "no IPv6 loopback";
  UdpEchoServer server;
  ProxyRunner proxy(forwards(forwardTo(Proto::Udp, server.port(), "::1")));
  UniqueFd c = clientSocket(SOCK_DGRAM, "::1", proxy.port(0));
  ASSERT_TRUE(c);
  const std::string r = udpAsk(c.get(), "six");
  EXPECT_EQ(r.rfind("six|", 0), 0u) << r;
}

// ---- stopping and setup

TEST(ProxyStop, ClosingThePipeReturnsClosesConnectionsAndFreesThePorts) {
  TcpServer server(Serve::Echo);
  UdpEchoServer udpServer;
  ProxyRunner proxy(
      forwards(forwardTo(Proto::Tcp, server.port()), forwardTo(Proto::Udp, udpServer.port())));
  UniqueFd c = connectTcp("127.0.0.1", proxy.port(0));
  ASSERT_TRUE(c);
  ASSERT_TRUE(sendAll(c.get(), "ping"));
  ASSERT_EQ(recvExactly(c.get(), 4), "ping");
  UniqueFd u = clientSocket(SOCK_DGRAM, "127.0.0.1", proxy.port(1));
  ASSERT_TRUE(u);
  ASSERT_EQ(udpAsk(u.get(), "ping").rfind("ping|", 0), 0u);

  auto st = proxy.stop();
  ASSERT_TRUE(st) << st.error().what();
  const StreamEnd end = readToEnd(c.get());
  EXPECT_TRUE(closedByPeer(end)) << std::strerror(end.error);
  EXPECT_TRUE(waitUntil([&] { return server.finished() == 1; })) << "target side left open";

  proxy.closeHostSockets();
  auto tcp = bindHostPort(Proto::Tcp, "127.0.0.1", proxy.port(0));
  EXPECT_TRUE(tcp) << tcp.error().what();
  auto udp = bindHostPort(Proto::Udp, "127.0.0.1", proxy.port(1));
  EXPECT_TRUE(udp) << udp.error().what();
}

TEST(ProxyStop, AByteOnThePipeAlsoStops) {
  TcpServer server(Serve::Echo);
  ProxyRunner proxy(forwards(forwardTo(Proto::Tcp, server.port())));
  UniqueFd c = connectTcp("127.0.0.1", proxy.port(0));
  ASSERT_TRUE(c);
  // A round trip first: a connection still queued on the listener is the caller's to close.
  ASSERT_TRUE(sendAll(c.get(), "ping"));
  ASSERT_EQ(recvExactly(c.get(), 4), "ping");
  auto st = proxy.stop(/*byWriting=*/true);
  EXPECT_TRUE(st) << st.error().what();
  EXPECT_TRUE(closedByPeer(readToEnd(c.get())));
}

TEST(ProxyStop, NoDescriptorIsLeftOpen) {
  TcpServer server(Serve::Echo);
  UdpEchoServer udpServer;
  const int before = openDescriptors();
  {
    ProxyRunner proxy(
        forwards(forwardTo(Proto::Tcp, server.port()), forwardTo(Proto::Udp, udpServer.port())));
    std::vector<UniqueFd> clients;
    for (int i = 0; i < 5; ++i) {
      clients.push_back(connectTcp("127.0.0.1", proxy.port(0)));
      ASSERT_TRUE(clients.back());
      ASSERT_TRUE(sendAll(clients.back().get(), "x"));
      ASSERT_EQ(recvExactly(clients.back().get(), 1), "x");
    }
    ::shutdown(clients[0].get(), SHUT_WR);  // one half-closed, the rest open
    for (int i = 0; i < 3; ++i) {
      clients.push_back(clientSocket(SOCK_DGRAM, "127.0.0.1", proxy.port(1)));
      ASSERT_EQ(udpAsk(clients.back().get(), "u").rfind("u|", 0), 0u);
    }
    ASSERT_TRUE(proxy.stop());
  }
  ASSERT_TRUE(waitUntil([&] { return server.finished() == 5; })) << server.finished();
  EXPECT_EQ(openDescriptors(), before);
}

TEST(ProxySetup, BadForwardsAreErrorsAtOnce) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd stopRead(p[0]);
  ::close(p[1]);  // already stopped: a proxy that skipped the checks would return success

  std::vector<Forward> v = forwards(forwardTo(Proto::Tcp, 80));
  v[0].targetIp = "container.local";
  auto st = runProxy(v, stopRead.get());
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("container.local"), std::string::npos)
      << st.error().message();

  v = forwards(forwardTo(Proto::Tcp, 80));
  v[0].proto = Proto::Udp;  // a TCP socket given as UDP
  EXPECT_FALSE(runProxy(v, stopRead.get()));

  v = forwards(forwardTo(Proto::Tcp, 0));  // no target port
  EXPECT_FALSE(runProxy(v, stopRead.get()));

  v = forwards(forwardTo(Proto::Tcp, 80));
  v[0].host = TcpServer::boundLoopbackSocket();  // bound, not listening
  EXPECT_FALSE(runProxy(v, stopRead.get()));

  v = forwards(forwardTo(Proto::Tcp, 80));
  auto ok = runProxy(v, stopRead.get());
  EXPECT_TRUE(ok) << ok.error().what();
}

}  // namespace
}  // namespace strata::network
