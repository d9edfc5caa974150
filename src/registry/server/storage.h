// The registry's storage directory: content-addressed blobs shared by every repository, link
// files that put blobs, manifests and tags into repositories, and upload sessions.
//
//   <root>/blobs/sha256/<hex>                              verified content (blobs and manifests)
//   <root>/repositories/<name>/_layers/<hex>               blob <hex> is in the repository
//   <root>/repositories/<name>/_manifests/<hex>            manifest <hex> is; holds its media type
//   <root>/repositories/<name>/_tags/<tag>                 holds "sha256:<hex>"
//   <root>/repositories/<name>/_referrers/<subject>/<hex>  holds the referrer's descriptor (JSON)
//   <root>/uploads/<uuid>/{data,startedat,repository}      an upload in progress
//   <root>/auth/token.key                                   the key signing bearer tokens
//
// The folders inside a repository start with '_', which no name component may, so a repository
// "a/_tags" cannot exist and no name collides with another repository's files.
//
// Every file is written to a temp name, fsynced and renamed (link files) or renamed from the
// upload's data file once its digest is verified (blobs), so a reader never sees a partial or
// unverified blob, and any number of processes may share one storage directory. Uploads of the
// same content race harmlessly: both renames install identical bytes. Upload data is hashed as
// it streams in; a chunk arriving at another process is hashed again from disk at commit.
//
// Thread safety: all methods may be called concurrently, also from several processes. Callers
// pass names and tags that passed names.h (checked again here: EINVAL otherwise).
// Errors use errno to say what went wrong: ENOENT (unknown blob, manifest, tag, repository or
// upload), ERANGE (a chunk not starting at the upload's current size), EBADMSG (content does not
// match the digest asked for), others for I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "oci/digest.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/sha256.h"

namespace strata::registry::server {

// The folders of a repository (see above).
namespace layout {
inline constexpr const char* kLayers = "_layers";
inline constexpr const char* kManifests = "_manifests";
inline constexpr const char* kTags = "_tags";
inline constexpr const char* kReferrers = "_referrers";
}  // namespace layout

// Pulls the next bytes of a request body into buf; 0 at its end.
using ByteSource = std::function<Result<size_t>(char* buf, size_t size)>;

struct OpenBlob {
  UniqueFd fd;
  uint64_t size = 0;
};

struct StoredManifest {
  std::string bytes;
  std::string mediaType;
  oci::Digest digest;
};

class Storage {
 public:
  // Opens root, creating it and its top folders when missing (not in read-only mode, where
  // root must exist). Errors name the directory.
  static Result<std::unique_ptr<Storage>> open(const std::string& root, bool readOnly);
  const std::string& root() const { return root_; }

  // --- blobs
  bool blobExists(const oci::Digest& d) const;
  // Blob d of repository repo, opened for reading. ENOENT when the repository does not have it.
  Result<OpenBlob> openBlob(const std::string& repo, const oci::Digest& d) const;
  bool repoHasBlob(const std::string& repo, const oci::Digest& d) const;
  // Adds an existing blob to repo. ENOENT when the blob is not stored.
  Status linkBlob(const std::string& repo, const oci::Digest& d);
  // Removes blob d from repo (the content stays until garbage collection). ENOENT when absent.
  Status unlinkBlob(const std::string& repo, const oci::Digest& d);

  // --- manifests and tags
  // The digest tag points at. ENOENT when the tag does not exist.
  Result<oci::Digest> resolveTag(const std::string& repo, const std::string& tag) const;
  bool hasManifest(const std::string& repo, const oci::Digest& d) const;
  // Manifest d of repo; ENOENT when repo does not hold it.
  Result<StoredManifest> getManifest(const std::string& repo, const oci::Digest& d, size_t limit) const;
  // Stores m (whose digest the caller has computed), then points each tag at it. referrer, when
  // given, is m's descriptor JSON, listed under the subject's digest for the referrers API.
  Status putManifest(const std::string& repo, const StoredManifest& m, const std::vector<std::string>& tags,
                     const std::optional<std::pair<oci::Digest, std::string>>& referrer);
  // Removes manifest d from repo with every tag pointing at it. ENOENT when absent.
  Status deleteManifest(const std::string& repo, const oci::Digest& d);
  Status deleteTag(const std::string& repo, const std::string& tag);
  // Tags of repo, sorted. ENOENT when the repository does not exist.
  Result<std::vector<std::string>> tags(const std::string& repo) const;
  // Every repository name, sorted.
  Result<std::vector<std::string>> repositories() const;
  // Descriptor JSON of each manifest in repo whose subject is d, sorted by digest.
  Result<std::vector<std::string>> referrers(const std::string& repo, const oci::Digest& d) const;

  // --- uploads
  // Starts an upload session for repo; returns its id.
  Result<std::string> startUpload(const std::string& repo);
  // Bytes received so far. ENOENT for an unknown id or one of another repository.
  Result<uint64_t> uploadSize(const std::string& repo, const std::string& id) const;
  // Appends the bytes of body. When start is given it must equal the current size (ERANGE
  // otherwise, nothing read). On an error while reading body the data is cut back to where it
  // was. Returns the new size.
  Result<uint64_t> appendUpload(const std::string& repo, const std::string& id,
                                std::optional<uint64_t> start, const ByteSource& body);
  // Verifies the upload against want and installs it as a blob of repo. EBADMSG on a mismatch,
  // after which the upload is gone. Returns the blob size.
  Result<uint64_t> commitUpload(const std::string& repo, const std::string& id, const oci::Digest& want);
  Status cancelUpload(const std::string& repo, const std::string& id);
  // A whole blob in one go: startUpload + appendUpload + commitUpload, cancelled on failure.
  Result<uint64_t> putBlob(const std::string& repo, const oci::Digest& want, const ByteSource& body);

  // Paths (for garbage collection and the token key); every one of them is built here.
  std::string blobDir() const { return root_ + "/blobs/sha256"; }
  std::string blobPath(const oci::Digest& d) const;
  std::string repoPath(const std::string& repo) const;
  // One of a repository's folders: layout::kLayers, kManifests, kTags or kReferrers.
  std::string repoDir(const std::string& repo, const char* folder) const { return repoPath(repo) + "/" + folder; }
  std::string uploadsDir() const { return root_ + "/uploads"; }
  std::string uploadPath(const std::string& id) const;
  std::string tokenKeyPath() const { return root_ + "/auth/token.key"; }

 private:
  explicit Storage(std::string root, bool readOnly) : root_(std::move(root)), readOnly_(readOnly) {}
  Result<std::string> checkedRepo(const std::string& repo) const;
  // The upload's data file, opened read-write and locked, after checking it belongs to repo.
  Result<UniqueFd> lockUpload(const std::string& repo, const std::string& id) const;

  // Hash states of uploads this process has seen every byte of, by id.
  struct HashState {
    uint64_t offset = 0;
    std::unique_ptr<Sha256> sha;
  };
  std::unique_ptr<Sha256> takeHash(const std::string& id, uint64_t offset);
  void keepHash(const std::string& id, uint64_t offset, std::unique_ptr<Sha256> sha);

  std::string root_;
  bool readOnly_;
  std::mutex hashMu_;
  std::map<std::string, HashState> hashes_;
};

// Reads a whole small file; ENOENT when missing.
Result<std::string> readSmallFile(const std::string& path, size_t limit);

}  // namespace strata::registry::server
