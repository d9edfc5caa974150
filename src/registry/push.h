// `push`: a stored image to a registry, sending only what the registry lacks.
//
// Layers stored uncompressed (built, committed, imported) are compressed once with the parallel
// compressor and the result is kept beside the layer, so later pushes reuse it. Each blob is
// checked with HEAD first ("Layer already exists"), mounted from another repository of the same
// registry when the store knows one that holds it ("Mounted from ..."), and uploaded otherwise
// ("Pushed"). After the manifest is accepted, the image's RepoDigests gain repository@digest.
#pragma once

#include <optional>

#include "layer/compression.h"
#include "oci/reference.h"
#include "registry/client.h"
#include "registry/progress.h"
#include "store/store.h"

namespace strata::registry {

struct PushOptions {
  // Compression for layers stored uncompressed; when set explicitly (--compression), layers
  // stored with another compression are recompressed too.
  layer::Compression compression = layer::Compression::Gzip;
  bool forceCompression = false;
  unsigned parallel = 3;
};

struct PushResult {
  oci::Digest digest;  // of the manifest as the registry stored it
  uint64_t size = 0;   // bytes of that manifest
};

// Pushes image as ref (which has a tag) through c, printing Docker's per-layer lines to
// progress. Errors name the blob or manifest that failed and carry the registry's text.
Result<PushResult> push(store::Store& s, Client& c, const store::ImageRecord& image,
                        const oci::Reference& ref, const PushOptions& opt, Progress& progress);

}  // namespace strata::registry
