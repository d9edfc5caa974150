// Blobs, manifests, tags and referrers of the storage directory (uploads: storage_upload.cpp).
#include "registry/server/storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "registry/server/names.h"
#include "util/fs.h"

namespace strata::registry::server {
namespace {

using layout::kLayers;
using layout::kManifests;
using layout::kReferrers;
using layout::kTags;

bool validDigest(const oci::Digest& d) { return d.algorithm == "sha256" && oci::isSha256Hex(d.hex); }

Status checkDigest(const oci::Digest& d) {
  if (validDigest(d)) return {};
  return fail(Error(EINVAL, "unsupported digest `" + d.str() + "`"));
}

Status removeFile(const std::string& path) {
  if (::unlink(path.c_str()) < 0) return failErrno("remove `" + path + "`");
  return fsyncDir(dirName(path));
}

// Whether dir holds any of a repository's own folders.
bool isRepositoryDir(const std::string& dir) {
  for (const char* sub : {kManifests, kLayers, kTags})
    if (isDirectory(joinPath(dir, sub))) return true;
  return false;
}

Status walkRepositories(const std::string& dir, const std::string& prefix, std::vector<std::string>& out,
                        int depth) {
  if (depth > 128) return {};
  auto names = TRY(listDirectory(dir));
  for (const auto& name : names) {
    if (name.empty() || name[0] == '_' || name[0] == '.') continue;
    const std::string repo = prefix.empty() ? name : prefix + "/" + name;
    const std::string path = joinPath(dir, name);
    if (!validRepositoryName(repo) || !isDirectory(path)) continue;
    if (isRepositoryDir(path)) out.push_back(repo);
    TRYV(walkRepositories(path, repo, out, depth + 1));
  }
  return {};
}

}  // namespace

Result<std::string> readSmallFile(const std::string& path, size_t limit) {
  UniqueFd fd = TRY(openFile(path, O_RDONLY));
  std::string out;
  char buf[16 << 10];
  for (;;) {
    const size_t n = TRY(readSome(fd.get(), buf, sizeof buf));
    if (n == 0) return out;
    if (out.size() + n > limit) return fail(Error(EFBIG, "read `" + path + "`: larger than expected"));
    out.append(buf, n);
  }
}

Result<std::unique_ptr<Storage>> Storage::open(const std::string& root, bool readOnly) {
  if (root.empty()) return failInvalid("no storage directory given");
  std::unique_ptr<Storage> s(new Storage(root, readOnly));
  if (readOnly) {
    if (!isDirectory(root)) return fail(Error(ENOENT, "storage directory `" + root + "`"));
    return s;
  }
  for (const char* sub : {"blobs/sha256", "repositories", "uploads"})
    TRYV_CTX(mkdirAll(joinPath(root, sub)), "storage directory `" + root + "`");
  if (::access(root.c_str(), W_OK) < 0) return failErrno("storage directory `" + root + "`");
  return s;
}

std::string Storage::blobPath(const oci::Digest& d) const { return blobDir() + "/" + d.hex; }
std::string Storage::repoPath(const std::string& repo) const { return root_ + "/repositories/" + repo; }
std::string Storage::uploadPath(const std::string& id) const { return uploadsDir() + "/" + id; }

Result<std::string> Storage::checkedRepo(const std::string& repo) const {
  if (!validRepositoryName(repo)) return fail(Error(EINVAL, "invalid repository name"));
  return repoPath(repo);
}

bool Storage::blobExists(const oci::Digest& d) const { return validDigest(d) && pathExists(blobPath(d)); }

bool Storage::repoHasBlob(const std::string& repo, const oci::Digest& d) const {
  auto dir = checkedRepo(repo);
  if (!dir || !validDigest(d)) return false;
  return (pathExists(*dir + "/" + kLayers + "/" + d.hex) || pathExists(*dir + "/" + kManifests + "/" + d.hex)) &&
         pathExists(blobPath(d));
}

Result<OpenBlob> Storage::openBlob(const std::string& repo, const oci::Digest& d) const {
  if (!repoHasBlob(repo, d)) return fail(Error(ENOENT, "blob " + d.str() + " not in " + repo));
  OpenBlob b;
  b.fd = TRY(openFile(blobPath(d), O_RDONLY));
  struct stat st;
  if (::fstat(b.fd.get(), &st) < 0) return failErrno("stat blob " + d.str());
  b.size = static_cast<uint64_t>(st.st_size);
  return b;
}

Status Storage::linkBlob(const std::string& repo, const oci::Digest& d) {
  const std::string dir = TRY(checkedRepo(repo)) + "/" + kLayers;
  TRYV(checkDigest(d));
  if (!blobExists(d)) return fail(Error(ENOENT, "blob " + d.str() + " is not stored"));
  const std::string link = dir + "/" + d.hex;
  if (pathExists(link)) return {};
  TRYV(mkdirAll(dir));
  return writeFileAtomic(link, d.str());
}

Status Storage::unlinkBlob(const std::string& repo, const oci::Digest& d) {
  const std::string dir = TRY(checkedRepo(repo));
  TRYV(checkDigest(d));
  return removeFile(dir + "/" + kLayers + "/" + d.hex);
}

Result<oci::Digest> Storage::resolveTag(const std::string& repo, const std::string& tag) const {
  const std::string dir = TRY(checkedRepo(repo));
  if (!validTag(tag)) return fail(Error(EINVAL, "invalid tag"));
  std::string text = TRY(readSmallFile(dir + "/" + kTags + "/" + tag, 1024));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  oci::Digest d = TRY(oci::Digest::parse(text));
  TRYV(checkDigest(d));
  return d;
}

bool Storage::hasManifest(const std::string& repo, const oci::Digest& d) const {
  auto dir = checkedRepo(repo);
  return dir && validDigest(d) && pathExists(*dir + "/" + kManifests + "/" + d.hex) && pathExists(blobPath(d));
}

Result<StoredManifest> Storage::getManifest(const std::string& repo, const oci::Digest& d, size_t limit) const {
  const std::string dir = TRY(checkedRepo(repo));
  TRYV(checkDigest(d));
  StoredManifest m;
  m.mediaType = TRY(readSmallFile(dir + "/" + kManifests + "/" + d.hex, 4096));
  m.bytes = TRY(readSmallFile(blobPath(d), limit));
  m.digest = d;
  return m;
}

Status Storage::putManifest(const std::string& repo, const StoredManifest& m, const std::vector<std::string>& tags,
                            const std::optional<std::pair<oci::Digest, std::string>>& referrer) {
  if (readOnly_) return fail(Error(EROFS, "storage is read-only"));
  const std::string dir = TRY(checkedRepo(repo));
  TRYV(checkDigest(m.digest));
  for (const auto& t : tags)
    if (!validTag(t)) return fail(Error(EINVAL, "invalid tag"));
  // Content first, then the links that make it visible: a reader never follows a dangling link.
  if (!pathExists(blobPath(m.digest))) TRYV(writeFileAtomic(blobPath(m.digest), m.bytes));
  TRYV(mkdirAll(dir + "/" + kManifests));
  TRYV(writeFileAtomic(dir + "/" + kManifests + "/" + m.digest.hex, m.mediaType));
  if (referrer) {
    TRYV(checkDigest(referrer->first));
    const std::string rdir = dir + "/" + kReferrers + "/" + referrer->first.hex;
    TRYV(mkdirAll(rdir));
    TRYV(writeFileAtomic(rdir + "/" + m.digest.hex, referrer->second));
  }
  if (!tags.empty()) TRYV(mkdirAll(dir + "/" + kTags));
  for (const auto& t : tags) TRYV(writeFileAtomic(dir + "/" + kTags + "/" + t, m.digest.str()));
  return {};
}

Status Storage::deleteManifest(const std::string& repo, const oci::Digest& d) {
  if (readOnly_) return fail(Error(EROFS, "storage is read-only"));
  const std::string dir = TRY(checkedRepo(repo));
  TRYV(checkDigest(d));
  const std::string link = dir + "/" + kManifests + "/" + d.hex;
  if (!pathExists(link)) return fail(Error(ENOENT, "manifest " + d.str() + " not in " + repo));
  for (const auto& tag : TRY(listDirectory(dir + "/" + kTags))) {
    if (!validTag(tag)) continue;
    auto target = resolveTag(repo, tag);
    if (target && *target == d) TRYV(removeFile(dir + "/" + kTags + "/" + tag));
  }
  if (auto bytes = readSmallFile(blobPath(d), 8u << 20)) {
    auto j = nlohmann::json::parse(*bytes, nullptr, false);
    if (j.is_object() && j.contains("subject") && j["subject"].is_object()) {
      auto subject = oci::Digest::parse(j["subject"].value("digest", ""));
      if (subject && validDigest(*subject)) {
        const std::string entry = dir + "/" + kReferrers + "/" + subject->hex + "/" + d.hex;
        if (pathExists(entry)) TRYV(removeFile(entry));
      }
    }
  }
  return removeFile(link);
}

Status Storage::deleteTag(const std::string& repo, const std::string& tag) {
  if (readOnly_) return fail(Error(EROFS, "storage is read-only"));
  const std::string dir = TRY(checkedRepo(repo));
  if (!validTag(tag)) return fail(Error(EINVAL, "invalid tag"));
  return removeFile(dir + "/" + kTags + "/" + tag);
}

Result<std::vector<std::string>> Storage::tags(const std::string& repo) const {
  const std::string dir = TRY(checkedRepo(repo));
  if (!isRepositoryDir(dir)) return fail(Error(ENOENT, "repository " + repo + " not known"));
  std::vector<std::string> out;
  for (auto& name : TRY(listDirectory(dir + "/" + kTags)))
    if (validTag(name)) out.push_back(std::move(name));
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<std::string>> Storage::repositories() const {
  std::vector<std::string> out;
  TRYV(walkRepositories(root_ + "/repositories", "", out, 0));
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<std::string>> Storage::referrers(const std::string& repo, const oci::Digest& d) const {
  const std::string dir = TRY(checkedRepo(repo));
  TRYV(checkDigest(d));
  const std::string rdir = dir + "/" + kReferrers + "/" + d.hex;
  auto names = TRY(listDirectory(rdir));
  std::sort(names.begin(), names.end());
  std::vector<std::string> out;
  for (const auto& name : names) {
    if (!oci::isSha256Hex(name) || !hasManifest(repo, oci::Digest::sha256(name))) continue;
    auto text = readSmallFile(rdir + "/" + name, 1 << 20);
    if (text) out.push_back(std::move(*text));
  }
  return out;
}

}  // namespace strata::registry::server
