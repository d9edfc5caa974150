// Private to src/layer (tar_stream.cpp, tar_rename.cpp): the libarchive plumbing the tar
// streams of tar_stream.h share.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "util/error.h"

namespace strata::layer::detail {

constexpr size_t kStreamChunk = size_t(1) << 20;

struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ArchiveRead = std::unique_ptr<archive, ArchiveReadFree>;
using ArchiveWrite = std::unique_ptr<archive, ArchiveWriteFree>;

// libarchive converts names to UTF-8 for PAX records through the thread's locale; in the "C"
// locale every non-ASCII name would be flagged hdrcharset=BINARY. Switch to C.UTF-8 meanwhile.
class Utf8Locale {
 public:
  Utf8Locale() : loc_(::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t(0))) {
    if (loc_) old_ = ::uselocale(loc_);
  }
  ~Utf8Locale() {
    if (!loc_) return;
    ::uselocale(old_);
    ::freelocale(loc_);
  }
  Utf8Locale(const Utf8Locale&) = delete;
  Utf8Locale& operator=(const Utf8Locale&) = delete;

 private:
  locale_t loc_;
  locale_t old_ = LC_GLOBAL_LOCALE;
};

// ours when set (the error a callback stored), else libarchive's message for a, after what.
Error archiveError(archive* a, const std::optional<Error>& ours, const std::string& what);

// A PAX writer (as writeTarFromDir's: SCHILY xattrs, no blocking) handing its output to cb.
Result<ArchiveWrite> openTarWriter(void* client, archive_write_callback* cb);

}  // namespace strata::layer::detail
