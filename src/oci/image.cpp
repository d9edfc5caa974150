#include "oci/image.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>

#include "oci/media_types.h"

namespace strata::oci {

namespace {

std::string str(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

std::vector<std::string> strList(const Json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::optional<std::vector<std::string>> optStrList(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return std::vector<std::string>{it->get<std::string>()};
  return strList(j, key);
}

std::map<std::string, std::string> strMap(const Json& j, const char* key) {
  std::map<std::string, std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return out;
  for (const auto& [k, v] : it->items())
    if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

// Keys of a JSON object used as a set ({"80/tcp":{}}).
std::vector<std::string> keySet(const Json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return out;
  for (const auto& [k, v] : it->items()) out.push_back(k);
  std::sort(out.begin(), out.end());
  return out;
}

// The value at key when it is a JSON integer that fits in int64 (what Go's decoder accepts for an
// int64 field: no fractions, no exponents, nothing out of range); nullopt otherwise.
std::optional<int64_t> int64At(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  if (it->is_number_unsigned()) {
    const uint64_t u = it->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (it->is_number_integer()) return it->get<int64_t>();
  return std::nullopt;
}

// Lenient: 0 when absent or not such an integer.
int64_t integer(const Json& j, const char* key) { return int64At(j, key).value_or(0); }

Result<Json> parseJson(std::string_view text, const char* what) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded()) return failInvalid(std::string("malformed ") + what + ": not valid JSON");
  if (!j.is_object()) return failInvalid(std::string("malformed ") + what + ": not a JSON object");
  return j;
}

Json stringMap(const std::map<std::string, std::string>& m) {
  Json o = Json::object();
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

Json keySetJson(const std::vector<std::string>& keys) {
  Json o = Json::object();
  for (const auto& k : keys) o[k] = Json::object();
  return o;
}

}  // namespace

Result<Descriptor> descriptorFromJson(const Json& j) {
  if (!j.is_object()) return failInvalid("descriptor is not a JSON object");
  Descriptor d;
  d.mediaType = str(j, "mediaType");
  d.digest = TRY_CTX(Digest::parse(str(j, "digest")), "descriptor");
  if (j.contains("size")) {
    auto size = int64At(j, "size");
    if (!size) return failInvalid("descriptor " + d.digest.str() + ": size is not an integer");
    d.size = *size;
  }
  if (d.size < 0) return failInvalid("descriptor " + d.digest.str() + ": negative size");
  d.annotations = strMap(j, "annotations");
  d.artifactType = str(j, "artifactType");
  if (auto it = j.find("platform"); it != j.end() && it->is_object()) {
    Platform p;
    p.architecture = str(*it, "architecture");
    p.os = str(*it, "os");
    p.variant = str(*it, "variant");
    p.osVersion = str(*it, "os.version");
    d.platform = p;
  }
  return d;
}

Result<Manifest> parseManifest(std::string_view text) {
  Json j = TRY(parseJson(text, "manifest"));
  Manifest m;
  m.schemaVersion = static_cast<int>(integer(j, "schemaVersion"));
  if (m.schemaVersion != 2)
    return failInvalid("unsupported manifest schemaVersion " + std::to_string(m.schemaVersion));
  m.mediaType = str(j, "mediaType");
  if (m.mediaType.empty()) m.mediaType = std::string(media::kOciManifest);
  if (!media::isManifest(m.mediaType))
    return failInvalid("unsupported manifest media type `" + m.mediaType + "`");
  m.artifactType = str(j, "artifactType");
  auto cfg = j.find("config");
  if (cfg == j.end()) return failInvalid("malformed manifest: no config");
  m.config = TRY_CTX(descriptorFromJson(*cfg), "manifest config");
  if (auto it = j.find("layers"); it != j.end() && it->is_array()) {
    for (const auto& l : *it) m.layers.push_back(TRY_CTX(descriptorFromJson(l), "manifest layer"));
  }
  if (auto it = j.find("subject"); it != j.end() && it->is_object())
    m.subject = TRY_CTX(descriptorFromJson(*it), "manifest subject");
  m.annotations = strMap(j, "annotations");
  return m;
}

Result<Index> parseIndex(std::string_view text) {
  Json j = TRY(parseJson(text, "index"));
  Index idx;
  idx.schemaVersion = static_cast<int>(integer(j, "schemaVersion"));
  if (idx.schemaVersion != 2)
    return failInvalid("unsupported index schemaVersion " + std::to_string(idx.schemaVersion));
  idx.mediaType = str(j, "mediaType");
  auto it = j.find("manifests");
  if (it == j.end() || !it->is_array()) return failInvalid("malformed index: no manifests array");
  for (const auto& d : *it) idx.manifests.push_back(TRY_CTX(descriptorFromJson(d), "index entry"));
  idx.annotations = strMap(j, "annotations");
  return idx;
}

ContainerConfig containerConfigFromJson(const Json& k) {
  ContainerConfig cc;
  cc.user = str(k, "User");
  cc.exposedPorts = keySet(k, "ExposedPorts");
  cc.env = strList(k, "Env");
  cc.entrypoint = optStrList(k, "Entrypoint");
  cc.cmd = optStrList(k, "Cmd");
  cc.volumes = keySet(k, "Volumes");
  cc.workingDir = str(k, "WorkingDir");
  cc.labels = strMap(k, "Labels");
  cc.stopSignal = str(k, "StopSignal");
  if (auto a = k.find("ArgsEscaped"); a != k.end() && a->is_boolean()) cc.argsEscaped = *a;
  cc.onBuild = strList(k, "OnBuild");
  cc.shell = strList(k, "Shell");
  if (auto h = k.find("Healthcheck"); h != k.end() && h->is_object()) {
    HealthConfig hc;
    hc.test = strList(*h, "Test");
    hc.interval = integer(*h, "Interval");
    hc.timeout = integer(*h, "Timeout");
    hc.startPeriod = integer(*h, "StartPeriod");
    hc.startInterval = integer(*h, "StartInterval");
    hc.retries = static_cast<int>(integer(*h, "Retries"));
    cc.healthcheck = hc;
  }
  return cc;
}

Result<ImageConfig> parseImageConfig(std::string_view text) {
  return imageConfigFromJson(TRY(parseJson(text, "image config")));
}

Result<ImageConfig> imageConfigFromJson(const Json& j) {
  if (!j.is_object()) return failInvalid("malformed image config: not a JSON object");
  ImageConfig c;
  c.created = str(j, "created");
  c.author = str(j, "author");
  c.architecture = str(j, "architecture");
  c.os = str(j, "os");
  c.variant = str(j, "variant");
  c.comment = str(j, "comment");
  c.dockerVersion = str(j, "docker_version");
  if (auto it = j.find("config"); it != j.end() && it->is_object())
    c.config = containerConfigFromJson(*it);
  auto rootfs = j.find("rootfs");
  if (rootfs == j.end() || !rootfs->is_object())
    return failInvalid("malformed image config: no rootfs");
  if (str(*rootfs, "type") != "layers")
    return failInvalid("malformed image config: rootfs.type is not `layers`");
  for (const auto& d : strList(*rootfs, "diff_ids"))
    c.diffIds.push_back(TRY_CTX(Digest::parse(d), "image config rootfs.diff_ids"));
  if (auto it = j.find("history"); it != j.end() && it->is_array()) {
    for (const auto& h : *it) {
      if (!h.is_object()) continue;
      HistoryEntry e;
      e.created = str(h, "created");
      e.createdBy = str(h, "created_by");
      e.author = str(h, "author");
      e.comment = str(h, "comment");
      if (auto el = h.find("empty_layer"); el != h.end() && el->is_boolean()) e.emptyLayer = *el;
      c.history.push_back(std::move(e));
    }
  }
  return c;
}

Json toJson(const Descriptor& d) {
  Json j = Json::object();
  j["mediaType"] = d.mediaType;
  j["digest"] = d.digest.str();
  j["size"] = d.size;
  if (!d.artifactType.empty()) j["artifactType"] = d.artifactType;
  if (!d.annotations.empty()) j["annotations"] = stringMap(d.annotations);
  if (d.platform) {
    Json p = Json::object();
    p["architecture"] = d.platform->architecture;
    p["os"] = d.platform->os;
    if (!d.platform->osVersion.empty()) p["os.version"] = d.platform->osVersion;
    if (!d.platform->variant.empty()) p["variant"] = d.platform->variant;
    j["platform"] = p;
  }
  return j;
}

Json toJson(const Manifest& m) {
  Json j = Json::object();
  j["schemaVersion"] = m.schemaVersion;
  j["mediaType"] = m.mediaType;
  if (!m.artifactType.empty()) j["artifactType"] = m.artifactType;
  j["config"] = toJson(m.config);
  j["layers"] = Json::array();
  for (const auto& l : m.layers) j["layers"].push_back(toJson(l));
  if (m.subject) j["subject"] = toJson(*m.subject);
  if (!m.annotations.empty()) j["annotations"] = stringMap(m.annotations);
  return j;
}

Json toJson(const Index& i) {
  Json j = Json::object();
  j["schemaVersion"] = i.schemaVersion;
  if (!i.mediaType.empty()) j["mediaType"] = i.mediaType;
  j["manifests"] = Json::array();
  for (const auto& d : i.manifests) j["manifests"].push_back(toJson(d));
  if (!i.annotations.empty()) j["annotations"] = stringMap(i.annotations);
  return j;
}

Json toJson(const ContainerConfig& c) {
  Json j = Json::object();
  if (!c.user.empty()) j["User"] = c.user;
  if (!c.exposedPorts.empty()) j["ExposedPorts"] = keySetJson(c.exposedPorts);
  if (!c.env.empty()) j["Env"] = c.env;
  if (c.entrypoint) j["Entrypoint"] = *c.entrypoint;
  if (c.cmd) j["Cmd"] = *c.cmd;
  if (!c.volumes.empty()) j["Volumes"] = keySetJson(c.volumes);
  if (!c.workingDir.empty()) j["WorkingDir"] = c.workingDir;
  if (!c.labels.empty()) j["Labels"] = stringMap(c.labels);
  if (!c.stopSignal.empty()) j["StopSignal"] = c.stopSignal;
  if (c.argsEscaped) j["ArgsEscaped"] = true;
  if (c.healthcheck) {
    Json h = Json::object();
    h["Test"] = c.healthcheck->test;
    if (c.healthcheck->interval) h["Interval"] = c.healthcheck->interval;
    if (c.healthcheck->timeout) h["Timeout"] = c.healthcheck->timeout;
    if (c.healthcheck->startPeriod) h["StartPeriod"] = c.healthcheck->startPeriod;
    if (c.healthcheck->startInterval) h["StartInterval"] = c.healthcheck->startInterval;
    if (c.healthcheck->retries) h["Retries"] = c.healthcheck->retries;
    j["Healthcheck"] = h;
  }
  if (!c.onBuild.empty()) j["OnBuild"] = c.onBuild;
  if (!c.shell.empty()) j["Shell"] = c.shell;
  return j;
}

Json toJson(const ImageConfig& c) {
  // Keys in alphabetical order, as BuildKit writes image configs.
  Json j = Json::object();
  j["architecture"] = c.architecture;
  if (!c.author.empty()) j["author"] = c.author;
  if (!c.comment.empty()) j["comment"] = c.comment;
  j["config"] = toJson(c.config);
  j["created"] = c.created;
  Json hist = Json::array();
  for (const auto& h : c.history) {
    Json e = Json::object();
    if (!h.created.empty()) e["created"] = h.created;
    if (!h.createdBy.empty()) e["created_by"] = h.createdBy;
    if (!h.author.empty()) e["author"] = h.author;
    if (!h.comment.empty()) e["comment"] = h.comment;
    if (h.emptyLayer) e["empty_layer"] = true;
    hist.push_back(std::move(e));
  }
  j["history"] = hist;
  j["os"] = c.os;
  Json rootfs = Json::object();
  rootfs["type"] = "layers";
  rootfs["diff_ids"] = Json::array();
  for (const auto& d : c.diffIds) rootfs["diff_ids"].push_back(d.str());
  j["rootfs"] = rootfs;
  if (!c.variant.empty()) j["variant"] = c.variant;
  return j;
}

std::string serialize(const Json& j) { return j.dump(); }

Result<std::string> sniffMediaType(std::string_view text) {
  Json j = TRY(parseJson(text, "manifest"));
  std::string mt = str(j, "mediaType");
  if (!mt.empty()) return mt;
  if (j.contains("manifests")) return std::string(media::kOciIndex);
  if (j.contains("config")) return std::string(media::kOciManifest);
  return failInvalid("malformed manifest: neither a manifest nor an index");
}

}  // namespace strata::oci
