// Private to src/layer: applies the entries of a layer tar, one by one, to a directory tree,
// following the rules of tar.h (confinement to the root, replacement, whiteouts, metadata).
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <time.h>

#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "layer/tar.h"
#include "util/error.h"
#include "util/fd.h"

namespace strata::layer::detail {

// The entry's name as stored. libarchive converts names to the locale's charset and can come
// back empty-handed where the UTF-8 form is still there.
const char* entryName(archive_entry* e);

class Extractor {
 public:
  // rootfd: the tree, held open by the caller. a: the archive the entries come from (file data
  // is read from it). readError: the Error to report when reading from a fails.
  Extractor(int rootfd, const ExtractOptions& options, archive* a,
            std::function<Error(const std::string& what)> readError);

  // Applies one entry. Errors name the operation and path, not the entry (the caller adds it).
  Status apply(archive_entry* e);
  // Sets the modes and times of directories, deferred so that creating their children neither
  // needs write permission nor bumps their mtime. Call once, after the last entry.
  Status finish();

 private:
  Status applyWhiteout(const std::string& parent, std::string_view base);
  Status applyOpaque(const std::string& dir);
  Status clearUntouched(int dirfd, const std::string& rel);
  Result<int> parentDir(const std::string& rel);
  Result<UniqueFd> createDirs(const std::string& rel);
  Status removeExisting(int parentfd, const std::string& base, const std::string& path,
                        bool keepDir, bool& isDir);
  Status writeData(int fd, archive_entry* e);
  Status setMetadata(archive_entry* e, int fd, int parentfd, const std::string& base);
  Status setXattrs(archive_entry* e, int fd, int parentfd, const std::string& base);
  void deferDir(const std::string& path, archive_entry* e);
  void touch(std::string path);
  void forgetCachedParentUnder(const std::string& removed);

  int rootfd_;
  const ExtractOptions& options_;
  archive* archive_;
  std::function<Error(const std::string&)> readError_;
  bool isRoot_;
  // The last parent directory resolved: entries of one directory usually come together.
  std::string cachedPath_;
  UniqueFd cachedFd_;
  bool cacheValid_ = false;
  struct DeferredDir {
    std::string path;
    mode_t mode;
    bool hasTime;
    timespec mtime;
  };
  std::vector<DeferredDir> dirs_;
  // Apply mode: every path this layer wrote (and its ancestors), which an opaque marker keeps.
  std::unordered_set<std::string> touched_;
};

}  // namespace strata::layer::detail
