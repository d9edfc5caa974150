// `pull`: an image from a registry into the store.
//
// The manifest (an index is resolved to the requested platform), the config and every layer
// are verified against their digests before they enter the store. Layers download in parallel
// and unpack while they download: each byte is written to the partial blob file, hashed, and
// streamed into the unpacker in one pass. A layer whose blob and unpacked tree the store already
// has is not downloaded ("Already exists"). A failed download keeps its partial file under
// downloads/, and the next pull resumes it with a range request. On any failure no image is
// recorded and what the pull added is collected again.
#pragma once

#include <optional>
#include <string>

#include "oci/image.h"
#include "oci/reference.h"
#include "registry/client.h"
#include "registry/progress.h"
#include "store/store.h"

namespace strata::registry {

// "os/arch[/variant]"; empty text means this host's platform (linux/amd64 here).
Result<oci::Platform> parsePlatform(const std::string& text);
std::string platformString(const oci::Platform& p);

struct PullOptions {
  oci::Platform platform;  // from parsePlatform
  unsigned parallel = 3;   // layers downloaded at once (Docker's default)
};

struct PullResult {
  store::ImageRecord record;
  oci::Digest digest;      // the manifest (or index) digest: the repository digest
  bool upToDate = false;   // the reference already named this image before the pull
};

// Pulls ref (a tag or a digest) through c, printing Docker's lines to progress:
// "<tag>: Pulling from <path>", per-layer status, "Digest: ...". The caller prints the final
// "Status: ..." line. Errors name the reference: "manifest for X not found: manifest unknown:
// manifest unknown", "blob sha256:...: content does not match its digest ...".
Result<PullResult> pull(store::Store& s, Client& c, const oci::Reference& ref,
                        const PullOptions& opt, Progress& progress);

}  // namespace strata::registry
