// Image records: images/<id>.json per image, refs/<key> -> <id hex> per name (see store.h).
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "store/store.h"
#include "util/format.h"
#include "util/fs.h"
#include "util/random.h"
#include "util/sha256.h"

namespace strata::store {

using Json = nlohmann::ordered_json;

namespace {

Json recordToJson(const ImageRecord& r) {
  Json j = Json::object();
  j["id"] = r.id.str();
  j["manifest"] = r.manifest.str();
  j["tags"] = r.tags;
  j["digests"] = r.digests;
  j["added"] = r.added;
  if (!r.lastTagTime.empty()) j["lastTagTime"] = r.lastTagTime;
  if (r.parent) j["parent"] = r.parent->str();
  return j;
}

Result<ImageRecord> recordFromJson(const Json& j) {
  if (!j.is_object()) return failInvalid("image record is not an object");
  ImageRecord r;
  r.id = TRY(oci::Digest::parse(j.value("id", "")));
  r.manifest = TRY(oci::Digest::parse(j.value("manifest", "")));
  r.tags = j.value("tags", std::vector<std::string>{});
  r.digests = j.value("digests", std::vector<std::string>{});
  r.added = j.value("added", "");
  r.lastTagTime = j.value("lastTagTime", "");
  if (j.contains("parent")) r.parent = TRY(oci::Digest::parse(j.value("parent", "")));
  return r;
}

std::vector<std::string> namesOf(const ImageRecord& r) {
  std::vector<std::string> out = r.tags;
  out.insert(out.end(), r.digests.begin(), r.digests.end());
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The file name of a name's symlink. Qualified names use [A-Za-z0-9._-/:@] and never start
// with '.', so '/' as '+' is a valid, unique file name; a long one is named by its hash.
std::string refKey(const std::string& name) {
  bool plain = !name.empty() && name.size() <= 200 && name[0] != '.' && name[0] != '~' &&
               name.find_first_of("+\0", 0, 2) == std::string::npos;
  if (!plain) return "~" + Sha256::hexOf(name);
  std::string key = name;
  std::replace(key.begin(), key.end(), '/', '+');
  return key;
}

bool isRecordFile(const std::string& name) {
  return name.size() == 64 + 5 && name.ends_with(".json") && name[0] != '.';
}

Timestamp addedTime(const ImageRecord& r) {
  auto t = parseRfc3339(r.added);
  return t ? *t : Timestamp{};
}

}  // namespace

std::optional<std::string> Store::refTarget(const std::string& name) const {
  const std::string path = layout_.refsDir() + "/" + refKey(name);
  char buf[80];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  if (n != 64) return std::nullopt;
  return std::string(buf, 64);
}

Result<std::optional<ImageRecord>> Store::readRecord(const std::string& idHex) const {
  const std::string path = layout_.imageRecord(idHex);
  auto text = readFile(path);
  if (!text) {
    if (text.error().code() == ENOENT) return std::optional<ImageRecord>();
    return fail(std::move(text).error());
  }
  Json j = Json::parse(*text, nullptr, false);
  Result<ImageRecord> r = j.is_discarded() ? Result<ImageRecord>(failInvalid("not JSON")) : recordFromJson(j);
  if (r && r->id.hex != idHex) r = failInvalid("it is the record of " + r->id.str());
  if (!r) return failInvalid("image record `" + path + "` is corrupt: " + r.error().what());
  // A name is this image's only while its symlink says so.
  auto notHere = [&](const std::string& n) { return refTarget(n) != idHex; };
  std::erase_if(r->tags, notHere);
  std::erase_if(r->digests, notHere);
  return std::optional<ImageRecord>(std::move(*r));
}

Result<std::vector<oci::Digest>> Store::imageIds() const {
  std::vector<oci::Digest> out;
  for (const auto& name : TRY(listDirectory(layout_.imagesDir())))
    if (isRecordFile(name)) out.push_back(oci::Digest::sha256(name.substr(0, 64)));
  return out;
}

Result<std::vector<ImageRecord>> Store::images() const {
  std::vector<std::pair<Timestamp, ImageRecord>> found;
  for (const auto& id : TRY(imageIds()))
    if (auto r = TRY(readRecord(id.hex))) found.emplace_back(addedTime(*r), std::move(*r));
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    if (a.first.sec != b.first.sec) return a.first.sec < b.first.sec;
    if (a.first.nsec != b.first.nsec) return a.first.nsec < b.first.nsec;
    return a.second.id.hex < b.second.id.hex;
  });
  std::vector<ImageRecord> out;
  out.reserve(found.size());
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

Result<std::optional<ImageRecord>> Store::image(const oci::Digest& id) const {
  if (id.algorithm != "sha256") return std::optional<ImageRecord>();
  return readRecord(id.hex);
}

Result<std::optional<ImageRecord>> Store::imageNamed(const std::string& name) const {
  auto target = refTarget(name);
  if (!target) return std::optional<ImageRecord>();
  auto r = TRY(readRecord(*target));
  if (r && !contains(namesOf(*r), name)) r.reset();  // the record is being written
  return r;
}

// Order, for a reader that may look at any moment and a crash at any point: the records first
// (a name they list counts only once its symlink points there), then the symlinks, then the
// records that lost a name (rewritten only to drop what no longer counts).
Status Store::saveRecords(const std::vector<ImageRecord>& changed, const std::vector<ImageRecord>& before) {
  if (changed.empty()) return {};
  auto had = [&](const ImageRecord& r) {
    return std::any_of(before.begin(), before.end(), [&](const ImageRecord& b) { return b.id == r.id; });
  };
  for (const auto& r : changed) TRYV(writeFileSynced(layout_.imageRecord(r.id.hex), recordToJson(r).dump(1)));
  // A new record must be there before a name points at it; a replaced one is whole either way.
  if (!std::all_of(changed.begin(), changed.end(), had)) TRYV(fsyncDir(layout_.imagesDir()));
  bool refsChanged = false;
  std::set<std::string> losers;
  for (const auto& r : changed) {
    for (const auto& n : namesOf(r)) {
      auto prev = refTarget(n);
      if (prev == r.id.hex) continue;
      const std::string path = layout_.refsDir() + "/" + refKey(n);
      const std::string tmp = layout_.refsDir() + "/.tmp-" + randomHex(12);
      if (::symlink(r.id.hex.c_str(), tmp.c_str()) < 0) return failErrno("create `" + tmp + "`");
      if (::rename(tmp.c_str(), path.c_str()) < 0) {
        Error e = Error::fromErrno("rename `" + tmp + "` to `" + path + "`");
        ::unlink(tmp.c_str());
        return fail(std::move(e));
      }
      refsChanged = true;
      if (prev) losers.insert(*prev);
    }
    auto old = std::find_if(before.begin(), before.end(), [&](const ImageRecord& b) { return b.id == r.id; });
    if (old == before.end()) continue;
    const std::vector<std::string> keep = namesOf(r);
    for (const auto& n : namesOf(*old)) {
      if (contains(keep, n) || refTarget(n) != r.id.hex) continue;
      const std::string path = layout_.refsDir() + "/" + refKey(n);
      if (::unlink(path.c_str()) < 0 && errno != ENOENT) return failErrno("remove `" + path + "`");
      refsChanged = true;
    }
  }
  if (refsChanged) TRYV(fsyncDir(layout_.refsDir()));
  for (const auto& hex : losers) {
    if (std::any_of(changed.begin(), changed.end(), [&](const ImageRecord& r) { return r.id.hex == hex; }))
      continue;
    if (auto r = TRY(readRecord(hex)))
      TRYV(writeFileReplace(layout_.imageRecord(hex), recordToJson(*r).dump(1)));
  }
  return {};
}

// The names go first: a crash in between leaves the image, untagged.
Status Store::eraseRecord(const ImageRecord& r) {
  bool removed = false;
  for (const auto& n : namesOf(r)) {
    if (refTarget(n) != r.id.hex) continue;
    const std::string path = layout_.refsDir() + "/" + refKey(n);
    if (::unlink(path.c_str()) == 0) removed = true;
    else if (errno != ENOENT) return failErrno("remove `" + path + "`");
  }
  if (removed) TRYV(fsyncDir(layout_.refsDir()));
  const std::string path = layout_.imageRecord(r.id.hex);
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) return failErrno("remove `" + path + "`");
  return fsyncDir(layout_.imagesDir());
}

Status Store::updateImages(const std::function<Status(std::vector<ImageRecord>&)>& edit) {
  FileLock lock = TRY(FileLock::acquire(layout_.indexLock(), FileLock::Mode::Exclusive));
  const std::vector<ImageRecord> before = TRY(images());
  std::vector<ImageRecord> recs = before;
  TRYV(edit(recs));
  for (const auto& b : before)
    if (std::none_of(recs.begin(), recs.end(), [&](const ImageRecord& r) { return r.id == b.id; }))
      TRYV(eraseRecord(b));
  std::vector<ImageRecord> changed;
  for (const auto& r : recs) {
    auto old = std::find_if(before.begin(), before.end(), [&](const ImageRecord& b) { return b.id == r.id; });
    if (old == before.end() || *old != r) changed.push_back(r);
  }
  return saveRecords(changed, before);
}

Status Store::updateImage(const oci::Digest& id,
                          const std::function<Status(std::optional<ImageRecord>&)>& edit) {
  FileLock lock = TRY(FileLock::acquire(layout_.indexLock(), FileLock::Mode::Exclusive));
  const std::optional<ImageRecord> before = TRY(image(id));
  std::optional<ImageRecord> rec = before;
  TRYV(edit(rec));
  if (!rec) return before ? eraseRecord(*before) : Status{};
  if (rec->id != id) return failInvalid("image record of " + id.str() + " edited into " + rec->id.str());
  if (before && *before == *rec) return {};
  std::vector<ImageRecord> was;
  if (before) was.push_back(*before);
  return saveRecords({*rec}, was);
}

Result<std::vector<std::string>> Store::recordLeftovers(bool remove) {
  FileLock lock = TRY(FileLock::acquire(layout_.indexLock(), FileLock::Mode::Exclusive));
  std::set<std::string> live;  // the refs/ entries of names a record lists (readRecord checked them)
  for (const auto& r : TRY(images()))
    for (const auto& n : namesOf(r)) live.insert(refKey(n));
  std::vector<std::string> out;
  auto found = [&](const std::string& dir, const std::string& sub, const std::string& name) -> Status {
    out.push_back(sub + "/" + name);
    const std::string path = dir + "/" + name;
    if (remove && ::unlink(path.c_str()) < 0 && errno != ENOENT) return failErrno("remove `" + path + "`");
    return {};
  };
  for (const auto& name : TRY(listDirectory(layout_.imagesDir())))
    if (!isRecordFile(name)) TRYV(found(layout_.imagesDir(), "images", name));
  for (const auto& name : TRY(listDirectory(layout_.refsDir())))
    if (!live.count(name)) TRYV(found(layout_.refsDir(), "refs", name));
  return out;
}

// Stores made before images/ kept every record in images.json: {"images": [record...]}.
Status Store::moveLegacyImages() {
  FileLock lock = TRY(FileLock::acquire(layout_.indexLock(), FileLock::Mode::Exclusive));
  const std::string path = layout_.legacyImagesFile();
  auto text = readFile(path);
  if (!text) return text.error().code() == ENOENT ? Status{} : fail(std::move(text).error());
  Json j = Json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("images") || !j["images"].is_array())
    return failInvalid("store index `" + path + "` is corrupt");
  std::vector<ImageRecord> recs;
  for (const auto& e : j["images"]) recs.push_back(TRY_CTX(recordFromJson(e), "store index `" + path + "`"));
  TRYV(saveRecords(recs, {}));
  if (::unlink(path.c_str()) < 0) return failErrno("remove `" + path + "`");
  return fsyncDir(layout_.root());
}

}  // namespace strata::store
