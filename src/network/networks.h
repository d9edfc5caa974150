// A store's networks: the three every store has (bridge, host, none) and the user's bridge
// networks (`network create`), kept in <root>/networks.json. A network here is a definition;
// its bridge comes and goes with the containers attached to it (endpoint.h).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "network/addr.h"
#include "network/endpoint.h"
#include "store/store.h"
#include "util/error.h"

namespace strata::network {

inline constexpr const char* kDefaultBridge = "strata0";

struct Network {
  std::string id;       // 64 hex
  std::string name;
  std::string driver;   // "bridge" | "host" | "null"
  std::string created;  // RFC 3339
  std::string bridge;   // interface name, bridge networks only
  std::optional<Ipv4Net> subnet;  // user networks: chosen at create (addr = gateway)
  bool internal = false;
  bool predefined = false;  // bridge, host, none
  std::map<std::string, std::string> labels;
};

struct NetworkCreate {
  std::string name;
  std::string driver = "bridge";
  std::string subnet;   // CIDR; "" picks a free one
  std::string gateway;  // "" = the subnet's first address
  bool internal = false;
  std::vector<std::string> labels;  // KEY=VALUE
};

// Where the default bridge's subnet comes from: strata's config.json "bip" ("172.17.0.1/16",
// the gateway's address) and "default-address-pools" ([{"base":"10.10.0.0/16","size":24}]), as
// in Docker's daemon.json; Docker's pools when unset.
struct AddressConfig {
  std::optional<Ipv4Net> bip;
  std::vector<Pool> pools;
};
Result<AddressConfig> addressConfig();

class Networks {
 public:
  explicit Networks(const store::Store& s) : store_(s) {}

  // bridge, host, none, then the user's networks by name.
  Result<std::vector<Network>> list() const;
  // By name, full ID or unique ID prefix. Error: "network X not found".
  Result<Network> find(const std::string& nameOrId) const;
  // Checks the name (unique, Docker's characters), the driver (bridge) and the subnet (free of
  // the store's other networks and the host's routes; a free one picked when unset).
  Result<Network> create(const NetworkCreate& opt);
  // Removes a user network's definition (the caller checked nothing is attached).
  Status remove(const Network& n);
  // How to attach to a bridge network.
  Result<BridgeRequest> bridgeRequest(const Network& n) const;

 private:
  Result<std::vector<Network>> userNetworks() const;
  Status saveUserNetworks(const std::vector<Network>& nets) const;
  Network predefined(const std::string& name, const std::string& driver) const;

  const store::Store& store_;
};

}  // namespace strata::network
