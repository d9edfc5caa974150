// renamingReader: a tar re-written entry by entry through libarchive, renamed on the way.
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "layer/in_root.h"
#include "layer/tar_stream.h"
#include "layer/tar_stream_internal.h"
#include "util/fs.h"

namespace strata::layer {

namespace {

using detail::archiveError;
using detail::ArchiveRead;
using detail::ArchiveWrite;

constexpr std::string_view kWhiteoutPrefix = ".wh.";

// A Reader of a tar read from src with every entry renamed below how.top (and owned by
// how.owner): the stream pulls one header or data chunk through libarchive at a time.
// Concatenated tars in src come out as one.
class TarRewriter final : public Reader {
 public:
  TarRewriter(std::unique_ptr<Reader> src, TarRename how)
      : src_(std::move(src)),
        how_(std::move(how)),
        inBuf_(detail::kStreamChunk),
        data_(detail::kStreamChunk) {}

  Result<size_t> read(void* buf, size_t size) override {
    while (pos_ == out_.size()) {
      if (stage_ == Stage::Done) return 0;
      out_.clear();
      pos_ = 0;
      detail::Utf8Locale utf8;
      if (stage_ == Stage::Start)
        TRYV(open());
      else if (stage_ == Stage::Header)
        TRYV(nextHeader());
      else
        TRYV(copyData());
    }
    size_t n = std::min(size, out_.size() - pos_);
    std::memcpy(buf, out_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  enum class Stage { Start, Header, Data, Done };

  Status open() {
    in_.reset(archive_read_new());
    if (!in_) return fail(Error(ENOMEM, "libarchive: cannot allocate a reader"));
    archive_read_support_format_tar(in_.get());
    // The source's own entry and its contents come as two tars, one after the other.
    if (archive_read_set_options(in_.get(), "tar:read_concatenated_archives") != ARCHIVE_OK)
      return failInvalid("libarchive cannot read concatenated tars");
    if (archive_read_open(in_.get(), this, nullptr, &TarRewriter::pull, nullptr) != ARCHIVE_OK) {
      if (!srcError_ && pulled_ == 0) {  // an empty stream: nothing to copy
        stage_ = Stage::Done;
        return {};
      }
      return fail(archiveError(in_.get(), srcError_, "read tar"));
    }
    out_writer_ = TRY(detail::openTarWriter(this, &TarRewriter::push));
    stage_ = Stage::Header;
    return {};
  }

  Status nextHeader() {
    archive_entry* e;
    int r = archive_read_next_header(in_.get(), &e);
    if (r == ARCHIVE_EOF) {
      if (archive_write_close(out_writer_.get()) != ARCHIVE_OK)
        return fail(archiveError(out_writer_.get(), std::nullopt, "finish tar"));
      stage_ = Stage::Done;
      return {};
    }
    if (r < ARCHIVE_WARN) return fail(archiveError(in_.get(), srcError_, "read tar"));
    bool keep = TRY(rewrite(e));
    if (!keep) return {};           // the next header skips its data
    archive_entry_sparse_clear(e);  // holes come back from archive_read_data as zeros
    if (archive_write_header(out_writer_.get(), e) < ARCHIVE_WARN)
      return fail(archiveError(out_writer_.get(), std::nullopt, "write tar header"));
    bool hasData = archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e) &&
                   archive_entry_size(e) > 0;
    stage_ = hasData ? Stage::Data : Stage::Header;
    return {};
  }

  Status copyData() {
    la_ssize_t n = archive_read_data(in_.get(), data_.data(), data_.size());
    if (n < 0) return fail(archiveError(in_.get(), srcError_, "read tar data"));
    if (n == 0) {
      stage_ = Stage::Header;
      return {};
    }
    for (la_ssize_t off = 0; off < n;) {
      la_ssize_t w =
          archive_write_data(out_writer_.get(), data_.data() + off, static_cast<size_t>(n - off));
      if (w < 0) return fail(archiveError(out_writer_.get(), std::nullopt, "write tar data"));
      if (w == 0) break;  // more data than the header declared
      off += w;
    }
    return {};
  }

  std::string renamed(const std::string& clean) const {
    if (clean.empty()) return how_.top;
    return how_.top == "." ? "./" + clean : how_.top + "/" + clean;
  }

  // Renames e in place; false to leave it out.
  Result<bool> rewrite(archive_entry* e) {
    const char* raw = archive_entry_pathname(e);
    if (!raw) raw = archive_entry_pathname_utf8(e);
    if (!raw) return failInvalid("tar entry without a name");
    std::string clean =
        TRY_CTX(detail::cleanEntryPath(raw), "tar entry \"" + std::string(raw) + "\"");
    if (how_.dropRoot && clean.empty()) return false;
    if (how_.dropWhiteouts && baseName(clean).starts_with(kWhiteoutPrefix)) return false;
    std::string name = renamed(clean);
    if (archive_entry_filetype(e) == AE_IFDIR && !name.ends_with('/')) name += '/';
    archive_entry_copy_pathname(e, name.c_str());
    const char* link = archive_entry_hardlink(e);
    if (!link) link = archive_entry_hardlink_utf8(e);
    if (link) {
      std::string target =
          TRY_CTX(detail::cleanEntryPath(link), "hardlink target \"" + std::string(link) + "\"");
      archive_entry_copy_hardlink(e, renamed(target).c_str());
    }
    if (how_.owner) {
      archive_entry_set_uid(e, how_.owner->first);
      archive_entry_set_gid(e, how_.owner->second);
      archive_entry_copy_uname(e, nullptr);
      archive_entry_copy_gname(e, nullptr);
    }
    return true;
  }

  static la_ssize_t pull(archive* a, void* self, const void** buf) {
    auto* r = static_cast<TarRewriter*>(self);
    auto n = r->src_->read(r->inBuf_.data(), r->inBuf_.size());
    if (!n) {
      archive_set_error(a, EIO, "%s", n.error().what().c_str());
      r->srcError_ = std::move(n).error();
      return -1;
    }
    r->pulled_ += *n;
    *buf = r->inBuf_.data();
    return static_cast<la_ssize_t>(*n);
  }

  static la_ssize_t push(archive*, void* self, const void* data, size_t n) {
    static_cast<TarRewriter*>(self)->out_.append(static_cast<const char*>(data), n);
    return static_cast<la_ssize_t>(n);
  }

  std::unique_ptr<Reader> src_;
  TarRename how_;
  std::vector<char> inBuf_, data_;
  std::string out_;  // rewritten bytes not yet read
  size_t pos_ = 0;
  uint64_t pulled_ = 0;
  Stage stage_ = Stage::Start;
  std::optional<Error> srcError_;
  // Last, so destroyed first: freeing an unfinished writer still pushes its trailer to out_.
  ArchiveRead in_;
  ArchiveWrite out_writer_;
};

}  // namespace

std::unique_ptr<Reader> renamingReader(std::unique_ptr<Reader> src, TarRename how) {
  return std::make_unique<TarRewriter>(std::move(src), std::move(how));
}

}  // namespace strata::layer
