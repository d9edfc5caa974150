// network create, ls, rm, inspect; port.
#include <algorithm>
#include <cstdio>

#include "cli/common.h"
#include "container/networking.h"
#include "network/networks.h"
#include "network/ports.h"
#include "system/prune.h"

namespace strata::cli {

int cmdNetworkCreate(const Globals& g, const std::vector<std::string>& argv) {
  network::NetworkCreate opt;
  FlagSet flags("network create");
  flags.string("driver", 'd', &opt.driver, "Driver to manage the Network");
  flags.string("subnet", 0, &opt.subnet, "Subnet in CIDR format that represents a network segment");
  flags.string("gateway", 0, &opt.gateway, "IPv4 Gateway for the master subnet");
  flags.boolean("internal", 0, &opt.internal, "Restrict external access to the network");
  flags.list("label", 0, &opt.labels, "Set metadata on a network");
  Parsed p = parseFlags(flags, argv, "network create [OPTIONS] NETWORK", "Create a network");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("network create", p.args, 1, 1, status)) return status;
  opt.name = p.args[0];
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  auto n = network::Networks(*s).create(opt);
  if (!n) return reportError(n.error());
  std::printf("%s\n", n->id.c_str());
  return 0;
}

int cmdNetworkLs(const Globals& g, const std::vector<std::string>& argv) {
  bool quiet = false, noTrunc = false;
  std::string format;
  FlagSet flags("network ls");
  flags.boolean("quiet", 'q', &quiet, "Only display network IDs");
  flags.boolean("no-trunc", 0, &noTrunc, "Do not truncate the output");
  flags.string("format", 0, &format, "Pretty-print networks using a Go template");
  Parsed p = parseFlags(flags, argv, "network ls [OPTIONS]", "List networks");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("network ls", p.args, 0, 0, status)) return status;
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  auto nets = network::Networks(*s).list();
  if (!nets) return reportError(nets.error());
  // Docker lists networks by name.
  std::sort(nets->begin(), nets->end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::vector<oci::Json> rows;
  for (const auto& n : *nets) {
    std::string id = noTrunc ? n.id : n.id.substr(0, 12);
    if (quiet) {
      std::printf("%s\n", id.c_str());
      continue;
    }
    rows.push_back(oci::Json{{"ID", id}, {"Name", n.name}, {"Driver", n.driver}, {"Scope", "local"},
                             {"IPv6", "false"}, {"Internal", n.internal ? "true" : "false"},
                             {"CreatedAt", n.created}});
  }
  if (quiet) return 0;
  auto st = printRows(rows, {{"NETWORK ID", "ID"}, {"NAME", "Name"}, {"DRIVER", "Driver"}, {"SCOPE", "Scope"}}, format);
  return st ? 0 : reportError(st.error());
}

int cmdNetworkRm(const Globals& g, const std::vector<std::string>& argv) {
  FlagSet flags("network rm");
  Parsed p = parseFlags(flags, argv, "network rm NETWORK [NETWORK...]", "Remove one or more networks");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("network rm", p.args, 1, SIZE_MAX, status)) return status;
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  container::Containers cs(*s);
  network::Networks nets(*s);
  int rc = 0;
  for (const auto& arg : p.args) {
    auto n = nets.find(arg);
    if (!n) {
      rc = reportError(n.error());
      continue;
    }
    if (!n->predefined) {
      auto attached = container::containersOn(cs, *n);
      if (!attached) {
        rc = reportError(attached.error());
        continue;
      }
      if (!attached->empty()) {
        rc = reportError("error while removing network: network " + n->name + " id " + n->id +
                         " has active endpoints");
        continue;
      }
    }
    if (auto st = nets.remove(*n); !st) {
      rc = reportError(st.error());
      continue;
    }
    std::printf("%s\n", arg.c_str());
  }
  return rc;
}

int cmdNetworkPrune(const Globals& g, const std::vector<std::string>& argv) {
  bool force = false;
  FlagSet flags("network prune");
  flags.boolean("force", 'f', &force, "Do not prompt for confirmation");
  Parsed p = parseFlags(flags, argv, "network prune [OPTIONS]", "Remove all unused networks");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("network prune", p.args, 0, 0, status)) return status;
  if (!force && !confirm("WARNING! This will remove all custom networks not used by at least one container."))
    return 0;
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  container::Containers cs(*s);
  auto removed = system::pruneNetworks(cs);
  if (!removed) return reportError(removed.error());
  if (!removed->empty()) std::printf("Deleted Networks:\n");
  for (const auto& n : *removed) std::printf("%s\n", n.c_str());
  return 0;
}

int cmdNetworkInspect(const Globals& g, const std::vector<std::string>& argv) {
  std::string format;
  FlagSet flags("network inspect");
  flags.string("format", 'f', &format, "Format the output using the given Go template");
  Parsed p = parseFlags(flags, argv, "network inspect [OPTIONS] NETWORK [NETWORK...]",
                        "Display detailed information on one or more networks");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("network inspect", p.args, 1, SIZE_MAX, status)) return status;
  auto tmpl = inspectTemplate(format);
  if (!tmpl) return reportError(tmpl.error());
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  container::Containers cs(*s);
  network::Networks nets(*s);
  return printInspected(p.args, *tmpl, [&](const std::string& arg) -> Result<oci::Json> {
    return container::networkInspectJson(cs, TRY(nets.find(arg)));
  });
}

int cmdPort(const Globals& g, const std::vector<std::string>& argv) {
  FlagSet flags("port");
  Parsed p = parseFlags(flags, argv, "port CONTAINER [PRIVATE_PORT[/PROTO]]",
                        "List port mappings or a specific mapping for the container");
  if (p.done) return p.status;
  int status = 0;
  if (!checkArgs("port", p.args, 1, 2, status)) return status;
  auto s = openStore(g);
  if (!s) return reportError(s.error());
  container::Containers cs(*s);
  auto rec = cs.resolve(p.args[0]);
  if (!rec) return reportError(rec.error());
  auto st = cs.state(rec->id);
  if (!st) return reportError(st.error());
  std::vector<container::PublishedPort> ports = st->network.ports;
  std::stable_sort(ports.begin(), ports.end(), [](const auto& a, const auto& b) {
    return std::tie(a.containerPort, a.proto) < std::tie(b.containerPort, b.proto);
  });
  auto hostText = [](const container::PublishedPort& pp) {
    return network::joinHostPort(pp.hostIp, std::to_string(pp.hostPort));
  };
  if (p.args.size() == 1) {
    for (const auto& pp : ports)
      std::printf("%u/%s -> %s\n", pp.containerPort, pp.proto.c_str(), hostText(pp).c_str());
    return 0;
  }
  auto wanted = network::parsePortProto(p.args[1]);
  if (!wanted || wanted->size() != 1) return reportError("Invalid port: " + p.args[1]);
  auto [port, proto] = wanted->front();
  std::string out;
  for (const auto& pp : ports)
    if (pp.containerPort == port && pp.proto == proto) out += hostText(pp) + "\n";
  if (out.empty())
    return reportError("No public port '" + std::to_string(port) + "/" + proto + "' published for " + p.args[0]);
  std::fputs(out.c_str(), stdout);
  return 0;
}

}  // namespace strata::cli
