// Images as users name them: resolving references and IDs, adding images to the store, tags,
// removal. Every function here keeps the store consistent: records are edited under the index
// lock and blobs are written before the record that references them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "oci/image.h"
#include "oci/reference.h"
#include "store/store.h"

namespace strata::image {

// Finds the image a user's argument names, the way Docker does: a reference (name[:tag],
// name@digest; "busybox" means docker.io/library/busybox:latest), else a full or unique-prefix
// image ID ("sha256:abc...", "abc1"). Errors: "No such image: ARG"; an ambiguous ID prefix and a
// malformed reference are errors naming the argument.
Result<store::ImageRecord> resolve(const store::Store& s, std::string_view arg);
// As resolve, among recs.
Result<store::ImageRecord> resolveIn(const std::vector<store::ImageRecord>& recs, std::string_view arg);

// The manifest and config of a stored image, parsed.
struct Loaded {
  store::ImageRecord record;
  oci::Manifest manifest;
  oci::ImageConfig config;
};
Result<Loaded> load(const store::Store& s, const store::ImageRecord& r);

struct LayerDesc {
  oci::Descriptor blob;  // the layer blob as stored (media type, digest, size)
  oci::Digest diffId;
};

// Stores a directory in overlay form (a container's or build step's upper dir: whiteouts as 0:0
// character devices, opaque directories marked by xattr) as a layer: the tar blob (OCI layer,
// uncompressed, digest = diff_id) and its unpacked tree. Call inside store::ingest. `then`
// runs after the tree is read and before it is stored (commit thaws the container there).
Result<LayerDesc> addLayerFromDir(store::Store& s, const std::string& dir,
                                  const std::function<void()>& then = {});
// As addLayerFromDir for a build step's upper dir under s.tmpDir() that nothing uses any more:
// when it can, the directory itself becomes the layer's tree and the tar blob is not stored but
// made from the tree when read (store::Store::adoptLayerTree); the directory is gone either way.
Result<LayerDesc> addLayerAdoptingDir(store::Store& s, const std::string& dir);

// Writes config and manifest blobs for an image whose layer blobs are already in the store, and
// records it with tags (fully qualified references; a tag moves from any image that had it).
// Returns the record as saved. Media types: OCI manifest and config.
// parent: the local image this one builds on (commit), shown by inspect and history.
Result<store::ImageRecord> addImage(store::Store& s, const oci::ImageConfig& config,
                                    const std::vector<LayerDesc>& layers,
                                    const std::vector<oci::Reference>& tags,
                                    const std::optional<oci::Digest>& parent = std::nullopt);
// As addImage for an image whose config and manifest bytes came from elsewhere (load, pull):
// both blobs must already be in the store.
Result<store::ImageRecord> recordImage(store::Store& s, const oci::Digest& configDigest,
                                       const oci::Digest& manifestDigest,
                                       const std::vector<oci::Reference>& tags,
                                       const std::vector<std::string>& repoDigests = {},
                                       const std::optional<oci::Digest>& parent = std::nullopt);

// As recordImage for several images, saved together (the records read once and each written
// once, whatever their number; load records a whole archive this way). Later entries' tags win.
struct NewRecord {
  oci::Digest configDigest;
  oci::Digest manifestDigest;
  std::vector<oci::Reference> tags;
};
Status recordImages(store::Store& s, const std::vector<NewRecord>& images);

// Points tag at the image. A tag held by another image moves.
Status tag(store::Store& s, const store::ImageRecord& image, const oci::Reference& tag);

// `rmi`: for each argument, untags it or deletes the image, as Docker does. Returns the lines
// Docker prints ("Untagged: busybox:latest", "Deleted: sha256:..."). Refuses (without -f) an
// image referenced by several tags when named by ID, and an image a container uses.
struct RemoveOptions {
  bool force = false;
  bool prune = true;  // free blobs and layers no image needs any more
};
struct RemoveResult {
  std::vector<std::string> lines;   // what was done, in order
  std::vector<std::string> errors;  // one per argument that could not be removed
  uint64_t reclaimed = 0;            // bytes of blobs and layers freed
};
Result<RemoveResult> remove(store::Store& s, const std::vector<std::string>& args,
                            const RemoveOptions& opt);

// IDs of images that containers in the store are created from (issue 3 adds the containers).
Result<std::vector<oci::Digest>> imagesInUse(const store::Store& s);

// Fully qualified tag strings -> Docker's familiar forms ("busybox:latest").
std::string familiarTag(const std::string& qualified);

}  // namespace strata::image
