// `import`: a root file system tarball becomes a one-layer image.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "layer/compression.h"
#include "oci/reference.h"
#include "store/store.h"

namespace strata::image {

struct ImportOptions {
  std::string message;               // -m: the image's comment
  std::vector<std::string> changes;  // -c: Dockerfile-style config changes
  std::string source = "-";          // for the default history comment "Imported from SOURCE"
};

// Reads a tarball (plain, gzip or zstd) from src, stores it as one layer and records a new image
// tagged tag (when given). Changes are checked before anything is written; on any error the
// store keeps no new record.
Result<store::ImageRecord> importTarball(store::Store& s, std::unique_ptr<layer::Reader> src,
                                         const std::optional<oci::Reference>& tag,
                                         const ImportOptions& opt);

}  // namespace strata::image
