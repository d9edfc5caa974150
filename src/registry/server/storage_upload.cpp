// Upload sessions: data streamed to uploads/<id>/data, hashed on the way, verified and renamed
// into blobs/ on commit.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "registry/server/names.h"
#include "registry/server/storage.h"
#include "util/format.h"
#include "util/fs.h"

namespace strata::registry::server {
namespace {

constexpr size_t kMaxCachedHashes = 4096;

Result<std::string> newUploadId() {
  unsigned char b[16];
  for (size_t got = 0; got < sizeof b;) {
    const ssize_t n = ::getrandom(b + got, sizeof b - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno("getrandom");
    }
    got += static_cast<size_t>(n);
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // UUID version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id += '-';
    id += hex[b[i] >> 4];
    id += hex[b[i] & 15];
  }
  return id;
}

Result<std::string> hashFile(int fd, uint64_t size) {
  Sha256 sha;
  std::vector<char> buf(1 << 20);
  for (uint64_t off = 0; off < size;) {
    const ssize_t n = ::pread(fd, buf.data(), std::min<uint64_t>(buf.size(), size - off), static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno("read upload");
    }
    if (n == 0) return failInvalid("read upload: file shrank");
    sha.update(buf.data(), static_cast<size_t>(n));
    off += static_cast<uint64_t>(n);
  }
  return sha.hex();
}

Result<uint64_t> fileSize(int fd) {
  struct stat st;
  if (::fstat(fd, &st) < 0) return failErrno("stat upload");
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace

std::unique_ptr<Sha256> Storage::takeHash(const std::string& id, uint64_t offset) {
  std::lock_guard lock(hashMu_);
  auto it = hashes_.find(id);
  std::unique_ptr<Sha256> sha;
  if (it != hashes_.end()) {
    if (it->second.offset == offset) sha = std::move(it->second.sha);
    hashes_.erase(it);
  }
  if (!sha && offset == 0) sha = std::make_unique<Sha256>();
  return sha;
}

void Storage::keepHash(const std::string& id, uint64_t offset, std::unique_ptr<Sha256> sha) {
  std::lock_guard lock(hashMu_);
  if (hashes_.size() >= kMaxCachedHashes) hashes_.erase(hashes_.begin());  // rehashed at commit
  hashes_[id] = HashState{offset, std::move(sha)};
}

Result<std::string> Storage::startUpload(const std::string& repo) {
  if (readOnly_) return fail(Error(EROFS, "storage is read-only"));
  TRYV(checkedRepo(repo));
  std::string id, dir;
  for (;;) {
    id = TRY(newUploadId());
    dir = uploadPath(id);
    if (::mkdir(dir.c_str(), 0755) == 0) break;
    if (errno != EEXIST) return failErrno("create upload `" + dir + "`");
  }
  Status st = [&]() -> Status {
    TRY(openFile(dir + "/data", O_WRONLY | O_CREAT | O_EXCL, 0644));
    TRYV(writeFileAtomic(dir + "/startedat", nowRfc3339Nano()));
    // Written last: an upload without it is not usable (nor listed as one of repo's).
    return writeFileAtomic(dir + "/repository", repo);
  }();
  if (!st) {
    (void)removeAll(dir);
    return fail(std::move(st).error());
  }
  return id;
}

Result<UniqueFd> Storage::lockUpload(const std::string& repo, const std::string& id) const {
  if (!validUploadId(id)) return fail(Error(ENOENT, "unknown upload"));
  const std::string dir = uploadPath(id);
  auto owner = readSmallFile(dir + "/repository", 1024);
  if (!owner || *owner != repo) return fail(Error(ENOENT, "unknown upload " + id));
  UniqueFd fd = TRY(openFile(dir + "/data", O_RDWR));
  if (::flock(fd.get(), LOCK_EX) < 0) return failErrno("lock upload " + id);
  // A commit may have renamed the data away while this call waited for the lock.
  struct stat a, b;
  if (::fstat(fd.get(), &a) < 0 || ::stat((dir + "/data").c_str(), &b) < 0 || a.st_ino != b.st_ino ||
      a.st_dev != b.st_dev)
    return fail(Error(ENOENT, "unknown upload " + id));
  return fd;
}

Result<uint64_t> Storage::uploadSize(const std::string& repo, const std::string& id) const {
  UniqueFd fd = TRY(lockUpload(repo, id));
  return fileSize(fd.get());
}

Result<uint64_t> Storage::appendUpload(const std::string& repo, const std::string& id,
                                       std::optional<uint64_t> start, const ByteSource& body) {
  if (readOnly_) return fail(Error(EROFS, "storage is read-only"));
  UniqueFd fd = TRY(lockUpload(repo, id));
  const uint64_t size = TRY(fileSize(fd.get()));
  if (start && *start != size)
    return fail(Error(ERANGE, "chunk starts at " + std::to_string(*start) + ", upload has " + std::to_string(size)));
  std::unique_ptr<Sha256> sha = takeHash(id, size);
  if (::lseek(fd.get(), static_cast<off_t>(size), SEEK_SET) < 0) return failErrno("seek upload " + id);
  std::vector<char> buf(256 << 10);
  uint64_t total = size;
  for (;;) {
    auto n = body(buf.data(), buf.size());
    Status st = n ? writeAll(fd.get(), buf.data(), *n) : fail(n.error());
    if (!st) {
      (void)!::ftruncate(fd.get(), static_cast<off_t>(size));  // the client resumes from here
      return fail(std::move(st).error());
    }
    if (*n == 0) break;
    if (sha) sha->update(buf.data(), *n);
    total += *n;
  }
  if (sha) keepHash(id, total, std::move(sha));
  return total;
}

Result<uint64_t> Storage::commitUpload(const std::string& repo, const std::string& id, const oci::Digest& want) {
  if (readOnly_) return fail(Error(EROFS, "storage is read-only"));
  if (want.algorithm != "sha256" || !oci::isSha256Hex(want.hex))
    return fail(Error(EBADMSG, "unsupported digest `" + want.str() + "`"));
  UniqueFd fd = TRY(lockUpload(repo, id));
  const uint64_t size = TRY(fileSize(fd.get()));
  std::unique_ptr<Sha256> sha = takeHash(id, size);
  const std::string got = sha ? sha->hex() : TRY(hashFile(fd.get(), size));
  const std::string dir = uploadPath(id);
  if (got != want.hex) {
    (void)removeAll(dir);
    return fail(Error(EBADMSG, "upload has digest sha256:" + got + ", not " + want.str()));
  }
  TRYV(fsyncFd(fd.get(), "upload " + id));
  const std::string target = blobPath(want);
  if (!pathExists(target)) {  // identical content may have arrived meanwhile: either copy will do
    if (::rename((dir + "/data").c_str(), target.c_str()) < 0) return failErrno("install blob " + want.str());
    TRYV(fsyncDir(dirName(target)));
  }
  TRYV(linkBlob(repo, want));
  (void)removeAll(dir);
  return size;
}

Status Storage::cancelUpload(const std::string& repo, const std::string& id) {
  if (readOnly_) return fail(Error(EROFS, "storage is read-only"));
  UniqueFd fd = TRY(lockUpload(repo, id));
  (void)takeHash(id, ~uint64_t(0));
  return removeAll(uploadPath(id));
}

Result<uint64_t> Storage::putBlob(const std::string& repo, const oci::Digest& want, const ByteSource& body) {
  const std::string id = TRY(startUpload(repo));
  auto size = appendUpload(repo, id, 0, body);
  if (size) size = commitUpload(repo, id, want);
  if (!size) (void)cancelUpload(repo, id);  // already gone after a digest mismatch
  return size;
}

}  // namespace strata::registry::server
