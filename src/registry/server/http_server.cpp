// The threads of the HTTP server: a dispatcher that accepts connections and watches idle ones
// with epoll, and workers that each take a readable connection and serve its requests.
#include "registry/server/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "registry/server/http_conn.h"

namespace strata::registry::server {
namespace {

using Clock = std::chrono::steady_clock;

std::string peerAddress(const sockaddr_storage& sa) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (sa.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(sa).sin_addr, buf, sizeof buf);
  } else if (sa.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(sa).sin6_addr, buf, sizeof buf);
    if (std::string_view(buf).rfind("::ffff:", 0) == 0 && std::string_view(buf).find('.') != std::string_view::npos)
      return buf + 7;  // an IPv4 client of a dual-stack socket
  }
  return buf;
}

void setTimeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Result<UniqueFd> listenOn(const std::string& addr) {
  auto [host, port] = TRY(parseListenAddress(addr));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res); rc != 0)
    return failInvalid("listen address `" + addr + "`: " + ::gai_strerror(rc));
  // With no host, prefer the IPv6 wildcard (dual-stack) and fall back to IPv4.
  std::vector<addrinfo*> candidates;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) candidates.push_back(ai);
  if (host.empty())
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](addrinfo* a, addrinfo* b) { return a->ai_family == AF_INET6 && b->ai_family != AF_INET6; });
  Error last(0, "listen address `" + addr + "`: no usable address");
  for (addrinfo* ai : candidates) {
    UniqueFd fd(::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) {
      last = Error::fromErrno("listen on `" + addr + "`: socket");
      continue;
    }
    const int one = 1, zero = 0;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6 && host.empty())
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) < 0 || ::listen(fd.get(), 1024) < 0) {
      last = Error::fromErrno("listen on `" + addr + "`");
      continue;
    }
    ::freeaddrinfo(res);
    return fd;
  }
  ::freeaddrinfo(res);
  return fail(std::move(last));
}

}  // namespace

Result<std::pair<std::string, uint16_t>> parseListenAddress(std::string_view addr) {
  const auto bad = [&] { return failInvalid("listen address `" + std::string(addr) + "`: want HOST:PORT"); };
  std::string_view host, port;
  if (!addr.empty() && addr[0] == '[') {
    const size_t close = addr.find(']');
    if (close == std::string_view::npos || addr.substr(close + 1, 1) != ":") return bad();
    host = addr.substr(1, close - 1);
    port = addr.substr(close + 2);
  } else {
    const size_t colon = addr.rfind(':');
    if (colon == std::string_view::npos || addr.substr(0, colon).find(':') != std::string_view::npos) return bad();
    host = addr.substr(0, colon);
    port = addr.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5) return bad();
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return bad();
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return bad();
  return std::make_pair(std::string(host), static_cast<uint16_t>(value));
}

struct HttpServer::Impl {
  HttpOptions opt;
  HttpHandler handler;
  UniqueFd listenFd, epollFd, wakeFd;
  uint16_t port = 0;

  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::condition_variable cv;
  std::unordered_map<int, std::unique_ptr<Connection>> idle;  // watched by epoll
  std::deque<std::unique_ptr<Connection>> ready;              // readable, waiting for a worker
  std::unordered_set<Connection*> busy;                       // being served
  bool stopped = false;
  std::thread dispatcher;
  std::vector<std::thread> workers;

  void dispatchLoop();
  void acceptAll();
  void sweepIdle();
  void workerLoop();
  // Serves requests on c while it has them; whether it stays open.
  bool serveConnection(Connection& c);
  // Puts c under epoll until its next request. Called with mu held.
  void watchLocked(std::unique_ptr<Connection> c, int timeoutSeconds);
};

void HttpServer::Impl::watchLocked(std::unique_ptr<Connection> c, int timeoutSeconds) {
  c->idleDeadline = Clock::now() + std::chrono::seconds(timeoutSeconds);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.fd = c->fd.get();
  if (::epoll_ctl(epollFd.get(), EPOLL_CTL_ADD, c->fd.get(), &ev) < 0) return;  // c closes
  const int fd = c->fd.get();
  idle[fd] = std::move(c);
}

void HttpServer::Impl::acceptAll() {
  for (;;) {
    sockaddr_storage sa{};
    socklen_t len = sizeof sa;
    UniqueFd fd(::accept4(listenFd.get(), reinterpret_cast<sockaddr*>(&sa), &len, SOCK_CLOEXEC));
    if (!fd) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // let connections finish
      return;
    }
    setTimeouts(fd.get(), opt.ioTimeoutSeconds);
    auto c = std::make_unique<Connection>();
    c->fd = std::move(fd);
    c->remote = peerAddress(sa);
    std::lock_guard lock(mu);
    if (idle.size() + ready.size() + busy.size() >= opt.maxConnections) continue;  // refused: closes
    watchLocked(std::move(c), opt.headerTimeoutSeconds);
  }
}

void HttpServer::Impl::sweepIdle() {
  const auto now = Clock::now();
  std::vector<std::unique_ptr<Connection>> expired;
  std::lock_guard lock(mu);
  for (auto it = idle.begin(); it != idle.end();) {
    if (it->second->idleDeadline < now) {
      ::epoll_ctl(epollFd.get(), EPOLL_CTL_DEL, it->first, nullptr);
      expired.push_back(std::move(it->second));
      it = idle.erase(it);
    } else {
      ++it;
    }
  }
}

void HttpServer::Impl::dispatchLoop() {
  epoll_event events[64];
  auto lastSweep = Clock::now();
  while (!stopping.load()) {
    const int n = ::epoll_wait(epollFd.get(), events, 64, 1000);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listenFd.get()) {
        acceptAll();
      } else if (fd != wakeFd.get()) {
        std::lock_guard lock(mu);
        auto it = idle.find(fd);
        if (it == idle.end()) continue;
        ::epoll_ctl(epollFd.get(), EPOLL_CTL_DEL, fd, nullptr);
        ready.push_back(std::move(it->second));
        idle.erase(it);
        cv.notify_one();
      }
    }
    if (Clock::now() - lastSweep >= std::chrono::seconds(1)) {
      sweepIdle();
      lastSweep = Clock::now();
    }
  }
}

bool HttpServer::Impl::serveConnection(Connection& c) {
  if (!c.io) {
    if (!opt.tls) {
      c.io = plainTransport(c.fd.get());
    } else {
      auto t = opt.tls->wrap(c.fd.get());
      if (!t) return false;
      c.io = std::move(*t);
      if (!c.io->handshake()) return false;
      if (!c.buffered()) return true;  // wait for the first request without holding a worker
    }
  }
  for (;;) {
    if (!serveRequest(c, opt, handler, stopping.load())) return false;
    if (!c.buffered()) return true;  // pipelined requests are served at once
  }
}

void HttpServer::Impl::workerLoop() {
  // A client that goes away mid-response raises SIGPIPE (sendfile and TLS writes cannot ask
  // for MSG_NOSIGNAL); keep it pending on this thread instead of killing the process.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  for (;;) {
    std::unique_ptr<Connection> c;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return stopping.load() || !ready.empty(); });
      if (stopping.load()) return;
      c = std::move(ready.front());
      ready.pop_front();
      busy.insert(c.get());
    }
    const bool keep = serveConnection(*c);
    {
      std::lock_guard lock(mu);
      busy.erase(c.get());
      if (keep && !stopping.load()) watchLocked(std::move(c), opt.idleTimeoutSeconds);
    }
    c.reset();
    const timespec zero{};
    while (::sigtimedwait(&pipe, nullptr, &zero) > 0) {
    }
  }
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpOptions& opt, HttpHandler handler) {
  auto impl = std::make_unique<Impl>();
  impl->opt = opt;
  impl->handler = std::move(handler);
  impl->listenFd = TRY(listenOn(opt.addr));
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  if (::getsockname(impl->listenFd.get(), reinterpret_cast<sockaddr*>(&sa), &len) < 0)
    return failErrno("listen on `" + opt.addr + "`: getsockname");
  impl->port = ntohs(sa.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(sa).sin6_port
                                              : reinterpret_cast<sockaddr_in&>(sa).sin_port);
  impl->epollFd = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
  impl->wakeFd = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!impl->epollFd || !impl->wakeFd) return failErrno("HTTP server: epoll");
  for (int fd : {impl->listenFd.get(), impl->wakeFd.get()}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(impl->epollFd.get(), EPOLL_CTL_ADD, fd, &ev) < 0) return failErrno("HTTP server: epoll_ctl");
  }
  unsigned threads = opt.threads;
  if (threads == 0) threads = std::clamp(4 * std::thread::hardware_concurrency(), 16u, 64u);
  Impl* p = impl.get();
  p->dispatcher = std::thread([p] { p->dispatchLoop(); });
  for (unsigned i = 0; i < threads; ++i) p->workers.emplace_back([p] { p->workerLoop(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::stop() {
  Impl& s = *impl_;
  {
    std::lock_guard lock(s.mu);
    if (s.stopped) return;
    s.stopped = true;
    s.stopping = true;
  }
  const uint64_t one = 1;
  (void)!::write(s.wakeFd.get(), &one, sizeof one);
  if (s.dispatcher.joinable()) s.dispatcher.join();
  {
    std::lock_guard lock(s.mu);
    for (Connection* c : s.busy) ::shutdown(c->fd.get(), SHUT_RDWR);  // unblocks its worker
    s.cv.notify_all();
  }
  for (auto& t : s.workers) t.join();
  s.workers.clear();
  s.idle.clear();
  s.ready.clear();
  s.listenFd.reset();
}

HttpServer::~HttpServer() { stop(); }

}  // namespace strata::registry::server
