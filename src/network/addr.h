// IPv4 addresses and subnets, Docker's default address pools, and the pure halves of IPAM:
// picking a free subnet and a free host address. No I/O; callers supply what is already in use.
//
// IPv4 addresses are uint32_t in host byte order: 172.17.0.1 is 0xac110001.
// IPv6 is only parsed and printed here (for port bindings); there is no IPv6 IPAM.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace strata::network {

// An IPv4 address with a prefix length. addr may carry host bits (an interface address such as
// 172.17.0.1/16); networkOf() clears them.
struct Ipv4Net {
  uint32_t addr = 0;
  int prefix = 0;  // 0..32
  friend bool operator==(const Ipv4Net&, const Ipv4Net&) = default;
};

// Strict dotted quad, as Go's net.ParseIP takes IPv4: exactly four decimal fields 0..255, no
// leading zeros ("010" is refused, as Go >= 1.17 refuses it), no signs or spaces.
std::optional<uint32_t> parseIpv4(std::string_view text);
// "172.17.0.1"
std::string formatIpv4(uint32_t a);

// "172.17.0.0/16" or "172.17.0.1/16" (host bits kept). The prefix is decimal 0..32 without
// leading zeros. IPv6 is refused. Error text as Docker's (Go's net.ParseCIDR):
// "invalid CIDR address: <text>".
Result<Ipv4Net> parseCidr(std::string_view text);
// "172.17.0.1/16": the address as given, host bits kept.
std::string formatCidr(Ipv4Net n);

// The mask for a prefix length: 16 -> 0xffff0000. Prefixes <= 0 give 0, >= 32 all ones.
uint32_t netmask(int prefix);
// The network itself: host bits cleared, prefix kept.
Ipv4Net networkOf(Ipv4Net n);
// Whether the two networks share any address (host bits of either are ignored).
bool overlaps(Ipv4Net a, Ipv4Net b);
// Whether ip lies in net (host bits of net are ignored).
bool contains(Ipv4Net net, uint32_t ip);

// One default-address-pools entry of daemon.json: base is split into subnets of prefix size.
struct Pool {
  Ipv4Net base;
  int size = 0;
  friend bool operator==(const Pool&, const Pool&) = default;
};

// Docker's compiled-in local pools (libnetwork ipamutils), in Docker's order:
// 172.17/16, 172.18/16, 172.19/16, 172.20/14, 172.24/14, 172.28/14 split into /16s, then
// 192.168/16 split into /20s. That is 172.17.0.0/16 .. 172.31.0.0/16 and then the sixteen /20s
// of 192.168.0.0/16: 31 candidate subnets.
std::vector<Pool> defaultPools();

// The first subnet, walking the pools in order and each pool from its lowest address, that
// overlaps none of taken (existing networks, host routes, interface addresses). nullopt when
// every candidate is taken. A pool whose size is shorter than its base prefix, or longer than
// 32, yields nothing. Cost grows with the number of taken networks, not the size of the pools.
std::optional<Ipv4Net> pickSubnet(const std::vector<Pool>& pools,
                                  const std::vector<Ipv4Net>& taken);

// The conventional gateway of a subnet: network address + 1 (for a /32, the address itself).
uint32_t firstHost(Ipv4Net subnet);

// The lowest free host address of subnet: skips the network and broadcast addresses (subnets of
// /30 and wider; /31 and /32 have none, RFC 3021), gateway, and every address in used. nullopt
// when the subnet is full. Cost grows with used.size(), not the subnet size.
std::optional<uint32_t> pickAddress(Ipv4Net subnet, uint32_t gateway,
                                    const std::set<uint32_t>& used);

// Docker's (Engine <= 27) MAC for a bridge endpoint: locally administered 02:42 followed by the
// four IPv4 bytes, so 172.17.0.2 -> 02:42:ac:11:00:02.
std::array<uint8_t, 6> macFor(uint32_t ip);
// "02:42:ac:11:00:02" (lowercase hex).
std::string formatMac(const std::array<uint8_t, 6>& mac);

// IPv6 as Go's net.ParseIP takes it: eight hex groups of 1..4 digits, one "::" for a run of
// zero groups, an optional trailing dotted quad ("::ffff:1.2.3.4"); no zone, no brackets.
std::optional<std::array<uint8_t, 16>> parseIpv6(std::string_view text);
// RFC 5952 text as Go's netip prints it: lowercase, the longest run (first on a tie) of two or
// more zero groups as "::", IPv4-mapped addresses as "::ffff:1.2.3.4".
std::string formatIpv6(const std::array<uint8_t, 16>& a);

}  // namespace strata::network
