// The content-addressed image store.
//
// Blobs are immutable files named by their sha256 and written atomically (temp, fsync, rename).
// Layers are unpacked once per diff_id. A layer a build step made keeps its tree only: its
// uncompressed tar, the blob sha256:<diff_id>, is made from the tree whenever it is read. The
// image records (images/, refs/) are changed under an exclusive lock, each file replaced
// atomically, so readers never lock and never see a half-written file.
//
// Concurrency: any process adding content holds the shared gc lock (ingestGuard()) from the first
// blob it writes until its image record is saved, and so does any process with files under tmp/;
// garbage collection takes the gc lock exclusively and without waiting, so it never removes a
// blob that another process is about to reference, nor another process's temporary files. Two
// processes writing the same blob or layer race harmlessly: the first rename wins and the loser
// discards its copy.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "layer/compression.h"
#include "layer/tar.h"
#include "oci/digest.h"
#include "store/layout.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/lock.h"

namespace strata::store {

struct ImageRecord {
  oci::Digest id;        // digest of the image config (the image ID)
  oci::Digest manifest;  // digest of the manifest blob describing config and layers
  std::vector<std::string> tags;     // fully qualified: "docker.io/library/busybox:latest"
  std::vector<std::string> digests;  // fully qualified: "docker.io/library/busybox@sha256:..."
  std::string added;                 // RFC 3339 time the image entered this store
  std::string lastTagTime;           // RFC 3339 time of the last tag change (may be empty)
  std::optional<oci::Digest> parent; // the local image this one was committed on (Docker's Parent)
  bool operator==(const ImageRecord&) const = default;
};

struct LayerInfo {
  std::string diffIdHex;
  oci::Digest blob;      // the blob the layer was unpacked from
  uint64_t size = 0;     // bytes of content in the unpacked tree (Docker's layer size)
  uint64_t tarSize = 0;  // bytes of the uncompressed tar stream
  // The blob sha256:<diffIdHex> is not stored as a file: it is the tar of the tree, made on
  // demand (a build step's upper dir adopted as the tree).
  bool tarFromTree = false;
};

// Streams bytes into a temporary file inside the store, hashing them; commit() verifies the
// digest (when one is expected) and moves the file into the blob store.
class BlobWriter {
 public:
  BlobWriter(BlobWriter&&) noexcept;
  BlobWriter& operator=(BlobWriter&&) noexcept;
  ~BlobWriter();  // removes the temp file unless committed

  Status write(const void* data, size_t size);
  uint64_t size() const;
  // Finishes the blob. With an expected digest, a mismatch is an error naming both digests and
  // nothing enters the store.
  Result<oci::Digest> commit(const std::optional<oci::Digest>& expected = std::nullopt);

 private:
  friend class Store;
  struct Impl;
  explicit BlobWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Store {
 public:
  // Opens the store at root, creating its directories on first use.
  static Result<Store> open(const std::string& root);

  const Layout& layout() const { return layout_; }

  // --- blobs
  // A blob is present when its file is stored, or when it is made from a layer's tree
  // (LayerInfo::tarFromTree) and that tree is there.
  bool hasBlob(const oci::Digest& d) const;
  // Reads a small blob (config, manifest) and verifies it against its digest.
  Result<std::string> readBlob(const oci::Digest& d) const;
  // Streams a blob's content. One made from a layer's tree is written while it is read (by a
  // thread of the reader's, joined when it is destroyed) and checked: the read that reaches its
  // end fails, with one line naming the layer, unless the stream hashes to the diff_id; a caller
  // must therefore read to the end (a read returning 0) before it relies on what it read.
  Result<std::unique_ptr<layer::Reader>> openBlob(const oci::Digest& d) const;
  // The file of a stored blob, for callers that need to read it at offsets (uploads). A blob made
  // from a layer's tree has none: it is always compressed before it is sent anywhere.
  Result<UniqueFd> openBlobFile(const oci::Digest& d) const;
  Result<uint64_t> blobSize(const oci::Digest& d) const;
  Result<oci::Digest> putBlob(std::string_view data);
  Result<BlobWriter> newBlobWriter();
  // Moves a file that the caller wrote under tmpDir() and whose sha256 it has just computed into
  // the blob store as d. Cheaper than copying; the file must be on the store's file system. When
  // d is present already (stored, or made from a layer's tree), the file is removed instead.
  Status adoptBlob(const std::string& path, const oci::Digest& d);
  // Writes the layer tar of dir, a directory in overlay form (a container's or build step's upper
  // dir: whiteouts as 0:0 character devices, opaque directories marked by xattr), into the blob
  // store as sha256:<its diff_id>, durably; returns the diff_id (hex) and size. `then` runs after
  // the tree is read and before the blob is stored.
  Result<layer::WriteTarResult> putLayerTar(const std::string& dir,
                                            const std::function<void()>& then = {});

  // --- layers
  bool hasLayer(const std::string& diffIdHex) const;
  Result<LayerInfo> layerInfo(const std::string& diffIdHex) const;
  // Unpacks a layer from src (plain, gzip or zstd tar) unless the store has it, verifying that
  // the uncompressed stream hashes to diffId (mismatch: error naming the layer, nothing kept).
  // Reads the whole stream either way. blob is recorded as the layer's source.
  Result<LayerInfo> addLayer(std::unique_ptr<layer::Reader> src, const oci::Digest& diffId,
                             const oci::Digest& blob);
  // As addLayer, for a layer whose diff_id is not known in advance and whose blob is the
  // uncompressed tar itself (import, commit): the result carries the computed diff_id, and the
  // layer's blob is recorded as sha256:<diff_id>.
  Result<LayerInfo> addLayerUnverified(std::unique_ptr<layer::Reader> src);
  // Makes dir (under tmpDir(): a build step's overlay upper dir that nothing uses any more) a
  // layer: its diff_id is the sha256 of its layer tar (as putLayerTar writes it), computed
  // without storing the tar; dir is moved into the store as the layer's tree, and the blob
  // sha256:<diff_id> is made from that tree when read. When the store has the layer already,
  // dir stays where it is (and the tar is stored if no blob sha256:<diff_id> is present). nullopt,
  // with dir left in place, when dir cannot be adopted (see layer::prepareUpperAsLayer): the
  // caller stores the tar with putLayerTar and unpacks it with addLayer.
  Result<std::optional<LayerInfo>> adoptLayerTree(const std::string& dir);

  // Compressed forms of a layer made for push: the blob digest, when that blob is still stored.
  std::optional<oci::Digest> compressedLayer(const std::string& diffIdHex, layer::Compression c) const;
  Status recordCompressedLayer(const std::string& diffIdHex, layer::Compression c, const oci::Digest& blob);

  // --- distribution metadata
  // Repositories ("registry/path") blob d was pulled from or pushed to, oldest first, without
  // repeats; a push mounts from them instead of uploading.
  std::vector<std::string> blobSources(const oci::Digest& d) const;
  Status addBlobSource(const oci::Digest& d, const std::string& repository);

  // --- image records
  // One file per image and one symlink per name, so that finding, adding or tagging one image
  // costs the same in a store of ten images as in one of ten thousand. A name points at exactly
  // one image, and moving it is one rename; the names listed in a record are checked against
  // refs/ on every read, so a crash between the files of one change leaves every name on the
  // image it was on before or on the one it was moving to. Changes take the index lock; readers
  // never lock.
  //
  // Every record, oldest first.
  Result<std::vector<ImageRecord>> images() const;
  // The IDs of every image (no record is read).
  Result<std::vector<oci::Digest>> imageIds() const;
  Result<std::optional<ImageRecord>> image(const oci::Digest& id) const;
  // The image a fully qualified tag ("docker.io/library/busybox:latest") or repository@digest
  // names.
  Result<std::optional<ImageRecord>> imageNamed(const std::string& name) const;
  // Runs edit on every record under the index lock and saves what it changed: records it
  // dropped are removed, names a record gained are taken from the image that had them. If edit
  // fails nothing is saved.
  Status updateImages(const std::function<Status(std::vector<ImageRecord>&)>& edit);
  // As updateImages, for one image: edit gets its record (nullopt when there is none) and may
  // create, change or reset it (removing the image). Reads only that record and the records
  // that lose a name to it.
  Status updateImage(const oci::Digest& id, const std::function<Status(std::optional<ImageRecord>&)>& edit);
  // What a change killed part-way left among the records (paths from the store's root): temp
  // files in images/ and refs/, and names whose record no longer lists them. With remove, they
  // are removed too. Takes the index lock and reads every record (so system prune, not every
  // garbage collection, removes them: they never count as names).
  Result<std::vector<std::string>> recordLeftovers(bool remove);

  // --- concurrency and space
  Result<FileLock> ingestGuard() const;
  // Removes blobs and layers that no image record references and leftovers in tmp/. Skips
  // (returns 0) when another process is adding content. Returns bytes freed.
  Result<uint64_t> collectGarbage();
  std::string tmpDir() const { return layout_.tmpDir(); }

 private:
  explicit Store(Layout l) : layout_(std::move(l)) {}
  Status buildCacheRoots(std::set<std::string>& blobs, std::set<std::string>& layers) const;
  Result<LayerInfo> addLayerImpl(std::unique_ptr<layer::Reader> src,
                                 const std::optional<oci::Digest>& diffId,
                                 const std::optional<oci::Digest>& blob);
  Result<LayerInfo> installLayer(TempDir& staging, const LayerInfo& info);
  // The layer whose tree blob d is made from, if it is one.
  std::optional<LayerInfo> layerMakingBlob(const oci::Digest& d) const;
  // Image records (image_records.cpp).
  Status moveLegacyImages();
  std::optional<std::string> refTarget(const std::string& name) const;
  Result<std::optional<ImageRecord>> readRecord(const std::string& idHex) const;
  Status saveRecords(const std::vector<ImageRecord>& changed, const std::vector<ImageRecord>& before);
  Status eraseRecord(const ImageRecord& r);
  Layout layout_;
};

// Runs body (returning a Result) while holding s's ingest guard. When body fails, the guard is
// dropped and garbage is collected, so blobs and layers the failed operation added (referenced
// by no image) go again and the store is left as it was. Collection is skipped while another
// process is adding content; the leftovers then go with the next collection.
// The guard may be one the caller already holds (it used tmp/ before adding content).
template <typename F>
auto ingest(Store& s, FileLock guard, F&& body) -> decltype(body()) {
  auto result = body();
  if (!result) {
    guard.release();
    (void)s.collectGarbage();
  }
  return result;
}
template <typename F>
auto ingest(Store& s, F&& body) -> decltype(body()) {
  auto guard = s.ingestGuard();
  if (!guard) return std::unexpected(std::move(guard).error());
  return ingest(s, std::move(*guard), std::forward<F>(body));
}

// Adds the blobs and layers (hex) that the build cache record at path keeps to blobs and layers.
// False, adding nothing, when the record cannot be read.
bool readBuildCacheRoots(const std::string& path, std::set<std::string>& blobs, std::set<std::string>& layers);

// Blobs an image needs: its manifest, config and layer blobs (read from the manifest).
Result<std::vector<oci::Digest>> referencedBlobs(const Store& s, const ImageRecord& r);

}  // namespace strata::store
