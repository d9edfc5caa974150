// A container's network for one run, as its monitor sees it: the mode from the record, an
// address on a bridge network (lease, veth, hosts and resolv.conf), published ports served by a
// proxy process, and all of it released when the run ends.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "container/containers.h"
#include "network/endpoint.h"
#include "network/networks.h"
#include "oci/image.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"

namespace strata::container {

class NetworkRun {
 public:
  NetworkRun() = default;
  NetworkRun(NetworkRun&&) noexcept;
  NetworkRun& operator=(NetworkRun&&) = delete;
  NetworkRun(const NetworkRun&) = delete;
  // Releases whatever is still held (as finish()).
  ~NetworkRun();

  // Sets up r's network before its process starts: fills spec's network fields, writes r's
  // hosts and resolv.conf, leases an address and binds the published ports on the host (a port
  // in use fails here, as Docker's "port is already allocated"). Nothing is held on failure.
  static Result<NetworkRun> prepare(Containers& cs, const Record& r, runtime::Spec& spec);
  // For runtime::start: plugs the interface into the new process's namespace.
  runtime::BeforeGo hook() const;
  // After the process started: the lease follows its pid 1, peers learn its name, the port
  // proxy starts. Returns what `inspect`, `ps` and `port` show.
  Result<NetworkState> started(pid_t pid);
  // Stops the proxy (freeing the host ports) and releases the address.
  void finish();

 private:
  std::optional<network::Endpoint> endpoint_;
  std::string networkName_, networkId_;
  std::vector<PublishedPort> published_;
  std::vector<int> hostSockets_;  // bound host ports until the proxy owns them
  pid_t proxy_ = -1;
  int proxyStop_ = -1;            // closing it stops the proxy
};

// The network record of a container's mode: "container:<id>" -> that container, resolved.
// Checks a `--network` value for create: bridge, default, host, none, container:NAME (an
// existing container) or a network of the store; returns what the record keeps.
Result<std::string> resolveNetworkMode(Containers& cs, const std::string& value);

// The running containers attached to n (by name, or sharing the namespace of one that is).
Result<std::vector<std::pair<Record, State>>> containersOn(Containers& cs, const network::Network& n);

// Docker's `network inspect` object for n: Name, Id, Created, Scope, Driver, IPAM, Internal,
// Containers (running ones, with their addresses), Options, Labels.
Result<oci::Json> networkInspectJson(Containers& cs, const network::Network& n);

}  // namespace strata::container
