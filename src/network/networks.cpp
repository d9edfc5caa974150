#include "network/networks.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "network/netlink.h"
#include "registry/auth.h"
#include "util/format.h"
#include "util/fs.h"
#include "util/lock.h"
#include "util/random.h"
#include "util/sha256.h"

namespace strata::network {

using Json = nlohmann::json;

namespace {

std::string networksFile(const store::Store& s) { return s.layout().root() + "/networks.json"; }
std::string networksLock(const store::Store& s) { return s.layout().locksDir() + "/networks"; }

bool validNetworkName(const std::string& n) {
  if (n.empty() || !std::isalnum(static_cast<unsigned char>(n[0]))) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

Json toJson(const Network& n) {
  Json j{{"Id", n.id}, {"Name", n.name}, {"Driver", n.driver}, {"Created", n.created},
         {"Bridge", n.bridge}, {"Internal", n.internal}, {"Labels", n.labels}};
  if (n.subnet) j["Address"] = formatCidr(*n.subnet);
  return j;
}

Result<Network> fromJson(const Json& j) {
  Network n;
  n.id = j.value("Id", "");
  n.name = j.value("Name", "");
  n.driver = j.value("Driver", "bridge");
  n.created = j.value("Created", "");
  n.bridge = j.value("Bridge", "");
  n.internal = j.value("Internal", false);
  n.labels = j.value("Labels", std::map<std::string, std::string>{});
  if (j.contains("Address")) n.subnet = TRY(parseCidr(j.value("Address", "")));
  if (n.id.size() != 64 || n.name.empty() || n.bridge.empty()) return failInvalid("a network record is incomplete");
  return n;
}

// Subnets a new network must stay clear of: the store's networks, the default bridge's and the
// host's routes (strata's own bridges among them).
Result<std::vector<Ipv4Net>> takenSubnets(const std::vector<Network>& user, const AddressConfig& cfg) {
  std::vector<Ipv4Net> taken;
  for (const auto& n : user)
    if (n.subnet) taken.push_back(networkOf(*n.subnet));
  auto routes = TRY_CTX(netlink::ipv4Routes(), "read the host's routes");
  for (const auto& r : routes)
    if (r.prefix > 0) taken.push_back({r.dst, r.prefix});
  if (cfg.bip) {
    taken.push_back(networkOf(*cfg.bip));
  } else if (auto own = bridgeAddress(kDefaultBridge)) {
    taken.push_back(networkOf(*own));
  } else if (auto next = pickSubnet(cfg.pools, taken)) {
    taken.push_back(*next);  // where the default bridge will go
  }
  return taken;
}

}  // namespace

Result<AddressConfig> addressConfig() {
  AddressConfig cfg;
  std::string path = registry::strataConfigPath();
  if (!path.empty() && pathExists(path)) {
    std::string text = TRY(readFile(path));
    Json j = Json::parse(text, nullptr, false);
    if (!j.is_object()) return failInvalid(path + ": not a JSON object");
    if (j.contains("bip")) {
      if (!j["bip"].is_string()) return failInvalid(path + ": \"bip\" must be a string");
      cfg.bip = TRY_CTX(parseCidr(j["bip"].get<std::string>()), path + ": bip");
    }
    if (j.contains("default-address-pools")) {
      for (const auto& p : j["default-address-pools"]) {
        if (!p.is_object() || !p.contains("base") || !p["base"].is_string() || !p.contains("size") ||
            !p["size"].is_number_integer())
          return failInvalid(path + ": default-address-pools entries need \"base\" and \"size\"");
        Ipv4Net base = TRY_CTX(parseCidr(p["base"].get<std::string>()), path + ": default-address-pools");
        const int64_t size = p["size"].get<int64_t>();
        if (size < base.prefix || size > 30)
          return failInvalid(path + ": default-address-pools: size " + std::to_string(size) + " does not fit " + formatCidr(base));
        cfg.pools.push_back({networkOf(base), static_cast<int>(size)});
      }
    }
  }
  if (cfg.pools.empty()) cfg.pools = defaultPools();
  return cfg;
}

Network Networks::predefined(const std::string& name, const std::string& driver) const {
  Network n;
  n.name = name;
  n.driver = driver;
  n.predefined = true;
  // Stable per store, so scripts may keep them.
  n.id = Sha256::hexOf("strata network " + name + " " + store_.layout().root());
  n.created = "0001-01-01T00:00:00Z";
  if (name == "bridge") n.bridge = kDefaultBridge;
  return n;
}

Result<std::vector<Network>> Networks::userNetworks() const {
  std::vector<Network> out;
  std::string path = networksFile(store_);
  if (!pathExists(path)) return out;
  std::string text = TRY(readFile(path));
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("Networks") || !j["Networks"].is_array())
    return failInvalid(path + ": not a networks file");
  for (const auto& n : j["Networks"]) out.push_back(TRY_CTX(fromJson(n), path));
  return out;
}

Status Networks::saveUserNetworks(const std::vector<Network>& nets) const {
  Json arr = Json::array();
  for (const auto& n : nets) arr.push_back(toJson(n));
  return writeFileAtomic(networksFile(store_), Json{{"Networks", arr}}.dump(2) + "\n");
}

Result<std::vector<Network>> Networks::list() const {
  std::vector<Network> out = {predefined("bridge", "bridge"), predefined("host", "host"),
                              predefined("none", "null")};
  auto user = TRY(userNetworks());
  std::sort(user.begin(), user.end(), [](const Network& a, const Network& b) { return a.name < b.name; });
  out.insert(out.end(), user.begin(), user.end());
  return out;
}

Result<Network> Networks::find(const std::string& nameOrId) const {
  auto all = TRY(list());
  for (const auto& n : all)
    if (n.name == nameOrId || n.id == nameOrId) return n;
  std::vector<const Network*> matches;
  if (!nameOrId.empty())
    for (const auto& n : all)
      if (n.id.rfind(nameOrId, 0) == 0) matches.push_back(&n);
  if (matches.size() == 1) return *matches.front();
  if (matches.size() > 1)
    return failInvalid("network " + nameOrId + " is ambiguous (" + std::to_string(matches.size()) +
                       " matches found based on ID prefix)");
  return failInvalid("network " + nameOrId + " not found");
}

Result<Network> Networks::create(const NetworkCreate& opt) {
  if (!validNetworkName(opt.name))
    return failInvalid("invalid network name \"" + opt.name + "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  if (opt.driver != "bridge")
    return failInvalid("plugin \"" + opt.driver + "\" not found: strata has the bridge driver only");
  Network n;
  n.name = opt.name;
  n.driver = "bridge";
  n.internal = opt.internal;
  n.created = nowRfc3339Nano();
  for (const auto& l : opt.labels) {
    auto eq = l.find('=');
    n.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  std::optional<uint32_t> gateway;
  if (!opt.gateway.empty()) {
    gateway = parseIpv4(opt.gateway);
    if (!gateway) return failInvalid("invalid gateway address \"" + opt.gateway + "\"");
    if (opt.subnet.empty()) return failInvalid("--gateway needs a --subnet");
  }
  AddressConfig cfg = TRY(addressConfig());

  TRYV(mkdirAll(store_.layout().locksDir(), 0755));
  FileLock lock = TRY(FileLock::acquire(networksLock(store_), FileLock::Mode::Exclusive));
  auto user = TRY(userNetworks());
  for (const auto& other : user)
    if (other.name == n.name) return failInvalid("network with name " + n.name + " already exists");
  if (n.name == "bridge" || n.name == "host" || n.name == "none")
    return failInvalid("network with name " + n.name + " already exists");
  if (!opt.subnet.empty()) {
    Ipv4Net subnet = TRY(parseCidr(opt.subnet));
    if (subnet.prefix > 30) return failInvalid("subnet " + opt.subnet + " is too small (at most /30)");
    if (networkOf(subnet).addr != subnet.addr)
      return failInvalid("invalid subnet " + opt.subnet + ": it has host bits set (did you mean " + formatCidr(networkOf(subnet)) + "?)");
    for (const auto& other : user)
      if (other.subnet && overlaps(networkOf(*other.subnet), subnet))
        return failInvalid("Pool overlaps with other one on this address space: " + opt.subnet + " and network " + other.name);
    uint32_t gw = gateway.value_or(firstHost(subnet));
    if (!contains(subnet, gw) || gw == subnet.addr || gw == (subnet.addr | ~netmask(subnet.prefix)))
      return failInvalid("no matching subnet for gateway " + formatIpv4(gw) + " in " + opt.subnet);
    n.subnet = Ipv4Net{gw, subnet.prefix};
  } else {
    auto taken = TRY(takenSubnets(user, cfg));
    auto pick = pickSubnet(cfg.pools, taken);
    if (!pick) return failInvalid("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network");
    n.subnet = Ipv4Net{firstHost(*pick), pick->prefix};
  }
  n.id = randomHex(64);
  n.bridge = "strata-" + n.id.substr(0, 8);
  user.push_back(n);
  TRYV(saveUserNetworks(user));
  return n;
}

Status Networks::remove(const Network& n) {
  if (n.predefined) return failInvalid(n.name + " is a pre-defined network and cannot be removed");
  TRYV(mkdirAll(store_.layout().locksDir(), 0755));
  FileLock lock = TRY(FileLock::acquire(networksLock(store_), FileLock::Mode::Exclusive));
  auto user = TRY(userNetworks());
  auto it = std::find_if(user.begin(), user.end(), [&](const Network& u) { return u.id == n.id; });
  if (it == user.end()) return failInvalid("network " + n.name + " not found");
  user.erase(it);
  return saveUserNetworks(user);
}

Result<BridgeRequest> Networks::bridgeRequest(const Network& n) const {
  if (n.driver != "bridge") return failInvalid("network " + n.name + " is not a bridge network");
  AddressConfig cfg = TRY(addressConfig());
  BridgeRequest req;
  req.network = n.name;
  req.bridge = n.bridge;
  req.internal = n.internal;
  req.pools = cfg.pools;
  if (n.predefined) {
    if (cfg.bip) {
      req.subnet = *cfg.bip;
    }
    for (const auto& u : TRY(userNetworks()))
      if (u.subnet) req.avoid.push_back(networkOf(*u.subnet));
  } else {
    req.subnet = n.subnet;
    req.namesInHosts = true;
  }
  return req;
}

}  // namespace strata::network
