// `save`: plan the archive's entries from the store, then stream them through libarchive.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <optional>

#include "archive/archive.h"
#include "image/images.h"
#include "layer/compression.h"
#include "layer/tar.h"
#include "oci/image.h"
#include "oci/media_types.h"
#include "oci/reference.h"
#include "util/fs.h"

namespace strata::archive {

Result<Format> parseFormat(std::string_view text) {
  if (text == "docker-archive" || text == "docker") return Format::DockerArchive;
  if (text == "oci-archive" || text == "oci") return Format::OciArchive;
  return failInvalid("unknown archive format `" + std::string(text) +
                     "` (want docker-archive or oci-archive)");
}

namespace {

using Json = oci::Json;
constexpr size_t kChunk = size_t(1) << 20;

// ---------------------------------------------------------------- which images, which tags

// One image of the archive and the tags the arguments named for it.
struct Selected {
  store::ImageRecord record;
  std::vector<oci::Reference> tags;
};

// "busybox" and "localhost:5000/app" name a repository only; "busybox:1", "x@sha256:..." more.
bool isNameOnly(std::string_view arg) {
  if (arg.find('@') != std::string_view::npos) return false;
  size_t slash = arg.rfind('/');
  return arg.find(':', slash == std::string_view::npos ? 0 : slash + 1) == std::string_view::npos;
}

void addSelection(std::vector<Selected>& out, const store::ImageRecord& r,
                  const oci::Reference* tag) {
  auto it = std::find_if(out.begin(), out.end(),
                         [&](const Selected& x) { return x.record.id == r.id; });
  if (it == out.end()) it = out.insert(out.end(), Selected{r, {}});
  if (!tag) return;
  for (const auto& t : it->tags)
    if (t.str() == tag->str()) return;
  it->tags.push_back(*tag);
}

// Docker's rules (image/tarexport/save.go): a bare repository name selects every tag of that
// repository, falling back to an ID prefix; name:tag selects that tag; an ID or a digest
// reference selects the image without a tag. Arguments naming one image merge into one entry.
Result<std::vector<Selected>> selectImages(const store::Store& s,
                                           const std::vector<std::string>& args) {
  std::vector<Selected> out;
  std::optional<std::vector<store::ImageRecord>> all;
  for (const auto& arg : args) {
    auto ref = oci::Reference::parse(arg);
    if (ref && isNameOnly(arg)) {
      if (!all) all = TRY(s.images());
      bool found = false;
      for (const auto& r : *all) {
        for (const auto& t : r.tags) {
          auto tr = oci::Reference::parse(t);
          if (!tr || tr->repository() != ref->repository() || tr->tag.empty()) continue;
          addSelection(out, r, &*tr);
          found = true;
        }
      }
      if (found) continue;
    }
    store::ImageRecord r = TRY(image::resolve(s, arg));
    bool byTag = ref && !ref->digest && !ref->tag.empty() &&
                 std::find(r.tags.begin(), r.tags.end(), ref->str()) != r.tags.end();
    addSelection(out, r, byTag ? &*ref : nullptr);
  }
  return out;
}

// Seconds since the epoch of an RFC 3339 time; 0 when absent, unparsable or before 1970.
int64_t epochOf(const std::string& t) {
  struct tm tm = {};
  int used = 0;
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  int64_t secs = ::timegm(&tm);
  const char* p = t.c_str() + used;
  if (*p == '.')
    for (++p; *p >= '0' && *p <= '9'; ++p) {
    }
  int hh = 0, mm = 0;
  if ((*p == '+' || *p == '-') && std::sscanf(p + 1, "%2d:%2d", &hh, &mm) == 2)
    secs -= (*p == '+' ? 1 : -1) * int64_t(hh * 3600 + mm * 60);
  return secs < 0 ? 0 : secs;
}

// ---------------------------------------------------------------- the plan

// One archive entry. Entries are written sorted by name (parents sort before their children),
// as Docker's own tar of its staging directory is.
struct Entry {
  enum class Kind { Dir, Bytes, Blob, LayerTar };
  Kind kind = Kind::Bytes;
  std::string bytes;  // Kind::Bytes
  oci::Digest blob;   // Kind::Blob (verbatim) and Kind::LayerTar (decompressed)
  uint64_t size = 0;
  int64_t mtime = 0;
};
using Plan = std::map<std::string, Entry>;

Entry dirEntry(int64_t mtime) { return Entry{Entry::Kind::Dir, {}, {}, 0, mtime}; }
Entry bytesEntry(std::string b, int64_t mtime) {
  uint64_t n = b.size();
  return Entry{Entry::Kind::Bytes, std::move(b), {}, n, mtime};
}

// Bytes of a layer's uncompressed tar: recorded when the layer was unpacked, else measured.
Result<uint64_t> layerTarSize(const store::Store& s, const oci::Digest& diffId,
                              const oci::Digest& blob) {
  if (auto info = s.layerInfo(diffId.hex); info && info->tarSize > 0) return info->tarSize;
  auto r = TRY_CTX(layer::digestLayer(TRY(s.openBlob(blob))), "layer " + diffId.str());
  return r.uncompressedSize;
}

Result<Plan> planDockerArchive(const store::Store& s, const std::vector<Selected>& images) {
  Plan plan;
  Json manifest = Json::array();
  std::map<std::string, std::map<std::string, std::string>> repos;  // repo -> tag -> layer
  for (const auto& sel : images) {
    image::Loaded img = TRY(image::load(s, sel.record));
    const std::string what = "image " + sel.record.id.str();
    if (img.config.diffIds.size() != img.manifest.layers.size())
      return failInvalid(what + ": config has " + std::to_string(img.config.diffIds.size()) +
                         " diff_ids but the manifest " +
                         std::to_string(img.manifest.layers.size()) + " layers");
    const int64_t mtime = epochOf(img.config.created);
    const std::string created =
        img.config.created.empty() ? "0001-01-01T00:00:00Z" : img.config.created;

    const std::string configName = sel.record.id.hex + ".json";
    if (!plan.count(configName))
      plan[configName] = bytesEntry(TRY_CTX(s.readBlob(sel.record.id), what), mtime);

    Json layers = Json::array();
    std::string parent;
    for (size_t i = 0; i < img.config.diffIds.size(); ++i) {
      const std::string& hex = img.config.diffIds[i].hex;
      if (!plan.count(hex)) {
        Json v1 = Json::object();
        v1["id"] = hex;
        if (!parent.empty()) v1["parent"] = parent;
        v1["created"] = created;
        v1["container_config"] = Json::object();
        Entry tar{Entry::Kind::LayerTar, {}, img.manifest.layers[i].digest, 0, mtime};
        if (!s.hasBlob(tar.blob))
          return failInvalid(what + ": layer blob " + tar.blob.str() + " is missing from the store");
        tar.size = TRY(layerTarSize(s, img.config.diffIds[i], tar.blob));
        plan[hex] = dirEntry(mtime);
        plan[hex + "/VERSION"] = bytesEntry("1.0", mtime);
        plan[hex + "/json"] = bytesEntry(oci::serialize(v1), mtime);
        plan[hex + "/layer.tar"] = std::move(tar);
      }
      layers.push_back(hex + "/layer.tar");
      parent = hex;
    }

    Json entry = Json::object();
    entry["Config"] = configName;
    entry["RepoTags"] = nullptr;
    for (const auto& t : sel.tags) {
      entry["RepoTags"].push_back(t.familiar());
      if (!parent.empty()) repos[t.familiarRepository()][t.tag] = parent;
    }
    entry["Layers"] = std::move(layers);
    manifest.push_back(std::move(entry));
  }
  // Docker's json.Encoder ends each file with a newline.
  plan["manifest.json"] = bytesEntry(oci::serialize(manifest) + "\n", 0);
  if (!repos.empty()) {
    Json r = Json::object();
    for (const auto& [repo, tags] : repos)
      for (const auto& [tag, layer] : tags) r[repo][tag] = layer;
    plan["repositories"] = bytesEntry(oci::serialize(r) + "\n", 0);
  }
  return plan;
}

Result<Plan> planOciArchive(const store::Store& s, const std::vector<Selected>& images) {
  Plan plan;
  plan["blobs"] = dirEntry(0);
  plan["blobs/sha256"] = dirEntry(0);
  auto addBlob = [&](const oci::Digest& d) -> Status {
    std::string name = "blobs/" + d.algorithm + "/" + d.hex;
    if (plan.count(name)) return {};
    if (!plan.count("blobs/" + d.algorithm)) plan["blobs/" + d.algorithm] = dirEntry(0);
    Entry e{Entry::Kind::Blob, {}, d, 0, 0};
    e.size = TRY(s.blobSize(d));
    plan[name] = std::move(e);
    return {};
  };

  oci::Index index;
  index.mediaType = std::string(oci::media::kOciIndex);
  for (const auto& sel : images) {
    image::Loaded img = TRY(image::load(s, sel.record));
    TRYV(addBlob(sel.record.manifest));
    TRYV(addBlob(sel.record.id));
    for (const auto& l : img.manifest.layers) TRYV(addBlob(l.digest));

    oci::Descriptor d;
    d.mediaType = img.manifest.mediaType;
    d.digest = sel.record.manifest;
    d.size = static_cast<int64_t>(TRY(s.blobSize(sel.record.manifest)));
    if (sel.tags.empty()) index.manifests.push_back(d);
    for (const auto& t : sel.tags) {
      oci::Descriptor tagged = d;
      tagged.annotations["io.containerd.image.name"] = t.str();
      tagged.annotations["org.opencontainers.image.ref.name"] = t.tag;
      index.manifests.push_back(std::move(tagged));
    }
  }
  plan["oci-layout"] = bytesEntry(R"({"imageLayoutVersion":"1.0.0"})", 0);
  plan["index.json"] = bytesEntry(oci::serialize(oci::toJson(index)), 0);
  return plan;
}

// ---------------------------------------------------------------- the writer

// A pax-restricted (plain ustar unless a name needs more) tar written straight to an fd.
class TarWriter {
 public:
  static Result<TarWriter> open(int fd) {
    TarWriter w;
    w.state_ = std::make_unique<State>();
    w.state_->fd = fd;
    w.a_.reset(archive_write_new());
    if (!w.a_) return failInvalid("archive_write_new: out of memory");
    archive_write_set_format_pax_restricted(w.a_.get());
    // No blocking: headers and 1 MiB data chunks go to the fd as they come, with no padding of
    // the last block beyond the end-of-archive marker.
    archive_write_set_bytes_per_block(w.a_.get(), 0);
    if (archive_write_open(w.a_.get(), w.state_.get(), nullptr, &TarWriter::onWrite, nullptr) !=
        ARCHIVE_OK)
      return fail(w.error("open archive"));
    return w;
  }

  Status header(const std::string& name, const Entry& e) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> ae(archive_entry_new(),
                                                                     &archive_entry_free);
    bool dir = e.kind == Entry::Kind::Dir;
    archive_entry_set_pathname(ae.get(), dir ? (name + "/").c_str() : name.c_str());
    archive_entry_set_filetype(ae.get(), dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(ae.get(), dir ? 0755 : 0644);
    archive_entry_set_size(ae.get(), dir ? 0 : static_cast<la_int64_t>(e.size));
    archive_entry_set_mtime(ae.get(), e.mtime, 0);
    archive_entry_set_uid(ae.get(), 0);
    archive_entry_set_gid(ae.get(), 0);
    if (archive_write_header(a_.get(), ae.get()) != ARCHIVE_OK)
      return fail(error("write header of `" + name + "`"));
    return {};
  }

  Status data(const char* p, size_t n, const std::string& name) {
    while (n > 0) {
      la_ssize_t w = archive_write_data(a_.get(), p, n);
      if (w <= 0) return fail(error("write `" + name + "`"));
      p += w;
      n -= static_cast<size_t>(w);
    }
    return {};
  }

  Status close() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) return fail(error("finish archive"));
    return {};
  }

 private:
  struct State {
    int fd = -1;
    std::optional<Error> err;  // the write callback's failure, errno intact
  };
  struct Free {
    void operator()(struct archive* a) const { archive_write_free(a); }
  };

  static la_ssize_t onWrite(struct archive* a, void* ctx, const void* buf, size_t n) {
    auto* st = static_cast<State*>(ctx);
    auto r = writeAll(st->fd, buf, n);
    if (!r) {
      st->err = r.error();
      archive_set_error(a, r.error().code(), "%s", r.error().what().c_str());
      return -1;
    }
    return static_cast<la_ssize_t>(n);
  }

  Error error(const std::string& what) const {
    if (state_->err) return Error(*state_->err).wrap("save: " + what);
    const char* msg = archive_error_string(a_.get());
    return Error(archive_errno(a_.get()), "save: " + what + ": " + (msg ? msg : "libarchive error"));
  }

  std::unique_ptr<State> state_;
  std::unique_ptr<struct archive, Free> a_;
};

// Copies exactly size bytes from r into the current entry; a source of another length is an
// error (the header, already written, would lie).
Status copyExactly(TarWriter& w, layer::Reader& r, uint64_t size, const std::string& name,
                   std::vector<char>& buf) {
  uint64_t done = 0;
  for (;;) {
    size_t n = TRY_CTX(r.read(buf.data(), buf.size()), "save: read `" + name + "`");
    if (n == 0) break;
    if (done + n > size) break;
    TRYV(w.data(buf.data(), n, name));
    done += n;
  }
  if (done != size)
    return failInvalid("save: `" + name + "`: the store's content is not " +
                       std::to_string(size) + " bytes long as recorded");
  return {};
}

Status writePlan(const store::Store& s, const Plan& plan, int fd) {
  TarWriter w = TRY(TarWriter::open(fd));
  std::vector<char> buf(kChunk);
  for (const auto& [name, e] : plan) {
    TRYV(w.header(name, e));
    switch (e.kind) {
      case Entry::Kind::Dir:
        break;
      case Entry::Kind::Bytes:
        TRYV(w.data(e.bytes.data(), e.bytes.size(), name));
        break;
      case Entry::Kind::Blob: {
        auto r = TRY(s.openBlob(e.blob));
        TRYV(copyExactly(w, *r, e.size, name, buf));
        break;
      }
      case Entry::Kind::LayerTar: {
        auto r = TRY_CTX(layer::decompressingReader(TRY(s.openBlob(e.blob))),
                         "save: layer " + e.blob.str());
        TRYV(copyExactly(w, *r, e.size, name, buf));
        break;
      }
    }
  }
  return w.close();
}

}  // namespace

Status save(const store::Store& s, const SaveRequest& req, int fd) {
  if (req.args.empty()) return failInvalid("save: no images named");
  // Plan everything (resolving every argument, sizing every layer) before writing a byte.
  std::vector<Selected> images = TRY(selectImages(s, req.args));
  Plan plan = req.format == Format::DockerArchive ? TRY(planDockerArchive(s, images))
                                                  : TRY(planOciArchive(s, images));
  return writePlan(s, plan, fd);
}

}  // namespace strata::archive
