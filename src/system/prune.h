// Removing what nothing uses: stopped containers, unused networks, dangling (or all unused)
// images, the build cache, and what interrupted operations left in the store. `container
// prune`, `network prune`, `image prune` and `system prune` are made of these.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "container/containers.h"
#include "image/images.h"
#include "store/store.h"

namespace strata::system {

struct ContainerPrune {
  std::vector<std::string> removed;  // container IDs
  std::vector<std::string> errors;
  uint64_t reclaimed = 0;            // bytes of their writable layers
};
// Removes every container that is not running, paused or restarting.
Result<ContainerPrune> pruneContainers(container::Containers& cs);

// Removes the user-defined networks no container is attached to, and the leftovers of killed
// containers and builds (network::sweep). Returns the names removed.
Result<std::vector<std::string>> pruneNetworks(container::Containers& cs);

// Removes the volumes under the store's volumes/ that no container mounts. Skipped (nothing
// removed) while another process is adding content or creating a container.
struct VolumePrune {
  std::vector<std::string> removed;
  uint64_t reclaimed = 0;
};
Result<VolumePrune> pruneVolumes(container::Containers& cs);

// Removes the dangling images (untagged), or with all every image no container uses.
Result<image::RemoveResult> pruneImages(store::Store& s, bool all);

// Removes container directories that a killed create left without a record and the image
// records' leftovers (Store::recordLeftovers), then collects garbage (tmp/, unreferenced blobs
// and layers). Returns the bytes freed. Skipped (0) while
// another process is adding content.
Result<uint64_t> pruneLeftovers(store::Store& s);

}  // namespace strata::system
