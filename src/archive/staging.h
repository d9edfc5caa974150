// Internal to archive/: the outer tar of an archive being loaded, unpacked into a staging
// directory with every name checked.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "layer/compression.h"
#include "util/error.h"
#include "util/fs.h"

struct archive;  // libarchive's handles
struct archive_entry;

namespace strata::archive {

// Cleans a tar entry name ("./a//b/" -> "a/b", "./" -> ""). Absolute names and any ".."
// component are errors naming the entry.
Result<std::string> cleanEntryName(std::string_view name);

// Regular files are written under a private directory; directories are created; symlinks are
// only recorded (never created on disk) and resolved inside the archive; hardlinks become hard
// links to the earlier staged file. Any other entry type is an error naming the entry.
class StagedArchive {
 public:
  // Reads the tar stream src (already decompressed) to its end into a new directory under
  // parent. A malformed or truncated tar is a one-line error ("invalid tar archive: ...").
  static Result<StagedArchive> read(std::unique_ptr<layer::Reader> src, const std::string& parent);

  // The staged regular file that name (as a manifest writes it) refers to, following recorded
  // symlinks, relative to dir(). Errors: no such file, a symlink leading out of the archive, a
  // loop.
  Result<std::string> resolve(std::string_view name) const;
  bool exists(std::string_view name) const { return resolve(name).has_value(); }
  // Absolute path of a resolved name.
  std::string pathOf(const std::string& resolved) const { return dir_.path() + "/" + resolved; }
  // Contents of a small file (manifest.json, a config); larger than limit is an error.
  Result<std::string> readSmall(std::string_view name, uint64_t limit) const;

 private:
  Status addEntry(::archive* a, ::archive_entry* e);
  Status checkNotUnderSymlink(const std::string& name) const;
  Status prepareSlot(const std::string& name);

  TempDir dir_;
  std::set<std::string> files_;
  std::map<std::string, std::string> symlinks_;  // cleaned name -> target as written
};

}  // namespace strata::archive
