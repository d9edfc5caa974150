#include "image/import.h"

#include "image/changes.h"
#include "image/images.h"
#include "oci/media_types.h"
#include "util/format.h"

namespace strata::image {

namespace {

// Passes bytes through while writing a copy into a blob.
class TeeReader : public layer::Reader {
 public:
  TeeReader(std::unique_ptr<layer::Reader> src, store::BlobWriter& out)
      : src_(std::move(src)), out_(out) {}
  Result<size_t> read(void* buf, size_t size) override {
    size_t n = TRY(src_->read(buf, size));
    if (n > 0) TRYV(out_.write(buf, n));
    return n;
  }

 private:
  std::unique_ptr<layer::Reader> src_;
  store::BlobWriter& out_;
};

}  // namespace

Result<store::ImageRecord> importTarball(store::Store& s, std::unique_ptr<layer::Reader> src,
                                         const std::optional<oci::Reference>& tag,
                                         const ImportOptions& opt) {
  oci::ImageConfig config;
  TRYV(applyChanges(config.config, opt.changes));
  if (tag && tag->digest)
    return failInvalid("import: cannot tag with a digest: " + tag->familiar());

  return store::ingest(s, [&]() -> Result<store::ImageRecord> {
    store::BlobWriter blob = TRY(s.newBlobWriter());
    auto plain = TRY_CTX(layer::decompressingReader(std::move(src)), "import");
    auto tee = std::make_unique<TeeReader>(std::move(plain), blob);
    store::LayerInfo layer = TRY_CTX(s.addLayerUnverified(std::move(tee)), "import");
    oci::Digest diffId = oci::Digest::sha256(layer.diffIdHex);
    TRYV_CTX(blob.commit(diffId), "import");

    std::string now = nowRfc3339Nano();
    config.created = now;
    // Docker records the message, or "Imported from SOURCE", as both comments.
    config.comment = opt.message.empty() ? "Imported from " + opt.source : opt.message;
    config.diffIds = {diffId};
    oci::HistoryEntry h;
    h.created = now;
    h.comment = config.comment;
    config.history = {h};

    LayerDesc desc;
    desc.blob.mediaType = std::string(oci::media::kOciLayer);
    desc.blob.digest = diffId;
    desc.blob.size = static_cast<int64_t>(layer.tarSize);
    desc.diffId = diffId;
    std::vector<oci::Reference> tags;
    if (tag) tags.push_back(*tag);
    return addImage(s, config, {desc}, tags);
  });
}

}  // namespace strata::image
