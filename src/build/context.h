// The build context of `strata build`: the host directory (or unpacked tar stream) that COPY and
// ADD read from, as the .dockerignore patterns leave it.
//
// What a source names follows BuildKit's Dockerfile front end: the source is cleaned and taken
// relative to the context root, a component holding an unescaped `*`, `?` or `[` starts a
// wildcard part matched element by element with Go's filepath.Match rules, and ignored entries do
// not exist. Deliberately stricter than BuildKit: a source that climbs out of the root ("../x")
// is an error instead of being clamped to the root, and symlinks are never followed, neither in
// a source's path nor during a walk: a symlink is an entry of its own, so nothing outside the
// root can ever be selected. The one place a link is followed, followSymlinks() for a source
// that is itself a symlink, resolves it inside the root.
//
// checksum() digests what a list of sources selects for the build cache key. Regular files are
// hashed through a stat cache (absolute path + size, mtime, ctime, inode, device, mode -> content
// SHA-256) that can persist in a file, so a rebuild of an unchanged context reads no file data.
//
// A Context is move-only and not safe for concurrent use: checksum() updates the stat cache.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockerfile/ignore.h"
#include "layer/compression.h"
#include "oci/digest.h"
#include "util/error.h"
#include "util/fd.h"

namespace strata::build {

// One file, directory, symlink or special file of the context.
struct ContextEntry {
  // Relative to the context root, '/'-separated, no leading "./" ("" = the root itself).
  std::string path;
  struct stat st;          // lstat of the entry
  std::string linkTarget;  // for symlinks
};

class Context {
 public:
  // A context rooted at the existing host directory `dir`, with the .dockerignore patterns that
  // apply (the caller loads them with dockerfile::loadIgnorePatterns). root() becomes the
  // canonical absolute form of `dir`. Fails, naming the directory, when it does not exist or is
  // not a directory, or, naming the pattern, when a pattern is invalid.
  static Result<Context> open(const std::string& dir,
                              const std::vector<std::string>& ignorePatterns);

  // A context read from a tar stream (plain, gzip or zstd: `docker build - < ctx.tar`), unpacked
  // into tmpDir (created when missing; the caller removes it after the build) with the layer
  // extractor's confinement rules: names that climb out, and hardlinks or symlinks used to write
  // outside, are rejected. Ownership and device nodes are not restored; ".wh.*" names are treated
  // as the extractor treats whiteouts (they delete, and are not kept). The Dockerfile and the
  // .dockerignore of such a build live inside the stream: a caller that needs them unpacks with
  // no patterns, reads them below root(), then calls open(root(), patterns). Fails when the
  // stream is not a valid tar or an entry cannot be written, naming the entry.
  static Result<Context> fromTar(std::unique_ptr<layer::Reader> tar, const std::string& tmpDir,
                                 const std::vector<std::string>& ignorePatterns);

  Context(Context&&) noexcept;
  Context& operator=(Context&&) noexcept;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  // Saves the stat cache when it changed (saveStatCache), ignoring a failure to write it.
  ~Context();

  // The absolute host path of the context root.
  const std::string& root() const;

  // What a COPY/ADD source names (already variable-expanded). The source is cleaned and taken
  // relative to the root: a leading '/' is the root, "." and "/" name the root itself, and a
  // source that would climb above the root fails with "forbidden path outside the build
  // context: <source>". Components before the first one holding an unescaped `*`, `?` or `[` are
  // literal names (a backslash in them is a plain character, as in BuildKit); from that one on,
  // each component is a Go filepath.Match pattern (`\` escapes, `[^...]` classes) matched
  // against the names of one directory level. Ignored entries are invisible; an ignored
  // directory is visible only while a `!` exception puts back something below it.
  // Returns the matches in walk order (by path, component by component). A source without
  // wildcards that names nothing fails with "\"/<path>\": not found"; so does a wildcard source
  // whose literal leading directories do not exist. A wildcard that matches nothing returns an
  // empty list (BuildKit copies nothing and goes on). A malformed pattern fails naming the
  // source. Symlinks are never followed: a symlink in the leading directories makes the source
  // not found, one named by the source is returned as itself.
  Result<std::vector<ContextEntry>> resolve(std::string_view source) const;

  // `top` (as resolve returned it) and every visible entry below it, parents before children,
  // each directory's entries sorted by name (byte order), with fresh lstat data. Symlinks are
  // not followed; subtrees that the .dockerignore patterns exclude entirely are not read; an
  // excluded directory below `top` is listed only when some entry below it is put back. Fails
  // with "\"/<path>\": not found" when `top` no longer exists, or names the path that cannot be
  // read.
  Result<std::vector<ContextEntry>> walk(const ContextEntry& top) const;

  // What a source that is a symlink stands for when COPY follows it, as BuildKit does: the
  // target is read relative to the link's directory (or to the root when absolute), cleaned so
  // that it cannot climb above the root ("../../x" stops there), and looked up like a literal
  // source: never through another symlink, ignored entries invisible. Chains are followed up to
  // 40 links. An entry that is not a symlink comes back as it is. Fails with
  // "\"/<target>\": not found" for a target that is missing or ignored, or naming the link after
  // 40 links.
  Result<ContextEntry> followSymlinks(const ContextEntry& entry) const;

  // Persists the stat cache in `file` (the store passes $STRATA_ROOT/builder/statcache): loads
  // it now, replacing the entries already gathered in memory. A missing, truncated or corrupt
  // file counts as empty and is rewritten on the next save. Fails, naming the file, only when it
  // exists but cannot be read (the context then keeps an in-memory cache).
  Status useStatCache(const std::string& file);

  // Writes the stat cache back to its file (temp + fsync + rename) when it changed since it was
  // loaded or last saved, dropping entries unused for 30 days. A no-op without useStatCache.
  // Fails naming the file.
  Status saveStatCache();

  // A digest of what `sources` select (each resolved as resolve() does, in the given order), for
  // the build cache key. For each match: its path relative to the root; for it and every entry
  // walk() lists below it: the path relative to the match, the file type, the permission bits
  // (with setuid, setgid and sticky), the symlink target, the device number of a device node and
  // the SHA-256 of a regular file's content. A match that is a symlink also brings in what
  // followSymlinks() finds (its path and tree, the same way), since COPY copies that; a dangling
  // one counts as such. Never times, inode numbers, owners or xattrs, so the same tree gives the
  // same digest at any location on any machine. Unchanged files are not read again (the stat
  // cache). Fails as resolve() and walk() do, or naming a file that cannot be read or that
  // changes type while it is read.
  Result<oci::Digest> checksum(const std::vector<std::string>& sources) const;

  // How many regular files checksum() has read so far on this Context (the rest came from the
  // stat cache). For tests and build statistics.
  uint64_t filesHashed() const;

 private:
  struct StatCache;  // context_checksum.cpp
  class Walker;      // context.cpp

  // An entry met during a walk, valid during the callback only.
  struct Visit {
    std::string_view path;  // relative to the root
    const struct stat* st;  // its lstat
    int dirFd;              // the directory holding it (for the root itself: the root)
    const char* name;       // its name in dirFd ("." for the root)
  };
  // Returns false to end the walk early.
  using Visitor = std::function<Result<bool>(const Visit&)>;

  // An entry found by locate(): its parent directory, open, and that directory's ignore state.
  struct Located {
    UniqueFd parentOwned;  // empty when the parent is the root
    int parentFd = -1;     // parentOwned, or the root
    std::string name;      // "." for the root
    struct stat st;
    dockerfile::IgnoreDirState parentState;
    bool hidden = false;  // an ancestor is excluded together with everything below it
  };

  Context(std::string root, UniqueFd rootFd, dockerfile::IgnoreMatcher ignore);

  // Finds `rel` (clean and relative, "" = the root) by opening each parent directory without
  // following symlinks. nullopt when a component is missing or is not a directory.
  Result<std::optional<Located>> locate(std::string_view rel) const;
  // Whether the entry `rel` (name in parentFd, lstat st) is part of the context: not excluded,
  // or an excluded directory with something below it put back.
  Result<bool> visible(int parentFd, const char* name, const struct stat& st,
                       const dockerfile::IgnoreDirState& parentState, std::string_view rel) const;
  // Calls fn for the entry `rel` itself (when emitTop) and for every visible entry below it.
  // Returns false when fn ended the walk.
  Result<bool> walkTree(int parentFd, const char* name, const struct stat& st,
                        const dockerfile::IgnoreDirState& parentState, std::string_view rel,
                        bool emitTop, const Visitor& fn) const;
  // walkTree for an entry resolve() returned.
  Status walkEntry(const ContextEntry& top, const Visitor& fn) const;
  // Appends to `out` the entries below the directory dirFd (at `path`, ignore state `state`)
  // that patterns[index...] match, one pattern per directory level.
  Status matchWildcards(int dirFd, std::string& path, const dockerfile::IgnoreDirState& state,
                        const std::vector<std::string_view>& patterns, std::size_t index,
                        std::vector<ContextEntry>& out) const;
  Result<ContextEntry> entryOf(const Visit& v) const;
  // The absolute host path of `rel`, for messages and the stat cache.
  std::string hostPath(std::string_view rel) const;
  // The raw SHA-256 of a regular file's content, from the stat cache when its stat is unchanged.
  Status contentSha256(const Visit& v, unsigned char out[32]) const;

  std::string root_;
  UniqueFd rootFd_;
  dockerfile::IgnoreMatcher ignore_;
  std::unique_ptr<StatCache> cache_;
};

}  // namespace strata::build
