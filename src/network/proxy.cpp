#include "network/proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>

namespace strata::network {
namespace {

using Clock = std::chrono::steady_clock;

// Bounds on the work done for one epoll event, so one busy socket cannot starve the rest.
constexpr int kRoundsPerEvent = 4;      // read+write rounds on one TCP connection
constexpr int kAcceptsPerEvent = 64;    // connections accepted from one listener
constexpr int kDatagramsPerEvent = 64;  // datagrams moved through one UDP socket
constexpr int kMaxEvents = 256;
// How long a listener rests after accept ran out of descriptors or memory.
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
// Larger than any UDP payload (65507 over IPv4, 65527 over IPv6 without jumbograms).
constexpr size_t kDatagramBytes = 65536;

// An IPv4 or IPv6 socket address.
struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
};

std::optional<SockAddr> parseAddress(const std::string& ip, uint16_t port) {
  SockAddr a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  if (::inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.len = sizeof(sockaddr_in);
    return a;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (::inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.len = sizeof(sockaddr_in6);
    return a;
  }
  return std::nullopt;
}

// "127.0.0.1:80", "[::1]:80"
std::string describe(const std::string& ip, uint16_t port) {
  const std::string host = ip.find(':') == std::string::npos ? ip : "[" + ip + "]";
  return host + ":" + std::to_string(port);
}

// The error of the system call that just failed; errno is taken before the message is built.
std::unexpected<Error> failSys(const char* op, const std::string& what) {
  const int err = errno;
  return fail(Error(err, std::string(op) + " " + what));
}

bool wouldBlock(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

int socketOption(int fd, int level, int name) {
  int value = 0;
  socklen_t len = sizeof value;
  if (::getsockopt(fd, level, name, &value, &len) != 0) return -1;
  return value;
}

void setNoDelay(int fd) {
  // Bytes are passed on as they arrive; Nagle's delay belongs to the endpoints, not to us.
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Bytes read from one side of a TCP connection and not yet written to the other. The storage
// has a fixed capacity and is allocated on first use.
class Buffer {
 public:
  explicit Buffer(size_t capacity) : capacity_(capacity) {}

  bool empty() const { return head_ == tail_; }
  bool full() const { return tail_ - head_ == capacity_; }

  // One recv into the free space: the byte count, 0 at end of stream, -1 with errno.
  ssize_t readFrom(int fd) {
    if (!data_) data_ = std::make_unique_for_overwrite<char[]>(capacity_);
    if (tail_ == capacity_) {
      std::memmove(data_.get(), data_.get() + head_, tail_ - head_);
      tail_ -= head_;
      head_ = 0;
    }
    const ssize_t n = ::recv(fd, data_.get() + tail_, capacity_ - tail_, 0);
    if (n > 0) tail_ += static_cast<size_t>(n);
    return n;
  }

  // One send of the buffered bytes (never SIGPIPE): the byte count or -1 with errno.
  ssize_t writeTo(int fd) {
    const ssize_t n = ::send(fd, data_.get() + head_, tail_ - head_, MSG_NOSIGNAL);
    if (n > 0) head_ += static_cast<size_t>(n);
    if (head_ == tail_) head_ = tail_ = 0;
    return n;
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t capacity_;
  size_t head_ = 0;
  size_t tail_ = 0;
};

// One end of a proxied TCP connection.
struct Side {
  UniqueFd fd;
  uint32_t watching = 0;   // events registered with epoll; 0 when not registered
  bool readEnded = false;  // this side ended its stream
  bool writeShut = false;  // we passed the other side's end of stream on (SHUT_WR)
};

struct TcpConnection {
  TcpConnection(UniqueFd c, UniqueFd t, size_t bufferBytes)
      : toTarget(bufferBytes), toClient(bufferBytes) {
    client.fd = std::move(c);
    target.fd = std::move(t);
  }

  Side client;
  Side target;
  Buffer toTarget;
  Buffer toClient;
  bool connecting = true;
};

enum class Flow { Idle, Moved, Failed };

// One round of from -> buf -> to: read what fits, write what is buffered (when `to` is
// connected), and pass an ended stream on once everything before it is delivered.
Flow moveBytes(Side& from, Buffer& buf, Side& to, bool toConnected) {
  Flow flow = Flow::Idle;
  if (!from.readEnded && !buf.full()) {
    const ssize_t n = buf.readFrom(from.fd.get());
    if (n >= 0) {
      from.readEnded = n == 0;
      flow = Flow::Moved;
    } else if (!wouldBlock(errno)) {
      return Flow::Failed;
    }
  }
  if (!toConnected) return flow;
  if (!buf.empty()) {
    const ssize_t n = buf.writeTo(to.fd.get());
    if (n > 0) {
      flow = Flow::Moved;
    } else if (n < 0 && !wouldBlock(errno)) {
      return Flow::Failed;
    }
  }
  if (from.readEnded && buf.empty() && !to.writeShut) {
    if (::shutdown(to.fd.get(), SHUT_WR) != 0) return Flow::Failed;
    to.writeShut = true;
  }
  return flow;
}

// A UDP client of one forward and the socket that speaks for it to the target.
struct UdpSession {
  size_t forward = 0;
  SockAddr client;
  std::string key;
  UniqueFd fd;
  Clock::time_point lastActive;
};

// What an epoll event is about: the low 3 bits of its token; the rest is an index or an id.
enum Kind : uint64_t { kStop, kListener, kTcpClient, kTcpTarget, kUdpHost, kUdpSession };

uint64_t token(Kind kind, uint64_t id) { return id << 3 | kind; }

class Proxy {
 public:
  Proxy(std::vector<Forward>& forwards, int stopFd, const ProxyOptions& options)
      : forwards_(forwards), stopFd_(stopFd), options_(options) {}

  Status run();

 private:
  Status setUp();
  // Handles one event; true when it asks the loop to stop.
  bool dispatch(const epoll_event& ev);
  int waitMillis(Clock::time_point now) const;
  void runTimers(Clock::time_point now);
  bool watch(int fd, uint32_t& watching, uint32_t want, uint64_t tok);

  void acceptConnections(size_t index);
  void openConnection(size_t index, UniqueFd client);
  void onTcpEvent(uint64_t id, bool targetSide, uint32_t events);
  void pump(uint64_t id, TcpConnection& c);

  void onClientDatagrams(size_t index);
  void onTargetDatagrams(UdpSession& s);
  UdpSession* sessionFor(size_t index, const SockAddr& from, Clock::time_point now);
  void expireSessions(Clock::time_point now);

  std::vector<Forward>& forwards_;
  int stopFd_;
  ProxyOptions options_;
  Clock::duration sweepEvery_{};
  UniqueFd epoll_;
  std::vector<SockAddr> targets_;                  // per forward
  std::vector<Clock::time_point> listenerPaused_;  // per forward: resume time, or epoch
  std::unordered_map<uint64_t, TcpConnection> tcp_;
  std::unordered_map<uint64_t, UdpSession> udp_;
  std::unordered_map<std::string, uint64_t> udpByClient_;
  Clock::time_point nextSweep_;
  std::unique_ptr<char[]> datagram_;
  uint64_t nextId_ = 1;
};

Status Proxy::setUp() {
  epoll_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return failErrno("create the proxy's epoll instance");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = token(kStop, 0);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, stopFd_, &ev) != 0) {
    return failErrno("watch the proxy's stop descriptor");
  }
  for (size_t i = 0; i < forwards_.size(); ++i) {
    Forward& f = forwards_[i];
    const std::string what = "forward to " + describe(f.targetIp, f.targetPort);
    auto target = parseAddress(f.targetIp, f.targetPort);
    if (!target || f.targetPort == 0) return failInvalid(what + ": not an IP address and port");
    const bool tcp = f.proto == Proto::Tcp;
    if (socketOption(f.host.get(), SOL_SOCKET, SO_TYPE) != (tcp ? SOCK_STREAM : SOCK_DGRAM)) {
      return failInvalid(what + ": the host descriptor is not a " + (tcp ? "TCP" : "UDP") +
                         " socket");
    }
    if (tcp && socketOption(f.host.get(), SOL_SOCKET, SO_ACCEPTCONN) != 1) {
      return failInvalid(what + ": the host socket is not listening");
    }
    const int flags = ::fcntl(f.host.get(), F_GETFL);
    if (flags < 0 || ::fcntl(f.host.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
      return failSys("make the host socket non-blocking for", what);
    }
    ev.data.u64 = token(tcp ? kListener : kUdpHost, i);
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, f.host.get(), &ev) != 0) {
      return failSys("watch the host socket of", what);
    }
    targets_.push_back(*target);
  }
  listenerPaused_.assign(forwards_.size(), Clock::time_point());
  sweepEvery_ = std::clamp<Clock::duration>(options_.udpIdleTimeout / 8,
                                            std::chrono::milliseconds(1), std::chrono::seconds(1));
  datagram_ = std::make_unique_for_overwrite<char[]>(kDatagramBytes);
  return {};
}

Status Proxy::run() {
  TRYV(setUp());
  std::vector<epoll_event> events(kMaxEvents);
  for (;;) {
    const int n = ::epoll_wait(epoll_.get(), events.data(), kMaxEvents, waitMillis(Clock::now()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno("wait for proxy events");
    }
    for (int i = 0; i < n; ++i) {
      if (dispatch(events[i])) return {};
    }
    runTimers(Clock::now());
  }
}

bool Proxy::dispatch(const epoll_event& ev) {
  const uint64_t id = ev.data.u64 >> 3;
  switch (static_cast<Kind>(ev.data.u64 & 7)) {
    case kStop:
      return true;
    case kListener:
      acceptConnections(id);
      break;
    case kTcpClient:
    case kTcpTarget:
      onTcpEvent(id, (ev.data.u64 & 7) == kTcpTarget, ev.events);
      break;
    case kUdpHost:
      onClientDatagrams(id);
      break;
    case kUdpSession:
      // Events of a session expired earlier in this batch find nothing.
      if (auto it = udp_.find(id); it != udp_.end()) onTargetDatagrams(it->second);
      break;
  }
  return false;
}

int Proxy::waitMillis(Clock::time_point now) const {
  auto next = Clock::time_point::max();
  if (!udp_.empty()) next = nextSweep_;
  for (auto resume : listenerPaused_) {
    if (resume != Clock::time_point()) next = std::min(next, resume);
  }
  if (next == Clock::time_point::max()) return -1;
  if (next <= now) return 0;
  // Rounded up: waking early would only spin until the deadline.
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
  return static_cast<int>(std::min<int64_t>(ms, INT_MAX));
}

void Proxy::runTimers(Clock::time_point now) {
  if (!udp_.empty() && now >= nextSweep_) expireSessions(now);
  for (size_t i = 0; i < listenerPaused_.size(); ++i) {
    if (listenerPaused_[i] == Clock::time_point() || now < listenerPaused_[i]) continue;
    uint32_t watching = 0;
    if (watch(forwards_[i].host.get(), watching, EPOLLIN, token(kListener, i))) {
      listenerPaused_[i] = Clock::time_point();
    } else {
      listenerPaused_[i] = now + kAcceptPause;
    }
  }
}

// Brings fd's registration to `want` (0: not registered). False when epoll refuses.
bool Proxy::watch(int fd, uint32_t& watching, uint32_t want, uint64_t tok) {
  if (want == watching) return true;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = tok;
  const int op = watching == 0 ? EPOLL_CTL_ADD : want == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
  if (::epoll_ctl(epoll_.get(), op, fd, &ev) != 0) return false;
  watching = want;
  return true;
}

void Proxy::acceptConnections(size_t index) {
  const int listener = forwards_[index].host.get();
  for (int i = 0; i < kAcceptsPerEvent; ++i) {
    UniqueFd client(::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (client) {
      openConnection(index, std::move(client));
      continue;
    }
    if (wouldBlock(errno)) return;
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      // The pending connection stays queued and the listener stays readable: rest rather
      // than spin until descriptors or memory come back.
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, listener, nullptr);
      listenerPaused_[index] = Clock::now() + kAcceptPause;
      return;
    }
    // Other errors belong to the one connection that was aborted before accept (accept(2)).
  }
}

void Proxy::openConnection(size_t index, UniqueFd client) {
  const SockAddr& target = targets_[index];
  UniqueFd upstream(::socket(target.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  // Without a target connection the client is closed, as for a refused connect.
  if (!upstream) return;
  setNoDelay(client.get());
  setNoDelay(upstream.get());
  const bool connected = ::connect(upstream.get(), target.get(), target.len) == 0;
  if (!connected && errno != EINPROGRESS) return;
  const uint64_t id = nextId_++;
  auto [it, inserted] =
      tcp_.try_emplace(id, std::move(client), std::move(upstream), options_.bufferBytes);
  it->second.connecting = !connected;
  pump(id, it->second);
}

void Proxy::onTcpEvent(uint64_t id, bool targetSide, uint32_t events) {
  auto it = tcp_.find(id);
  if (it == tcp_.end()) return;  // closed earlier in this batch
  TcpConnection& c = it->second;
  if (events & EPOLLERR) {
    tcp_.erase(it);
    return;
  }
  if (c.connecting && targetSide) {
    if (socketOption(c.target.fd.get(), SOL_SOCKET, SO_ERROR) != 0 || (events & EPOLLHUP)) {
      tcp_.erase(it);  // refused or unreachable: the client is closed
      return;
    }
    c.connecting = false;
  }
  pump(id, c);
}

// Moves bytes both ways, then either closes a finished or failed connection or registers the
// events it waits for next. Level-triggered epoll brings it back if the round limit left work.
void Proxy::pump(uint64_t id, TcpConnection& c) {
  for (int round = 0; round < kRoundsPerEvent; ++round) {
    const Flow up = moveBytes(c.client, c.toTarget, c.target, !c.connecting);
    const Flow down = c.connecting ? Flow::Idle : moveBytes(c.target, c.toClient, c.client, true);
    if (up == Flow::Failed || down == Flow::Failed) {
      tcp_.erase(id);
      return;
    }
    if (up == Flow::Idle && down == Flow::Idle) break;
  }
  // A side is read only while the buffer towards its peer has room; it is written while its
  // buffer holds bytes. Neither side wanting anything means both streams ended and were
  // delivered: the connection is done.
  uint32_t clientWants = 0;
  uint32_t targetWants = 0;
  if (!c.client.readEnded && !c.toTarget.full()) clientWants |= EPOLLIN;
  if (!c.toClient.empty()) clientWants |= EPOLLOUT;
  if (c.connecting) {
    targetWants = EPOLLOUT;
  } else {
    if (!c.target.readEnded && !c.toClient.full()) targetWants |= EPOLLIN;
    if (!c.toTarget.empty()) targetWants |= EPOLLOUT;
  }
  if ((clientWants == 0 && targetWants == 0) ||
      !watch(c.client.fd.get(), c.client.watching, clientWants, token(kTcpClient, id)) ||
      !watch(c.target.fd.get(), c.target.watching, targetWants, token(kTcpTarget, id))) {
    tcp_.erase(id);
  }
}

void Proxy::onClientDatagrams(size_t index) {
  const int host = forwards_[index].host.get();
  const auto now = Clock::now();
  for (int i = 0; i < kDatagramsPerEvent; ++i) {
    SockAddr from;
    from.len = sizeof from.storage;
    const ssize_t n = ::recvfrom(host, datagram_.get(), kDatagramBytes, MSG_TRUNC,
                                 reinterpret_cast<sockaddr*>(&from.storage), &from.len);
    if (n < 0) return;  // drained, or an error epoll will report again
    if (static_cast<size_t>(n) > kDatagramBytes) continue;  // truncated: drop it
    UdpSession* s = sessionFor(index, from, now);
    if (!s) continue;
    s->lastActive = now;
    // A full socket buffer or an earlier ICMP error drops this datagram; UDP may lose it anyway.
    ::send(s->fd.get(), datagram_.get(), static_cast<size_t>(n), MSG_NOSIGNAL);
  }
}

void Proxy::onTargetDatagrams(UdpSession& s) {
  const int host = forwards_[s.forward].host.get();
  for (int i = 0; i < kDatagramsPerEvent; ++i) {
    const ssize_t n = ::recv(s.fd.get(), datagram_.get(), kDatagramBytes, MSG_TRUNC);
    if (n < 0) {
      // ECONNREFUSED reports (and clears) a port-unreachable for an earlier datagram: the
      // target is not listening yet. The session lives on until it is idle, as docker-proxy's.
      if (errno == ECONNREFUSED) continue;
      return;
    }
    if (static_cast<size_t>(n) > kDatagramBytes) continue;
    s.lastActive = Clock::now();
    ::sendto(host, datagram_.get(), static_cast<size_t>(n), MSG_NOSIGNAL, s.client.get(),
             s.client.len);
  }
}

// The session of this client, created (with its connected socket) on its first datagram.
// nullptr when no socket could be made: the datagram is dropped.
UdpSession* Proxy::sessionFor(size_t index, const SockAddr& from, Clock::time_point now) {
  std::string key(reinterpret_cast<const char*>(&index), sizeof index);
  key.append(reinterpret_cast<const char*>(&from.storage), from.len);
  if (auto it = udpByClient_.find(key); it != udpByClient_.end()) return &udp_.at(it->second);

  const SockAddr& target = targets_[index];
  UniqueFd fd(::socket(target.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd || ::connect(fd.get(), target.get(), target.len) != 0) return nullptr;
  const uint64_t id = nextId_++;
  uint32_t watching = 0;
  if (!watch(fd.get(), watching, EPOLLIN, token(kUdpSession, id))) return nullptr;
  if (udp_.empty()) nextSweep_ = now + sweepEvery_;
  UdpSession& s = udp_[id];
  s.forward = index;
  s.client = from;
  s.key = key;
  s.fd = std::move(fd);
  s.lastActive = now;
  udpByClient_.emplace(std::move(key), id);
  return &s;
}

void Proxy::expireSessions(Clock::time_point now) {
  for (auto it = udp_.begin(); it != udp_.end();) {
    if (now - it->second.lastActive >= options_.udpIdleTimeout) {
      udpByClient_.erase(it->second.key);
      it = udp_.erase(it);  // closing the socket also removes it from epoll
    } else {
      ++it;
    }
  }
  nextSweep_ = now + sweepEvery_;
}

}  // namespace

Result<UniqueFd> bindHostPort(Proto proto, const std::string& hostIp, uint16_t port) {
  const std::string where = describe(hostIp, port);
  auto addr = parseAddress(hostIp, port);
  if (!addr) return failInvalid("bind " + where + ": `" + hostIp + "` is not an IP address");
  const int type = (proto == Proto::Tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
  UniqueFd fd(::socket(addr->family(), type, 0));
  if (!fd) return failSys("create a socket for", where);
  const int one = 1;
  // Without V6ONLY "::" would also take the IPv4 port, which "0.0.0.0" publishes on its own.
  if (addr->family() == AF_INET6 &&
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) {
    return failSys("set IPV6_V6ONLY on", where);
  }
  // Lets a restarted container publish the port again while old connections sit in TIME_WAIT.
  if (proto == Proto::Tcp &&
      ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    return failSys("set SO_REUSEADDR on", where);
  }
  if (::bind(fd.get(), addr->get(), addr->len) != 0) return failSys("bind", where);
  if (proto == Proto::Tcp && ::listen(fd.get(), SOMAXCONN) != 0) return failSys("listen on", where);
  return fd;
}

uint16_t boundPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

Status runProxy(std::vector<Forward>& forwards, int stopFd) {
  return runProxy(forwards, stopFd, ProxyOptions{});
}

Status runProxy(std::vector<Forward>& forwards, int stopFd, const ProxyOptions& options) {
  if (options.bufferBytes == 0) return failInvalid("proxy buffer size must not be 0");
  Proxy proxy(forwards, stopFd, options);
  return proxy.run();
}

}  // namespace strata::network
