#include "network/endpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "network/firewall.h"
#include "network/netlink.h"
#include "util/fs.h"
#include "util/lock.h"
#include "util/process.h"
#include "util/random.h"

namespace strata::network {

using Json = nlohmann::json;

namespace {

std::string stateDir() {
  const char* d = std::getenv("STRATA_NET_STATE");
  return d && *d ? d : "/run/strata/net";
}
std::string bridgeDir(const std::string& bridge) { return stateDir() + "/" + bridge; }
std::string bridgeRecord(const std::string& bridge) { return bridgeDir(bridge) + "/bridge.json"; }

Result<FileLock> lockState() {
  TRYV(mkdirAll(stateDir(), 0700));
  return FileLock::acquire(stateDir() + "/lock", FileLock::Mode::Exclusive);
}

struct Lease {
  std::string path;
  uint32_t address = 0;
  std::string containerId, name, hostname, hostsFile, veth;
  std::vector<std::string> aliases;
  pid_t owner = 0, pid = 0;
  uint64_t ownerStart = 0, pidStart = 0;
  bool namesInHosts = false;

  bool live() const { return processAlive(owner, ownerStart) || processAlive(pid, pidStart); }
};

Json leaseJson(const Lease& l) {
  return Json{{"Address", formatIpv4(l.address)}, {"Container", l.containerId}, {"Name", l.name},
              {"Hostname", l.hostname}, {"Aliases", l.aliases}, {"HostsFile", l.hostsFile},
              {"Veth", l.veth}, {"Owner", l.owner}, {"OwnerStart", l.ownerStart}, {"Pid", l.pid},
              {"PidStart", l.pidStart}, {"NamesInHosts", l.namesInHosts}};
}

std::optional<Lease> readLease(const std::string& path) {
  auto text = readFile(path);
  if (!text) return std::nullopt;
  Json j = Json::parse(*text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto ip = parseIpv4(j.value("Address", ""));
  if (!ip) return std::nullopt;
  Lease l;
  l.path = path;
  l.address = *ip;
  l.containerId = j.value("Container", "");
  l.name = j.value("Name", "");
  l.hostname = j.value("Hostname", "");
  l.hostsFile = j.value("HostsFile", "");
  l.veth = j.value("Veth", "");
  l.aliases = j.value("Aliases", std::vector<std::string>{});
  l.owner = j.value("Owner", 0);
  l.ownerStart = j.value("OwnerStart", uint64_t{0});
  l.pid = j.value("Pid", 0);
  l.pidStart = j.value("PidStart", uint64_t{0});
  l.namesInHosts = j.value("NamesInHosts", false);
  return l;
}

std::vector<Lease> leasesOf(const std::string& bridge) {
  std::vector<Lease> out;
  auto names = listDirectory(bridgeDir(bridge));
  if (!names) return out;
  for (const auto& n : *names) {
    if (n == "bridge.json" || n.size() < 6 || n.substr(n.size() - 5) != ".json") continue;
    std::string path = bridgeDir(bridge) + "/" + n;
    if (auto l = readLease(path)) out.push_back(std::move(*l));
    else ::unlink(path.c_str());  // torn by a crash: nothing can hold it
  }
  return out;
}

constexpr const char* kLocalhost =
    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

// A member's /etc/hosts: localhost, itself, and (on user networks) every live peer by name.
std::string hostsText(const Lease& self, const std::vector<Lease>& all) {
  std::string out = kLocalhost;
  out += formatIpv4(self.address) + "\t" + self.hostname + "\n";
  if (!self.namesInHosts) return out;
  for (const Lease& p : all) {
    if (p.address == self.address || !p.live() || p.name.empty()) continue;
    std::string names = p.name;
    for (const auto& a : p.aliases)
      if (a != p.name) names += " " + a;
    if (p.containerId.size() >= 12 && p.containerId.substr(0, 12) != p.name)
      names += " " + p.containerId.substr(0, 12);
    out += formatIpv4(p.address) + "\t" + names + "\n";
  }
  return out;
}

// Rewrites the hosts file of every live member but skip, in place: it is bind-mounted into the
// running container, and a rename would leave the container the old inode. A member gone
// meanwhile is no error.
void refreshHosts(const std::string& bridge, uint32_t skip) {
  std::vector<Lease> all = leasesOf(bridge);
  for (const Lease& l : all) {
    if (l.address == skip || l.hostsFile.empty() || !l.live()) continue;
    (void)writeFileInPlace(l.hostsFile, hostsText(l, all));
  }
}

struct BridgeState {
  Ipv4Net address;  // addr = gateway
  InstalledRules rules;
};

std::optional<BridgeState> readBridge(const std::string& bridge) {
  auto text = readFile(bridgeRecord(bridge));
  if (!text) return std::nullopt;
  Json j = Json::parse(*text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto address = parseCidr(j.value("Address", ""));
  if (!address) return std::nullopt;
  BridgeState b;
  b.address = *address;
  b.rules.backend = j.value("Backend", "");
  b.rules.undo = j.value("Undo", std::vector<std::vector<std::string>>{});
  b.rules.undoInput = j.value("UndoInput", "");
  return b;
}

Status writeBridge(const std::string& bridge, const BridgeState& b) {
  Json j{{"Address", formatCidr(b.address)}, {"Backend", b.rules.backend}, {"Undo", b.rules.undo},
         {"UndoInput", b.rules.undoInput}};
  return writeFileReplace(bridgeRecord(bridge), j.dump(2) + "\n", 0600);
}

constexpr const char* kIpForward = "/proc/sys/net/ipv4/ip_forward";

Status enableForwarding() {
  std::string saved = stateDir() + "/ip_forward";
  if (!pathExists(saved)) TRYV(writeFileAtomic(saved, readFile(kIpForward).value_or("0\n"), 0600));
  return writeFileInPlace(kIpForward, "1\n");
}

void restoreForwarding() {
  std::string saved = stateDir() + "/ip_forward";
  auto was = readFile(saved);
  if (!was) return;
  if (*was != "1\n") (void)writeFileInPlace(kIpForward, *was);
  ::unlink(saved.c_str());
}

// Removes a bridge with no live leases: its rules, the link, its state directory.
Status teardown(const std::string& bridge) {
  Status result;
  if (auto b = readBridge(bridge)) result = removeRules(b->rules);
  if (auto st = netlink::deleteLink(bridge); !st && st.error().code() != ENODEV && result)
    result = std::move(st);
  (void)removeAll(bridgeDir(bridge));
  return result;
}

// Clears stale leases of every bridge and tears down idle ones. Under the lock.
Status sweepLocked() {
  Status result;
  auto names = listDirectory(stateDir());
  if (!names) return {};
  bool anyBridge = false;
  for (const auto& n : *names) {
    if (!isDirectory(stateDir() + "/" + n)) continue;
    bool live = false;
    for (const Lease& l : leasesOf(n)) {
      if (l.live()) {
        live = true;
        continue;
      }
      if (!l.veth.empty()) (void)netlink::deleteLink(l.veth);
      ::unlink(l.path.c_str());
    }
    if (live) {
      anyBridge = true;
      continue;
    }
    if (auto st = teardown(n); !st && result) result = std::move(st);
  }
  if (!anyBridge) restoreForwarding();
  return result;
}

// The bridge as the request wants it: made (with its rules) when missing. Under the lock.
Result<BridgeState> ensureBridge(const BridgeRequest& req) {
  std::optional<BridgeState> known = readBridge(req.bridge);
  const bool exists = netlink::linkExists(req.bridge);
  if (exists && known) return *known;
  if (known) (void)removeRules(known->rules);  // the link is gone: its rules are leftovers

  BridgeState b;
  std::vector<netlink::Route> routes = TRY_CTX(netlink::ipv4Routes(), "read the host's routes");
  std::vector<Ipv4Net> taken = req.avoid;
  for (const auto& r : routes)
    if (r.dev != req.bridge && r.prefix > 0) taken.push_back({r.dst, r.prefix});
  if (req.subnet) {
    b.address = *req.subnet;
  } else if (auto own = exists ? bridgeAddress(req.bridge) : std::nullopt) {
    b.address = *own;
  } else {
    auto pick = pickSubnet(req.pools, taken);
    if (!pick) return failInvalid("no free subnet left in the address pools");
    b.address = {firstHost(*pick), pick->prefix};
  }
  for (const auto& r : routes) {
    if (r.dev == req.bridge || r.prefix == 0) continue;
    if (overlaps(networkOf(b.address), {r.dst, r.prefix}))
      return failInvalid("subnet " + formatCidr(networkOf(b.address)) + " overlaps the host's route to " +
                         formatCidr({r.dst, r.prefix}) + " on " + r.dev);
  }
  if (!exists) {
    TRYV(netlink::createBridge(req.bridge));
    TRYV(netlink::addAddress(req.bridge, {b.address.addr, b.address.prefix}));
    TRYV(netlink::setLinkUp(req.bridge));
  }
  TRYV(mkdirAll(bridgeDir(req.bridge), 0700));
  if (!req.internal) TRYV(enableForwarding());
  FirewallRequest fw{req.bridge, networkOf(b.address), b.address.addr, req.internal, std::nullopt};
  if (auto host = readFile("/etc/resolv.conf")) fw.dnsTo = loopbackResolver(*host);
  b.rules = TRY(installRules(fw));
  if (auto st = writeBridge(req.bridge, b); !st) {
    (void)removeRules(b.rules);
    return fail(std::move(st).error());
  }
  return b;
}

}  // namespace

std::optional<Ipv4Net> bridgeAddress(const std::string& bridge) {
  auto addrs = netlink::addresses(bridge);
  if (!addrs || addrs->empty()) return std::nullopt;
  return Ipv4Net{addrs->front().addr, addrs->front().prefix};
}

Result<Endpoint> attach(const BridgeRequest& req, const EndpointOwner& owner) {
  FileLock lock = TRY(lockState());
  (void)sweepLocked();
  auto made = ensureBridge(req);
  if (!made) {
    // A bridge this call made but could not finish goes again.
    if (leasesOf(req.bridge).empty()) (void)teardown(req.bridge);
    return fail(std::move(made).error().wrap("network " + req.network));
  }
  const Ipv4Net net = networkOf(made->address);
  std::set<uint32_t> used;
  std::vector<Lease> all = leasesOf(req.bridge);
  for (const Lease& l : all) used.insert(l.address);
  auto ip = pickAddress(net, made->address.addr, used);
  if (!ip) return failInvalid("network " + req.network + ": no available IPv4 addresses on " + formatCidr(net));

  Lease l;
  l.address = *ip;
  l.path = bridgeDir(req.bridge) + "/" + formatIpv4(*ip) + ".json";
  l.containerId = owner.containerId;
  l.name = owner.name;
  l.hostname = owner.hostname;
  l.aliases = owner.aliases;
  l.hostsFile = owner.hostsFile;
  l.owner = ::getpid();
  l.ownerStart = processStartTime(l.owner);
  l.namesInHosts = req.namesInHosts;
  l.veth = "veth" + randomHex(7);
  TRYV(writeFileReplace(l.path, leaseJson(l).dump() + "\n", 0600));
  if (!owner.hostsFile.empty()) {
    all.push_back(l);
    if (auto st = writeFileInPlace(owner.hostsFile, hostsText(l, all)); !st) {
      ::unlink(l.path.c_str());
      (void)sweepLocked();
      return fail(std::move(st).error());
    }
  }
  Endpoint ep;
  ep.bridge = req.bridge;
  ep.hostVeth = l.veth;
  ep.address = *ip;
  ep.prefix = made->address.prefix;
  ep.gateway = made->address.addr;
  ep.mac = macFor(*ip);
  ep.lease = l.path;
  return ep;
}

Status plug(const Endpoint& ep, pid_t pid) {
  return netlink::createVeth(ep.hostVeth, ep.bridge, "eth0", pid, ep.mac);
}

Status running(const Endpoint& ep, pid_t containerPid) {
  FileLock lock = TRY(lockState());
  auto l = readLease(ep.lease);
  if (!l) return failInvalid("lease " + ep.lease + " is gone");
  l->pid = containerPid;
  l->pidStart = processStartTime(containerPid);
  TRYV(writeFileReplace(ep.lease, leaseJson(*l).dump() + "\n", 0600));
  if (l->namesInHosts) refreshHosts(ep.bridge, l->address);
  return {};
}

Status detach(const Endpoint& ep) {
  // The pair goes with the container's namespace only once nothing holds that namespace (a
  // socket still closing keeps it for minutes): remove it now, which takes the peer too.
  if (auto st = netlink::deleteLink(ep.hostVeth); !st && st.error().code() != ENODEV) {
    // Reported after the lease is released.
    FileLock lock = TRY(lockState());
    ::unlink(ep.lease.c_str());
    (void)sweepLocked();
    return fail(std::move(st).error());
  }
  FileLock lock = TRY(lockState());
  auto l = readLease(ep.lease);
  ::unlink(ep.lease.c_str());
  if (l && l->namesInHosts) refreshHosts(ep.bridge, l->address);
  return sweepLocked();
}

Status sweep() {
  if (!pathExists(stateDir())) return {};
  FileLock lock = TRY(lockState());
  return sweepLocked();
}

std::optional<uint32_t> loopbackResolver(const std::string& hostResolvConf) {
  std::optional<uint32_t> loopback;
  std::istringstream in(hostResolvConf);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, value;
    if (!(words >> key >> value) || key != "nameserver") continue;
    auto ip = parseIpv4(value);
    if (!ip) continue;
    if ((*ip >> 24) != 127) return std::nullopt;  // a resolver the container can reach
    if (!loopback) loopback = *ip;
  }
  return loopback;
}

std::string bridgeResolvConf(const std::string& hostResolvConf, uint32_t gateway) {
  const bool viaGateway = loopbackResolver(hostResolvConf).has_value();
  std::string out;
  bool anyServer = false;
  std::istringstream in(hostResolvConf);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, value;
    if ((words >> key >> value) && key == "nameserver") {
      auto ip = parseIpv4(value);
      // IPv6 servers cannot be reached (the network is IPv4) and loopback ones are the host's.
      if (!ip || (*ip >> 24) == 127) continue;
      anyServer = true;
    }
    out += line + "\n";
  }
  if (viaGateway) out += "nameserver " + formatIpv4(gateway) + "\n";
  else if (!anyServer) out += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
  return out;
}

}  // namespace strata::network
