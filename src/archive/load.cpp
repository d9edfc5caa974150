// `load`: stage the outer tar, verify and ingest what its manifests name, then record images.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>

#include "archive/archive.h"
#include "archive/staging.h"
#include "image/images.h"
#include "layer/compression.h"
#include "oci/image.h"
#include "oci/media_types.h"
#include "oci/reference.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace strata::archive {

namespace {

using Json = oci::Json;
constexpr uint64_t kMaxJson = uint64_t(16) << 20;  // manifest.json, index.json, configs
constexpr size_t kChunk = size_t(1) << 20;

#if defined(__aarch64__)
constexpr std::string_view kHostArch = "arm64";
#else
constexpr std::string_view kHostArch = "amd64";
#endif

// An image whose blobs and layers are in the store, waiting for its record.
struct Pending {
  oci::Digest config;
  oci::Digest manifest;
  std::vector<oci::Reference> tags;
};

// Lends a reader to a consumer that wants ownership (Store::addLayer) while we keep it.
class BorrowedReader : public layer::Reader {
 public:
  explicit BorrowedReader(layer::Reader& r) : r_(r) {}
  Result<size_t> read(void* buf, size_t size) override { return r_.read(buf, size); }

 private:
  layer::Reader& r_;
};

Status drain(layer::Reader& r) {
  std::vector<char> buf(kChunk);
  while (TRY(r.read(buf.data(), buf.size())) > 0) {
  }
  return {};
}

// "blobs/sha256/<hex>" names its own digest (OCI layouts, Docker >= 25 archives).
std::optional<oci::Digest> digestFromBlobPath(const std::string& rel) {
  constexpr std::string_view prefix = "blobs/sha256/";
  if (!rel.starts_with(prefix) || !oci::isSha256Hex(std::string_view(rel).substr(prefix.size())))
    return std::nullopt;
  return oci::Digest::sha256(rel.substr(prefix.size()));
}

std::string_view layerMediaType(layer::Compression c) {
  switch (c) {
    case layer::Compression::Gzip: return oci::media::kOciLayerGzip;
    case layer::Compression::Zstd: return oci::media::kOciLayerZstd;
    case layer::Compression::None: break;
  }
  return oci::media::kOciLayer;
}

class Loader {
 public:
  Loader(store::Store& s, const StagedArchive& a) : s_(s), a_(a) {}

  Result<std::vector<Pending>> dockerArchive();
  Result<std::vector<Pending>> ociLayout();

 private:
  Result<oci::Descriptor> ingestLayer(const std::string& rel, const oci::Digest& diffId,
                                      const oci::Descriptor* expected);
  Result<std::string> readBlob(const oci::Descriptor& d);
  Result<oci::Descriptor> pickManifest(const oci::Descriptor& d, int depth);
  Result<Pending> ociImage(const oci::Descriptor& m);

  store::Store& s_;
  const StagedArchive& a_;
  struct Ingested {
    oci::Descriptor blob;
    std::string diffIdHex;
  };
  std::map<std::string, Ingested> ingested_;  // staged name -> what it proved to be
};

// Verifies the staged layer file rel against diffId (and against expected's digest and size,
// when the manifest gives them) in one pass that also unpacks it, then moves it into the blob
// store. A file that several manifest entries name is read once.
Result<oci::Descriptor> Loader::ingestLayer(const std::string& rel, const oci::Digest& diffId,
                                            const oci::Descriptor* expected) {
  const std::string what = "layer `" + rel + "`";
  if (auto it = ingested_.find(rel); it != ingested_.end()) {
    if (it->second.diffIdHex != diffId.hex)
      return failInvalid(what + " does not match its diff_id " + diffId.str() +
                         " (content is sha256:" + it->second.diffIdHex + ")");
    if (expected && expected->digest != it->second.blob.digest)
      return failInvalid(what + " does not match its digest " + expected->digest.str());
    return it->second.blob;
  }

  const std::string path = a_.pathOf(rel);
  UniqueFd fd = TRY_CTX(openFile(path, O_RDONLY | O_NOFOLLOW), what);
  unsigned char head[4] = {};
  ssize_t n = ::pread(fd.get(), head, sizeof head, 0);
  if (n < 0) return failErrno(what + ": read");
  const layer::Compression compression = layer::detectCompression(head, static_cast<size_t>(n));

  // The blob digest has to be known before addLayer records it as the layer's source. An
  // uncompressed layer's blob digest is its diff_id; a blob named by digest says it; only a
  // compressed layer.tar in a legacy archive costs a separate hashing pass.
  oci::Digest blob;
  if (expected) {
    blob = expected->digest;
  } else if (auto named = digestFromBlobPath(rel)) {
    blob = *named;
  } else if (compression == layer::Compression::None) {
    blob = diffId;
  } else {
    layer::HashingReader h(layer::fdReader(fd.get()));
    TRYV_CTX(drain(h), what);
    blob = oci::Digest::sha256(h.hex());
    if (::lseek(fd.get(), 0, SEEK_SET) < 0) return failErrno(what + ": seek");
  }
  if (blob.algorithm != "sha256")
    return failInvalid(what + ": unsupported digest algorithm " + blob.algorithm);

  // One pass: the hashing reader sees the bytes as stored; addLayer decompresses, unpacks (or,
  // for a layer the store has, only digests) and checks the diff_id.
  layer::HashingReader hashing(layer::fdReader(fd.get()));
  TRYV_CTX(s_.addLayer(std::make_unique<BorrowedReader>(hashing), diffId, blob), what);
  TRYV_CTX(drain(hashing), what);
  const std::string got = hashing.hex();
  if (got != blob.hex)
    return failInvalid(what + " does not match its digest " + blob.str() + " (content is sha256:" +
                       got + ")");
  if (expected && expected->size != static_cast<int64_t>(hashing.count()))
    return failInvalid(what + " is " + std::to_string(hashing.count()) +
                       " bytes, its descriptor says " + std::to_string(expected->size));

  // Durable before it is referenced, then moved (not copied) into the store.
  if (!s_.hasBlob(blob)) TRYV(fsyncFd(fd.get(), path));
  fd.reset();
  TRYV_CTX(s_.adoptBlob(path, blob), what);

  oci::Descriptor d;
  if (expected) {
    d = *expected;
  } else {
    d.mediaType = std::string(layerMediaType(compression));
    d.digest = blob;
    d.size = static_cast<int64_t>(hashing.count());
  }
  ingested_[rel] = Ingested{d, diffId.hex};
  return d;
}

Result<std::vector<oci::Reference>> repoTags(const Json& entry) {
  std::vector<oci::Reference> tags;
  auto it = entry.find("RepoTags");
  if (it == entry.end() || it->is_null()) return tags;
  if (!it->is_array()) return failInvalid("manifest.json: RepoTags is not an array");
  for (const auto& t : *it) {
    if (!t.is_string()) return failInvalid("manifest.json: RepoTags holds a non-string");
    const std::string text = t.get<std::string>();
    oci::Reference ref = TRY_CTX(oci::Reference::parse(text), "invalid tag `" + text + "`");
    if (ref.tag.empty() || ref.digest) return failInvalid("invalid tag `" + text + "`");
    tags.push_back(std::move(ref));
  }
  return tags;
}

Result<std::vector<Pending>> Loader::dockerArchive() {
  std::string text = TRY(a_.readSmall("manifest.json", kMaxJson));
  Json doc = Json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_array())
    return failInvalid("manifest.json is not a JSON array");
  std::vector<Pending> out;
  for (const auto& entry : doc) {
    if (!entry.is_object()) return failInvalid("manifest.json: an entry is not an object");
    auto cfgIt = entry.find("Config");
    if (cfgIt == entry.end() || !cfgIt->is_string())
      return failInvalid("manifest.json: an entry has no Config");
    const std::string cfgName = cfgIt->get<std::string>();
    std::string cfgBytes = TRY(a_.readSmall(cfgName, kMaxJson));
    oci::ImageConfig cfg = TRY_CTX(oci::parseImageConfig(cfgBytes), "`" + cfgName + "`");

    std::vector<std::string> layerNames;
    if (auto it = entry.find("Layers"); it != entry.end() && it->is_array())
      for (const auto& l : *it) {
        if (!l.is_string()) return failInvalid("manifest.json: Layers holds a non-string");
        layerNames.push_back(l.get<std::string>());
      }
    if (layerNames.size() != cfg.diffIds.size())
      return failInvalid("image `" + cfgName + "` lists " +
                         std::to_string(layerNames.size()) + " layers but its config has " +
                         std::to_string(cfg.diffIds.size()) + " diff_ids");

    oci::Manifest m;
    m.mediaType = std::string(oci::media::kOciManifest);
    m.config.mediaType = std::string(oci::media::kOciConfig);
    m.config.size = static_cast<int64_t>(cfgBytes.size());
    for (size_t i = 0; i < layerNames.size(); ++i) {
      std::string rel = TRY(a_.resolve(layerNames[i]));
      m.layers.push_back(TRY(ingestLayer(rel, cfg.diffIds[i], nullptr)));
    }
    Pending p;
    p.tags = TRY(repoTags(entry));
    p.config = TRY(s_.putBlob(cfgBytes));
    m.config.digest = p.config;
    p.manifest = TRY(s_.putBlob(oci::serialize(oci::toJson(m))));
    out.push_back(std::move(p));
  }
  return out;
}

// A blob of the layout read whole (manifests, indexes, configs) and checked against d.
Result<std::string> Loader::readBlob(const oci::Descriptor& d) {
  if (d.digest.algorithm != "sha256")
    return failInvalid("blob " + d.digest.str() + ": unsupported digest algorithm");
  std::string bytes = TRY(a_.readSmall("blobs/sha256/" + d.digest.hex, kMaxJson));
  if (Sha256::hexOf(bytes) != d.digest.hex)
    return failInvalid("blob " + d.digest.str() + " does not match its digest");
  if (d.size != static_cast<int64_t>(bytes.size()))
    return failInvalid("blob " + d.digest.str() + " is " + std::to_string(bytes.size()) +
                       " bytes, its descriptor says " + std::to_string(d.size));
  return bytes;
}

// Follows nested indexes down to one image manifest: the only entry, or the host's platform.
Result<oci::Descriptor> Loader::pickManifest(const oci::Descriptor& d, int depth) {
  std::string type = d.mediaType;
  if (type.empty()) {
    std::string bytes = TRY(readBlob(d));
    type = TRY_CTX(oci::sniffMediaType(bytes), "blob " + d.digest.str());
  }
  if (oci::media::isManifest(type)) {
    oci::Descriptor out = d;
    out.mediaType = type;
    return out;
  }
  if (!oci::media::isIndex(type))
    return failInvalid("blob " + d.digest.str() + ": unsupported media type `" + type + "`");
  if (depth >= 4) return failInvalid("index " + d.digest.str() + " is nested too deeply");
  std::string bytes = TRY(readBlob(d));
  oci::Index idx = TRY_CTX(oci::parseIndex(bytes), "index " + d.digest.str());
  const oci::Descriptor* pick = idx.manifests.size() == 1 ? &idx.manifests[0] : nullptr;
  for (const auto& m : idx.manifests)
    if (!pick && m.platform && m.platform->os == "linux" && m.platform->architecture == kHostArch)
      pick = &m;
  if (!pick)
    return failInvalid("index " + d.digest.str() + " has no linux/" +
                       std::string(kHostArch) + " image");
  return pickManifest(*pick, depth + 1);
}

Result<Pending> Loader::ociImage(const oci::Descriptor& md) {
  const std::string manifestBytes = TRY(readBlob(md));
  oci::Manifest m =
      TRY_CTX(oci::parseManifest(manifestBytes), "manifest " + md.digest.str());
  if (m.config.mediaType != oci::media::kOciConfig &&
      m.config.mediaType != oci::media::kDockerConfig)
    return failInvalid("manifest " + md.digest.str() + " is not an image (config type `" +
                       m.config.mediaType + "`)");
  const std::string cfgBytes = TRY(readBlob(m.config));
  oci::ImageConfig cfg =
      TRY_CTX(oci::parseImageConfig(cfgBytes), "config " + m.config.digest.str());
  if (m.layers.size() != cfg.diffIds.size())
    return failInvalid("manifest " + md.digest.str() + " has " +
                       std::to_string(m.layers.size()) + " layers but its config " +
                       std::to_string(cfg.diffIds.size()) + " diff_ids");
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const oci::Descriptor& l = m.layers[i];
    if (l.digest.algorithm != "sha256")
      return failInvalid("layer " + l.digest.str() + ": unsupported digest algorithm");
    std::string rel = TRY(a_.resolve("blobs/sha256/" + l.digest.hex));
    TRYV(ingestLayer(rel, cfg.diffIds[i], &l));
  }
  Pending p;
  p.config = TRY(s_.putBlob(cfgBytes));
  p.manifest = TRY(s_.putBlob(manifestBytes));  // verbatim: the digest holds
  return p;
}

// The name an index entry gives its image. containerd's full name wins; an OCI ref.name is used
// only when it is a whole reference: a bare tag ("latest") names no repository.
std::optional<oci::Reference> nameOf(const oci::Descriptor& d) {
  auto usable = [](const std::string& text) -> std::optional<oci::Reference> {
    auto r = oci::Reference::parse(text);
    if (!r || r->tag.empty() || r->digest) return std::nullopt;
    return *r;
  };
  if (auto it = d.annotations.find("io.containerd.image.name"); it != d.annotations.end())
    if (auto r = usable(it->second)) return r;
  if (auto it = d.annotations.find("org.opencontainers.image.ref.name");
      it != d.annotations.end() && it->second.find_first_of("/:") != std::string::npos)
    return usable(it->second);
  return std::nullopt;
}

Result<std::vector<Pending>> Loader::ociLayout() {
  std::string layout = TRY(a_.readSmall("oci-layout", kMaxJson));
  Json lj = Json::parse(layout, nullptr, false);
  if (lj.is_discarded() || !lj.is_object() || !lj.contains("imageLayoutVersion"))
    return failInvalid("oci-layout is not an OCI layout marker");
  std::string indexBytes = TRY(a_.readSmall("index.json", kMaxJson));
  oci::Index index = TRY_CTX(oci::parseIndex(indexBytes), "index.json");
  std::vector<Pending> out;
  std::map<oci::Digest, size_t> byManifest;  // one image per manifest, however many names
  for (const auto& d : index.manifests) {
    oci::Descriptor md = TRY(pickManifest(d, 0));
    auto it = byManifest.find(md.digest);
    if (it == byManifest.end()) {
      out.push_back(TRY(ociImage(md)));
      it = byManifest.emplace(md.digest, out.size() - 1).first;
    }
    if (auto name = nameOf(d)) {
      auto& tags = out[it->second].tags;
      bool dup = false;
      for (const auto& t : tags) dup = dup || t.str() == name->str();
      if (!dup) tags.push_back(*name);
    }
  }
  return out;
}

// Records each image and says what Docker says.
// Records every image of the archive with one update of the index, and says what Docker says:
// a tag that moves from another image renames that one to the empty string.
Result<LoadResult> recordAll(store::Store& s, const std::vector<Pending>& pending) {
  LoadResult res;
  std::map<std::string, oci::Digest> owner;  // fully qualified tag -> image, as records are added
  for (const auto& r : TRY(s.images()))
    for (const auto& t : r.tags) owner[t] = r.id;
  std::vector<image::NewRecord> records;
  for (const auto& p : pending) {
    records.push_back({p.config, p.manifest, p.tags});
    for (const auto& t : p.tags) {
      const std::string full = t.str();
      if (auto it = owner.find(full); it != owner.end() && it->second != p.config)
        res.lines.push_back("The image " + t.familiar() + " already exists, renaming the old one with ID " +
                            it->second.str() + " to empty string");
      owner[full] = p.config;
      res.lines.push_back("Loaded image: " + t.familiar());
    }
    if (p.tags.empty()) res.lines.push_back("Loaded image ID: " + p.config.str());
  }
  TRYV(image::recordImages(s, records));
  return res;
}

}  // namespace

static Result<LoadResult> loadGuarded(store::Store& s, int fd) {
  auto src = TRY(layer::decompressingReader(layer::fdReader(fd)));
  StagedArchive staged = TRY(StagedArchive::read(std::move(src), s.tmpDir()));

  Loader loader(s, staged);
  std::vector<Pending> pending;
  // Docker >= 25 writes both; manifest.json is the one every Docker version reads.
  if (staged.exists("manifest.json"))
    pending = TRY(loader.dockerArchive());
  else if (staged.exists("index.json") && staged.exists("oci-layout"))
    pending = TRY(loader.ociLayout());
  else
    return failInvalid(
        "archive is not a docker-archive or oci-archive: no manifest.json or index.json");
  // Every image is verified before the first record: a bad layer anywhere records nothing.
  return recordAll(s, pending);
}

Result<LoadResult> load(store::Store& s, int fd) {
  // The ingest guard is held until the records are saved, so garbage collection cannot take
  // blobs and layers that are in the store but not referenced yet; a failed load is undone.
  return store::ingest(s, [&] { return loadGuarded(s, fd); });
}

}  // namespace strata::archive
