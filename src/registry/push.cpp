#include "registry/push.h"

#include <sys/stat.h>

#include "image/images.h"
#include "layer/compress.h"
#include "oci/media_types.h"
#include "util/parallel.h"

namespace strata::registry {
namespace {

namespace media = oci::media;

layer::Compression compressionOf(std::string_view mediaType) {
  if (mediaType.ends_with("gzip")) return layer::Compression::Gzip;
  if (mediaType.ends_with("zstd")) return layer::Compression::Zstd;
  return layer::Compression::None;
}

std::string layerMediaType(bool oci, layer::Compression c) {
  switch (c) {
    case layer::Compression::Gzip: return std::string(oci ? media::kOciLayerGzip : media::kDockerLayerGzip);
    case layer::Compression::Zstd: return std::string(oci ? media::kOciLayerZstd : media::kDockerLayerZstd);
    case layer::Compression::None: break;
  }
  return std::string(oci ? media::kOciLayer : media::kDockerLayer);
}

// The blob a layer is pushed as: the stored one when its compression is wanted, else the
// compressed form made earlier, else a new one made now (and remembered).
Result<oci::Descriptor> pushableLayer(store::Store& s, const oci::Descriptor& stored,
                                      const oci::Digest& diffId, const PushOptions& opt) {
  const layer::Compression have = compressionOf(stored.mediaType);
  if (have != layer::Compression::None && (!opt.forceCompression || have == opt.compression))
    return stored;
  oci::Descriptor out = stored;
  out.mediaType = layerMediaType(true, opt.compression);
  if (auto d = s.compressedLayer(diffId.hex, opt.compression)) {
    out.digest = *d;
    out.size = static_cast<int64_t>(TRY(s.blobSize(*d)));
    return out;
  }
  // A blob made from the layer's tree is checked against the diff_id as it ends: compress then
  // fails and nothing is committed or sent.
  auto plain = TRY(layer::decompressingReader(TRY(s.openBlob(stored.digest))));
  layer::HashingReader hashed(std::move(plain));
  store::BlobWriter w = TRY(s.newBlobWriter());
  layer::CompressOptions copt;
  copt.kind = opt.compression;
  TRYV(layer::compress(hashed, [&](const void* data, size_t n) { return w.write(data, n); }, copt));
  if (const std::string hex = hashed.hex(); hex != diffId.hex)
    return failInvalid("layer " + diffId.str() + ": stored blob " + stored.digest.str() +
                       " unpacks to sha256:" + hex);
  out.size = static_cast<int64_t>(w.size());
  out.digest = TRY(w.commit());
  TRYV(s.recordCompressedLayer(diffId.hex, opt.compression, out.digest));
  return out;
}

// Gets blob d into the repository: already there, mounted, or uploaded. Returns Docker's word.
Result<std::string> sendBlob(store::Store& s, Client& c, const oci::Reference& ref,
                             const oci::Descriptor& blob, const std::string& id, Progress& progress) {
  if (TRY(c.hasBlob(ref.path, blob.digest))) return std::string("Layer already exists");
  const std::string prefix = ref.domain + "/";
  for (const auto& source : s.blobSources(blob.digest)) {
    if (source.rfind(prefix, 0) != 0 || source == ref.repository()) continue;
    const std::string from = source.substr(prefix.size());
    c.addScope("repository:" + from + ":pull");
    if (TRY(c.mountBlob(ref.path, blob.digest, from))) return "Mounted from " + from;
  }
  UniqueFd fd = TRY(s.openBlobFile(blob.digest));
  const uint64_t size = TRY(s.blobSize(blob.digest));
  TRYV(c.uploadBlob(ref.path, blob.digest, fd.get(), size, [&](uint64_t sent) {
    if (!id.empty()) progress.bytes(id, "Pushing", sent, size);
  }));
  return std::string("Pushed");
}

}  // namespace

Result<PushResult> push(store::Store& s, Client& c, const store::ImageRecord& image,
                        const oci::Reference& ref, const PushOptions& opt, Progress& progress) {
  const std::string what = "push " + ref.familiar();
  c.addScope("repository:" + ref.path + ":pull,push");
  image::Loaded img = TRY_CTX(image::load(s, image), what);
  if (img.config.diffIds.size() != img.manifest.layers.size())
    return failInvalid(what + ": the manifest and config disagree on the number of layers");
  const size_t n = img.manifest.layers.size();
  // Docker lists the top layer first.
  std::vector<std::string> ids(n);
  for (size_t i = 0; i < n; ++i) {
    ids[i] = img.config.diffIds[n - 1 - i].hex.substr(0, 12);
    progress.status(ids[i], "Preparing");
  }

  return store::ingest(s, [&]() -> Result<PushResult> {
    std::vector<oci::Descriptor> blobs(n);
    TRYV_CTX(runParallel(n, opt.parallel, [&](size_t k) -> Status {
      const size_t i = n - 1 - k;
      blobs[i] = TRY(pushableLayer(s, img.manifest.layers[i], img.config.diffIds[i], opt));
      const std::string word = TRY(sendBlob(s, c, ref, blobs[i], ids[k], progress));
      progress.status(ids[k], word);
      return s.addBlobSource(blobs[i].digest, ref.repository());
    }), what);
    TRYV_CTX(sendBlob(s, c, ref, img.manifest.config, "", progress), what);

    // The stored manifest goes verbatim when every layer went as stored, so a pulled image
    // keeps its digest; otherwise a manifest for the blobs sent.
    bool same = true;
    for (size_t i = 0; i < n; ++i) same = same && blobs[i].digest == img.manifest.layers[i].digest;
    std::string bytes, mediaType;
    if (same) {
      bytes = TRY(s.readBlob(image.manifest));
      mediaType = img.manifest.mediaType.empty() ? std::string(media::kOciManifest) : img.manifest.mediaType;
    } else {
      oci::Manifest m = img.manifest;
      bool oci = m.mediaType != media::kDockerManifest;
      for (const auto& b : blobs) oci = oci || compressionOf(b.mediaType) == layer::Compression::Zstd;
      m.mediaType = std::string(oci ? media::kOciManifest : media::kDockerManifest);
      m.config.mediaType = std::string(oci ? media::kOciConfig : media::kDockerConfig);
      for (size_t i = 0; i < n; ++i) {
        m.layers[i] = blobs[i];
        m.layers[i].mediaType = layerMediaType(oci, compressionOf(blobs[i].mediaType));
      }
      bytes = oci::serialize(oci::toJson(m));
      mediaType = m.mediaType;
    }
    PushResult out;
    out.digest = TRY_CTX(c.putManifest(ref.path, ref.tag, bytes, mediaType), what + ": manifest");
    out.size = bytes.size();
    TRYV(image::recordImage(s, image.id, image.manifest, {}, {ref.repository() + "@" + out.digest.str()}));
    (void)s.addBlobSource(img.manifest.config.digest, ref.repository());
    return out;
  });
}

}  // namespace strata::registry
