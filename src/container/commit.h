// `commit`: a container's writable layer becomes the top layer of a new image.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "container/containers.h"
#include "oci/reference.h"

namespace strata::container {

struct CommitOptions {
  std::string message;               // -m: the history entry's and the config's comment
  std::string author;                // -a
  std::vector<std::string> changes;  // -c: Dockerfile-style changes on the container's config
  bool pause = true;                 // -p: freeze a running container while its layer is read
  std::optional<oci::Reference> tag;
};

// Writes the writable layer as a layer blob, unpacks it as a layer, and records an image whose
// config is the container's config (with changes) and whose history is the base image's plus
// one entry (created_by: the container's command, as Docker writes it).
Result<store::ImageRecord> commit(Containers& cs, const Record& r, const CommitOptions& opt);

}  // namespace strata::container
