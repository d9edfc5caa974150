#include "build/cache.h"

#include <unistd.h>

#include "util/fs.h"
#include "util/sha256.h"

namespace strata::build {

std::string chainKey(std::string_view parentKey, std::string_view step) {
  Sha256 h;
  h.update(parentKey.data(), parentKey.size());
  const char separator = '\0';
  h.update(&separator, 1);
  h.update(step.data(), step.size());
  return h.hex();
}

Result<std::optional<ImageState>> BuildCache::lookup(const std::string& key, const ImageState& parent) const {
  const std::string path = store_.layout().buildCacheRecord(key);
  auto text = readFile(path);
  if (!text) {
    if (text.error().code() == ENOENT) return std::optional<ImageState>();
    return fail(std::move(text).error());
  }
  auto json = oci::Json::parse(*text, nullptr, false);
  if (json.is_discarded() || !json.is_object() || !json.contains("config") ||
      !json.contains("layerDescriptors"))
    return std::optional<ImageState>();
  ImageState state;
  auto config = oci::imageConfigFromJson(json["config"]);
  if (!config) return std::optional<ImageState>();
  state.config = std::move(*config);
  const oci::Json& descriptors = json["layerDescriptors"];
  if (!descriptors.is_array() || descriptors.size() != state.config.diffIds.size())
    return std::optional<ImageState>();
  for (std::size_t i = 0; i < descriptors.size(); ++i) {
    auto d = oci::descriptorFromJson(descriptors[i]);
    if (!d) return std::optional<ImageState>();
    const oci::Digest& diffId = state.config.diffIds[i];
    const bool inParent = i < parent.layers.size() && parent.layers[i].diffId == diffId &&
                          parent.layers[i].blob.digest == d->digest;
    // A layer garbage-collected since (or never finished) makes the record useless.
    if (!inParent && (!store_.layerInfo(diffId.hex) || !store_.blobSize(d->digest)))
      return std::optional<ImageState>();
    state.layers.push_back({std::move(*d), diffId});
  }
  return std::optional<ImageState>(std::move(state));
}

Status BuildCache::record(const std::string& key, const ImageState& state) {
  oci::Json json = oci::Json::object();
  json["config"] = oci::toJson(state.config);
  json["layerDescriptors"] = oci::Json::array();
  json["blobs"] = oci::Json::array();
  json["layers"] = oci::Json::array();
  for (const LayerRef& l : state.layers) {
    json["layerDescriptors"].push_back(oci::toJson(l.blob));
    json["blobs"].push_back(l.blob.digest.hex);
    json["layers"].push_back(l.diffId.hex);
  }
  TRYV(mkdirAll(store_.layout().buildCacheDir(), 0700));
  return writeFileAtomic(store_.layout().buildCacheRecord(key), oci::serialize(json));
}

Result<std::size_t> BuildCache::prune() {
  // RUN --mount=type=cache directories go too, as with docker builder prune.
  if (isDirectory(store_.layout().buildMountsDir())) TRYV(removeAll(store_.layout().buildMountsDir()));
  auto names = listDirectory(store_.layout().buildCacheDir());
  if (!names) return names.error().code() == ENOENT ? 0 : Result<std::size_t>(fail(std::move(names).error()));
  std::size_t removed = 0;
  for (const std::string& name : *names) {
    const std::string path = store_.layout().buildCacheDir() + "/" + name;
    if (::unlink(path.c_str()) == 0) ++removed;
    else if (errno != ENOENT) return failErrno("remove `" + path + "`");
  }
  return removed;
}

}  // namespace strata::build
