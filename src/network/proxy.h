// The userland port proxy: publishes a container's ports on the host, as docker-proxy does.
//
// The caller binds the host sockets (bindHostPort) while it can still report a busy port, then
// hands them to runProxy, which forwards TCP connections and UDP datagrams to the container's
// address until told to stop. One thread, one epoll loop, non-blocking sockets throughout.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "util/error.h"
#include "util/fd.h"

namespace strata::network {

enum class Proto { Tcp, Udp };

// A host socket for a published port, non-blocking and O_CLOEXEC: TCP listening (SO_REUSEADDR,
// backlog SOMAXCONN), UDP bound. hostIp is an IPv4 or IPv6 literal ("0.0.0.0", "::",
// "127.0.0.1", "::1"; no brackets, no zone); IPv6 sockets are IPV6_V6ONLY so "::" and "0.0.0.0"
// can be bound to the same port side by side. Port 0 lets the kernel pick (see boundPort).
// Errors keep errno (EADDRINUSE, EADDRNOTAVAIL, EACCES) and name the address:
// "bind 0.0.0.0:8080", "bind [::1]:8080". A hostIp that is not a literal is an error with code 0.
Result<UniqueFd> bindHostPort(Proto proto, const std::string& hostIp, uint16_t port);

// The local port of a bound IPv4 or IPv6 socket; 0 when fd is not one.
uint16_t boundPort(int fd);

// One published port: connections or datagrams arriving on host go to targetIp:targetPort.
struct Forward {
  Proto proto = Proto::Tcp;
  UniqueFd host;         // from bindHostPort (a TCP socket must be listening)
  std::string targetIp;  // the container's address: an IPv4 (or IPv6) literal
  uint16_t targetPort = 0;
};

// Knobs for tests; the defaults are what the CLI uses.
struct ProxyOptions {
  // Bytes buffered per TCP direction; a side is not read while its peer's buffer is full.
  size_t bufferBytes = 64 * 1024;
  // A UDP client silent (both ways) for this long is forgotten and its target socket closed.
  std::chrono::milliseconds udpIdleTimeout = std::chrono::seconds(90);
};

// Forwards until stopFd is readable or hung up (the caller writes to, or closes, the other end
// of a pipe), then returns. Every connection and socket it made is closed on return; the host
// sockets in forwards stay open and the caller's (runProxy sets them O_NONBLOCK).
//
// TCP: each accepted connection gets a non-blocking connect to the target; bytes flow both ways,
// and when one side ends its stream the other gets shutdown(SHUT_WR) once the buffered bytes are
// delivered. A failed connect, a reset or any other socket error closes both sides of that
// connection only. UDP: each client address gets its own socket connected to the target;
// replies go back through the host socket to that client. Datagrams that cannot be sent at once
// are dropped, as the network might drop them.
//
// Work per event is bounded, so a busy or stalled connection does not hold up the others.
// Returns an error only when it cannot start (a forward with an invalid target or host socket,
// no epoll) or when epoll itself fails; errors of single connections are not reported.
// Thread safety: forwards must not be touched by others while this runs.
Status runProxy(std::vector<Forward>& forwards, int stopFd);
Status runProxy(std::vector<Forward>& forwards, int stopFd, const ProxyOptions& options);

}  // namespace strata::network
