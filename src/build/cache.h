// The build cache: what the image looked like after each step, keyed by a chain of digests (a
// step's key covers its parent's key, so a change invalidates every later step). Records live
// in the store (builder/cache) and keep their layers from garbage collection until
// `builder prune`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/image.h"
#include "store/store.h"

namespace strata::build {

struct LayerRef {
  oci::Descriptor blob;  // the layer blob in the store
  oci::Digest diffId;
};

// An image under construction: its config (with history and diff_ids) and its layers.
struct ImageState {
  oci::ImageConfig config;
  std::vector<LayerRef> layers;  // parallel to config.diffIds
};

// The key of a step: SHA-256 over the parent key and the step's description (hex).
std::string chainKey(std::string_view parentKey, std::string_view step);

class BuildCache {
 public:
  explicit BuildCache(store::Store& s) : store_(s) {}

  // The state recorded after the step with this key; nullopt on a miss, or when a layer the
  // record names is no longer in the store. A damaged record is a miss. The layers it shares
  // with parent, the state the step starts from, are taken as present (they were checked when
  // parent was looked up or made), so a chain of lookups checks each layer once.
  Result<std::optional<ImageState>> lookup(const std::string& key, const ImageState& parent) const;
  // Records the state after a step (atomically; a later record for the key replaces it).
  Status record(const std::string& key, const ImageState& state);
  // Removes every record and the RUN --mount=type=cache directories; returns how many records.
  // The layers only the cache kept are freed by the store's next garbage collection.
  Result<std::size_t> prune();

 private:
  store::Store& store_;
};

}  // namespace strata::build
