#include "store/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include <nlohmann/json.hpp>

#include "layer/overlay_tree.h"
#include "layer/tar.h"
#include "oci/image.h"
#include "store/layer_tar.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace strata::store {

using Json = nlohmann::ordered_json;

std::string Layout::defaultRoot() {
  const char* env = std::getenv("STRATA_ROOT");
  return env && *env ? std::string(env) : std::string("/var/lib/strata");
}

// ---------------------------------------------------------------- BlobWriter

struct BlobWriter::Impl {
  Store* store = nullptr;
  std::string path;
  UniqueFd fd;
  Sha256 hash;
  uint64_t size = 0;
  bool committed = false;
};

BlobWriter::BlobWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BlobWriter::BlobWriter(BlobWriter&&) noexcept = default;
BlobWriter& BlobWriter::operator=(BlobWriter&&) noexcept = default;
BlobWriter::~BlobWriter() {
  if (impl_ && !impl_->committed) ::unlink(impl_->path.c_str());
}

Status BlobWriter::write(const void* data, size_t size) {
  impl_->hash.update(data, size);
  impl_->size += size;
  return writeAll(impl_->fd.get(), data, size);
}

uint64_t BlobWriter::size() const { return impl_->size; }

Result<oci::Digest> BlobWriter::commit(const std::optional<oci::Digest>& expected) {
  oci::Digest got = oci::Digest::sha256(impl_->hash.hex());
  if (expected && *expected != got)
    return failInvalid("digest mismatch: expected " + expected->str() + ", content is " +
                       got.str());
  TRYV(fsyncFd(impl_->fd.get(), impl_->path));
  impl_->fd.reset();
  TRYV(impl_->store->adoptBlob(impl_->path, got));
  impl_->committed = true;
  return got;
}

// ---------------------------------------------------------------- Store

Result<Store> Store::open(const std::string& root) {
  if (root.empty()) return failInvalid("store root is empty");
  Layout l(root);
  for (const auto& d : {l.blobsDir(), l.layersDir(), l.containersDir(), l.tmpDir(), l.locksDir(),
                        l.builderDir(), l.imagesDir(), l.refsDir()})
    TRYV_CTX(mkdirAll(d, 0700), "open store `" + root + "`");
  Store s(std::move(l));
  if (pathExists(s.layout_.legacyImagesFile())) TRYV_CTX(s.moveLegacyImages(), "open store `" + root + "`");
  return s;
}

bool Store::hasBlob(const oci::Digest& d) const {
  return pathExists(layout_.blob(d)) || layerMakingBlob(d).has_value();
}

std::optional<LayerInfo> Store::layerMakingBlob(const oci::Digest& d) const {
  if (d.algorithm != "sha256") return std::nullopt;
  auto info = layerInfo(d.hex);
  if (!info || !info->tarFromTree || !isDirectory(layout_.layerTree(d.hex))) return std::nullopt;
  return std::move(*info);
}

Result<std::string> Store::readBlob(const oci::Digest& d) const {
  auto data = readFile(layout_.blob(d));
  if (!data) {
    if (data.error().code() == ENOENT) return failInvalid("blob " + d.str() + " is missing from the store");
    return fail(std::move(data).error());
  }
  if (d.algorithm == "sha256" && Sha256::hexOf(*data) != d.hex)
    return failInvalid("blob " + d.str() + " is corrupt: its content does not match its digest");
  return std::move(*data);
}

Result<std::unique_ptr<layer::Reader>> Store::openBlob(const oci::Digest& d) const {
  auto fd = openBlobFile(d);
  if (fd) return layer::fdReader(std::move(*fd));
  if (auto made = layerMakingBlob(d))
    return openLayerTar(layout_.layerTree(d.hex), d.hex, made->tarSize);
  return fail(std::move(fd).error());
}

Result<UniqueFd> Store::openBlobFile(const oci::Digest& d) const {
  return openFile(layout_.blob(d), O_RDONLY);
}

Result<uint64_t> Store::blobSize(const oci::Digest& d) const {
  struct stat st;
  if (::stat(layout_.blob(d).c_str(), &st) == 0) return static_cast<uint64_t>(st.st_size);
  Result<uint64_t> missing = failErrno("stat blob " + d.str());
  if (auto made = layerMakingBlob(d)) return made->tarSize;
  return missing;
}

Result<oci::Digest> Store::putBlob(std::string_view data) {
  oci::Digest d = oci::Digest::of(data);
  if (hasBlob(d)) return d;
  BlobWriter w = TRY(newBlobWriter());
  TRYV(w.write(data.data(), data.size()));
  return w.commit(d);
}

Result<BlobWriter> Store::newBlobWriter() {
  auto impl = std::make_unique<BlobWriter::Impl>();
  impl->store = this;
  std::string tmpl = layout_.tmpDir() + "/blob-XXXXXX";
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return failErrno("create temp blob in `" + layout_.tmpDir() + "`");
  impl->fd.reset(fd);
  impl->path = std::move(tmpl);
  return BlobWriter(std::move(impl));
}

Status Store::adoptBlob(const std::string& path, const oci::Digest& d) {
  std::string dest = layout_.blob(d);
  if (::chmod(path.c_str(), 0444) < 0) return failErrno("chmod `" + path + "`");
  if (hasBlob(d)) {  // another writer won the race, or a layer's tree makes it; same content
    ::unlink(path.c_str());
    return {};
  }
  TRYV(mkdirAll(dirName(dest), 0700));
  if (::rename(path.c_str(), dest.c_str()) < 0)
    return failErrno("rename `" + path + "` to `" + dest + "`");
  return fsyncDir(dirName(dest));
}

// ---------------------------------------------------------------- layers

std::optional<oci::Digest> Store::compressedLayer(const std::string& diffIdHex, layer::Compression c) const {
  auto text = readFile(layout_.layerCompressed(diffIdHex, layer::compressionName(c)));
  if (!text) return std::nullopt;
  auto d = oci::Digest::parse(*text);
  if (!d || !hasBlob(*d)) return std::nullopt;
  return *d;
}

Status Store::recordCompressedLayer(const std::string& diffIdHex, layer::Compression c,
                                    const oci::Digest& blob) {
  return writeFileAtomic(layout_.layerCompressed(diffIdHex, layer::compressionName(c)), blob.str());
}

// ---------------------------------------------------------------- distribution metadata

std::vector<std::string> Store::blobSources(const oci::Digest& d) const {
  std::vector<std::string> out;
  auto text = readFile(layout_.blobSources(d));
  if (!text) return out;
  for (size_t p = 0; p < text->size();) {
    size_t nl = text->find('\n', p);
    if (nl == std::string::npos) nl = text->size();
    std::string repo = text->substr(p, nl - p);
    if (!repo.empty() && std::find(out.begin(), out.end(), repo) == out.end()) out.push_back(repo);
    p = nl + 1;
  }
  return out;
}

Status Store::addBlobSource(const oci::Digest& d, const std::string& repository) {
  auto known = blobSources(d);
  if (std::find(known.begin(), known.end(), repository) != known.end()) return {};
  TRYV(mkdirAll(layout_.distributionDir(), 0700));
  // One short O_APPEND write per line: concurrent writers never interleave within a line.
  UniqueFd fd = TRY(openFile(layout_.blobSources(d), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  return writeAll(fd.get(), repository + "\n");
}

bool Store::hasLayer(const std::string& diffIdHex) const {
  return pathExists(layout_.layerMeta(diffIdHex));
}

Result<LayerInfo> Store::layerInfo(const std::string& diffIdHex) const {
  std::string text = TRY_CTX(readFile(layout_.layerMeta(diffIdHex)),
                             "layer sha256:" + diffIdHex + " is not in the store");
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return failInvalid("layer sha256:" + diffIdHex + ": corrupt meta.json");
  LayerInfo info;
  info.diffIdHex = diffIdHex;
  info.blob = TRY_CTX(oci::Digest::parse(j.value("blob", "")), "layer sha256:" + diffIdHex);
  info.size = j.value("size", uint64_t(0));
  info.tarSize = j.value("tarSize", uint64_t(0));
  info.tarFromTree = j.value("tarFromTree", false);
  return info;
}

Result<LayerInfo> Store::addLayer(std::unique_ptr<layer::Reader> src, const oci::Digest& diffId,
                                  const oci::Digest& blob) {
  return addLayerImpl(std::move(src), diffId, blob);
}

Result<LayerInfo> Store::addLayerUnverified(std::unique_ptr<layer::Reader> src) {
  return addLayerImpl(std::move(src), std::nullopt, std::nullopt);
}

Result<LayerInfo> Store::addLayerImpl(std::unique_ptr<layer::Reader> src,
                                      const std::optional<oci::Digest>& diffId,
                                      const std::optional<oci::Digest>& blobOpt) {
  const oci::Digest blob = blobOpt ? *blobOpt : oci::Digest{};
  if (diffId && hasLayer(diffId->hex)) {
    // Already unpacked: still read the stream through so the caller's hashes are complete and
    // the content is verified.
    auto r = TRY(layer::digestLayer(std::move(src)));
    if (r.diffIdHex != diffId->hex)
      return failInvalid("layer " + blob.str() + " does not match its diff_id " + diffId->str() +
                         " (content is sha256:" + r.diffIdHex + ")");
    return layerInfo(diffId->hex);
  }
  TempDir staging = TRY(TempDir::create(layout_.tmpDir(), "layer-"));
  std::string tree = staging.path() + "/diff";
  TRYV(mkdirAll(tree, 0755));
  layer::ExtractOptions opts;
  opts.restoreOwnership = ::geteuid() == 0;
  auto r = TRY_CTX(layer::extractLayer(std::move(src), tree, opts), "unpack layer" + (blobOpt ? " " + blob.str() : std::string()));
  if (diffId && r.diffIdHex != diffId->hex)
    return failInvalid("layer " + blob.str() + " does not match its diff_id " + diffId->str() +
                       " (content is sha256:" + r.diffIdHex + ")");
  LayerInfo info;
  info.diffIdHex = r.diffIdHex;
  info.blob = blobOpt ? blob : oci::Digest::sha256(r.diffIdHex);
  info.tarSize = r.uncompressedSize;
  info.size = TRY(treeSize(tree));
  if (hasLayer(info.diffIdHex)) return layerInfo(info.diffIdHex);  // unverified import of a known layer
  return installLayer(staging, info);
}

// staging holds diff/; adds meta.json and moves it to layers/<diff_id>.
Result<LayerInfo> Store::installLayer(TempDir& staging, const LayerInfo& info) {
  Json meta = Json::object();
  meta["blob"] = info.blob.str();
  meta["size"] = info.size;
  meta["tarSize"] = info.tarSize;
  if (info.tarFromTree) meta["tarFromTree"] = true;
  TRYV(writeFileAtomic(staging.path() + "/meta.json", meta.dump()));
  std::string dest = layout_.layerDir(info.diffIdHex);
  if (::rename(staging.path().c_str(), dest.c_str()) < 0) {
    if (errno == EEXIST || errno == ENOTEMPTY) return layerInfo(info.diffIdHex);  // lost a race
    return failErrno("rename `" + staging.path() + "` to `" + dest + "`");
  }
  staging.release();
  TRYV(fsyncDir(layout_.layersDir()));
  return info;
}

Result<layer::WriteTarResult> Store::putLayerTar(const std::string& dir,
                                                 const std::function<void()>& then) {
  std::string tmpl = layout_.tmpDir() + "/layer-XXXXXX";
  int raw = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (raw < 0) return failErrno("create a temporary file in `" + layout_.tmpDir() + "`");
  UniqueFd fd(raw);
  auto written = writeLayerTar(dir, fd.get());
  if (then) then();
  Status durable = written ? fsyncFd(fd.get(), tmpl) : Status{};
  if (!written || !durable) {
    ::unlink(tmpl.c_str());
    if (!written) return fail(std::move(written).error().wrap("write the layer of `" + dir + "`"));
    return fail(std::move(durable).error());
  }
  TRYV(adoptBlob(tmpl, oci::Digest::sha256(written->sha256Hex)));
  return written;
}

Result<std::optional<LayerInfo>> Store::adoptLayerTree(const std::string& dir) {
  // Cleaned first and hashed after: the diff_id is that of the tree exactly as it is kept.
  if (!TRY(layer::prepareUpperAsLayer(dir))) return std::optional<LayerInfo>();
  const auto tar = TRY_CTX(writeLayerTar(dir, [](const void*, size_t) { return Status{}; }),
                           "write the layer of `" + dir + "`");
  const oci::Digest diffId = oci::Digest::sha256(tar.sha256Hex);
  // The same layer unpacked from a compressed blob keeps a tree that need not give this tar.
  auto storeTarIfMissing = [&](const std::string& tree) -> Status {
    if (hasBlob(diffId)) return {};
    if (TRY(putLayerTar(tree)).sha256Hex != diffId.hex) return fail(layerChangedError(diffId.hex));
    return {};
  };
  if (hasLayer(diffId.hex)) {
    TRYV(storeTarIfMissing(dir));
    return std::optional<LayerInfo>(TRY(layerInfo(diffId.hex)));
  }
  TempDir staging = TRY(TempDir::create(layout_.tmpDir(), "layer-"));
  const std::string tree = staging.path() + "/diff";
  if (::rename(dir.c_str(), tree.c_str()) < 0) return failErrno("rename `" + dir + "` to `" + tree + "`");
  // The tree's files were written without fsync, as Docker's snapshots are: a layer whose tree
  // lost data in a power failure no longer gives its diff_id's tar, which system check reports
  // and every read of the blob refuses.
  LayerInfo info;
  info.diffIdHex = diffId.hex;
  info.blob = diffId;
  info.tarSize = tar.size;
  info.tarFromTree = true;
  info.size = TRY(treeSize(tree));
  LayerInfo installed = TRY(installLayer(staging, info));
  if (!installed.tarFromTree) TRYV(storeTarIfMissing(tree));  // lost a race to that layer
  return std::optional<LayerInfo>(std::move(installed));
}

// ---------------------------------------------------------------- gc

Result<FileLock> Store::ingestGuard() const {
  return FileLock::acquire(layout_.gcLock(), FileLock::Mode::Shared);
}

Result<std::vector<oci::Digest>> referencedBlobs(const Store& s, const ImageRecord& r) {
  std::vector<oci::Digest> out{r.manifest, r.id};
  std::string text = TRY(s.readBlob(r.manifest));
  oci::Manifest m = TRY_CTX(oci::parseManifest(text), "manifest " + r.manifest.str());
  for (const auto& l : m.layers) out.push_back(l.digest);
  return out;
}

// Build cache records keep what they name: {"blobs": [hex...], "layers": [hex...], ...}.
bool readBuildCacheRoots(const std::string& path, std::set<std::string>& blobs, std::set<std::string>& layers) {
  auto text = readFile(path);
  auto json = text ? oci::Json::parse(*text, nullptr, false) : oci::Json();
  if (!text || json.is_discarded() || !json.is_object()) return false;
  for (const char* key : {"blobs", "layers"}) {
    auto it = json.find(key);
    if (it == json.end() || !it->is_array()) continue;
    for (const auto& hex : *it)
      if (hex.is_string()) (std::string(key) == "blobs" ? blobs : layers).insert(hex.get<std::string>());
  }
  return true;
}

// A record that cannot be read is removed: it could only ever be a cache miss.
Status Store::buildCacheRoots(std::set<std::string>& blobs, std::set<std::string>& layers) const {
  auto names = listDirectory(layout_.buildCacheDir());
  if (!names) return names.error().code() == ENOENT ? Status{} : fail(std::move(names).error());
  for (const auto& name : *names) {
    const std::string path = layout_.buildCacheDir() + "/" + name;
    if (!readBuildCacheRoots(path, blobs, layers)) ::unlink(path.c_str());
  }
  return {};
}

Result<uint64_t> Store::collectGarbage() {
  auto lock = TRY(FileLock::tryAcquire(layout_.gcLock(), FileLock::Mode::Exclusive));
  if (!lock) return uint64_t(0);  // someone is adding content; collect later
  std::set<std::string> blobs, layers;
  for (const auto& r : TRY(images())) {
    for (const auto& d : TRY(referencedBlobs(*this, r))) blobs.insert(d.hex);
    oci::ImageConfig cfg = TRY(oci::parseImageConfig(TRY(readBlob(r.id))));
    for (const auto& d : cfg.diffIds) layers.insert(d.hex);
  }
  TRYV(buildCacheRoots(blobs, layers));
  // A kept layer keeps the compressed blobs push made of it, so the next push reuses them.
  for (const auto& hex : layers)
    for (auto c : {layer::Compression::Gzip, layer::Compression::Zstd})
      if (auto d = compressedLayer(hex, c)) blobs.insert(d->hex);
  uint64_t freed = 0;
  for (const auto& name : TRY(listDirectory(layout_.blobsDir()))) {
    if (blobs.count(name)) continue;
    std::string p = layout_.blobsDir() + "/" + name;
    struct stat st;
    if (::lstat(p.c_str(), &st) == 0) freed += static_cast<uint64_t>(st.st_size);
    if (::unlink(p.c_str()) < 0 && errno != ENOENT) return failErrno("remove `" + p + "`");
  }
  for (const auto& name : TRY(listDirectory(layout_.layersDir()))) {
    if (layers.count(name)) continue;
    std::string p = layout_.layersDir() + "/" + name;
    if (auto info = layerInfo(name)) freed += info->size;
    // Rename first so a crash never leaves a half-deleted layer under its real name.
    std::string doomed = layout_.tmpDir() + "/gc-" + name;
    if (::rename(p.c_str(), doomed.c_str()) < 0) return failErrno("remove `" + p + "`");
    TRYV(removeAll(doomed));
  }
  for (const auto& name : TRY(listDirectory(layout_.distributionDir())))
    if (!blobs.count(name)) ::unlink((layout_.distributionDir() + "/" + name).c_str());
  for (const auto& name : TRY(listDirectory(layout_.tmpDir())))
    TRYV(removeAll(layout_.tmpDir() + "/" + name));
  return freed;
}

}  // namespace strata::store
