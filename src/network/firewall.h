// The host's packet filter rules a bridge network needs: masquerading of its subnet for outbound
// traffic, forwarding to and from its bridge (and not between strata's bridges), and, when the
// host's resolver listens on a loopback address, a DNAT of the gateway's port 53 to it.
//
// nftables (Debian's nft) when present, else iptables; the rules are made by running that
// program (strata keeps no packet-filter code of its own). What was installed is returned as an
// InstalledRules value the caller records, so that removal undoes exactly that even after a
// crash or a change of backend.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "network/addr.h"
#include "util/error.h"

namespace strata::network {

struct FirewallRequest {
  std::string bridge;               // interface name
  Ipv4Net subnet;                   // network address/prefix
  uint32_t gateway = 0;             // the bridge's address
  bool internal = false;            // no traffic beyond the bridge at all
  std::optional<uint32_t> dnsTo;    // loopback resolver the gateway's port 53 is sent to
};

// What installRules did: the backend and the commands that undo it.
struct InstalledRules {
  std::string backend;                          // "nft" | "iptables"
  std::vector<std::vector<std::string>> undo;   // argv of each command, run in order
  std::string undoInput;                        // stdin of the undo (nft scripts)
};

// The backend in use: $STRATA_FIREWALL ("nft" | "iptables") when set, else nft when found in
// PATH or /usr/sbin, /sbin, else iptables. Error when neither program exists.
Result<std::string> firewallBackend();

// Installs the rules for one bridge; on failure nothing of them is left.
Result<InstalledRules> installRules(const FirewallRequest& req);
// Runs the undo commands; rules already gone are not an error worth stopping for (the first
// failure is returned after every command ran).
Status removeRules(const InstalledRules& rules);

}  // namespace strata::network
