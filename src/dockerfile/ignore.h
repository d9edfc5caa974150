// .dockerignore: reading the file, choosing which file applies to a build, and deciding which
// context paths it excludes.
//
// The matching rules are BuildKit's (moby/patternmatcher v0.6.1):
//  - Each pattern is trimmed and lexically cleaned; a leading `!` makes it an exclusion, which
//    puts back paths that earlier patterns removed.
//  - A pattern "hits" a path when it matches the whole path or any ancestor directory of it.
//  - A path is excluded from the context when the LAST pattern that hits it is an inclusion.
//    Patterns are consulted in order with a flag (while not excluded only inclusions, while
//    excluded only exclusions), which gives the same answer and decides which unusable
//    patterns get consulted, and so reported.
//  - Glob syntax: `*` any run without `/`, `?` one character (one UTF-8 sequence) without `/`,
//    `[...]` classes with ranges, `^` negation and backslash escapes, `\x` a literal x, and `**`
//    any run including `/` (`**/` may also match nothing). A pattern that is a plain string,
//    a plain string followed by `**`, or `**` followed by a plain string is compared as a whole
//    string, prefix or suffix. Every other pattern behaves exactly like upstream's translation
//    to a Go regular expression, quirks included (`|` alternates, `{2}` repeats, `\d` is a
//    digit class, `^` anchors), which strata evaluates with its own linear-time automaton.
//    Deliberate difference: Unicode property classes (`\pL`) are not supported; a pattern using
//    one fails when it is consulted.
//
// Paths are slash-separated and relative to the build context ("src/main.c").
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace strata::dockerfile {

// Turns the bytes of a .dockerignore file into its pattern list, as BuildKit reads it:
// lines split on LF (a CR before the LF is dropped); a UTF-8 byte-order mark at the very start is
// dropped; a line whose first byte is `#` is a comment; other lines are trimmed of Unicode
// whitespace and dropped when empty; a leading `!` is set aside and the rest trimmed again; what
// remains is lexically cleaned and loses one leading `/`; then the `!` is put back. A line that
// is only `!` yields the pattern "!" (IgnoreMatcher::create rejects it).
// Fails only when a line is 64 KiB or longer, which BuildKit's line reader refuses.
Result<std::vector<std::string>> readIgnoreFile(std::string_view content);

// The patterns that apply to a build of `contextDir` with the Dockerfile at `dockerfile`.
// BuildKit looks first for the Dockerfile's own ignore file, named after the Dockerfile with
// ".dockerignore" appended and kept in the same directory as the Dockerfile
// ("ci/Dockerfile.dev" -> "ci/Dockerfile.dev.dockerignore"), then for
// `<contextDir>/.dockerignore`. The first that exists wins (even when empty); when neither
// exists the list is empty. `dockerfile` is the path the build reads the Dockerfile from
// (absolute, or relative to the current directory); when it names "Dockerfile" but only
// "dockerfile" exists beside it, the lowercase name is used, as the docker CLI does. Pass an
// empty `dockerfile` when the Dockerfile does not come from a file (stdin, inline): only the
// context's file is consulted.
// Fails, naming the file, when an ignore file exists but cannot be read or parsed.
Result<std::vector<std::string>> loadIgnorePatterns(const std::filesystem::path& contextDir,
                                                    const std::filesystem::path& dockerfile);

// What an incremental walk remembers about a directory it has matched: which patterns hit the
// directory or one of its ancestors. A default-constructed state stands for the context root.
// Cheap to move; copying copies one bit per pattern.
class IgnoreDirState {
 public:
  IgnoreDirState() = default;

 private:
  friend class IgnoreMatcher;
  std::vector<uint64_t> hits_;  // empty: no pattern hits
};

// The answer for a directory met during a walk.
struct IgnoreDirMatch {
  bool excluded = false;     // the directory itself is left out of the context
  bool skipSubtree = false;  // excluded, and nothing below it can be put back: don't descend
  IgnoreDirState state;      // pass to the calls for the directory's entries
};

// A compiled pattern list. Immutable after create(); copies share the compiled patterns; every
// method is safe to call from several threads at once.
class IgnoreMatcher {
 public:
  // A matcher with no patterns: excludes nothing.
  IgnoreMatcher();

  // Compiles `patterns` (as read by readIgnoreFile, or any strings): each is trimmed, empty ones
  // are dropped, the rest cleaned. Fails with a one-line message naming the pattern when one is
  // a lone `!` or is not valid glob syntax (an unterminated or malformed `[...]`, a trailing
  // backslash). A few patterns pass this check but are still unusable (such as the reversed
  // range in `[Local-Only]`); as upstream, those fail only when a match has to consult them.
  static Result<IgnoreMatcher> create(const std::vector<std::string>& patterns);

  // Whether `path` is excluded, judging the path and each of its ancestor directories (the
  // ancestors are those of the lexically cleaned parent directory). `path` is used verbatim
  // otherwise. Fails when an unusable pattern has to be consulted.
  Result<bool> matchesOrParentMatches(std::string_view path) const;

  // Incremental form for a walk of the context tree, equal in result to
  // matchesOrParentMatches(path) but without re-matching ancestors. `path` is the full relative
  // path of an entry (clean: no empty, "." or ".." components, no leading or trailing `/`) and
  // `parent` is the state matchDir returned for its parent directory (default state for entries
  // of the context root). matchFile answers for an entry that is not a directory; matchDir for
  // a directory, also returning the state for its entries and whether the walk may skip the
  // whole subtree: every path below is then excluded, and the direct call would fail for none
  // of them (a matcher holding an unusable pattern never skips). A directory that is excluded
  // but not skippable may still contain included entries; the walker must then still create
  // the directory in the context.
  // Both fail when an unusable pattern has to be consulted, or when `parent` came from a
  // different matcher.
  Result<bool> matchFile(const IgnoreDirState& parent, std::string_view path) const;
  Result<IgnoreDirMatch> matchDir(const IgnoreDirState& parent, std::string_view path) const;

  // Whether any kept pattern is an exclusion (`!...`).
  bool hasExclusions() const;
  // How many patterns were kept (empty ones are dropped).
  std::size_t patternCount() const;

  struct Impl;  // compiled patterns; defined in ignore.cpp

 private:
  friend Result<bool> legacyMatches(std::string_view path,
                                    const std::vector<std::string>& patterns);
  explicit IgnoreMatcher(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Upstream's deprecated package-level `Matches`, kept for parity with its tests: compiles
// `patterns`, cleans `path` (answering false for "."), and tries only ONE ancestor per pattern:
// the leading part of the parent directory with as many components as the pattern has. BuildKit
// does not use this; builds use IgnoreMatcher.
Result<bool> legacyMatches(std::string_view path, const std::vector<std::string>& patterns);

}  // namespace strata::dockerfile
