// Docker's port syntax: `-p/--publish` specs, EXPOSE-style port[/proto] specs, and the PORTS
// column of `ps`. Pure functions; allocating host ports and binding them is the caller's job.
//
// Behaviour follows current Docker (docker/cli + go-connections nat + Engine 29 daemon checks).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.h"

namespace strata::network {

struct PortBinding {
  std::string hostIp;          // "" = all addresses; IPv6 without brackets, in canonical form
  uint16_t hostPort = 0;       // 0 = pick a free port
  uint16_t hostPortEnd = 0;    // > hostPort: pick a free port in [hostPort, hostPortEnd]
                               // ("8000-8010:80"); otherwise equal to hostPort
  uint16_t containerPort = 0;  // 1..65535
  std::string proto = "tcp";   // tcp | udp | sctp
  friend bool operator==(const PortBinding&, const PortBinding&) = default;
};

// Parses one `docker run -p` value into one binding per container port, in port order:
//   "80"                  container 80, any free host port on all addresses
//   "8080:80"             host 8080 -> container 80
//   "127.0.0.1:8080:80"   on one address;  "127.0.0.1::80": free port on that address
//   "[::1]:8080:80"       IPv6 in brackets (or bare: "::1:8080:80", split at the last two ':')
//   "8000-8001:80-81"     equal-length ranges pair up port by port
//   "8000-8010:80"        one container port, host port picked from the range
//   "80-82"               a container range, each with a free host port
//   "80/udp", "8080:80/TCP"  protocol tcp (default), udp or sctp, case-insensitive
//   "published=8080,target=80,protocol=udp"  docker run's long form (other keys are ignored)
// Port numbers are decimal; leading zeros are accepted as Go's ParseUint accepts them. The
// container port may not be 0 (Engine 29 refuses it); host port 0 means "pick one".
// Errors (Docker's wording):
//   "no port specified: <spec><empty>", "invalid proto: <proto>", "invalid IP address: <ip>",
//   "invalid containerPort: <port>", "invalid hostPort: <port>",
//   "invalid ranges specified for container and host Ports: <container> and <host>",
//   "invalid publish opts format (should be name=value but got '<param>')".
Result<std::vector<PortBinding>> parsePublish(std::string_view spec);

// "80", "80/tcp", "53/UDP", "8000-8002/udp" -> {port, proto} per port, ranges expanded in order.
// For EXPOSE, --expose and `port CONTAINER 80/tcp`. Errors: "invalid port format: <spec>" (a
// ':' mapping), "invalid port: <spec>" (empty, not a number, 0 or above 65535),
// "invalid range specified for port: <spec>" (end before start), "invalid proto: <proto>".
Result<std::vector<std::pair<uint16_t, std::string>>> parsePortProto(std::string_view spec);

// Go's net.JoinHostPort: "0.0.0.0:8080", "[::]:8080" (IPv6 hosts go in brackets).
std::string joinHostPort(const std::string& host, const std::string& port);

// One row of a container's port list, as the API's container summary carries it.
struct PublishedPort {
  uint16_t containerPort = 0;
  std::string proto = "tcp";
  std::string hostIp;     // "0.0.0.0", "::", "127.0.0.1", ...; "" = exposed only
  uint16_t hostPort = 0;  // meaningful only with hostIp
};

// The PORTS column of `docker ps`, e.g.
//   "80/tcp, 0.0.0.0:8080->81/tcp, [::]:8080->81/tcp"
// Docker's rules: rows are sorted by container port, then host address (exposed-only first,
// IPv4 before IPv6, numerically), host port, protocol. Rows without a host address, and rows
// whose host port equals the container port, are folded into runs of consecutive ports per
// (address, protocol): "8000-8001/tcp", "0.0.0.0:8000-8001->8000-8001/tcp". Rows mapping to a
// different host port are never folded and come last: "0.0.0.0:8000->80/tcp". IPv6 hosts are
// bracketed ("[::]:8080", docker CLI >= 27.2; 20.10 printed ":::8080"). An address with host port 0
// prints as "0.0.0.0:0->80/tcp", as Docker does; the row is exposed-only when hostIp is "".
std::string formatPortsColumn(std::vector<PublishedPort> ports);

}  // namespace strata::network
