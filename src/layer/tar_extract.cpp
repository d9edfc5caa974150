// extractLayer and digestLayer: the tar stream is pulled through our own decompression and a
// hashing reader into libarchive (tar formats only, no libarchive filters), and every entry is
// applied by the Extractor (extractor.h).
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

#include "layer/extractor.h"
#include "layer/tar.h"
#include "util/format.h"
#include "util/fs.h"

namespace strata::layer {

namespace {

constexpr size_t kChunk = size_t(1) << 20;
constexpr uint64_t kDefaultMaxBytes = uint64_t(1) << 40;

// Feeds libarchive from the hashing reader, enforcing the size limit. An error of ours (I/O,
// corrupt compression, size limit) is kept here because libarchive only passes on its text.
struct Feed {
  HashingReader* reader = nullptr;
  uint64_t maxBytes = 0;
  std::unique_ptr<unsigned char[]> buf = std::make_unique_for_overwrite<unsigned char[]>(kChunk);
  std::optional<Error> error;

  Result<size_t> read(void* dst, size_t size) {
    size_t n = TRY(reader->read(dst, size));
    if (reader->count() > maxBytes)
      return failInvalid("layer exceeds the size limit of " + std::to_string(maxBytes) +
                         " uncompressed bytes (STRATA_MAX_LAYER_SIZE)");
    return n;
  }

  // Reads what libarchive left after the end-of-archive marker, so the digest covers it.
  Status drain() {
    for (;;) {
      size_t n = TRY(read(buf.get(), kChunk));
      if (n == 0) return {};
    }
  }

  static la_ssize_t callback(archive* a, void* self, const void** out) {
    auto* feed = static_cast<Feed*>(self);
    auto n = feed->read(feed->buf.get(), kChunk);
    if (!n) {
      archive_set_error(a, EIO, "%s", n.error().what().c_str());
      feed->error = std::move(n).error();
      return -1;
    }
    *out = feed->buf.get();
    return static_cast<la_ssize_t>(*n);
  }
};

struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchiveReadPtr = std::unique_ptr<archive, ArchiveReadDeleter>;

// The error for a failed libarchive call: ours if the feed failed, else libarchive's text.
Error archiveError(archive* a, const Feed& feed, const std::string& what) {
  if (feed.error) return *feed.error;
  const char* msg = archive_error_string(a);
  return Error::invalid(what + ": " + (msg ? msg : "unknown libarchive error"));
}

}  // namespace

Result<uint64_t> configuredMaxBytes() {
  const char* env = std::getenv("STRATA_MAX_LAYER_SIZE");
  if (env == nullptr || *env == '\0') return kDefaultMaxBytes;
  auto v = parseRamSize(env);
  if (!v || *v < 1) return failInvalid("STRATA_MAX_LAYER_SIZE: invalid size \"" + std::string(env) + "\"");
  return static_cast<uint64_t>(*v);
}

Result<ExtractResult> extractLayer(std::unique_ptr<Reader> src, const std::string& root,
                                   const ExtractOptions& options) {
  UniqueFd rootfd = TRY(openFile(root, O_RDONLY | O_DIRECTORY));
  ExtractResult result;
  HashingReader reader(TRY(decompressingReader(std::move(src), result.compression)));
  Feed feed{&reader, options.maxBytes};

  ArchiveReadPtr a(archive_read_new());
  if (!a) return fail(Error(ENOMEM, "libarchive: cannot allocate a reader"));
  // Tar only (ustar, pax, GNU): no other formats, and no libarchive decompression.
  archive_read_support_format_tar(a.get());
  if (archive_read_open(a.get(), &feed, nullptr, &Feed::callback, nullptr) != ARCHIVE_OK) {
    // An empty stream is an empty layer, though no format claims it.
    if (!feed.error && reader.count() == 0)
      return ExtractResult{reader.hex(), 0, result.compression};
    return fail(archiveError(a.get(), feed, "read layer tar"));
  }
  detail::Extractor extractor(rootfd.get(), options, a.get(), [&](const std::string& what) {
    return archiveError(a.get(), feed, what);
  });
  for (;;) {
    archive_entry* entry;
    int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    // ARCHIVE_WARN: e.g. a name that is not valid in the locale; the raw bytes are still there.
    if (r < ARCHIVE_WARN) return fail(archiveError(a.get(), feed, "read layer tar"));
    const char* name = detail::entryName(entry);
    TRYV_CTX(extractor.apply(entry),
             "layer entry \"" + std::string(name ? name : "") + "\"");
  }
  TRYV(feed.drain());
  TRYV(extractor.finish());
  result.diffIdHex = reader.hex();
  result.uncompressedSize = reader.count();
  return result;
}

Result<ExtractResult> digestLayer(std::unique_ptr<Reader> src) {
  ExtractResult result;
  HashingReader reader(TRY(decompressingReader(std::move(src), result.compression)));
  auto buf = std::make_unique_for_overwrite<unsigned char[]>(kChunk);
  for (;;) {
    size_t n = TRY(reader.read(buf.get(), kChunk));
    if (n == 0) break;
  }
  result.diffIdHex = reader.hex();
  result.uncompressedSize = reader.count();
  return result;
}

}  // namespace strata::layer
