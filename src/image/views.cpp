#include "image/views.h"

#include <fnmatch.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <set>

#include "util/format.h"
#include "util/fs.h"

namespace strata::image {

using oci::Json;

namespace {

int64_t nowSeconds() { return static_cast<int64_t>(::time(nullptr)); }

std::string sinceText(const std::string& rfc3339) {
  auto t = parseRfc3339Seconds(rfc3339);
  if (!t) return "N/A";
  return humanDuration(std::max<int64_t>(0, nowSeconds() - *t)) + " ago";
}

// Docker's CreatedAt for images: "2006-01-02 15:04:05 -0700 MST" in UTC.
std::string createdAtText(const std::string& rfc3339) {
  auto t = parseRfc3339Seconds(rfc3339);
  if (!t) return "";
  time_t tt = static_cast<time_t>(*t);
  struct tm tm;
  ::gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
  return buf;
}

Json nullableList(const std::optional<std::vector<std::string>>& v) {
  return v ? Json(*v) : Json(nullptr);
}
Json listOrNull(const std::vector<std::string>& v) { return v.empty() ? Json(nullptr) : Json(v); }
Json setOrNull(const std::vector<std::string>& v) {
  if (v.empty()) return nullptr;
  Json o = Json::object();
  for (const auto& k : v) o[k] = Json::object();
  return o;
}

// Docker's container.Config as image inspect shows it.
Json dockerConfig(const oci::ContainerConfig& c) {
  Json j = Json::object();
  j["Hostname"] = "";
  j["Domainname"] = "";
  j["User"] = c.user;
  j["AttachStdin"] = false;
  j["AttachStdout"] = false;
  j["AttachStderr"] = false;
  if (!c.exposedPorts.empty()) j["ExposedPorts"] = setOrNull(c.exposedPorts);
  j["Tty"] = false;
  j["OpenStdin"] = false;
  j["StdinOnce"] = false;
  j["Env"] = listOrNull(c.env);
  j["Cmd"] = nullableList(c.cmd);
  if (c.healthcheck) j["Healthcheck"] = oci::toJson(c).at("Healthcheck");
  if (c.argsEscaped) j["ArgsEscaped"] = true;
  j["Image"] = "";
  j["Volumes"] = setOrNull(c.volumes);
  j["WorkingDir"] = c.workingDir;
  j["Entrypoint"] = nullableList(c.entrypoint);
  j["OnBuild"] = listOrNull(c.onBuild);
  if (c.labels.empty()) {
    j["Labels"] = nullptr;
  } else {
    j["Labels"] = Json::object();
    for (const auto& [k, v] : c.labels) j["Labels"][k] = v;
  }
  if (!c.stopSignal.empty()) j["StopSignal"] = c.stopSignal;
  if (!c.shell.empty()) j["Shell"] = c.shell;
  return j;
}

std::vector<std::string> familiarAll(const std::vector<std::string>& qualified) {
  std::vector<std::string> out;
  for (const auto& q : qualified) out.push_back(familiarTag(q));
  return out;
}

}  // namespace

Result<uint64_t> imageSize(const store::Store& s, const oci::ImageConfig& config) {
  uint64_t total = 0;
  for (const auto& d : config.diffIds) total += TRY(s.layerInfo(d.hex)).size;
  return total;
}

Result<Json> inspectJson(const store::Store& s, const Loaded& img) {
  const oci::ImageConfig& c = img.config;
  uint64_t size = TRY(imageSize(s, c));
  Json j = Json::object();
  j["Id"] = img.record.id.str();
  j["RepoTags"] = familiarAll(img.record.tags);
  j["RepoDigests"] = familiarAll(img.record.digests);
  j["Parent"] = img.record.parent ? img.record.parent->str() : "";
  // Docker shows the last history comment when the config has none of its own.
  j["Comment"] = !c.comment.empty() || c.history.empty() ? c.comment : c.history.back().comment;
  j["Created"] = c.created;
  j["Container"] = "";
  j["ContainerConfig"] = dockerConfig(oci::ContainerConfig{});
  j["DockerVersion"] = c.dockerVersion;
  j["Author"] = c.author;
  j["Config"] = dockerConfig(c.config);
  j["Architecture"] = c.architecture;
  if (!c.variant.empty()) j["Variant"] = c.variant;
  j["Os"] = c.os;
  j["Size"] = size;
  j["VirtualSize"] = size;
  Json data = Json::object();
  std::vector<std::string> trees;
  for (const auto& d : c.diffIds) trees.push_back(s.layout().layerTree(d.hex));
  if (!trees.empty()) {
    std::string lower;
    for (size_t i = trees.size() - 1; i-- > 0;) lower += (lower.empty() ? "" : ":") + trees[i];
    if (!lower.empty()) data["LowerDir"] = lower;
    data["UpperDir"] = trees.back();
  }
  j["GraphDriver"] = Json{{"Data", data.empty() ? Json(nullptr) : data}, {"Name", "overlay"}};
  Json layers = Json::array();
  for (const auto& d : c.diffIds) layers.push_back(d.str());
  j["RootFS"] = Json{{"Type", "layers"}, {"Layers", layers}};
  j["Metadata"] = Json{{"LastTagTime", img.record.lastTagTime.empty() ? "0001-01-01T00:00:00Z"
                                                                      : img.record.lastTagTime}};
  return j;
}

namespace {

struct Filters {
  std::optional<bool> dangling;
  std::vector<std::string> references;
  std::vector<std::pair<std::string, std::optional<std::string>>> labels;
};

Result<Filters> parseFilters(const std::vector<std::string>& raw) {
  Filters f;
  for (const auto& item : raw) {
    auto eq = item.find('=');
    if (eq == std::string::npos) return failInvalid("bad format of filter (expected name=value): " + item);
    std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "dangling") {
      if (value == "true" || value == "1") f.dangling = true;
      else if (value == "false" || value == "0") f.dangling = false;
      else return failInvalid("invalid filter 'dangling=" + value + "'");
    } else if (key == "reference") {
      f.references.push_back(value);
    } else if (key == "label") {
      auto e = value.find('=');
      if (e == std::string::npos) f.labels.emplace_back(value, std::nullopt);
      else f.labels.emplace_back(value.substr(0, e), value.substr(e + 1));
    } else {
      return failInvalid("invalid filter '" + key + "'");
    }
  }
  return f;
}

// Docker matches reference filters against the familiar name, with and without the tag.
bool referenceMatches(const std::string& pattern, const std::string& repo, const std::string& tag) {
  std::string full = repo + ":" + tag;
  return ::fnmatch(pattern.c_str(), repo.c_str(), 0) == 0 ||
         ::fnmatch(pattern.c_str(), full.c_str(), 0) == 0;
}

}  // namespace

Result<std::vector<Json>> listRows(const store::Store& s, const ListOptions& opt) {
  Filters f = TRY(parseFilters(opt.filters));
  std::optional<oci::Reference> want;
  if (!opt.repository.empty()) want = TRY(oci::Reference::parse(opt.repository));
  bool wantTag = opt.repository.find(':', opt.repository.rfind('/') == std::string::npos
                                              ? 0 : opt.repository.rfind('/')) != std::string::npos;
  struct Row {
    std::string created;
    Json j;
    int64_t seconds = 0;  // the sort's keys, parsed once
    std::string repository, tag;
  };
  std::vector<Row> rows;
  for (const auto& rec : TRY(s.images())) {
    Loaded img = TRY(load(s, rec));
    bool dangling = rec.tags.empty();
    if (f.dangling && *f.dangling != dangling) continue;
    bool labelsOk = true;
    for (const auto& [k, v] : f.labels) {
      auto it = img.config.config.labels.find(k);
      if (it == img.config.config.labels.end() || (v && it->second != *v)) labelsOk = false;
    }
    if (!labelsOk) continue;
    uint64_t size = TRY(imageSize(s, img.config));
    std::string id = opt.noTrunc ? rec.id.str() : rec.id.hex.substr(0, 12);
    // One row per tag; an image with neither tags nor digests gets one <none> row.
    std::vector<std::pair<std::string, std::string>> names;  // (repo, tag)
    std::map<std::string, std::string> digestByRepo;
    for (const auto& d : rec.digests) {
      auto ref = oci::Reference::parse(d);
      if (ref && ref->digest) digestByRepo[ref->familiarRepository()] = ref->digest->str();
    }
    for (const auto& t : rec.tags) {
      auto ref = oci::Reference::parse(t);
      if (ref) names.emplace_back(ref->familiarRepository(), ref->tag);
    }
    // A repository known only by digest (pulled by digest) gets a row of its own, as in Docker.
    for (const auto& [repo, dg] : digestByRepo)
      if (std::none_of(names.begin(), names.end(), [&](const auto& n) { return n.first == repo; }))
        names.emplace_back(repo, "<none>");
    if (names.empty()) names.emplace_back("<none>", "<none>");
    for (const auto& [repo, tag] : names) {
      if (want) {
        if (repo != want->familiarRepository()) continue;
        if (wantTag && tag != want->tag) continue;
      }
      if (!f.references.empty()) {
        bool any = false;
        for (const auto& p : f.references) any = any || referenceMatches(p, repo, tag);
        if (!any) continue;
      }
      Json j = Json::object();
      j["Containers"] = "N/A";
      j["CreatedAt"] = createdAtText(img.config.created);
      j["CreatedSince"] = sinceText(img.config.created);
      auto dg = digestByRepo.find(repo);
      j["Digest"] = dg == digestByRepo.end() ? "<none>" : dg->second;
      j["ID"] = id;
      j["Repository"] = repo;
      j["SharedSize"] = "N/A";
      j["Size"] = humanSize(static_cast<double>(size));
      j["Tag"] = tag;
      j["UniqueSize"] = "N/A";
      j["VirtualSize"] = humanSizeWithPrecision(static_cast<double>(size), 4);
      rows.push_back({img.config.created, std::move(j)});
    }
  }
  for (Row& r : rows) {
    auto t = parseRfc3339Seconds(r.created);
    r.seconds = t ? *t : 0;
    r.repository = r.j["Repository"];
    r.tag = r.j["Tag"];
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.seconds != b.seconds) return a.seconds > b.seconds;
    if (a.repository != b.repository) return a.repository < b.repository;
    return a.tag < b.tag;
  });
  std::vector<Json> out;
  for (auto& r : rows) out.push_back(std::move(r.j));
  return out;
}

Result<std::vector<Json>> historyRows(const store::Store& s, const Loaded& img, bool noTrunc,
                                      bool human) {
  const oci::ImageConfig& c = img.config;
  std::vector<Json> rows;
  size_t layer = 0;
  for (const auto& h : c.history) {
    uint64_t size = 0;
    if (!h.emptyLayer && layer < c.diffIds.size())
      size = TRY(s.layerInfo(c.diffIds[layer++].hex)).size;
    Json j = Json::object();
    j["Comment"] = h.comment;
    j["CreatedAt"] = h.created;
    std::string by = h.createdBy;
    if (!noTrunc && by.size() > 45) by = by.substr(0, 44) + "…";
    j["CreatedBy"] = by;
    j["CreatedSince"] = human ? sinceText(h.created) : h.created;
    j["ID"] = "<missing>";
    j["Size"] = human ? humanSize(static_cast<double>(size)) : std::to_string(size);
    rows.push_back(std::move(j));
  }
  std::reverse(rows.begin(), rows.end());
  // Like Docker, each local image in the parent chain names the newest history entry it has.
  auto name = [&](const oci::Digest& id) { return noTrunc ? id.str() : id.hex.substr(0, 12); };
  if (!rows.empty()) rows.front()["ID"] = name(img.record.id);
  std::optional<oci::Digest> parent = img.record.parent;
  for (int depth = 0; parent && depth < 1000; ++depth) {
    auto it = TRY(s.image(*parent));
    if (!it) break;
    oci::ImageConfig pc = TRY(oci::parseImageConfig(TRY(s.readBlob(it->id))));
    if (pc.history.empty() || pc.history.size() > rows.size()) break;
    rows[rows.size() - pc.history.size()]["ID"] = name(it->id);
    parent = it->parent;
  }
  return rows;
}

Result<std::vector<Json>> diskUsageRows(const store::Store& s) {
  std::vector<store::ImageRecord> recs = TRY(s.images());
  std::vector<oci::Digest> used = TRY(imagesInUse(s));
  std::set<std::string> allLayers, activeLayers;
  size_t active = 0;
  for (const auto& r : recs) {
    Loaded img = TRY(load(s, r));
    bool isUsed = std::find(used.begin(), used.end(), r.id) != used.end();
    if (isUsed) ++active;
    for (const auto& d : img.config.diffIds) {
      allLayers.insert(d.hex);
      if (isUsed) activeLayers.insert(d.hex);
    }
  }
  uint64_t total = 0, reclaim = 0;
  for (const auto& l : allLayers) {
    uint64_t sz = TRY(s.layerInfo(l)).size;
    total += sz;
    if (!activeLayers.count(l)) reclaim += sz;
  }
  auto pct = [](uint64_t part, uint64_t whole) {
    return whole == 0 ? std::string() : " (" + std::to_string(part * 100 / whole) + "%)";
  };
  std::vector<Json> rows;
  rows.push_back(Json{{"Type", "Images"}, {"TotalCount", std::to_string(recs.size())},
                      {"Active", std::to_string(active)},
                      {"Size", humanSizeWithPrecision(static_cast<double>(total), 4)},
                      {"Reclaimable", humanSizeWithPrecision(static_cast<double>(reclaim), 4) + pct(reclaim, total)}});
  size_t containers = TRY(listDirectory(s.layout().containersDir())).size();
  rows.push_back(Json{{"Type", "Containers"}, {"TotalCount", std::to_string(containers)},
                      {"Active", "0"}, {"Size", "0B"}, {"Reclaimable", "0B"}});
  rows.push_back(Json{{"Type", "Local Volumes"}, {"TotalCount", "0"}, {"Active", "0"},
                      {"Size", "0B"}, {"Reclaimable", "0B"}});
  rows.push_back(Json{{"Type", "Build Cache"}, {"TotalCount", "0"}, {"Active", "0"},
                      {"Size", "0B"}, {"Reclaimable", "0B"}});
  return rows;
}

}  // namespace strata::image
