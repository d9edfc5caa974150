// checksum() and the stat cache behind it.
//
// The stat cache maps a regular file's absolute path to the SHA-256 of its content, valid while
// the file's size, mtime, ctime, inode, device and mode stay what they were when it was read.
// Any write to a file changes its mtime and ctime, a rename-over changes its inode, so an
// unchanged key means unchanged content, with one exception: a file written again within the
// same timestamp tick as our read. Files whose timestamps are that recent ("racy") are hashed
// but not cached.
//
// The cache file is private to this machine (device and inode numbers mean nothing elsewhere):
//   "strata statcache 1\n"
//   u64 record count
//   per record: u64 size, u64 mtime ns, u64 ctime ns, u64 inode, u64 device, u32 mode,
//               u32 last-used day (days since 1970), 32 bytes SHA-256, u32 path length, path
//   64 hex chars: SHA-256 of everything before it
// all integers little-endian. A file that does not parse, or whose trailer does not match, is
// treated as empty: it is only a cache.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <unordered_map>

#include "build/context.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace strata::build {

namespace {

constexpr std::string_view kCacheMagic = "strata statcache 1\n";
constexpr std::size_t kRecordFixed = 5 * 8 + 2 * 4 + 32 + 4;  // a record without its path
constexpr uint32_t kKeepDays = 30;                            // unused records are dropped after
constexpr std::size_t kReadChunk = std::size_t(256) << 10;

using Sha = std::array<unsigned char, 32>;

int64_t nanos(const timespec& t) { return int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec; }

struct StatKey {
  uint64_t size = 0;
  int64_t mtime = 0;
  int64_t ctime = 0;
  uint64_t ino = 0;
  uint64_t dev = 0;
  uint32_t mode = 0;
  bool operator==(const StatKey&) const = default;
};

StatKey keyOf(const struct stat& st) {
  return StatKey{static_cast<uint64_t>(st.st_size),
                 nanos(st.st_mtim),
                 nanos(st.st_ctim),
                 static_cast<uint64_t>(st.st_ino),
                 static_cast<uint64_t>(st.st_dev),
                 static_cast<uint32_t>(st.st_mode)};
}

uint32_t daysSinceEpoch() { return static_cast<uint32_t>(::time(nullptr) / 86400); }

// Whether a later write to the file could leave its timestamps as they are now: true when they
// are within a tick of the moment we started reading it. File systems with whole-second
// timestamps (no nanoseconds in either) get a wider margin.
bool racy(const struct stat& st, int64_t readStartNs) {
  const int64_t newest = std::max(nanos(st.st_mtim), nanos(st.st_ctim));
  const bool wholeSeconds = st.st_mtim.tv_nsec == 0 && st.st_ctim.tv_nsec == 0;
  const int64_t margin = wholeSeconds ? 2'000'000'000 : 100'000'000;
  return newest > readStartNs - margin;
}

void putU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void putU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
// A length-prefixed string: no value can run into the next one.
void putField(std::string& out, std::string_view s) {
  putU64(out, s.size());
  out.append(s);
}

// Reads the little-endian fields of the cache file, refusing to run past its end.
class Cursor {
 public:
  explicit Cursor(std::string_view data) : data_(data) {}
  bool u64(uint64_t& v) {
    return take(8, [&](const unsigned char* p) { v = decode(p, 8); });
  }
  bool u32(uint32_t& v) {
    return take(4, [&](const unsigned char* p) { v = static_cast<uint32_t>(decode(p, 4)); });
  }
  bool bytes(std::size_t n, std::string_view& out) {
    if (data_.size() < n) return false;
    out = data_.substr(0, n);
    data_.remove_prefix(n);
    return true;
  }
  std::size_t left() const { return data_.size(); }

 private:
  static uint64_t decode(const unsigned char* p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  }
  template <typename F>
  bool take(std::size_t n, F f) {
    if (data_.size() < n) return false;
    f(reinterpret_cast<const unsigned char*>(data_.data()));
    data_.remove_prefix(n);
    return true;
  }
  std::string_view data_;
};

Sha rawOfHex(std::string_view hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  Sha out{};
  for (std::size_t i = 0; i < out.size() && 2 * i + 1 < hex.size(); ++i)
    out[i] = static_cast<unsigned char>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  return out;
}

char typeChar(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return 'f';
    case S_IFDIR:
      return 'd';
    case S_IFLNK:
      return 'l';
    case S_IFCHR:
      return 'c';
    case S_IFBLK:
      return 'b';
    case S_IFIFO:
      return 'p';
    case S_IFSOCK:
      return 's';
    default:
      return '?';
  }
}

}  // namespace

struct Context::StatCache {
  struct Record {
    StatKey key;
    Sha sha;
    uint32_t lastUsed;  // days since 1970
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  std::unordered_map<std::string, Record, Hash, std::equal_to<>> records;
  std::string file;    // where the cache persists; empty: in memory only
  bool dirty = false;  // records differ from the file
  uint64_t filesHashed = 0;
  uint32_t today = daysSinceEpoch();
  std::string pathBuf;  // scratch: the absolute path being looked up
  std::vector<unsigned char> readBuf;

  // Replaces the records with the file's; false (and no records) when it does not parse.
  bool parse(std::string_view data) {
    records.clear();
    if (data.size() < kCacheMagic.size() + 8 + 64 || !data.starts_with(kCacheMagic)) return false;
    const std::string_view body = data.substr(0, data.size() - 64);
    if (Sha256::hexOf(body) != data.substr(body.size())) return false;
    Cursor in(body.substr(kCacheMagic.size()));
    uint64_t count = 0;
    if (!in.u64(count) || count > in.left() / kRecordFixed) return false;
    records.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      Record r{};
      uint64_t mtime, ctime;
      uint32_t pathLen;
      std::string_view sha, path;
      if (!in.u64(r.key.size) || !in.u64(mtime) || !in.u64(ctime) || !in.u64(r.key.ino) ||
          !in.u64(r.key.dev) || !in.u32(r.key.mode) || !in.u32(r.lastUsed) || !in.bytes(32, sha) ||
          !in.u32(pathLen) || !in.bytes(pathLen, path) || !path.starts_with('/')) {
        records.clear();
        return false;
      }
      r.key.mtime = static_cast<int64_t>(mtime);
      r.key.ctime = static_cast<int64_t>(ctime);
      std::memcpy(r.sha.data(), sha.data(), 32);
      records.insert_or_assign(std::string(path), r);
    }
    if (in.left() != 0) {
      records.clear();
      return false;
    }
    return true;
  }

  // The file's bytes, leaving out records unused for kKeepDays.
  std::string serialize() {
    std::string out(kCacheMagic);
    const std::size_t countAt = out.size();
    putU64(out, 0);
    uint64_t count = 0;
    for (const auto& [path, r] : records) {
      if (r.lastUsed + kKeepDays < today) continue;
      putU64(out, r.key.size);
      putU64(out, static_cast<uint64_t>(r.key.mtime));
      putU64(out, static_cast<uint64_t>(r.key.ctime));
      putU64(out, r.key.ino);
      putU64(out, r.key.dev);
      putU32(out, r.key.mode);
      putU32(out, r.lastUsed);
      out.append(reinterpret_cast<const char*>(r.sha.data()), r.sha.size());
      putU32(out, static_cast<uint32_t>(path.size()));
      out.append(path);
      ++count;
    }
    std::string countBytes;
    putU64(countBytes, count);
    out.replace(countAt, 8, countBytes);
    out.append(Sha256::hexOf(out));
    return out;
  }
};

Context::Context(std::string root, UniqueFd rootFd, dockerfile::IgnoreMatcher ignore)
    : root_(std::move(root)),
      rootFd_(std::move(rootFd)),
      ignore_(std::move(ignore)),
      cache_(std::make_unique<StatCache>()) {}

Context::Context(Context&&) noexcept = default;

Context& Context::operator=(Context&& o) noexcept {
  if (this != &o) {
    if (cache_) (void)saveStatCache();
    root_ = std::move(o.root_);
    rootFd_ = std::move(o.rootFd_);
    ignore_ = std::move(o.ignore_);
    cache_ = std::move(o.cache_);
  }
  return *this;
}

Context::~Context() {
  if (cache_) (void)saveStatCache();
}

uint64_t Context::filesHashed() const { return cache_ ? cache_->filesHashed : 0; }

Status Context::useStatCache(const std::string& file) {
  StatCache& c = *cache_;
  c.file.clear();
  c.records.clear();
  c.dirty = false;
  auto data = readFile(file);
  if (!data) {
    if (data.error().code() != ENOENT)
      return fail(std::move(data).error().wrap("stat cache `" + file + "`"));
  } else if (!c.parse(*data)) {
    c.dirty = true;  // rewrite the damaged file on the next save
  }
  c.file = file;
  return {};
}

Status Context::saveStatCache() {
  if (!cache_ || cache_->file.empty() || !cache_->dirty) return {};
  StatCache& c = *cache_;
  TRYV_CTX(mkdirAll(dirName(c.file), 0700), "stat cache `" + c.file + "`");
  TRYV_CTX(writeFileAtomic(c.file, c.serialize(), 0600), "stat cache `" + c.file + "`");
  c.dirty = false;
  return {};
}

Status Context::contentSha256(const Visit& v, unsigned char out[32]) const {
  StatCache& c = *cache_;
  c.pathBuf.assign(root_);
  if (!c.pathBuf.ends_with('/')) c.pathBuf.push_back('/');
  c.pathBuf.append(v.path);
  const StatKey key = keyOf(*v.st);
  if (auto it = c.records.find(std::string_view(c.pathBuf));
      it != c.records.end() && it->second.key == key) {
    std::memcpy(out, it->second.sha.data(), 32);
    if (it->second.lastUsed != c.today) {
      it->second.lastUsed = c.today;
      c.dirty = true;
    }
    return {};
  }

  // O_NONBLOCK: should the file have been swapped for a FIFO since it was listed, the open
  // must not hang; the type check below then refuses it.
  int fd = ::openat(v.dirFd, v.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return failErrno("open `" + c.pathBuf + "`");
  UniqueFd file(fd);
  struct stat before, after;
  if (::fstat(fd, &before) < 0) return failErrno("stat `" + c.pathBuf + "`");
  if (!S_ISREG(before.st_mode) || before.st_ino != v.st->st_ino || before.st_dev != v.st->st_dev)
    return failInvalid("`" + c.pathBuf + "` was replaced while the build context was read");
  timespec start;
  ::clock_gettime(CLOCK_REALTIME, &start);
  Sha256 hash;
  uint64_t total = 0;
  c.readBuf.resize(kReadChunk);
  for (;;) {
    size_t n = TRY_CTX(readSome(fd, c.readBuf.data(), c.readBuf.size()), "`" + c.pathBuf + "`");
    if (n == 0) break;
    hash.update(c.readBuf.data(), n);
    total += n;
  }
  if (::fstat(fd, &after) < 0) return failErrno("stat `" + c.pathBuf + "`");
  const Sha sha = rawOfHex(hash.hex());
  std::memcpy(out, sha.data(), 32);
  ++c.filesHashed;
  // Cache only what was read from a file that held still: same stat as listed, before and
  // after the read, all of its bytes, and timestamps old enough not to be racy.
  const StatKey was = keyOf(before);
  if (was == key && keyOf(after) == was && total == was.size && !racy(before, nanos(start))) {
    c.records.insert_or_assign(c.pathBuf, StatCache::Record{key, sha, c.today});
    c.dirty = true;
  }
  return {};
}

Result<oci::Digest> Context::checksum(const std::vector<std::string>& sources) const {
  Sha256 total;
  std::string rec;
  putField(rec, "strata build context checksum v1");
  total.update(rec);
  // Every entry at and below `top`, named relative to it.
  auto digestTree = [&](const ContextEntry& top) -> Status {
    return walkEntry(top, [&](const Visit& v) -> Result<bool> {
      std::string_view rel = v.path;
      if (!top.path.empty()) rel.remove_prefix(std::min(rel.size(), top.path.size() + 1));
      const mode_t mode = v.st->st_mode;
      rec.assign("E");
      rec.push_back(typeChar(mode));
      putU32(rec, mode & 07777);
      putField(rec, rel);
      if (S_ISREG(mode)) {
        unsigned char sha[32];
        TRYV(contentSha256(v, sha));
        rec.append(reinterpret_cast<const char*>(sha), sizeof sha);
      } else if (S_ISLNK(mode)) {
        putField(rec, TRY(entryOf(v)).linkTarget);
      } else if (S_ISCHR(mode) || S_ISBLK(mode)) {
        putU64(rec, major(v.st->st_rdev));
        putU64(rec, minor(v.st->st_rdev));
      }
      total.update(rec);
      return true;
    });
  };
  for (const std::string& source : sources) {
    const std::vector<ContextEntry> matches = TRY(resolve(source));
    for (const ContextEntry& match : matches) {
      rec.assign("M");
      putField(rec, match.path);
      total.update(rec);
      TRYV(digestTree(match));
      if (!S_ISLNK(match.st.st_mode)) continue;
      // COPY copies what the link leads to: that content belongs in the key too.
      auto target = followSymlinks(match);
      if (!target && target.error().code() != 0) return fail(std::move(target).error());
      rec.assign(target ? "T" : "X");
      if (target) putField(rec, target->path);
      total.update(rec);
      if (target) TRYV(digestTree(*target));
    }
  }
  return oci::Digest::sha256(total.hex());
}

}  // namespace strata::build
