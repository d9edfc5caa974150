#include "container/commit.h"

#include <fcntl.h>
#include <unistd.h>

#include "container/changes.h"
#include "image/changes.h"
#include "image/images.h"
#include "oci/media_types.h"
#include "runtime/runtime.h"
#include "util/format.h"
#include "util/fs.h"

namespace strata::container {

namespace {

// Unfreezes on scope exit.
struct Frozen {
  std::string id;
  bool active = false;
  void thaw() {
    if (active) (void)runtime::freeze(id, false);
    active = false;
  }
  ~Frozen() { thaw(); }
};

std::string joinCommand(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) out += (out.empty() ? "" : " ") + a;
  return out;
}

}  // namespace

Result<store::ImageRecord> commit(Containers& cs, const Record& r, const CommitOptions& opt) {
  store::Store& s = cs.store();
  oci::ContainerConfig config = r.config;
  TRYV(image::applyChanges(config, opt.changes));
  std::string baseText = TRY(s.readBlob(r.image));
  oci::ImageConfig base = TRY_CTX(oci::parseImageConfig(baseText), "image " + r.image.str());

  return store::ingest(s, [&]() -> Result<store::ImageRecord> {
    Frozen frozen{r.id};
    State st = TRY(cs.state(r.id));
    if (opt.pause && st.status == RunStatus::Running) {
      TRYV(runtime::freeze(r.id, true));
      frozen.active = true;
    }
    image::LayerDesc layer = TRY(image::addLayerFromDir(s, cs.paths(r.id).upper(), [&] {
      frozen.thaw();  // the layer is read: let the container run again
    }));
    const oci::Digest& diffId = layer.diffId;
    oci::ImageConfig cfg = base;
    cfg.config = config;
    std::string now = nowRfc3339Nano();
    cfg.created = now;
    cfg.author = opt.author;
    cfg.comment = opt.message;
    cfg.diffIds.push_back(diffId);
    oci::HistoryEntry h;
    h.created = now;
    h.createdBy = joinCommand(r.path);
    h.author = opt.author;
    h.comment = opt.message;
    cfg.history.push_back(h);

    image::Loaded baseImage = TRY(image::load(s, TRY(image::resolve(s, r.image.str()))));
    std::vector<image::LayerDesc> layers;
    for (size_t i = 0; i < baseImage.manifest.layers.size() && i < base.diffIds.size(); ++i)
      layers.push_back({baseImage.manifest.layers[i], base.diffIds[i]});
    layers.push_back(layer);
    std::vector<oci::Reference> tags;
    if (opt.tag) tags.push_back(*opt.tag);
    return image::addImage(s, cfg, layers, tags, r.image);
  });
}

}  // namespace strata::container
