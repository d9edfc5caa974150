#include "registry/pull.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <mutex>
#include <thread>

#include "image/images.h"
#include "oci/media_types.h"
#include "util/fs.h"
#include "util/parallel.h"
#include "util/sha256.h"

namespace strata::registry {
namespace {

constexpr uint64_t kConfigLimit = 8u << 20;
constexpr int kRetries = 5;

std::string shortId(const oci::Digest& d) { return d.hex.substr(0, 12); }

// The outcome of a download, set before the stream to the unpacker is closed, so the unpacker
// can tell a verified end of stream from a cut one.
struct StreamState {
  std::mutex mu;
  bool done = false;
  std::optional<Error> error;
};

// The unpacker's side of the stream: bytes as they arrive; at the end, the download's verdict.
class StreamReader : public layer::Reader {
 public:
  StreamReader(UniqueFd fd, StreamState& state) : fd_(std::move(fd)), state_(state) {}
  Result<size_t> read(void* buf, size_t size) override {
    const size_t n = TRY(readSome(fd_.get(), buf, size));
    if (n > 0) return n;
    std::lock_guard lock(state_.mu);
    if (state_.error) return fail(*state_.error);
    if (!state_.done) return failInvalid("download stopped before the end of the layer");
    return size_t(0);
  }

 private:
  UniqueFd fd_;
  StreamState& state_;
};

class LayerPull {
 public:
  LayerPull(store::Store& s, Client& c, const std::string& repo, const oci::Descriptor& blob,
            const oci::Digest& diffId, Progress& progress)
      : s_(s), c_(c), repo_(repo), blob_(blob), diffId_(diffId), progress_(progress), id_(shortId(blob.digest)) {}

  Status run() {
    if (!oci::media::isLayer(blob_.mediaType))
      return failInvalid("layer " + blob_.digest.str() + ": unsupported media type \"" + blob_.mediaType + "\"");
    if (s_.hasBlob(blob_.digest) && s_.hasLayer(diffId_.hex)) {
      progress_.status(id_, "Already exists");
      return {};
    }
    TRYV(mkdirAll(s_.layout().downloadsDir(), 0700));
    const std::string partial = s_.layout().download(blob_.digest);
    // Another pull of the same blob finishes first; afterwards the blob may be here already.
    // The file locked must still be the one at the path (the other pull may have moved it into
    // the blob store or deleted it meanwhile).
    for (;;) {
      file_ = TRY(openFile(partial, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
      if (::flock(file_.get(), LOCK_EX) < 0) return failErrno("lock `" + partial + "`");
      struct stat held, now;
      if (::fstat(file_.get(), &held) == 0 && ::stat(partial.c_str(), &now) == 0 &&
          held.st_ino == now.st_ino && held.st_dev == now.st_dev)
        break;
    }
    if (s_.hasBlob(blob_.digest)) {
      TRYV(s_.addLayer(TRY(s_.openBlob(blob_.digest)), diffId_, blob_.digest));
      progress_.status(id_, "Pull complete");
      return {};
    }
    return downloadAndUnpack(partial);
  }

 private:
  Status downloadAndUnpack(const std::string& partial) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) return failErrno("socketpair");
    UniqueFd readEnd(fds[0]);
    stream_.reset(fds[1]);
    StreamState state;
    std::optional<Error> unpackError;
    std::thread unpacker([&, fd = std::move(readEnd)]() mutable {
      auto r = s_.addLayer(std::make_unique<StreamReader>(std::move(fd), state), diffId_, blob_.digest);
      if (!r) unpackError = std::move(r).error();
    });
    Status downloaded = download();
    Status verdict = downloaded ? verify() : downloaded;
    {
      std::lock_guard lock(state.mu);
      state.done = true;
      if (!verdict) state.error = verdict.error();
    }
    stream_.reset();  // end of stream: the unpacker now reads the verdict
    unpacker.join();
    if (verdict) progress_.status(id_, "Download complete");

    if (!verdict) {
      // A blob that arrived whole but wrong is useless; a cut one is kept to resume.
      if (downloaded) ::unlink(partial.c_str());
      return fail(verdict.error());
    }
    if (unpackError) {
      ::unlink(partial.c_str());
      return fail(unpackError->wrap("layer " + blob_.digest.str()));
    }
    TRYV(fsyncFd(file_.get(), partial));
    TRYV(s_.adoptBlob(partial, blob_.digest));
    progress_.status(id_, "Pull complete");
    return {};
  }

  // Fetches the blob into the partial file and the stream, resuming from what the file holds
  // and retrying a cut transfer from where it stopped.
  Status download() {
    struct stat st;
    if (::fstat(file_.get(), &st) < 0) return failErrno("stat partial download");
    uint64_t onDisk = static_cast<uint64_t>(st.st_size);
    if (blob_.size > 0 && onDisk > static_cast<uint64_t>(blob_.size)) onDisk = 0;
    written_ = 0;
    hash_ = Sha256();
    progress_.status(id_, "Pulling fs layer");
    if (blob_.size > 0 && onDisk == static_cast<uint64_t>(blob_.size)) return replay(onDisk);
    Status last;
    for (int attempt = 0; attempt <= kRetries; ++attempt) {
      const uint64_t from = written_ > 0 ? written_ : onDisk;
      auto onStart = [&](bool resumed) -> Status {
        if (resumed && written_ == 0) return replay(from);  // the file's bytes go first
        if (!resumed && written_ > 0)
          return failInvalid("the registry restarted the download of " + blob_.digest.str());
        if (!resumed && ::ftruncate(file_.get(), 0) < 0) return failErrno("truncate partial download");
        return {};
      };
      last = c_.fetchBlob(repo_, blob_.digest, from, onStart,
                          [&](const char* data, size_t n) { return accept(data, n); });
      if (last) return {};
      // A transport failure after some progress is retried from where it stopped; anything
      // else (an HTTP error, a local failure) is final.
      if (written_ == 0 || last.error().message().rfind("Get \"", 0) != 0) break;
    }
    return last;
  }

  // Feeds the first n bytes already in the partial file into the hash and the stream.
  Status replay(uint64_t n) {
    std::vector<char> buf(1 << 20);
    for (uint64_t off = 0; off < n;) {
      const ssize_t got = ::pread(file_.get(), buf.data(), std::min<uint64_t>(buf.size(), n - off), static_cast<off_t>(off));
      if (got <= 0) return failErrno("read partial download");
      TRYV(forward(buf.data(), static_cast<size_t>(got)));
      off += static_cast<uint64_t>(got);
    }
    return {};
  }

  // A chunk from the network: to the file, then the hash and the stream.
  Status accept(const char* data, size_t n) {
    if (::pwrite(file_.get(), data, n, static_cast<off_t>(written_)) != static_cast<ssize_t>(n))
      return failErrno("write partial download");
    return forward(data, n);
  }

  Status forward(const char* data, size_t n) {
    hash_.update(data, n);
    written_ += n;
    // When the unpacker stopped (its error is reported), the download goes on for the digest.
    if (streamOpen_ && !sendAll(stream_.get(), data, n, "stream layer")) streamOpen_ = false;
    progress_.bytes(id_, "Downloading", written_, static_cast<uint64_t>(std::max<int64_t>(blob_.size, 0)));
    return {};
  }

  Status verify() {
    progress_.status(id_, "Verifying Checksum");
    const oci::Digest got = oci::Digest::sha256(hash_.hex());
    if (got != blob_.digest)
      return failInvalid("blob " + blob_.digest.str() + ": content does not match its digest (got " +
                         got.str() + ")");
    if (blob_.size > 0 && written_ != static_cast<uint64_t>(blob_.size))
      return failInvalid("blob " + blob_.digest.str() + ": " + std::to_string(written_) +
                         " bytes, the manifest says " + std::to_string(blob_.size));
    return {};
  }

  store::Store& s_;
  Client& c_;
  const std::string& repo_;
  const oci::Descriptor& blob_;
  const oci::Digest& diffId_;
  Progress& progress_;
  std::string id_;
  UniqueFd file_, stream_;
  bool streamOpen_ = true;
  uint64_t written_ = 0;
  Sha256 hash_;
};

bool platformMatches(const oci::Platform& have, const oci::Platform& want) {
  if (have.os != want.os || have.architecture != want.architecture) return false;
  if (want.variant.empty()) return true;
  return have.variant == want.variant;
}

}  // namespace

Result<oci::Platform> parsePlatform(const std::string& text) {
  oci::Platform p;
  if (text.empty()) {
    struct utsname u;
    std::string machine = ::uname(&u) == 0 ? u.machine : "x86_64";
    p.os = "linux";
    p.architecture = machine == "aarch64" ? "arm64" : machine == "x86_64" ? "amd64" : machine;
    return p;
  }
  std::vector<std::string> parts;
  for (size_t b = 0, e; b <= text.size(); b = e + 1) {
    e = text.find('/', b);
    if (e == std::string::npos) e = text.size();
    parts.push_back(text.substr(b, e - b));
  }
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
    return failInvalid("invalid platform \"" + text + "\": expected os/arch[/variant]");
  p.os = parts[0];
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  return p;
}

std::string platformString(const oci::Platform& p) {
  return p.os + "/" + p.architecture + (p.variant.empty() ? "" : "/" + p.variant);
}

Result<PullResult> pull(store::Store& s, Client& c, const oci::Reference& ref,
                        const PullOptions& opt, Progress& progress) {
  const std::string repo = ref.path;
  const std::string asked = ref.digest ? ref.digest->str() : ref.tag;
  c.addScope("repository:" + repo + ":pull");
  auto top = c.getManifest(repo, asked);
  if (!top) {
    const std::string& m = top.error().message();
    if (m.rfind("manifest unknown", 0) == 0 || m.rfind("name unknown", 0) == 0)
      return fail(std::move(top).error().wrap("manifest for " + ref.familiar() + " not found"));
    return fail(std::move(top).error().wrap("pull " + ref.familiar()));
  }
  progress.message(asked + ": Pulling from " + repo);

  PullResult out;
  out.digest = top->digest;
  oci::Manifest manifest;
  std::string manifestBytes;
  if (oci::media::isIndex(top->mediaType)) {
    oci::Index index = TRY_CTX(oci::parseIndex(top->bytes), "pull " + ref.familiar());
    const oci::Descriptor* chosen = nullptr;
    for (const auto& m : index.manifests)
      if (m.platform && platformMatches(*m.platform, opt.platform) && oci::media::isManifest(m.mediaType)) {
        chosen = &m;
        break;
      }
    if (!chosen)
      return failInvalid("no matching manifest for " + platformString(opt.platform) +
                         " in the manifest list entries of " + ref.familiar());
    auto m = TRY_CTX(c.getManifest(repo, chosen->digest.str()), "pull " + ref.familiar());
    manifestBytes = std::move(m.bytes);
  } else if (oci::media::isManifest(top->mediaType)) {
    manifestBytes = std::move(top->bytes);
  } else {
    return failInvalid("pull " + ref.familiar() + ": unsupported manifest media type \"" +
                       top->mediaType + "\" (schema 1 manifests are not supported)");
  }
  manifest = TRY_CTX(oci::parseManifest(manifestBytes), "pull " + ref.familiar());

  auto pulled = store::ingest(s, [&]() -> Result<PullResult> {
    const std::string what = "pull " + ref.familiar();
    std::string configBytes;
    if (s.hasBlob(manifest.config.digest)) {
      configBytes = TRY_CTX(s.readBlob(manifest.config.digest), what);
    } else {
      configBytes = TRY_CTX(c.fetchSmallBlob(repo, manifest.config.digest, kConfigLimit), what);
    }
    oci::ImageConfig config = TRY_CTX(oci::parseImageConfig(configBytes), what);
    if (config.os != opt.platform.os || config.architecture != opt.platform.architecture)
      return failInvalid("image with reference " + ref.familiar() +
                         " was found but does not match the specified platform: wanted " +
                         platformString(opt.platform) + ", actual: " + config.os + "/" + config.architecture);
    if (config.diffIds.size() != manifest.layers.size())
      return failInvalid(what + ": the manifest has " + std::to_string(manifest.layers.size()) +
                         " layers but the config lists " + std::to_string(config.diffIds.size()));

    TRYV_CTX(runParallel(manifest.layers.size(), opt.parallel, [&](size_t i) {
      return LayerPull(s, c, repo, manifest.layers[i], config.diffIds[i], progress).run();
    }), what);

    const oci::Digest configDigest = TRY(s.putBlob(configBytes));
    const oci::Digest manifestDigest = TRY(s.putBlob(manifestBytes));
    // Whether the reference already named this image.
    auto before = image::resolve(s, ref.str());
    out.upToDate = before && before->id == configDigest;
    std::vector<oci::Reference> tags;
    if (!ref.digest) tags.push_back(ref);
    const std::string repoDigest = ref.repository() + "@" + out.digest.str();
    out.record = TRY(image::recordImage(s, configDigest, manifestDigest, tags, {repoDigest}));
    for (const auto& l : manifest.layers) (void)s.addBlobSource(l.digest, ref.repository());
    (void)s.addBlobSource(configDigest, ref.repository());
    progress.message("Digest: " + out.digest.str());
    return out;
  });
  // Only partial downloads a later pull can resume from stay behind (rmdir fails otherwise).
  ::rmdir(s.layout().downloadsDir().c_str());
  return pulled;
}

}  // namespace strata::registry
