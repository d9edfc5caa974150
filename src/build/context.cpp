// Build context: opening it, naming sources in it (literal paths and Go filepath.Match
// wildcards), and walking it with the .dockerignore patterns applied. The stat cache and
// checksum() live in context_checksum.cpp.
//
// Everything below the root is reached through directory fds: each component is opened with
// openat(O_NOFOLLOW | O_DIRECTORY), entries are lstat'ed with fstatat(AT_SYMLINK_NOFOLLOW), so a
// symlink never takes a lookup or a walk anywhere.
#include "build/context.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <utility>

#include "dockerfile/gomatch.h"
#include "layer/tar.h"
#include "util/fs.h"
#include "util/path.h"

namespace strata::build {

namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

Error notFound(std::string_view rel) {
  return Error::invalid("\"/" + std::string(rel) + "\": not found");
}

// errno values that mean "this path does not lead to an entry" rather than a failure: a missing
// component, a file or a symlink where a directory was expected.
bool isMissing(int err) { return err == ENOENT || err == ENOTDIR || err == ELOOP; }

// The names of one directory, sorted by bytes. One buffer per directory level is reused for
// every directory met at that level.
struct NameList {
  std::string names;              // each name followed by a NUL
  std::vector<uint32_t> offsets;  // where each name starts in `names`, in sorted order

  std::size_t size() const { return offsets.size(); }
  const char* operator[](std::size_t i) const { return names.data() + offsets[i]; }
};

// Reads the entries of the directory open as fd ("." and ".." left out) into `out`, sorted.
// `buf` is scratch space for getdents64, kept between calls.
Status listNames(int fd, NameList& out, std::vector<char>& buf, const std::string& what) {
  out.names.clear();
  out.offsets.clear();
  if (buf.size() < 32768) buf.resize(32768);
  for (;;) {
    ssize_t n = ::getdents64(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno("read directory `" + what + "`");
    }
    if (n == 0) break;
    for (ssize_t pos = 0; pos < n;) {
      auto* d = reinterpret_cast<const dirent64*>(buf.data() + pos);
      pos += d->d_reclen;
      const char* name = d->d_name;
      if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
      out.offsets.push_back(static_cast<uint32_t>(out.names.size()));
      out.names.append(name, std::strlen(name) + 1);
    }
  }
  const char* base = out.names.data();
  std::sort(out.offsets.begin(), out.offsets.end(),
            [base](uint32_t a, uint32_t b) { return std::strcmp(base + a, base + b) < 0; });
  return {};
}

Result<std::string> readLinkAt(int dirFd, const char* name, std::size_t sizeHint,
                               const std::string& what) {
  std::string target(std::max<std::size_t>(sizeHint, 64) + 1, '\0');
  for (;;) {
    ssize_t n = ::readlinkat(dirFd, name, target.data(), target.size());
    if (n < 0) return failErrno("readlink `" + what + "`");
    if (static_cast<std::size_t>(n) < target.size()) {
      target.resize(static_cast<std::size_t>(n));
      return target;
    }
    target.resize(target.size() * 2);
  }
}

// A source as a clean path relative to the root ("" for the root). A leading '/' stands for
// the root; a relative path that climbs above it is refused.
Result<std::string> contextRelative(std::string_view source) {
  std::string p = cleanPath(source);
  if (p.starts_with('/')) return p.substr(1);  // cleaning left no ".." in a rooted path
  if (p == ".." || p.starts_with("../"))
    return failInvalid("forbidden path outside the build context: " + std::string(source));
  if (p == ".") return std::string();
  return p;
}

std::vector<std::string_view> splitPath(std::string_view rel) {
  std::vector<std::string_view> out;
  while (!rel.empty()) {
    std::size_t slash = rel.find('/');
    out.push_back(rel.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rel.remove_prefix(slash + 1);
  }
  return out;
}

std::string joinRel(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string out;
  out.reserve(dir.size() + 1 + name.size());
  out.append(dir).append("/").append(name);
  return out;
}

// Whether a path component is a pattern: it holds `*`, `?` or `[` not preceded by a backslash.
// A component without one is a literal name, backslashes included.
bool hasWildcard(std::string_view c) {
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (c[i] == '\\')
      ++i;
    else if (c[i] == '*' || c[i] == '?' || c[i] == '[')
      return true;
  }
  return false;
}

}  // namespace

// ---- walking ----

// Walks the tree below one directory in order, holding back excluded directories until
// something below them turns out to be visible (they are then reported just before it).
class Context::Walker {
 public:
  Walker(const Context& ctx, const Visitor& fn) : ctx_(ctx), fn_(fn) {}

  // Walks below the directory open as dirFd, which is the entry `path` with ignore state
  // `state`. Returns false when the visitor ended the walk.
  Result<bool> run(int dirFd, std::string_view path, const dockerfile::IgnoreDirState& state) {
    path_.assign(path);
    return walkDir(dirFd, state, 0);
  }

 private:
  struct Held {
    std::string path;
    struct stat st;
    int dirFd;
    std::string name;
  };

  Result<bool> emit(std::string_view path, const struct stat& st, int dirFd, const char* name) {
    for (const Held& h : held_) {
      if (!TRY(fn_(Visit{h.path, &h.st, h.dirFd, h.name.c_str()}))) return false;
    }
    held_.clear();
    return fn_(Visit{path, &st, dirFd, name});
  }

  Result<bool> walkDir(int dirFd, const dockerfile::IgnoreDirState& state, std::size_t depth) {
    if (levels_.size() <= depth) levels_.emplace_back();
    NameList& names = levels_[depth];  // a deque: deeper levels never move it
    TRYV(listNames(dirFd, names, buf_, ctx_.hostPath(path_)));
    const std::size_t base = path_.size();
    for (std::size_t i = 0; i < names.size(); ++i) {
      const char* name = names[i];
      path_.resize(base);
      if (base > 0) path_.push_back('/');
      path_.append(name);
      struct stat st;
      if (::fstatat(dirFd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) continue;  // removed since it was listed
        return failErrno("lstat `" + ctx_.hostPath(path_) + "`");
      }
      if (!S_ISDIR(st.st_mode)) {
        if (TRY(ctx_.ignore_.matchFile(state, path_))) continue;
        if (!TRY(emit(path_, st, dirFd, name))) return false;
        continue;
      }
      dockerfile::IgnoreDirMatch m = TRY(ctx_.ignore_.matchDir(state, path_));
      if (m.skipSubtree) continue;
      const std::size_t mark = held_.size();
      if (m.excluded)
        held_.push_back(Held{path_, st, dirFd, name});
      else if (!TRY(emit(path_, st, dirFd, name)))
        return false;
      int fd = ::openat(dirFd, name, kDirFlags);
      if (fd < 0) {
        if (!isMissing(errno)) return failErrno("open `" + ctx_.hostPath(path_) + "`");
        if (held_.size() > mark) held_.resize(mark);  // replaced since it was listed
        continue;
      }
      UniqueFd child(fd);
      const bool more = TRY(walkDir(child.get(), m.state, depth + 1));
      if (held_.size() > mark) held_.resize(mark);  // nothing below it was visible
      if (!more) return false;
    }
    path_.resize(base);
    return true;
  }

  const Context& ctx_;
  const Visitor& fn_;
  std::string path_;  // the entry being looked at, grown and shrunk in place
  std::deque<NameList> levels_;
  std::vector<Held> held_;
  std::vector<char> buf_;
};

// ---- Context ----

Result<Context> Context::open(const std::string& dir,
                              const std::vector<std::string>& ignorePatterns) {
  char* real = ::realpath(dir.c_str(), nullptr);
  if (!real) return failErrno("build context `" + dir + "`");
  std::string root(real);
  std::free(real);
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return failErrno("build context `" + dir + "`");
  UniqueFd rootFd(fd);
  dockerfile::IgnoreMatcher ignore =
      TRY_CTX(dockerfile::IgnoreMatcher::create(ignorePatterns), ".dockerignore");
  return Context(std::move(root), std::move(rootFd), std::move(ignore));
}

Result<Context> Context::fromTar(std::unique_ptr<layer::Reader> tar, const std::string& tmpDir,
                                 const std::vector<std::string>& ignorePatterns) {
  TRYV(mkdirAll(tmpDir, 0700));
  layer::ExtractOptions options;
  options.whiteouts = layer::WhiteoutMode::Apply;
  options.restoreOwnership = false;  // a context's owners never reach the image
  TRYV_CTX(layer::extractLayer(std::move(tar), tmpDir, options), "build context from a tar stream");
  return open(tmpDir, ignorePatterns);
}

const std::string& Context::root() const { return root_; }

std::string Context::hostPath(std::string_view rel) const {
  if (rel.empty()) return root_;
  std::string out = root_;
  if (!out.ends_with('/')) out.push_back('/');
  out.append(rel);
  return out;
}

Result<std::optional<Context::Located>> Context::locate(std::string_view rel) const {
  Located at;
  if (rel.empty()) {
    at.parentFd = rootFd_.get();
    at.name = ".";
    if (::fstatat(rootFd_.get(), ".", &at.st, AT_SYMLINK_NOFOLLOW) < 0)
      return failErrno("lstat `" + root_ + "`");
    return at;
  }
  // Only clean relative paths: a ".." here would climb out through the fds.
  if (rel.starts_with('/') || cleanPath(rel) != rel || rel == "." || rel == ".." ||
      rel.starts_with("../"))
    return failInvalid("not a path in the build context: " + std::string(rel));
  const std::size_t slash = rel.rfind('/');
  int cur = rootFd_.get();
  if (slash != std::string_view::npos) {
    std::size_t pos = 0;
    while (pos <= slash) {
      const std::size_t end = rel.find('/', pos);
      const std::string comp(rel.substr(pos, end - pos));
      int fd = ::openat(cur, comp.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        if (isMissing(errno)) return std::optional<Located>();
        return failErrno("open `" + hostPath(rel.substr(0, end)) + "`");
      }
      at.parentOwned = UniqueFd(fd);
      cur = fd;
      dockerfile::IgnoreDirMatch m = TRY(ignore_.matchDir(at.parentState, rel.substr(0, end)));
      at.hidden = at.hidden || m.skipSubtree;
      at.parentState = std::move(m.state);
      pos = end + 1;
    }
  }
  at.parentFd = cur;
  at.name = std::string(slash == std::string_view::npos ? rel : rel.substr(slash + 1));
  if (::fstatat(cur, at.name.c_str(), &at.st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (isMissing(errno)) return std::optional<Located>();
    return failErrno("lstat `" + hostPath(rel) + "`");
  }
  return at;
}

Result<bool> Context::visible(int parentFd, const char* name, const struct stat& st,
                              const dockerfile::IgnoreDirState& parentState,
                              std::string_view rel) const {
  if (rel.empty()) return true;
  if (!S_ISDIR(st.st_mode)) return !TRY(ignore_.matchFile(parentState, rel));
  dockerfile::IgnoreDirMatch m = TRY(ignore_.matchDir(parentState, rel));
  if (m.skipSubtree) return false;
  if (!m.excluded) return true;
  bool found = false;
  TRYV(walkTree(parentFd, name, st, parentState, rel, false, [&](const Visit&) -> Result<bool> {
    found = true;
    return false;
  }));
  return found;
}

Result<bool> Context::walkTree(int parentFd, const char* name, const struct stat& st,
                               const dockerfile::IgnoreDirState& parentState, std::string_view rel,
                               bool emitTop, const Visitor& fn) const {
  if (emitTop && !TRY(fn(Visit{rel, &st, parentFd, name}))) return false;
  if (!S_ISDIR(st.st_mode)) return true;
  dockerfile::IgnoreDirState state;
  if (!rel.empty()) state = TRY(ignore_.matchDir(parentState, rel)).state;
  int fd = ::openat(parentFd, name, kDirFlags);
  if (fd < 0) {
    if (isMissing(errno)) return fail(notFound(rel));
    return failErrno("open `" + hostPath(rel) + "`");
  }
  UniqueFd dir(fd);
  Walker walker(*this, fn);
  return walker.run(dir.get(), rel, state);
}

Status Context::walkEntry(const ContextEntry& top, const Visitor& fn) const {
  std::optional<Located> at = TRY(locate(top.path));
  if (!at) return fail(notFound(top.path));
  TRYV(walkTree(at->parentFd, at->name.c_str(), at->st, at->parentState, top.path, true, fn));
  return {};
}

Result<ContextEntry> Context::entryOf(const Visit& v) const {
  ContextEntry e{std::string(v.path), *v.st, {}};
  if (S_ISLNK(v.st->st_mode))
    e.linkTarget =
        TRY(readLinkAt(v.dirFd, v.name, static_cast<std::size_t>(v.st->st_size), hostPath(v.path)));
  return e;
}

Result<std::vector<ContextEntry>> Context::walk(const ContextEntry& top) const {
  std::vector<ContextEntry> out;
  TRYV(walkEntry(top, [&](const Visit& v) -> Result<bool> {
    out.push_back(TRY(entryOf(v)));
    return true;
  }));
  return out;
}

Result<ContextEntry> Context::followSymlinks(const ContextEntry& entry) const {
  constexpr int kMaxLinks = 40;
  ContextEntry cur = entry;
  for (int links = 0; S_ISLNK(cur.st.st_mode); ++links) {
    if (links == kMaxLinks)
      return failInvalid("\"/" + entry.path + "\": too many levels of symbolic links");
    std::string target = cur.linkTarget;
    if (!target.starts_with('/')) {
      const std::size_t slash = cur.path.rfind('/');
      target = joinRel(slash == std::string::npos ? "" : cur.path.substr(0, slash), target);
    }
    const std::string rel = cleanPath("/" + target).substr(1);  // rooted: ".." stops at "/"
    std::optional<Located> at = TRY(locate(rel));
    if (!at || at->hidden ||
        !TRY(visible(at->parentFd, at->name.c_str(), at->st, at->parentState, rel)))
      return fail(notFound(rel));
    cur = TRY(entryOf(Visit{rel, &at->st, at->parentFd, at->name.c_str()}));
  }
  return cur;
}

Result<std::vector<ContextEntry>> Context::resolve(std::string_view source) const {
  const std::string rel = TRY(contextRelative(source));
  const std::vector<std::string_view> comps = splitPath(rel);
  std::size_t first = 0;
  while (first < comps.size() && !hasWildcard(comps[first])) ++first;

  const std::vector<std::string_view> patterns(comps.begin() + first, comps.end());
  for (std::string_view p : patterns) {
    if (dockerfile::goPatternError(p))
      return failInvalid("COPY source \"" + std::string(source) + "\": syntax error in pattern");
  }

  // The literal part: the whole source, or the directory the wildcards apply in.
  std::string literal;
  for (std::size_t i = 0; i < first; ++i) literal = joinRel(literal, comps[i]);
  std::optional<Located> at = TRY(locate(literal));
  if (!at || at->hidden) return fail(notFound(literal));
  if (!TRY(visible(at->parentFd, at->name.c_str(), at->st, at->parentState, literal)))
    return fail(notFound(literal));
  std::vector<ContextEntry> out;
  if (first == comps.size()) {
    out.push_back(TRY(entryOf(Visit{literal, &at->st, at->parentFd, at->name.c_str()})));
    return out;
  }

  if (!S_ISDIR(at->st.st_mode)) return out;  // nothing lies below a file or a symlink
  dockerfile::IgnoreDirState state;
  if (!literal.empty()) state = TRY(ignore_.matchDir(at->parentState, literal)).state;
  int fd = ::openat(at->parentFd, at->name.c_str(), kDirFlags);
  if (fd < 0) {
    if (isMissing(errno)) return fail(notFound(literal));
    return failErrno("open `" + hostPath(literal) + "`");
  }
  UniqueFd dir(fd);
  TRYV(matchWildcards(dir.get(), literal, state, patterns, 0, out));
  return out;
}

Status Context::matchWildcards(int dirFd, std::string& path,
                               const dockerfile::IgnoreDirState& state,
                               const std::vector<std::string_view>& patterns, std::size_t index,
                               std::vector<ContextEntry>& out) const {
  NameList names;
  std::vector<char> buf;
  TRYV(listNames(dirFd, names, buf, hostPath(path)));
  const bool last = index + 1 == patterns.size();
  const std::size_t base = path.size();
  for (std::size_t i = 0; i < names.size(); ++i) {
    const char* name = names[i];
    if (dockerfile::goMatch(patterns[index], name) != dockerfile::GlobMatch::Match) continue;
    path.resize(base);
    if (base > 0) path.push_back('/');
    path.append(name);
    struct stat st;
    if (::fstatat(dirFd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) continue;
      return failErrno("lstat `" + hostPath(path) + "`");
    }
    if (last) {
      if (TRY(visible(dirFd, name, st, state, path)))
        out.push_back(TRY(entryOf(Visit{path, &st, dirFd, name})));
      continue;
    }
    if (!S_ISDIR(st.st_mode)) continue;  // more levels to match, and nothing below this one
    dockerfile::IgnoreDirMatch m = TRY(ignore_.matchDir(state, path));
    if (m.skipSubtree) continue;
    int fd = ::openat(dirFd, name, kDirFlags);
    if (fd < 0) {
      if (isMissing(errno)) continue;
      return failErrno("open `" + hostPath(path) + "`");
    }
    UniqueFd child(fd);
    TRYV(matchWildcards(child.get(), path, m.state, patterns, index + 1, out));
  }
  path.resize(base);
  return {};
}

}  // namespace strata::build
