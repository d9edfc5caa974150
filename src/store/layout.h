// Every path inside a strata store, in one place.
//
//   <root>/blobs/sha256/<hex>        content-addressed blobs: configs, manifests, layer tars (but
//                                    not the tars of built layers: made from their trees)
//   <root>/layers/<diffid-hex>/diff  a layer unpacked once (overlay whiteout format), shared by
//                                    every image that has the layer
//   <root>/layers/<diffid-hex>/meta.json  {"blob","size","tarSize"[,"tarFromTree"]} for that
//                                    layer; tarFromTree: blob sha256:<diffid-hex> is diff/'s tar
//   <root>/images/<config-hex>.json  one image's record: ID, manifest, times, parent, and its
//                                    names as last written (each checked against refs/)
//   <root>/refs/<key>                one symlink per name (tag, or repository@digest) whose
//                                    target is the ID hex of the image it names; <key> is the
//                                    fully qualified name with '/' as '+' (or "~" + sha256 of
//                                    the name when that is long)
//   <root>/images.json               the records before images/ and refs/: moved there when the
//                                    store is opened
//   <root>/containers/<id>/          container records (issue 3)
//   <root>/builder/cache/<key>.json  build cache records; their "blobs" and "layers" arrays keep
//                                    those blobs and layers from garbage collection
//   <root>/builder/statcache         content digests of build-context files, by stat
//   <root>/builder/mounts/<id>/      RUN --mount=type=cache directories
//   <root>/layers/<diffid-hex>/<gzip|zstd>  digest of the layer's blob compressed that way (push)
//   <root>/downloads/<hex>           a blob being pulled; kept when a pull fails so the next
//                                    one resumes where it stopped
//   <root>/distribution/<hex>        repositories ("registry/path") known to hold that blob,
//                                    one per line (cross-repository mounts on push)
//   <root>/tmp/                      partial writes; anything here is garbage after a crash
//   <root>/locks/{index,gc,containers}  flock files
#pragma once

#include <string>
#include <string_view>

#include "oci/digest.h"

namespace strata::store {

class Layout {
 public:
  explicit Layout(std::string root) : root_(std::move(root)) {}

  // $STRATA_ROOT if set, else /var/lib/strata.
  static std::string defaultRoot();

  const std::string& root() const { return root_; }
  std::string blobsDir() const { return root_ + "/blobs/sha256"; }
  std::string blob(const oci::Digest& d) const { return root_ + "/blobs/" + d.algorithm + "/" + d.hex; }
  std::string layersDir() const { return root_ + "/layers"; }
  std::string layerDir(const std::string& diffIdHex) const { return layersDir() + "/" + diffIdHex; }
  std::string layerTree(const std::string& diffIdHex) const { return layerDir(diffIdHex) + "/diff"; }
  std::string layerMeta(const std::string& diffIdHex) const {
    return layerDir(diffIdHex) + "/meta.json";
  }
  std::string layerCompressed(const std::string& diffIdHex, std::string_view kind) const {
    return layerDir(diffIdHex) + "/" + std::string(kind);
  }
  std::string downloadsDir() const { return root_ + "/downloads"; }
  std::string download(const oci::Digest& d) const { return downloadsDir() + "/" + d.hex; }
  std::string distributionDir() const { return root_ + "/distribution"; }
  std::string blobSources(const oci::Digest& d) const { return distributionDir() + "/" + d.hex; }
  std::string imagesDir() const { return root_ + "/images"; }
  std::string imageRecord(const std::string& idHex) const { return imagesDir() + "/" + idHex + ".json"; }
  std::string refsDir() const { return root_ + "/refs"; }
  std::string legacyImagesFile() const { return root_ + "/images.json"; }
  std::string containersDir() const { return root_ + "/containers"; }
  std::string tmpDir() const { return root_ + "/tmp"; }
  std::string builderDir() const { return root_ + "/builder"; }
  std::string buildCacheDir() const { return builderDir() + "/cache"; }
  std::string buildCacheRecord(const std::string& keyHex) const {
    return buildCacheDir() + "/" + keyHex + ".json";
  }
  std::string buildStatCache() const { return builderDir() + "/statcache"; }
  std::string buildMountsDir() const { return builderDir() + "/mounts"; }
  std::string locksDir() const { return root_ + "/locks"; }
  std::string indexLock() const { return locksDir() + "/index"; }
  std::string gcLock() const { return locksDir() + "/gc"; }
  // Held while container records are added or removed, and while rmi decides which images
  // containers use.
  std::string containersLock() const { return locksDir() + "/containers"; }

 private:
  std::string root_;
};

}  // namespace strata::store
