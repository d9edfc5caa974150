#include "system/check.h"

#include <algorithm>
#include <set>

#include "container/containers.h"
#include "oci/image.h"
#include "util/fs.h"
#include "util/lock.h"
#include "util/sha256.h"

namespace strata::system {
namespace {

// The sha256 of blob d's content, read to its end (which checks a blob made from a layer's tree).
Result<std::string> hashBlob(const store::Store& s, const oci::Digest& d) {
  auto r = TRY(s.openBlob(d));
  Sha256 h;
  std::vector<char> buf(size_t(1) << 20);
  for (;;) {
    size_t n = TRY(r->read(buf.data(), buf.size()));
    if (n == 0) break;
    h.update(buf.data(), n);
  }
  return h.hex();
}

// A directory's entries; a missing directory has none.
Result<std::vector<std::string>> entries(const std::string& dir) {
  auto names = listDirectory(dir);
  if (!names && names.error().code() == ENOENT) return std::vector<std::string>();
  return names;
}

class Checker {
 public:
  Checker(store::Store& s, const CheckOptions& opt, CheckReport& rep) : s_(s), opt_(opt), rep_(rep) {}

  Status run() {
    checkImages();
    TRYV(checkBuildCache());
    TRYV(checkBlobs());
    TRYV(checkLayers());
    TRYV(checkContainers());
    if (rep_.leftoversChecked) {
      for (const auto& name : TRY(entries(s_.tmpDir())))
        leftover("tmp/" + name, "partial write of an interrupted operation");
      // Unreadable records are already a problem (checkImages), and hide which names are live.
      if (auto paths = s_.recordLeftovers(false))
        for (const auto& path : *paths) leftover(path, "left by an interrupted change of the image records");
    }
    return {};
  }

 private:
  const store::Layout& layout() const { return s_.layout(); }
  void problem(std::string line) { rep_.problems.push_back(std::move(line)); }
  void leftover(const std::string& path, const std::string& why) {
    if (rep_.leftoversChecked) rep_.leftovers.push_back(path + ": " + why);
  }

  void checkImages() {
    auto recs = s_.images();
    if (!recs) return problem("image records: " + recs.error().what());
    std::set<std::string> names;
    for (const auto& r : *recs) {
      ++rep_.images;
      imageIds_.insert(r.id.hex);
      const std::string who = "image " + r.id.str();
      for (const auto& n : r.tags)
        if (!names.insert(n).second) problem(who + ": tag " + n + " is also on another image");
      blobRefs_.insert(r.manifest.hex);
      blobRefs_.insert(r.id.hex);
      auto manifestText = s_.readBlob(r.manifest);  // verifies the digest
      if (!manifestText) {
        problem(who + ": manifest: " + manifestText.error().what());
        continue;
      }
      auto manifest = oci::parseManifest(*manifestText);
      if (!manifest) {
        problem(who + ": manifest " + r.manifest.str() + ": " + manifest.error().what());
        continue;
      }
      if (manifest->config.digest != r.id)
        problem(who + ": its manifest " + r.manifest.str() + " names config " + manifest->config.digest.str());
      for (const auto& l : manifest->layers) {
        blobRefs_.insert(l.digest.hex);
        if (!s_.hasBlob(l.digest)) problem(who + ": layer blob " + l.digest.str() + " is missing");
      }
      auto configText = s_.readBlob(r.id);
      if (!configText) {
        problem(who + ": config: " + configText.error().what());
        continue;
      }
      auto config = oci::parseImageConfig(*configText);
      if (!config) {
        problem(who + ": config: " + config.error().what());
        continue;
      }
      if (config->diffIds.size() != manifest->layers.size())
        problem(who + ": the config has " + std::to_string(config->diffIds.size()) +
                " diff_ids but the manifest " + std::to_string(manifest->layers.size()) + " layers");
      for (const auto& d : config->diffIds) {
        layerRefs_.insert(d.hex);
        checkLayer(d.hex, who);
      }
    }
  }

  void checkLayer(const std::string& hex, const std::string& who) {
    if (!checkedLayers_.insert(hex).second) return;
    auto info = s_.layerInfo(hex);
    if (!info) return problem(who + ": " + info.error().what());
    if (!isDirectory(layout().layerTree(hex)))
      problem(who + ": layer sha256:" + hex + " has no unpacked tree");
  }

  // Build cache records keep what they name; an unreadable one is removed by the next garbage
  // collection (it could only be a cache miss).
  Status checkBuildCache() {
    for (const auto& name : TRY(entries(layout().buildCacheDir()))) {
      ++rep_.cacheRecords;
      if (!store::readBuildCacheRoots(layout().buildCacheDir() + "/" + name, blobRefs_, layerRefs_))
        leftover("builder/cache/" + name, "unreadable build cache record");
    }
    // A kept layer keeps the compressed blobs push made of it.
    for (const auto& hex : layerRefs_)
      for (auto c : {layer::Compression::Gzip, layer::Compression::Zstd})
        if (auto d = s_.compressedLayer(hex, c)) blobRefs_.insert(d->hex);
    return {};
  }

  Status checkBlobs() {
    for (const auto& name : TRY(entries(layout().blobsDir()))) {
      ++rep_.blobs;
      if (!oci::isSha256Hex(name)) {
        problem("blobs/sha256/" + name + ": not named by a sha256 digest");
        continue;
      }
      if (opt_.verifyContent) {
        auto hex = hashBlob(s_, oci::Digest::sha256(name));
        if (!hex) problem("blob sha256:" + name + ": " + hex.error().what());
        else if (*hex != name) problem("blob sha256:" + name + ": its content hashes to sha256:" + *hex);
      }
      if (!blobRefs_.count(name)) leftover("blobs/sha256/" + name, "referenced by no image or build cache record");
    }
    return {};
  }

  Status checkLayers() {
    for (const auto& name : TRY(entries(layout().layersDir()))) {
      ++rep_.layers;
      checkTarFromTree(name);
      if (layerRefs_.count(name)) continue;
      leftover("layers/" + name, "used by no image or build cache record");
    }
    return {};
  }

  // A layer whose tar blob is made from its tree counts as that blob; the full check makes the
  // tar and compares it with the diff_id.
  void checkTarFromTree(const std::string& hex) {
    auto info = s_.layerInfo(hex);
    if (!info || !info->tarFromTree) return;
    ++rep_.blobs;
    // A missing tree is reported with the image that uses the layer.
    if (!opt_.verifyContent || !isDirectory(layout().layerTree(hex))) return;
    if (auto made = hashBlob(s_, oci::Digest::sha256(hex)); !made) problem(made.error().what());
  }

  Status checkContainers() {
    container::Containers cs(s_);
    for (const auto& id : TRY(entries(layout().containersDir()))) {
      ++rep_.containers;
      const container::Paths p = cs.paths(id);
      const std::string who = "container " + id;
      auto text = readFile(p.record());
      if (!text) {
        if (text.error().code() == ENOENT) leftover("containers/" + id, "no container.json (an interrupted create or rm)");
        else problem(who + ": " + text.error().what());
        continue;
      }
      auto r = container::recordFromJson(*text);
      if (!r) {
        problem(who + ": container.json: " + r.error().what());
        continue;
      }
      if (!imageIds_.count(r->image.hex)) problem(who + ": its image " + r->image.str() + " is not in the store");
      auto state = readFile(p.state());
      if (!state) problem(who + ": state.json: " + state.error().what());
      else if (auto st = container::stateFromJson(*state); !st) problem(who + ": state.json: " + st.error().what());
      if (!isDirectory(p.upper())) problem(who + ": its writable layer " + p.upper() + " is missing");
    }
    return {};
  }

  store::Store& s_;
  const CheckOptions& opt_;
  CheckReport& rep_;
  std::set<std::string> imageIds_, blobRefs_, layerRefs_, checkedLayers_;
};

}  // namespace

Result<CheckReport> check(store::Store& s, const CheckOptions& opt) {
  CheckReport rep;
  // Exclusive when nobody is adding content: then partial writes are leftovers. Otherwise shared,
  // which still keeps garbage collection from removing anything while the records are checked.
  FileLock guard;
  if (auto excl = TRY(FileLock::tryAcquire(s.layout().gcLock(), FileLock::Mode::Exclusive))) {
    guard = std::move(*excl);
    rep.leftoversChecked = true;
  } else {
    guard = TRY(s.ingestGuard());
  }
  Checker c(s, opt, rep);
  TRYV(c.run());
  return rep;
}

}  // namespace strata::system
