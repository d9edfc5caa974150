// `registry gc`: mark every blob a linked manifest references, sweep the rest.
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <set>

#include <nlohmann/json.hpp>

#include "registry/server/server.h"
#include "registry/server/storage.h"
#include "util/format.h"
#include "util/fs.h"

namespace strata::registry::server {
namespace {

constexpr int64_t kStaleUploadSeconds = 7 * 24 * 3600;
constexpr int64_t kStaleTempSeconds = 24 * 3600;

void markDigest(const nlohmann::json& desc, std::set<std::string>& marked) {
  if (!desc.is_object() || !desc.contains("digest") || !desc["digest"].is_string()) return;
  auto d = oci::Digest::parse(desc["digest"].get<std::string>());
  if (d && d->algorithm == "sha256") marked.insert(d->hex);
}

// Marks manifest hex and everything it references: config, layers, index entries.
void markManifest(const Storage& s, const std::string& hex, std::set<std::string>& marked) {
  if (!marked.insert(hex).second) return;
  auto bytes = readSmallFile(s.blobPath(oci::Digest::sha256(hex)), 16u << 20);
  if (!bytes) return;
  const auto doc = nlohmann::json::parse(*bytes, nullptr, false);
  if (!doc.is_object()) return;
  if (doc.contains("config")) markDigest(doc["config"], marked);
  for (const char* list : {"layers", "blobs"})
    if (doc.contains(list) && doc[list].is_array())
      for (const auto& l : doc[list]) markDigest(l, marked);
  if (doc.contains("manifests") && doc["manifests"].is_array())
    for (const auto& m : doc["manifests"]) {
      markDigest(m, marked);  // the entry itself; its own references are marked via its link
      auto d = oci::Digest::parse(m.value("digest", ""));
      if (d && d->algorithm == "sha256") markManifest(s, d->hex, marked);
    }
}

int64_t ageSeconds(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) < 0) return 0;
  return static_cast<int64_t>(std::time(nullptr)) - static_cast<int64_t>(st.st_mtim.tv_sec);
}

// Removes the files of dir (link files named by a blob's hex) for which keep() is false.
Status pruneLinks(const std::string& dir, const std::function<bool(const std::string&)>& keep) {
  bool removed = false;
  for (const auto& name : TRY(listDirectory(dir))) {
    if (!oci::isSha256Hex(name) || keep(name)) continue;
    if (::unlink((dir + "/" + name).c_str()) < 0 && errno != ENOENT) return failErrno("remove `" + dir + "/" + name + "`");
    removed = true;
  }
  return removed ? fsyncDir(dir) : Status{};
}

}  // namespace

Result<GcResult> collectGarbage(const std::string& root) {
  if (!isDirectory(root)) return fail(Error(ENOENT, "registry storage `" + root + "`"));
  auto storage = TRY(Storage::open(root, false));
  if (!isDirectory(storage->blobDir())) return fail(Error(ENOENT, "registry storage `" + root + "`"));
  const auto repos = TRY(storage->repositories());

  // Mark: every manifest a repository links, and what it references.
  std::set<std::string> marked;
  for (const auto& repo : repos) {
    for (const auto& hex : TRY(listDirectory(storage->repoDir(repo, layout::kManifests))))
      if (oci::isSha256Hex(hex)) markManifest(*storage, hex, marked);
    for (const auto& tag : TRY(listDirectory(storage->repoDir(repo, layout::kTags))))
      if (auto d = storage->resolveTag(repo, tag)) markManifest(*storage, d->hex, marked);
  }

  // Sweep blobs, then the links that pointed at them.
  GcResult result;
  const std::string blobs = storage->blobDir();
  for (const auto& name : TRY(listDirectory(blobs))) {
    const std::string path = blobs + "/" + name;
    const bool temp = name.rfind(".tmp-", 0) == 0;
    if (temp ? ageSeconds(path) < kStaleTempSeconds : (!oci::isSha256Hex(name) || marked.count(name))) continue;
    struct stat st;
    const uint64_t size = ::lstat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    if (::unlink(path.c_str()) < 0) {
      if (errno == ENOENT) continue;
      return failErrno("remove blob `" + path + "`");
    }
    result.bytesFreed += size;
    if (!temp) ++result.blobsRemoved;
  }
  TRYV(fsyncDir(blobs));
  for (const auto& repo : repos) {
    TRYV(pruneLinks(storage->repoDir(repo, layout::kLayers),
                    [&](const std::string& hex) { return marked.count(hex) > 0; }));
    const std::string referrers = storage->repoDir(repo, layout::kReferrers);
    const std::string manifests = storage->repoDir(repo, layout::kManifests);
    for (const auto& subject : TRY(listDirectory(referrers)))
      TRYV(pruneLinks(referrers + "/" + subject,
                      [&](const std::string& hex) { return pathExists(manifests + "/" + hex); }));
  }

  // Uploads abandoned long ago.
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (const auto& id : TRY(listDirectory(storage->uploadsDir()))) {
    const std::string dir = storage->uploadPath(id);
    auto started = readSmallFile(dir + "/startedat", 256);
    auto when = started ? parseRfc3339Seconds(*started) : Result<int64_t>(now - ageSeconds(dir));
    if (when && now - *when > kStaleUploadSeconds) TRYV(removeAll(dir));
  }
  return result;
}

}  // namespace strata::registry::server
