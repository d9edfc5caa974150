#include "container/record.h"

#include <cstdlib>

namespace strata::container {

std::string statusName(RunStatus s) {
  switch (s) {
    case RunStatus::Created: return "created";
    case RunStatus::Running: return "running";
    case RunStatus::Paused: return "paused";
    case RunStatus::Restarting: return "restarting";
    case RunStatus::Exited: return "exited";
    case RunStatus::Dead: return "dead";
  }
  return "unknown";
}

}  // namespace strata::container

namespace strata::container {

using oci::Json;

Json recordToJson(const Record& r) {
  Json j = Json::object();
  j["Id"] = r.id;
  j["Name"] = "/" + r.name;
  j["Created"] = r.created;
  j["Image"] = r.image.str();
  j["ImageName"] = r.imageName;
  j["Path"] = r.path.empty() ? "" : r.path[0];
  j["Args"] = r.path.empty() ? std::vector<std::string>{}
                             : std::vector<std::string>(r.path.begin() + 1, r.path.end());
  Json cfg = oci::toJson(r.config);
  cfg["Hostname"] = r.hostname;
  cfg["Tty"] = r.tty;
  cfg["OpenStdin"] = r.openStdin;
  cfg["Image"] = r.imageName;
  j["Config"] = cfg;
  Json binds = Json::array();
  for (const auto& b : r.host.binds)
    binds.push_back(Json{{"Source", b.source}, {"Destination", b.destination},
                         {"ReadOnly", b.readOnly}, {"Volume", b.isVolume}});
  Json bindings = Json::object();
  for (const auto& b : r.host.portBindings)
    bindings[std::to_string(b.containerPort) + "/" + b.proto].push_back(
        Json{{"HostIp", b.hostIp},
             {"HostPort", b.hostPort == 0 ? std::string()
                          : b.hostPortEnd > b.hostPort
                              ? std::to_string(b.hostPort) + "-" + std::to_string(b.hostPortEnd)
                              : std::to_string(b.hostPort)}});
  j["HostConfig"] = Json{{"Binds", binds},
                         {"NetworkMode", r.host.networkMode},
                         {"PortBindings", bindings},
                         {"PublishAllPorts", r.host.publishAllPorts},
                         {"CapAdd", r.host.capAdd.empty() ? Json(nullptr) : Json(r.host.capAdd)},
                         {"CapDrop", r.host.capDrop.empty() ? Json(nullptr) : Json(r.host.capDrop)},
                         {"Privileged", r.host.privileged},
                         {"UsernsMode", r.host.usernsMode},
                         {"SecurityOpt", r.host.securityOpt.empty() ? Json(nullptr) : Json(r.host.securityOpt)},
                         {"Memory", r.host.memory},
                         {"NanoCpus", r.host.nanoCpus},
                         {"PidsLimit", r.host.pidsLimit},
                         {"ReadonlyRootfs", r.host.readonlyRootfs},
                         {"AutoRemove", r.host.autoRemove},
                         {"Init", r.host.init},
                         {"RestartPolicy", Json{{"Name", r.host.restartPolicy},
                                                {"MaximumRetryCount", r.host.restartMaxRetries}}}};
  if (const auto& m = r.idMapping) {
    j["IdMapping"] = Json{{"HostUid", m->hostUid}, {"HostGid", m->hostGid}, {"Size", m->size}};
  }
  return j;
}

Result<Record> recordFromJson(std::string_view text) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return failInvalid("container record is not valid JSON");
  Record r;
  r.id = j.value("Id", "");
  r.name = j.value("Name", "");
  if (!r.name.empty() && r.name[0] == '/') r.name.erase(0, 1);
  r.created = j.value("Created", "");
  r.image = TRY_CTX(oci::Digest::parse(j.value("Image", "")), "container " + r.id);
  r.imageName = j.value("ImageName", "");
  std::string path = j.value("Path", "");
  if (!path.empty()) r.path.push_back(path);
  for (const auto& a : j.value("Args", std::vector<std::string>{})) r.path.push_back(a);
  if (auto c = j.find("Config"); c != j.end() && c->is_object()) {
    r.config = oci::containerConfigFromJson(*c);
    r.hostname = c->value("Hostname", "");
    r.tty = c->value("Tty", false);
    r.openStdin = c->value("OpenStdin", false);
  }
  if (auto h = j.find("HostConfig"); h != j.end() && h->is_object()) {
    for (const auto& b : h->value("Binds", Json::array())) {
      BindMount m;
      m.source = b.value("Source", "");
      m.destination = b.value("Destination", "");
      m.readOnly = b.value("ReadOnly", false);
      m.isVolume = b.value("Volume", false);
      r.host.binds.push_back(std::move(m));
    }
    r.host.networkMode = h->value("NetworkMode", "none");
    if (auto pb = h->find("PortBindings"); pb != h->end() && pb->is_object()) {
      for (const auto& [key, list] : pb->items()) {
        PortBinding b;
        auto slash = key.find('/');
        b.containerPort = static_cast<uint16_t>(std::atoi(key.substr(0, slash).c_str()));
        if (slash != std::string::npos) b.proto = key.substr(slash + 1);
        for (const auto& e : list) {
          b.hostIp = e.value("HostIp", "");
          const std::string hp = e.value("HostPort", "");
          b.hostPort = static_cast<uint16_t>(std::atoi(hp.c_str()));
          auto dash = hp.find('-');
          b.hostPortEnd = dash == std::string::npos ? b.hostPort
                                                    : static_cast<uint16_t>(std::atoi(hp.c_str() + dash + 1));
          r.host.portBindings.push_back(b);
        }
      }
    }
    r.host.publishAllPorts = h->value("PublishAllPorts", false);
    auto strings = [&](const char* key) {
      auto it = h->find(key);
      return it != h->end() && it->is_array() ? it->get<std::vector<std::string>>() : std::vector<std::string>{};
    };
    r.host.capAdd = strings("CapAdd");
    r.host.capDrop = strings("CapDrop");
    r.host.securityOpt = strings("SecurityOpt");
    r.host.privileged = h->value("Privileged", false);
    r.host.usernsMode = h->value("UsernsMode", "");
    r.host.memory = h->value("Memory", int64_t(0));
    r.host.nanoCpus = h->value("NanoCpus", int64_t(0));
    r.host.pidsLimit = h->value("PidsLimit", int64_t(0));
    r.host.readonlyRootfs = h->value("ReadonlyRootfs", false);
    r.host.autoRemove = h->value("AutoRemove", false);
    r.host.init = h->value("Init", false);
    if (auto p = h->find("RestartPolicy"); p != h->end() && p->is_object()) {
      r.host.restartPolicy = p->value("Name", "no");
      r.host.restartMaxRetries = p->value("MaximumRetryCount", 0);
    }
  }
  if (auto m = j.find("IdMapping"); m != j.end() && m->is_object()) {
    r.idMapping = runtime::IdMapping{m->value("HostUid", uid_t{0}), m->value("HostGid", gid_t{0}),
                                     m->value("Size", uint32_t{0})};
  }
  if (r.host.usernsMode == "auto" && (!r.idMapping || r.idMapping->size == 0))
    return failInvalid("container record " + r.id + " has --userns=auto but no IdMapping");
  if (r.id.size() != 64) return failInvalid("container record has no valid Id");
  return r;
}

static Status statusFromName(const std::string& n, RunStatus& out) {
  for (RunStatus s : {RunStatus::Created, RunStatus::Running, RunStatus::Paused, RunStatus::Restarting,
                   RunStatus::Exited, RunStatus::Dead}) {
    if (statusName(s) == n) {
      out = s;
      return {};
    }
  }
  return failInvalid("unknown container status `" + n + "`");
}

Json stateToJson(const State& s) {
  Json ports = Json::array();
  for (const auto& p : s.network.ports)
    ports.push_back(Json{{"PrivatePort", p.containerPort}, {"Type", p.proto}, {"IP", p.hostIp},
                         {"PublicPort", p.hostPort}});
  const NetworkState& n = s.network;
  Json net{{"Network", n.network}, {"NetworkID", n.networkId}, {"IPAddress", n.ipAddress},
           {"IPPrefixLen", n.prefixLen}, {"Gateway", n.gateway}, {"MacAddress", n.macAddress},
           {"Ports", ports}};
  return Json{{"Status", statusName(s.status)}, {"Pid", s.pid}, {"Network", net},
              {"MonitorPid", s.monitorPid},    {"MonitorStartTime", s.monitorStartTime},
              {"ExitCode", s.exitCode},
              {"OOMKilled", s.oomKilled},      {"StartedAt", s.startedAt},
              {"FinishedAt", s.finishedAt},    {"Error", s.error},
              {"RestartCount", s.restartCount}};
}

Result<State> stateFromJson(std::string_view text) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return failInvalid("container state is not valid JSON");
  State s;
  TRYV(statusFromName(j.value("Status", "created"), s.status));
  s.pid = j.value("Pid", 0);
  s.monitorPid = j.value("MonitorPid", 0);
  s.monitorStartTime = j.value("MonitorStartTime", uint64_t(0));
  s.exitCode = j.value("ExitCode", 0);
  s.oomKilled = j.value("OOMKilled", false);
  s.startedAt = j.value("StartedAt", s.startedAt);
  s.finishedAt = j.value("FinishedAt", s.finishedAt);
  s.error = j.value("Error", "");
  s.restartCount = j.value("RestartCount", 0);
  if (auto n = j.find("Network"); n != j.end() && n->is_object()) {
    s.network.network = n->value("Network", "");
    s.network.networkId = n->value("NetworkID", "");
    s.network.ipAddress = n->value("IPAddress", "");
    s.network.prefixLen = n->value("IPPrefixLen", 0);
    s.network.gateway = n->value("Gateway", "");
    s.network.macAddress = n->value("MacAddress", "");
    for (const auto& p : n->value("Ports", Json::array())) {
      PublishedPort pp;
      pp.containerPort = p.value("PrivatePort", uint16_t{0});
      pp.proto = p.value("Type", "tcp");
      pp.hostIp = p.value("IP", "");
      pp.hostPort = p.value("PublicPort", uint16_t{0});
      s.network.ports.push_back(std::move(pp));
    }
  }
  return s;
}

}  // namespace strata::container
