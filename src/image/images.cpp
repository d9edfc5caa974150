#include "image/images.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "layer/tar.h"
#include "oci/media_types.h"
#include "util/format.h"
#include "util/fs.h"

namespace strata::image {

using store::ImageRecord;

std::string familiarTag(const std::string& qualified) {
  auto ref = oci::Reference::parse(qualified);
  return ref ? ref->familiar() : qualified;
}

static bool hasTag(const ImageRecord& r, const std::string& tag) {
  return std::find(r.tags.begin(), r.tags.end(), tag) != r.tags.end();
}

// Whether r has name, a fully qualified tag or repository@digest.
static bool hasName(const ImageRecord& r, const std::string& name) {
  return hasTag(r, name) || std::find(r.digests.begin(), r.digests.end(), name) != r.digests.end();
}

// The name a parsed reference is kept under.
static std::string nameOf(const oci::Reference& ref) {
  return ref.digest ? ref.repository() + "@" + ref.digest->str() : ref.str();
}

namespace {

// Where resolution looks: the image a name (tag or repository@digest) points at, one whose
// manifest has a digest, every image ID, and the image with an ID.
struct Lookups {
  std::function<Result<std::optional<ImageRecord>>(const std::string&)> named;
  std::function<Result<std::optional<ImageRecord>>(const oci::Digest&)> withManifest;
  std::function<Result<std::vector<oci::Digest>>()> ids;
  std::function<Result<std::optional<ImageRecord>>(const oci::Digest&)> withId;
};

// Docker's order: a reference by its name, then a repository@digest by the manifest digest
// alone (an image pulled under another name), then an unambiguous ID prefix.
Result<ImageRecord> resolveWith(const Lookups& look, std::string_view arg) {
  auto ref = oci::Reference::parse(arg);
  if (ref) {
    if (auto r = TRY(look.named(nameOf(*ref)))) return *r;
    if (ref->digest)
      if (auto r = TRY(look.withManifest(*ref->digest))) return *r;
  }
  auto prefix = oci::asImageIdPrefix(arg);
  if (prefix) {
    std::optional<oci::Digest> found;
    for (const auto& id : TRY(look.ids())) {
      if (id.hex.compare(0, prefix->size(), *prefix) != 0 || id == found) continue;
      if (found) return failInvalid("image ID prefix `" + std::string(arg) + "` is ambiguous");
      found = id;
    }
    if (found)
      if (auto r = TRY(look.withId(*found))) return *r;
  }
  if (!ref && !prefix) return fail(std::move(ref).error());
  return failInvalid("No such image: " + std::string(arg));
}

}  // namespace

Result<ImageRecord> resolve(const store::Store& s, std::string_view arg) {
  return resolveWith(
      {.named = [&](const std::string& name) { return s.imageNamed(name); },
       .withManifest = [&](const oci::Digest& d) -> Result<std::optional<ImageRecord>> {
         for (const auto& r : TRY(s.images()))
           if (r.manifest == d) return std::optional<ImageRecord>(r);
         return std::optional<ImageRecord>();
       },
       .ids = [&] { return s.imageIds(); },
       .withId = [&](const oci::Digest& id) { return s.image(id); }},
      arg);
}

Result<ImageRecord> resolveIn(const std::vector<ImageRecord>& recs, std::string_view arg) {
  auto first = [&](auto&& pred) -> Result<std::optional<ImageRecord>> {
    auto it = std::find_if(recs.begin(), recs.end(), pred);
    return it == recs.end() ? std::optional<ImageRecord>() : std::optional<ImageRecord>(*it);
  };
  return resolveWith(
      {.named = [&](const std::string& name) { return first([&](const ImageRecord& r) { return hasName(r, name); }); },
       .withManifest = [&](const oci::Digest& d) { return first([&](const ImageRecord& r) { return r.manifest == d; }); },
       .ids = [&]() -> Result<std::vector<oci::Digest>> {
         std::vector<oci::Digest> ids;
         for (const auto& r : recs) ids.push_back(r.id);
         return ids;
       },
       .withId = [&](const oci::Digest& id) { return first([&](const ImageRecord& r) { return r.id == id; }); }},
      arg);
}

Result<Loaded> load(const store::Store& s, const ImageRecord& r) {
  Loaded l;
  l.record = r;
  std::string m = TRY(s.readBlob(r.manifest));
  l.manifest = TRY_CTX(oci::parseManifest(m), "image " + r.id.str());
  std::string c = TRY(s.readBlob(r.id));
  l.config = TRY_CTX(oci::parseImageConfig(c), "image " + r.id.str());
  return l;
}

namespace {

// The descriptor of a layer whose blob is its uncompressed tar.
LayerDesc uncompressedLayer(const oci::Digest& diffId, uint64_t size) {
  oci::Descriptor d;
  d.mediaType = std::string(oci::media::kOciLayer);
  d.digest = diffId;
  d.size = static_cast<int64_t>(size);
  return LayerDesc{d, diffId};
}

// Writes dir's layer tar into the blob store; returns the layer's descriptor.
Result<LayerDesc> storeLayerTar(store::Store& s, const std::string& dir,
                                const std::function<void()>& then) {
  const layer::WriteTarResult written = TRY(s.putLayerTar(dir, then));
  return uncompressedLayer(oci::Digest::sha256(written.sha256Hex), written.size);
}

Status unpackLayerTar(store::Store& s, const LayerDesc& l) {
  TRYV(s.addLayer(TRY(s.openBlob(l.diffId)), l.diffId, l.diffId));
  return {};
}

}  // namespace

Result<LayerDesc> addLayerFromDir(store::Store& s, const std::string& dir,
                                  const std::function<void()>& then) {
  LayerDesc l = TRY(storeLayerTar(s, dir, then));
  TRYV(unpackLayerTar(s, l));
  return l;
}

Result<LayerDesc> addLayerAdoptingDir(store::Store& s, const std::string& dir) {
  LayerDesc l;
  if (auto adopted = TRY(s.adoptLayerTree(dir))) {
    l = uncompressedLayer(oci::Digest::sha256(adopted->diffIdHex), adopted->tarSize);
  } else {
    l = TRY(storeLayerTar(s, dir, {}));
    TRYV(unpackLayerTar(s, l));
  }
  TRYV(removeAll(dir));
  return l;
}

Result<ImageRecord> addImage(store::Store& s, const oci::ImageConfig& config,
                             const std::vector<LayerDesc>& layers,
                             const std::vector<oci::Reference>& tags,
                             const std::optional<oci::Digest>& parent) {
  std::string configBytes = oci::serialize(oci::toJson(config));
  oci::Digest configDigest = TRY(s.putBlob(configBytes));
  oci::Manifest m;
  m.mediaType = std::string(oci::media::kOciManifest);
  m.config.mediaType = std::string(oci::media::kOciConfig);
  m.config.digest = configDigest;
  m.config.size = static_cast<int64_t>(configBytes.size());
  for (const auto& l : layers) m.layers.push_back(l.blob);
  oci::Digest manifestDigest = TRY(s.putBlob(oci::serialize(oci::toJson(m))));
  return recordImage(s, configDigest, manifestDigest, tags, {}, parent);
}

// Removes tag from every record but keep; returns nothing (records that lose their last tag
// stay, dangling, as in Docker).
static void moveTag(std::vector<ImageRecord>& recs, const std::string& tag, const oci::Digest& keep) {
  for (auto& r : recs) {
    if (r.id == keep) continue;
    std::erase(r.tags, tag);
  }
}

namespace {

ImageRecord newRecord(const oci::Digest& configDigest, const oci::Digest& manifestDigest,
                      const std::optional<oci::Digest>& parent, const std::string& now) {
  ImageRecord r;
  r.id = configDigest;
  r.manifest = manifestDigest;
  r.added = now;
  r.parent = parent;
  return r;
}

// Points tags and repoDigests at r (the store takes them from the images that had them).
void addNames(ImageRecord& r, const std::vector<oci::Reference>& tags,
              const std::vector<std::string>& repoDigests, const std::string& now) {
  for (const auto& t : tags) {
    std::string q = t.str();
    if (!hasTag(r, q)) r.tags.push_back(q);
    r.lastTagTime = now;
  }
  for (const auto& d : repoDigests)
    if (std::find(r.digests.begin(), r.digests.end(), d) == r.digests.end()) r.digests.push_back(d);
}

}  // namespace

Result<ImageRecord> recordImage(store::Store& s, const oci::Digest& configDigest,
                                const oci::Digest& manifestDigest,
                                const std::vector<oci::Reference>& tags,
                                const std::vector<std::string>& repoDigests,
                                const std::optional<oci::Digest>& parent) {
  ImageRecord saved;
  const std::string now = nowRfc3339Nano();
  TRYV(s.updateImage(configDigest, [&](std::optional<ImageRecord>& r) -> Status {
    if (!r) r = newRecord(configDigest, manifestDigest, parent, now);
    addNames(*r, tags, repoDigests, now);
    saved = *r;
    return {};
  }));
  return saved;
}

Status recordImages(store::Store& s, const std::vector<NewRecord>& images) {
  const std::string now = nowRfc3339Nano();
  return s.updateImages([&](std::vector<ImageRecord>& recs) -> Status {
    for (const auto& n : images) {
      auto it = std::find_if(recs.begin(), recs.end(), [&](const ImageRecord& r) { return r.id == n.configDigest; });
      if (it == recs.end()) {
        recs.push_back(newRecord(n.configDigest, n.manifestDigest, std::nullopt, now));
        it = std::prev(recs.end());
      }
      for (const auto& t : n.tags) moveTag(recs, t.str(), n.configDigest);
      addNames(*it, n.tags, {}, now);
    }
    return {};
  });
}

Status tag(store::Store& s, const ImageRecord& image, const oci::Reference& ref) {
  if (ref.digest) return failInvalid("refusing to create a tag with a digest reference: " + ref.familiar());
  TRYV(recordImage(s, image.id, image.manifest, {ref}));
  return {};
}

Result<std::vector<oci::Digest>> imagesInUse(const store::Store& s) {
  std::vector<oci::Digest> out;
  const std::string dir = s.layout().containersDir();
  auto names = TRY(listDirectory(dir));
  for (const auto& n : names) {
    auto text = readFile(dir + "/" + n + "/container.json");
    if (!text) continue;  // a container being created or removed
    auto j = oci::Json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    if (auto d = oci::Digest::parse(j.value("Image", ""))) out.push_back(*d);
  }
  return out;
}

// ChainIDs of a layer stack: ChainID(L0) = DiffID(L0), ChainID(L0..n) =
// sha256(ChainID(L0..n-1) + " " + DiffID(Ln)). Docker names the layers it deletes by them.
static std::vector<oci::Digest> chainIds(const std::vector<oci::Digest>& diffIds) {
  std::vector<oci::Digest> out;
  for (const auto& d : diffIds)
    out.push_back(out.empty() ? d : oci::Digest::of(out.back().str() + " " + d.str()));
  return out;
}

static Result<std::vector<oci::Digest>> imageChainIds(const store::Store& s, const oci::Digest& id) {
  std::string text = TRY(s.readBlob(id));
  oci::ImageConfig cfg = TRY_CTX(oci::parseImageConfig(text), "image " + id.str());
  return chainIds(cfg.diffIds);
}

static std::string shortId(const oci::Digest& d) { return d.hex.substr(0, 12); }

// Distinct repositories among fully qualified tags.
static size_t repositoryCount(const std::vector<std::string>& tags) {
  std::set<std::string> repos;
  for (const auto& t : tags) {
    auto ref = oci::Reference::parse(t);
    repos.insert(ref ? ref->repository() : t);
  }
  return repos.size();
}

namespace {

// The chain IDs of every image, and for each chain ID how many images stack their layers so.
struct Chains {
  std::map<oci::Digest, std::vector<oci::Digest>> of;
  std::map<oci::Digest, size_t> users;
};

// One argument of rmi applied to recs: its lines, or an error (found before anything changes).
Status removeOne(std::vector<ImageRecord>& recs, const std::string& arg, const RemoveOptions& opt,
                 const std::vector<oci::Digest>& inUse, Chains& chains, std::vector<std::string>& out) {
  auto used = [&](const oci::Digest& d) { return std::find(inUse.begin(), inUse.end(), d) != inUse.end(); };
  const ImageRecord target = TRY(resolveIn(recs, arg));
  auto ref = oci::Reference::parse(arg);
  // By name also when a repository@digest found the image by its manifest alone.
  const bool byName = ref && (hasName(target, nameOf(*ref)) || (ref->digest && target.manifest == *ref->digest));
  auto it = std::find_if(recs.begin(), recs.end(), [&](const ImageRecord& r) { return r.id == target.id; });
  if (byName) {
    const std::string name = nameOf(*ref);
    bool lastName = it->tags.size() + it->digests.size() <= 1;
    if (lastName && used(it->id) && !opt.force)
      return failInvalid("conflict: unable to remove repository reference \"" + arg +
                         "\" (must force) - container is using its referenced image " + shortId(it->id));
    std::erase(it->tags, name);
    std::erase(it->digests, name);
    out.push_back("Untagged: " + (ref->digest ? familiarTag(name) : ref->familiar()));
    if (!it->tags.empty() || (!it->digests.empty() && !ref->digest)) return {};
    // Last tag gone: the image's digest references go with it, then the image.
    for (const auto& d : it->digests) out.push_back("Untagged: " + familiarTag(d));
    it->digests.clear();
    if (used(it->id)) return {};  // forced: keep the image (dangling) for its container
  } else {
    if (used(it->id) && !opt.force)
      return failInvalid("conflict: unable to delete " + shortId(it->id) +
                         " (cannot be forced) - image is being used by a container");
    if (repositoryCount(it->tags) > 1 && !opt.force)
      return failInvalid("conflict: unable to delete " + shortId(it->id) +
                         " (must be forced) - image is referenced in multiple repositories");
    if (used(it->id))
      return failInvalid("conflict: unable to delete " + shortId(it->id) + " - image is being used by a container");
    for (const auto& t : it->tags) out.push_back("Untagged: " + familiarTag(t));
    for (const auto& d : it->digests) out.push_back("Untagged: " + familiarTag(d));
  }
  out.push_back("Deleted: " + it->id.str());
  const std::vector<oci::Digest>& ids = chains.of.at(it->id);
  recs.erase(it);
  // Layers no remaining image stacks the same way go too, top first (Docker's lines).
  for (auto c = ids.rbegin(); c != ids.rend(); ++c)
    if (--chains.users[*c] == 0) out.push_back("Deleted: " + c->str());
  return {};
}

}  // namespace

Result<RemoveResult> remove(store::Store& s, const std::vector<std::string>& args,
                            const RemoveOptions& opt) {
  RemoveResult result;
  // Containers are added under this lock after checking that their image exists.
  FileLock containersGuard = TRY(FileLock::acquire(s.layout().containersLock(), FileLock::Mode::Exclusive));
  const std::vector<oci::Digest> inUse = TRY(imagesInUse(s));
  // All arguments in one update of the index, each as if alone: one that fails changes nothing.
  TRYV(s.updateImages([&](std::vector<ImageRecord>& recs) -> Status {
    result.lines.clear();
    result.errors.clear();
    Chains chains;
    for (const auto& r : recs) {
      auto& ids = chains.of[r.id] = TRY(imageChainIds(s, r.id));
      for (const auto& c : ids) ++chains.users[c];
    }
    for (const auto& arg : args) {
      std::vector<std::string> out;
      if (Status st = removeOne(recs, arg, opt, inUse, chains, out); !st) {
        result.errors.push_back(st.error().what());
        continue;
      }
      result.lines.insert(result.lines.end(), out.begin(), out.end());
    }
    return {};
  }));
  if (opt.prune && !result.lines.empty()) result.reclaimed = TRY(s.collectGarbage());
  return result;
}

}  // namespace strata::image
