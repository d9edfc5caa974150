#include "archive/staging.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <vector>

namespace strata::archive {

namespace {

constexpr size_t kReadBuffer = size_t(1) << 20;

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string parentOf(const std::string& name) {
  size_t slash = name.rfind('/');
  return slash == std::string::npos ? std::string() : name.substr(0, slash);
}

// target (a symlink's, relative to dir) as a cleaned name; nullopt when it leaves the archive.
std::optional<std::string> joinInside(const std::string& dir, std::string_view target) {
  if (target.empty() || target.front() == '/') return std::nullopt;
  std::vector<std::string_view> stack;
  if (!dir.empty()) stack = components(dir);
  for (auto c : components(target)) {
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (stack.empty()) return std::nullopt;
      stack.pop_back();
    } else {
      stack.push_back(c);
    }
  }
  std::string out;
  for (auto c : stack) {
    if (!out.empty()) out += '/';
    out += c;
  }
  return out;
}

Status pwriteAll(int fd, const char* p, size_t n, int64_t off, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return failErrno("write `" + path + "`");
    }
    p += w;
    n -= static_cast<size_t>(w);
    off += w;
  }
  return {};
}

// Pulls the outer stream for libarchive; keeps our own error (with its errno) for the caller.
struct ReadContext {
  layer::Reader* src = nullptr;
  std::vector<char> buf;
  std::optional<Error> err;
};

la_ssize_t onRead(::archive* a, void* ctx, const void** out) {
  auto* c = static_cast<ReadContext*>(ctx);
  auto n = c->src->read(c->buf.data(), c->buf.size());
  if (!n) {
    c->err = n.error();
    archive_set_error(a, EIO, "%s", n.error().what().c_str());
    return -1;
  }
  *out = c->buf.data();
  return static_cast<la_ssize_t>(*n);
}

struct FreeArchive {
  void operator()(::archive* a) const { archive_read_free(a); }
};

Error tarError(::archive* a, const ReadContext& ctx) {
  if (ctx.err) return Error(*ctx.err).wrap("read archive");
  const char* msg = archive_error_string(a);
  return Error::invalid(std::string("invalid tar archive: ") +
                        (msg ? msg : "unrecognised data"));
}

}  // namespace

Result<std::string> cleanEntryName(std::string_view name) {
  const std::string quoted = "archive entry `" + std::string(name) + "`";
  if (!name.empty() && name.front() == '/') return failInvalid(quoted + " has an absolute path");
  std::string out;
  for (auto c : components(name)) {
    if (c == "..") return failInvalid(quoted + " points outside the archive");
    if (c.empty() || c == ".") continue;
    if (!out.empty()) out += '/';
    out += c;
  }
  return out;
}

Result<StagedArchive> StagedArchive::read(std::unique_ptr<layer::Reader> src,
                                          const std::string& parent) {
  StagedArchive st;
  st.dir_ = TRY(TempDir::create(parent, "load-"));
  ReadContext ctx;
  ctx.src = src.get();
  ctx.buf.resize(kReadBuffer);
  std::unique_ptr<::archive, FreeArchive> a(archive_read_new());
  if (!a) return failInvalid("archive_read_new: out of memory");
  // Tar formats only, no filters: decompression already happened in src.
  archive_read_support_format_tar(a.get());
  if (archive_read_open(a.get(), &ctx, nullptr, &onRead, nullptr) != ARCHIVE_OK)
    return fail(tarError(a.get(), ctx));
  for (;;) {
    ::archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return fail(tarError(a.get(), ctx));
    auto added = st.addEntry(a.get(), e);
    if (!added) {
      if (ctx.err || added.error().message().empty()) return fail(tarError(a.get(), ctx));
      return fail(std::move(added).error());
    }
  }
  return st;
}

Status StagedArchive::checkNotUnderSymlink(const std::string& name) const {
  for (std::string p = parentOf(name); !p.empty(); p = parentOf(p))
    if (symlinks_.count(p))
      return failInvalid("archive entry `" + name + "` lies under the symlink `" + p + "`");
  return {};
}

// Makes room for a new entry called name: parents exist, nothing of that name is left.
Status StagedArchive::prepareSlot(const std::string& name) {
  TRYV(checkNotUnderSymlink(name));
  std::string path = pathOf(name);
  TRYV_CTX(mkdirAll(dirName(path), 0755), "stage `" + name + "`");
  if (::unlink(path.c_str()) < 0 && errno != ENOENT)
    return failErrno("stage `" + name + "`: replace earlier entry");
  symlinks_.erase(name);
  files_.erase(name);
  return {};
}

Status StagedArchive::addEntry(::archive* a, ::archive_entry* e) {
  const char* raw = archive_entry_pathname(e);
  if (!raw) return failInvalid("archive entry with an unreadable name");
  std::string name = TRY(cleanEntryName(raw));
  if (name.empty()) return {};  // "./", the archive's root

  if (const char* hl = archive_entry_hardlink(e)) {
    std::string target = TRY_CTX(cleanEntryName(hl), "hardlink `" + name + "`");
    std::string file = TRY_CTX(resolve(target), "hardlink `" + name + "`");
    TRYV(prepareSlot(name));
    if (::link(pathOf(file).c_str(), pathOf(name).c_str()) < 0)
      return failErrno("stage hardlink `" + name + "`");
    files_.insert(name);
    return {};
  }

  switch (archive_entry_filetype(e)) {
    case AE_IFDIR:
      TRYV(checkNotUnderSymlink(name));
      if (symlinks_.count(name) || files_.count(name))
        return failInvalid("archive entry `" + name + "` is both a directory and a file");
      TRYV_CTX(mkdirAll(pathOf(name), 0755), "stage `" + name + "`");
      return {};
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(e);
      if (!target) return failInvalid("symlink `" + name + "` has an unreadable target");
      TRYV(prepareSlot(name));
      symlinks_[name] = target;
      return {};
    }
    case AE_IFREG:
      break;
    default:
      return failInvalid("archive entry `" + name +
                         "` is not a regular file, directory or symlink");
  }

  TRYV(prepareSlot(name));
  std::string path = pathOf(name);
  UniqueFd fd = TRY_CTX(openFile(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644),
                        "stage `" + name + "`");
  files_.insert(name);
  for (;;) {
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t off = 0;
    int r = archive_read_data_block(a, &block, &size, &off);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return failInvalid("");  // the caller reports libarchive's error
    TRYV(pwriteAll(fd.get(), static_cast<const char*>(block), size, off, path));
  }
  // Sparse entries end in a hole that no block covers.
  if (archive_entry_size_is_set(e) && ::ftruncate(fd.get(), archive_entry_size(e)) < 0)
    return failErrno("stage `" + name + "`");
  return {};
}

Result<std::string> StagedArchive::resolve(std::string_view name) const {
  std::string path = TRY(cleanEntryName(name));
  for (int hops = 0; hops < 64; ++hops) {
    // Find the first component (from the root) that is a recorded symlink and substitute it.
    bool substituted = false;
    for (size_t pos = 0;;) {
      size_t slash = path.find('/', pos);
      std::string prefix = path.substr(0, slash);
      auto it = symlinks_.find(prefix);
      if (it != symlinks_.end()) {
        auto target = joinInside(parentOf(prefix), it->second);
        if (!target)
          return failInvalid("symlink `" + prefix + "` -> `" + it->second +
                             "` points outside the archive");
        std::string rest = slash == std::string::npos ? std::string() : path.substr(slash + 1);
        path = target->empty() ? rest : rest.empty() ? *target : *target + "/" + rest;
        substituted = true;
        break;
      }
      if (slash == std::string::npos) break;
      pos = slash + 1;
    }
    if (!substituted) {
      if (files_.count(path)) return path;
      return failInvalid("archive has no file `" + std::string(name) + "`");
    }
  }
  return failInvalid("too many levels of symlinks resolving `" + std::string(name) + "`");
}

Result<std::string> StagedArchive::readSmall(std::string_view name, uint64_t limit) const {
  std::string rel = TRY(resolve(name));
  UniqueFd fd = TRY(openFile(pathOf(rel), O_RDONLY | O_NOFOLLOW));
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return failErrno("stat `" + rel + "`");
  if (static_cast<uint64_t>(st.st_size) > limit)
    return failInvalid("`" + std::string(name) + "` is too large (" +
                       std::to_string(st.st_size) + " bytes, limit " + std::to_string(limit) + ")");
  return TRY_CTX(readAll(fd.get()), "read `" + rel + "`");
}

}  // namespace strata::archive
