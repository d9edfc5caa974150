#include "container/views.h"

#include <ctime>
#include <set>

#include "image/images.h"
#include "network/ports.h"
#include "util/format.h"

namespace strata::container {

using oci::Json;

namespace {

int64_t secondsSince(const std::string& rfc3339) {
  auto t = parseRfc3339Seconds(rfc3339);
  if (!t) return 0;
  return std::max<int64_t>(0, static_cast<int64_t>(::time(nullptr)) - *t);
}

// Go's strconv.Quote for the command column (ASCII printable kept, quotes and backslashes
// escaped).
std::string goQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += std::string("\\") + c;
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else out += c;
  }
  return out + "\"";
}

std::string ellipsis(const std::string& s, size_t max) {
  // Runes, not bytes, as Go counts them.
  std::vector<std::string> runes;
  for (size_t i = 0; i < s.size();) {
    size_t len = 1;
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0xF0) len = 4;
    else if (c >= 0xE0) len = 3;
    else if (c >= 0xC0) len = 2;
    runes.push_back(s.substr(i, len));
    i += len;
  }
  if (runes.size() <= max) return s;
  std::string out;
  for (size_t i = 0; i + 1 < max; ++i) out += runes[i];
  return out + "…";
}

bool matchesFilters(const Record& r, const State& s, const std::vector<std::string>& filters) {
  for (const auto& f : filters) {
    auto eq = f.find('=');
    std::string key = f.substr(0, eq), value = eq == std::string::npos ? "" : f.substr(eq + 1);
    if (key == "status" && statusName(s.status) != value) return false;
    if (key == "name" && r.name.find(value) == std::string::npos) return false;
    if (key == "id" && r.id.rfind(value, 0) != 0) return false;
    if (key == "ancestor" && r.imageName != value && r.image.str() != value && r.image.hex.rfind(value, 0) != 0)
      return false;
  }
  return true;
}

}  // namespace

std::string statusText(const State& s) {
  switch (s.status) {
    case RunStatus::Created: return "Created";
    case RunStatus::Running: return "Up " + humanDuration(secondsSince(s.startedAt));
    case RunStatus::Paused: return "Up " + humanDuration(secondsSince(s.startedAt)) + " (Paused)";
    case RunStatus::Restarting:
      return "Restarting (" + std::to_string(s.exitCode) + ") " + humanDuration(secondsSince(s.finishedAt)) + " ago";
    case RunStatus::Exited:
      return "Exited (" + std::to_string(s.exitCode) + ") " + humanDuration(secondsSince(s.finishedAt)) + " ago";
    case RunStatus::Dead: return "Dead";
  }
  return "";
}

// Docker's PORTS column: what is published, and exposed ports that are not.
static std::string portsColumn(const Record& r, const State& st) {
  std::vector<network::PublishedPort> ports;
  std::set<std::string> published;
  for (const auto& p : st.network.ports) {
    ports.push_back({p.containerPort, p.proto, p.hostIp, p.hostPort});
    published.insert(std::to_string(p.containerPort) + "/" + p.proto);
  }
  for (const auto& e : r.config.exposedPorts) {
    if (published.count(e)) continue;
    auto parsed = network::parsePortProto(e);
    if (!parsed) continue;
    for (const auto& [port, proto] : *parsed) ports.push_back({port, proto, "", 0});
  }
  return network::formatPortsColumn(std::move(ports));
}

Result<std::vector<Json>> psRows(Containers& cs, const PsOptions& opt) {
  struct Row {
    std::string created;
    Json j;
  };
  std::vector<Row> rows;
  for (const auto& r : TRY(cs.list())) {
    auto st = cs.state(r.id);
    if (!st) continue;  // removed meanwhile
    bool running = st->status == RunStatus::Running || st->status == RunStatus::Paused ||
                   st->status == RunStatus::Restarting;
    if (!opt.all && !running) continue;
    if (!matchesFilters(r, *st, opt.filters)) continue;
    // Docker's COMMAND: the path, then the arguments, single-quoted when they hold a space.
    std::string cmd = r.path.empty() ? "" : r.path[0];
    for (size_t i = 1; i < r.path.size(); ++i)
      cmd += " " + (r.path[i].find(' ') != std::string::npos ? "'" + r.path[i] + "'" : r.path[i]);
    Json j = Json::object();
    j["Command"] = goQuote(opt.noTrunc ? cmd : ellipsis(cmd, 20));
    j["CreatedAt"] = r.created;
    j["ID"] = opt.noTrunc ? r.id : r.id.substr(0, 12);
    j["Image"] = r.imageName;
    j["Labels"] = "";
    j["Mounts"] = "";
    j["Names"] = r.name;
    j["Networks"] = r.host.networkMode;
    j["Ports"] = running ? portsColumn(r, *st) : "";
    j["RunningFor"] = humanDuration(secondsSince(r.created)) + " ago";
    j["Size"] = "";
    j["State"] = statusName(st->status);
    j["Status"] = statusText(*st);
    rows.push_back({r.created, std::move(j)});
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.created > b.created;  // RFC 3339 in UTC with nanoseconds sorts as text
  });
  std::vector<Json> out;
  for (auto& r : rows) out.push_back(std::move(r.j));
  return out;
}

// Docker's NetworkSettings: the published ports, and the address on the network while running
// (at the top level too for the default bridge, as Docker shows it).
static Json networkSettings(const Record& r, const State& st, bool running) {
  const NetworkState& n = st.network;
  Json ports = Json::object();
  if (running) {
    for (const auto& e : r.config.exposedPorts) ports[e] = nullptr;
    for (const auto& p : n.ports)
      ports[std::to_string(p.containerPort) + "/" + p.proto].push_back(
          Json{{"HostIp", p.hostIp}, {"HostPort", std::to_string(p.hostPort)}});
  }
  const bool onDefault = running && n.network == "bridge";
  Json out{{"Bridge", ""}, {"HairpinMode", false}, {"Ports", ports},
           {"Gateway", onDefault ? n.gateway : ""}, {"IPAddress", onDefault ? n.ipAddress : ""},
           {"IPPrefixLen", onDefault ? n.prefixLen : 0}, {"MacAddress", onDefault ? n.macAddress : ""}};
  std::string name = r.host.networkMode;
  if (name.rfind("container:", 0) == 0) {
    out["Networks"] = Json::object();
    return out;
  }
  Json endpoint{{"IPAMConfig", nullptr}, {"Links", nullptr}, {"Aliases", nullptr},
                {"NetworkID", running ? n.networkId : ""}, {"Gateway", running ? n.gateway : ""},
                {"IPAddress", running ? n.ipAddress : ""}, {"IPPrefixLen", running ? n.prefixLen : 0},
                {"MacAddress", running ? n.macAddress : ""}};
  out["Networks"] = Json{{name, endpoint}};
  return out;
}

Result<Json> inspectJson(Containers& cs, const Record& r) {
  State st = TRY(cs.state(r.id));
  Paths p = cs.paths(r.id);
  Json rec = recordToJson(r);
  Json j = Json::object();
  j["Id"] = r.id;
  j["Created"] = r.created;
  j["Path"] = rec["Path"];
  j["Args"] = rec["Args"];
  bool running = st.status == RunStatus::Running || st.status == RunStatus::Paused ||
                 st.status == RunStatus::Restarting;
  j["State"] = Json{{"Status", statusName(st.status)},
                    {"Running", running},
                    {"Paused", st.status == RunStatus::Paused},
                    {"Restarting", st.status == RunStatus::Restarting},
                    {"OOMKilled", st.oomKilled},
                    {"Dead", st.status == RunStatus::Dead},
                    {"Pid", running ? st.pid : 0},
                    {"ExitCode", st.exitCode},
                    {"Error", st.error},
                    {"StartedAt", st.startedAt},
                    {"FinishedAt", st.finishedAt}};
  j["Image"] = r.image.str();
  j["ResolvConfPath"] = p.resolvConf();
  j["HostnamePath"] = p.hostname();
  j["HostsPath"] = p.hosts();
  j["LogPath"] = p.log();
  j["Name"] = "/" + r.name;
  j["RestartCount"] = st.restartCount;
  j["Driver"] = "overlay";
  j["Platform"] = "linux";
  Json mounts = Json::array();
  for (const auto& b : r.host.binds) {
    std::string src = b.isVolume ? cs.store().layout().root() + "/volumes/" + b.source + "/_data" : b.source;
    Json m = Json{{"Type", b.isVolume ? "volume" : "bind"}};
    if (b.isVolume) m["Name"] = b.source;
    m["Source"] = src;
    m["Destination"] = b.destination;
    m["Mode"] = b.readOnly ? "ro" : "";
    m["RW"] = !b.readOnly;
    m["Propagation"] = b.isVolume ? "" : "rprivate";
    mounts.push_back(std::move(m));
  }
  Json host = rec["HostConfig"];
  Json binds = Json::array();
  for (const auto& b : r.host.binds)
    binds.push_back(b.source + ":" + b.destination + (b.readOnly ? ":ro" : ""));
  host["Binds"] = binds.empty() ? Json(nullptr) : binds;
  j["HostConfig"] = host;
  j["GraphDriver"] = Json{{"Data", Json{{"UpperDir", p.upper()}, {"WorkDir", p.work()},
                                        {"MergedDir", p.rootfs()}}},
                          {"Name", "overlay"}};
  j["Mounts"] = mounts;
  Json cfg = Json::object();
  const oci::ContainerConfig& c = r.config;
  cfg["Hostname"] = r.hostname;
  cfg["Domainname"] = "";
  cfg["User"] = c.user;
  cfg["AttachStdin"] = r.openStdin;
  cfg["AttachStdout"] = true;
  cfg["AttachStderr"] = true;
  if (!c.exposedPorts.empty()) cfg["ExposedPorts"] = oci::toJson(c).at("ExposedPorts");
  cfg["Tty"] = r.tty;
  cfg["OpenStdin"] = r.openStdin;
  cfg["StdinOnce"] = r.openStdin;
  cfg["Env"] = c.env.empty() ? Json(nullptr) : Json(c.env);
  cfg["Cmd"] = c.cmd ? Json(*c.cmd) : Json(nullptr);
  cfg["Image"] = r.imageName;
  cfg["Volumes"] = c.volumes.empty() ? Json(nullptr) : oci::toJson(c).at("Volumes");
  cfg["WorkingDir"] = c.workingDir;
  cfg["Entrypoint"] = c.entrypoint ? Json(*c.entrypoint) : Json(nullptr);
  cfg["OnBuild"] = c.onBuild.empty() ? Json(nullptr) : Json(c.onBuild);
  Json labels = Json::object();
  for (const auto& [k, v] : c.labels) labels[k] = v;
  cfg["Labels"] = labels;
  if (!c.stopSignal.empty()) cfg["StopSignal"] = c.stopSignal;
  j["Config"] = cfg;
  j["NetworkSettings"] = networkSettings(r, st, running);
  return j;
}

}  // namespace strata::container
