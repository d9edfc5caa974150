// Attaching containers to bridge networks: the host-wide state every store on the machine
// shares, since bridges, addresses and packet-filter rules are the kernel's, not a store's.
//
// The state lives in /run/strata/net ($STRATA_NET_STATE overrides), which, like the kernel's
// network state, does not survive a reboot:
//   lock                  flock held while anything below changes
//   ip_forward            the host's net.ipv4.ip_forward before strata first set it to 1
//   <bridge>/bridge.json  the bridge's address and the firewall rules installed for it
//   <bridge>/<ip>.json    a lease: the container holding that address and the processes whose
//                         life keeps it (the attaching process, then the container's pid 1)
//
// A bridge and its rules exist while it has live leases: the first attach makes them, the last
// detach removes them (and restores ip_forward when no strata bridge is left). A lease whose
// processes are all gone (a killed monitor, a crash) is stale; every attach, detach and sweep()
// clears stale leases and tears down what they leave idle.
#pragma once

#include <sys/types.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "network/addr.h"
#include "util/error.h"

namespace strata::network {

struct BridgeRequest {
  std::string network;            // the network's name, for errors
  std::string bridge;             // interface name
  std::optional<Ipv4Net> subnet;  // fixed subnet, addr = gateway; unset: the bridge's own when
                                  // it exists, else the first free one of pools
  std::vector<Pool> pools;
  std::vector<Ipv4Net> avoid;     // subnets a new pick must not take (the store's networks)
  bool internal = false;
  bool namesInHosts = false;      // user networks: peers' names kept in each member's /etc/hosts
};

struct EndpointOwner {
  std::string containerId;
  std::string name;                  // container name, resolvable by peers
  std::string hostname;
  std::vector<std::string> aliases;  // more names for peers
  std::string hostsFile;             // the container's /etc/hosts on the host ("" for none)
};

struct Endpoint {
  std::string bridge;
  std::string hostVeth;
  uint32_t address = 0;
  int prefix = 0;
  uint32_t gateway = 0;
  std::array<uint8_t, 6> mac{};
  std::string lease;                 // lease file
};

// Makes the bridge and its rules when missing (checking its subnet against the host's routes),
// leases a free address and writes owner.hostsFile. The lease is held by the calling process
// until running() names the container's pid.
Result<Endpoint> attach(const BridgeRequest& req, const EndpointOwner& owner);
// Creates the veth pair: the host end on the bridge, the other end as eth0 inside the network
// namespace of pid (a runtime::BeforeGo hook).
Status plug(const Endpoint& ep, pid_t pid);
// Records the container's pid 1 in the lease and adds the container to its peers' hosts files.
Status running(const Endpoint& ep, pid_t containerPid);
// Removes the veth pair, releases the lease, updates peers, and removes the bridge and its rules
// when it was the last.
Status detach(const Endpoint& ep);
// Clears stale leases and tears down idle bridges. Cheap when there is nothing to do.
Status sweep();

// The address (addr = gateway) of an existing bridge, if it has one.
std::optional<Ipv4Net> bridgeAddress(const std::string& bridge);

// /etc/resolv.conf for a container on a bridge: the host's without loopback and IPv6
// nameservers; when only loopback ones were there, the gateway instead (its port 53 is sent to
// the host's first loopback resolver); Docker's public fallback when there was none.
std::string bridgeResolvConf(const std::string& hostResolvConf, uint32_t gateway);
// The host's first loopback IPv4 nameserver when no other IPv4 nameserver is listed.
std::optional<uint32_t> loopbackResolver(const std::string& hostResolvConf);

}  // namespace strata::network
