// A small rtnetlink (NETLINK_ROUTE) client: the link, address and route operations a container
// network needs (a bridge, veth pairs, IPv4 addresses), spoken directly over a netlink socket.
//
// Every call opens its own socket (SOCK_CLOEXEC) in the network namespace of the calling thread,
// so the functions are safe to call from several threads and act on whatever namespace the caller
// is in. Requests are acknowledged by the kernel; a refusal becomes an Error that keeps the
// kernel's errno and names the operation and the interface ("create bridge `strata0`"), with the
// kernel's extended-ack text appended when it sends one. Changing links and addresses needs
// CAP_NET_ADMIN; the queries do not.
//
// IPv4 addresses are uint32_t in host byte order: 172.17.0.1 is 0xac110001.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "util/error.h"

namespace strata::network::netlink {

// An address on an interface with its prefix length, e.g. 172.17.0.1/16.
struct Ipv4Addr {
  uint32_t addr = 0;
  int prefix = 0;
  bool operator==(const Ipv4Addr&) const = default;
};

// An IPv4 route of the main table: destination network, prefix length (the default route is
// 0/0) and the name of the output device ("" when the route has none, e.g. a blackhole route or
// a multipath route).
struct Route {
  uint32_t dst = 0;
  int prefix = 0;
  std::string dev;
  bool operator==(const Route&) const = default;
};

// Creates a bridge named `name`, left down. Fails with EEXIST when a link of that name exists,
// EINVAL for a name that is empty or longer than 15 bytes.
Status createBridge(const std::string& name);

// Deletes the link `name` (for a veth, both ends go). Fails with ENODEV when there is none.
Status deleteLink(const std::string& name);

// Whether a link named `name` exists in our network namespace. Any failure to ask counts as no.
bool linkExists(const std::string& name);

// Sets the link administratively up (IFF_UP). Fails with ENODEV when there is no such link.
Status setLinkUp(const std::string& name);

// Adds a.addr/a.prefix to the link `ifname`, with the subnet's broadcast address for prefixes
// up to /30. Fails with EEXIST when the link already has that address, ENODEV when there is no
// such link, EINVAL for a prefix outside 0..32. The kernel adds the connected route of the
// subnet (none for /32 or /0) when the link is up, not before.
Status addAddress(const std::string& ifname, Ipv4Addr a);

// The IPv4 addresses on the link `ifname`, in the kernel's order. ENODEV when there is no such
// link.
Result<std::vector<Ipv4Addr>> addresses(const std::string& ifname);

// Creates a veth pair. The end `hostName` stays in our network namespace, is enslaved to the
// bridge `master` and set up. Its peer is created directly inside the network namespace of
// process `peerNetnsPid` under the name `peerName`, with MAC address `peerMac`, and left down
// (the container configures it). Nothing is left behind on failure. Fails with ENODEV when
// `master` does not exist, EOPNOTSUPP when it takes no ports (lo), ESRCH when the process does
// not exist, EEXIST when either name is taken in its namespace, EADDRNOTAVAIL for a multicast or
// all-zero MAC.
Status createVeth(const std::string& hostName, const std::string& master,
                  const std::string& peerName, pid_t peerNetnsPid,
                  const std::array<uint8_t, 6>& peerMac);

// The IPv4 routes of the main routing table (connected, default and static routes). A connected
// route stays listed while its link has no carrier (the kernel flags it linkdown).
Result<std::vector<Route>> ipv4Routes();

// The names of all links in our network namespace, ordered by interface index.
Result<std::vector<std::string>> linkNames();

}  // namespace strata::network::netlink
