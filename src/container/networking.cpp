#include "container/networking.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "network/addr.h"
#include "network/networks.h"
#include "network/ports.h"
#include "network/proxy.h"
#include "runtime/spec.h"
#include "util/fs.h"

namespace strata::container {

namespace {

// hosts and resolv.conf are made anew for each start with writeFileInPlace: no fsyncs of an
// atomic replace (they need no durability), and a running container may have them mounted.
std::string hostResolvConf() {
  auto text = readFile("/etc/resolv.conf");
  return text && !text->empty() ? *text : std::string("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
}

// The bindings a run publishes: -p as given, and with -P every exposed port -p left out.
std::vector<PortBinding> bindingsOf(const Record& r) {
  std::vector<PortBinding> out = r.host.portBindings;
  if (!r.host.publishAllPorts) return out;
  for (const auto& e : r.config.exposedPorts) {
    auto parsed = network::parsePortProto(e);
    if (!parsed) continue;
    for (const auto& [port, proto] : *parsed) {
      bool bound = std::any_of(out.begin(), out.end(), [&](const PortBinding& b) {
        return b.containerPort == port && b.proto == proto;
      });
      if (!bound) out.push_back(PortBinding{port, proto, "", 0});
    }
  }
  return out;
}

struct BoundPort {
  std::string ip;
  uint16_t port;
  UniqueFd fd;
};

// Binds port (0: a free one, then the same on every address) on each of ips; IPv6 is skipped
// where the host has none when every address was asked for. Error: Docker's "Bind for ... failed".
Result<std::vector<BoundPort>> bindAll(network::Proto proto, const std::vector<std::string>& ips,
                                       uint16_t port, bool optionalIpv6) {
  std::vector<BoundPort> out;
  for (const std::string& ip : ips) {
    auto fd = network::bindHostPort(proto, ip, port);
    if (!fd) {
      if (optionalIpv6 && ip == "::" && fd.error().code() != EADDRINUSE) continue;
      std::string why = fd.error().code() == EADDRINUSE ? "port is already allocated" : fd.error().what();
      return failInvalid("Bind for " + network::joinHostPort(ip, std::to_string(port)) + " failed: " + why);
    }
    if (port == 0) port = network::boundPort(fd->get());
    out.push_back({ip, port, std::move(*fd)});
  }
  return out;
}

}  // namespace

NetworkRun::NetworkRun(NetworkRun&& o) noexcept
    : endpoint_(std::move(o.endpoint_)),
      networkName_(std::move(o.networkName_)),
      networkId_(std::move(o.networkId_)),
      published_(std::move(o.published_)),
      hostSockets_(std::move(o.hostSockets_)),
      proxy_(std::exchange(o.proxy_, -1)),
      proxyStop_(std::exchange(o.proxyStop_, -1)) {
  o.endpoint_.reset();
  o.hostSockets_.clear();
}

NetworkRun::~NetworkRun() { finish(); }

Result<NetworkRun> NetworkRun::prepare(Containers& cs, const Record& r, runtime::Spec& spec) {
  NetworkRun run;
  Paths p = cs.paths(r.id);
  const std::string& mode = r.host.networkMode;
  if (mode == "none" || mode == "host") {
    const bool host = mode == "host";
    spec.network = host ? runtime::NetworkMode::Host : runtime::NetworkMode::None;
    TRYV(writeFileInPlace(p.hosts(), runtime::hostsFile(r.hostname, host)));
    TRYV(writeFileInPlace(p.resolvConf(), hostResolvConf()));
    return run;
  }
  if (mode.rfind("container:", 0) == 0) {
    std::string id = mode.substr(10);
    auto other = cs.load(id);
    auto st = other ? cs.state(id) : Result<State>(fail(other.error()));
    if (!other || !st) return failInvalid("cannot join network of a non running container: " + id);
    if (st->status != RunStatus::Running && st->status != RunStatus::Paused)
      return failInvalid("cannot join network of a non running container: " + other->name);
    spec.network = runtime::NetworkMode::Join;
    spec.joinNetns = "/proc/" + std::to_string(st->pid) + "/ns/net";
    // The other container's name service files, as Docker shares them.
    Paths op = cs.paths(id);
    TRYV(writeFileInPlace(p.hosts(), readFile(op.hosts()).value_or("")));
    TRYV(writeFileInPlace(p.resolvConf(), readFile(op.resolvConf()).value_or("")));
    return run;
  }

  network::Networks nets(cs.store());
  network::Network n = TRY(nets.find(mode));
  if (n.driver != "bridge") return failInvalid("network " + n.name + " cannot be used as a bridge");
  network::BridgeRequest req = TRY(nets.bridgeRequest(n));
  network::EndpointOwner owner{r.id, r.name, r.hostname, {}, p.hosts()};
  network::Endpoint ep = TRY(network::attach(req, owner));
  run.endpoint_ = ep;
  run.networkName_ = n.name;
  run.networkId_ = n.id;
  spec.network = runtime::NetworkMode::Bridge;
  spec.interface = runtime::Interface{"eth0", ep.address, ep.prefix, ep.gateway};
  TRYV(writeFileInPlace(p.resolvConf(), network::bridgeResolvConf(hostResolvConf(), ep.gateway)));

  for (const PortBinding& b : bindingsOf(r)) {
    const network::Proto proto = b.proto == "udp" ? network::Proto::Udp : network::Proto::Tcp;
    if (b.proto != "tcp" && b.proto != "udp")
      return failInvalid("publishing " + b.proto + " ports is not supported (tcp and udp are)");
    std::vector<std::string> ips = b.hostIp.empty() ? std::vector<std::string>{"0.0.0.0", "::"}
                                                    : std::vector<std::string>{b.hostIp};
    // A host range ("8000-8010:80") takes its first port free on every address.
    const uint16_t first = b.hostPort, last = std::max(b.hostPort, b.hostPortEnd);
    std::optional<Error> lastError;
    for (uint32_t candidate = first; candidate <= last; ++candidate) {
      auto bound = bindAll(proto, ips, static_cast<uint16_t>(candidate), b.hostIp.empty());
      if (!bound) {
        lastError = bound.error();
        continue;
      }
      for (auto& [ip, port, fd] : *bound) {
        run.hostSockets_.push_back(fd.release());
        run.published_.push_back({b.containerPort, b.proto, ip, port});
      }
      lastError.reset();
      break;
    }
    if (lastError)
      return failInvalid("driver failed programming external connectivity on endpoint " + r.name +
                         " (" + r.id + "): " + lastError->message());
  }
  return run;
}

runtime::BeforeGo NetworkRun::hook() const {
  if (!endpoint_) return {};
  network::Endpoint ep = *endpoint_;
  return [ep](pid_t pid) { return network::plug(ep, pid); };
}

Result<NetworkState> NetworkRun::started(pid_t pid) {
  NetworkState out;
  if (!endpoint_) return out;
  TRYV(network::running(*endpoint_, pid));
  out.network = networkName_;
  out.networkId = networkId_;
  out.ipAddress = network::formatIpv4(endpoint_->address);
  out.prefixLen = endpoint_->prefix;
  out.gateway = network::formatIpv4(endpoint_->gateway);
  out.macAddress = network::formatMac(endpoint_->mac);
  out.ports = published_;
  if (hostSockets_.empty()) return out;

  int stop[2];
  if (::pipe2(stop, O_CLOEXEC) < 0) return failErrno("pipe for the port proxy");
  const pid_t parent = ::getpid();
  pid_t child = ::fork();
  if (child < 0) {
    ::close(stop[0]);
    ::close(stop[1]);
    return failErrno("fork the port proxy");
  }
  if (child == 0) {
    // The proxy dies with the monitor, so a killed monitor frees the ports too.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(0);
    ::prctl(PR_SET_NAME, "strata-proxy");
    std::set<int> keep(hostSockets_.begin(), hostSockets_.end());
    keep.insert(stop[0]);
    for (int fd = 3; fd < 1024; ++fd)
      if (!keep.count(fd)) ::close(fd);
    std::vector<network::Forward> forwards;
    for (size_t i = 0; i < hostSockets_.size(); ++i) {
      const PublishedPort& pp = published_[i];
      forwards.push_back({pp.proto == "udp" ? network::Proto::Udp : network::Proto::Tcp,
                          UniqueFd(hostSockets_[i]), out.ipAddress, pp.containerPort});
    }
    (void)network::runProxy(forwards, stop[0]);
    ::_exit(0);
  }
  ::close(stop[0]);
  proxy_ = child;
  proxyStop_ = stop[1];
  for (int fd : hostSockets_) ::close(fd);
  hostSockets_.clear();
  return out;
}

void NetworkRun::finish() {
  if (proxy_ > 0) {
    ::close(proxyStop_);
    ::kill(proxy_, SIGTERM);
    while (::waitpid(proxy_, nullptr, 0) < 0 && errno == EINTR) {
    }
    proxy_ = -1;
    proxyStop_ = -1;
  }
  for (int fd : hostSockets_) ::close(fd);
  hostSockets_.clear();
  if (endpoint_) {
    (void)network::detach(*endpoint_);
    endpoint_.reset();
  }
}

Result<std::string> resolveNetworkMode(Containers& cs, const std::string& value) {
  if (value.empty() || value == "default" || value == "bridge") return std::string("bridge");
  if (value == "host" || value == "none") return value;
  if (value.rfind("container:", 0) == 0) {
    std::string target = value.substr(10);
    if (target.empty()) return failInvalid("invalid container format container:<name|id>");
    Record other = TRY(cs.resolve(target));
    return "container:" + other.id;
  }
  network::Networks nets(cs.store());
  network::Network n = TRY(nets.find(value));
  return n.name;
}

Result<std::vector<std::pair<Record, State>>> containersOn(Containers& cs, const network::Network& n) {
  std::vector<std::pair<Record, State>> out;
  for (auto& r : TRY(cs.list())) {
    if (r.host.networkMode != n.name && r.host.networkMode != n.id) continue;
    auto st = cs.state(r.id);
    if (!st || (st->status != RunStatus::Running && st->status != RunStatus::Paused &&
                st->status != RunStatus::Restarting))
      continue;
    out.emplace_back(std::move(r), std::move(*st));
  }
  return out;
}

Result<oci::Json> networkInspectJson(Containers& cs, const network::Network& n) {
  using oci::Json;
  Json config = Json::array();
  std::optional<network::Ipv4Net> subnet = n.subnet;
  if (!subnet && n.driver == "bridge") {
    // The default bridge: its address while it exists, else what the configuration says.
    subnet = network::bridgeAddress(n.bridge);
    if (!subnet) {
      auto cfg = network::addressConfig();
      if (cfg && cfg->bip) subnet = cfg->bip;
    }
  }
  if (subnet)
    config.push_back(Json{{"Subnet", network::formatCidr(network::networkOf(*subnet))},
                          {"Gateway", network::formatIpv4(subnet->addr)}});
  Json containers = Json::object();
  for (const auto& [r, st] : TRY(containersOn(cs, n))) {
    const NetworkState& ns = st.network;
    containers[r.id] = Json{{"Name", r.name}, {"EndpointID", ""}, {"MacAddress", ns.macAddress},
                            {"IPv4Address", ns.ipAddress.empty() ? "" : ns.ipAddress + "/" + std::to_string(ns.prefixLen)},
                            {"IPv6Address", ""}};
  }
  Json options = Json::object();
  if (n.driver == "bridge") options["com.docker.network.bridge.name"] = n.bridge;
  Json labels = Json::object();
  for (const auto& [k, v] : n.labels) labels[k] = v;
  return Json{{"Name", n.name}, {"Id", n.id}, {"Created", n.created}, {"Scope", "local"},
              {"Driver", n.driver}, {"EnableIPv6", false},
              {"IPAM", Json{{"Driver", "default"}, {"Options", nullptr}, {"Config", config}}},
              {"Internal", n.internal}, {"Attachable", false}, {"Ingress", false},
              {"ConfigFrom", Json{{"Network", ""}}}, {"ConfigOnly", false},
              {"Containers", containers}, {"Options", options}, {"Labels", labels}};
}

}  // namespace strata::container
