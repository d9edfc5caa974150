#include "layer/compression.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>

#include "util/fs.h"
#include "util/sha256.h"

namespace strata::layer {

namespace {

// Compressed input is pulled from the source in chunks this big.
constexpr size_t kInputChunk = size_t(1) << 20;

class FdReader : public Reader {
 public:
  explicit FdReader(int fd) : fd_(fd) {}
  explicit FdReader(UniqueFd owned) : fd_(owned.get()), owned_(std::move(owned)) {}
  Result<size_t> read(void* buf, size_t size) override {
    return TRY_CTX(readSome(fd_, buf, size), "read layer");
  }

 private:
  int fd_;
  UniqueFd owned_;
};

// The compressed side of a decompressor: a source and a buffer of bytes read from it but not yet
// consumed. The buffer may start pre-filled with the bytes used to detect the format. It is not
// zeroed: only bytes read into it are used.
struct Input {
  std::unique_ptr<Reader> src;
  std::unique_ptr<unsigned char[]> buf = std::make_unique_for_overwrite<unsigned char[]>(kInputChunk);
  size_t pos = 0;
  size_t len = 0;
  bool eof = false;

  size_t available() const { return len - pos; }
  // Replaces the (fully consumed) buffer with the next chunk of the source.
  Status refill() {
    pos = 0;
    len = TRY(src->read(buf.get(), kInputChunk));
    if (len == 0) eof = true;
    return {};
  }
};

// Uncompressed data: hands out the detection bytes, then reads the source straight into the
// caller's buffer.
class PlainReader : public Reader {
 public:
  explicit PlainReader(Input in) : in_(std::move(in)) {}
  Result<size_t> read(void* buf, size_t size) override {
    if (in_.available() > 0) {
      size_t n = std::min(size, in_.available());
      std::memcpy(buf, in_.buf.get() + in_.pos, n);
      in_.pos += n;
      return n;
    }
    if (in_.eof) return size_t(0);
    return in_.src->read(buf, size);
  }

 private:
  Input in_;
};

// gzip, including several concatenated members (as pigz and friends write).
class GzipReader : public Reader {
 public:
  explicit GzipReader(Input in) : in_(std::move(in)) {}
  ~GzipReader() override {
    if (initialized_) inflateEnd(&zs_);
  }

  Status init() {
    std::memset(&zs_, 0, sizeof zs_);
    // 16 + MAX_WBITS: gzip wrapper only, no zlib or raw deflate.
    if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK)
      return fail(Error(ENOMEM, "gzip: cannot initialise decompressor"));
    initialized_ = true;
    return {};
  }

  Result<size_t> read(void* buf, size_t size) override {
    if (done_ || size == 0) return size_t(0);
    size = std::min<size_t>(size, UINT_MAX);
    zs_.next_out = static_cast<Bytef*>(buf);
    zs_.avail_out = static_cast<uInt>(size);
    while (zs_.avail_out == size) {
      if (in_.available() == 0 && !in_.eof) TRYV(in_.refill());
      if (memberEnded_) {
        // Another member follows only if there is more input; garbage fails the header check.
        if (in_.available() == 0) {
          done_ = true;
          break;
        }
        inflateReset(&zs_);
        memberEnded_ = false;
      }
      zs_.next_in = in_.buf.get() + in_.pos;
      zs_.avail_in = static_cast<uInt>(in_.available());
      int ret = inflate(&zs_, Z_NO_FLUSH);
      in_.pos = in_.len - zs_.avail_in;
      if (ret == Z_STREAM_END) {
        memberEnded_ = true;
      } else if (ret == Z_BUF_ERROR) {
        if (in_.available() == 0 && in_.eof)
          return failInvalid("gzip: unexpected end of data in layer (truncated)");
      } else if (ret != Z_OK) {
        return failInvalid(std::string("gzip: invalid data in layer: ") +
                           (zs_.msg ? zs_.msg : "error " + std::to_string(ret)));
      }
    }
    return size - zs_.avail_out;
  }

 private:
  Input in_;
  z_stream zs_;
  bool initialized_ = false;
  bool memberEnded_ = false;
  bool done_ = false;
};

// zstd, including several frames and skippable frames.
class ZstdReader : public Reader {
 public:
  explicit ZstdReader(Input in) : in_(std::move(in)), dctx_(ZSTD_createDCtx()) {}
  ~ZstdReader() override { ZSTD_freeDCtx(dctx_); }

  Status init() {
    if (!dctx_) return fail(Error(ENOMEM, "zstd: cannot initialise decompressor"));
    return {};
  }

  Result<size_t> read(void* buf, size_t size) override {
    if (done_ || size == 0) return size_t(0);
    ZSTD_outBuffer out{buf, size, 0};
    while (out.pos == 0) {
      if (in_.available() == 0 && !in_.eof) TRYV(in_.refill());
      if (in_.available() == 0 && in_.eof && lastHint_ == 0) {
        done_ = true;  // the last frame ended exactly at the end of the input
        break;
      }
      ZSTD_inBuffer in{in_.buf.get(), in_.len, in_.pos};
      size_t hint = ZSTD_decompressStream(dctx_, &out, &in);
      if (ZSTD_isError(hint))
        return failInvalid(std::string("zstd: invalid data in layer: ") +
                           ZSTD_getErrorName(hint));
      in_.pos = in.pos;
      lastHint_ = hint;
      // Nothing produced from all the input there will ever be: the frame is cut short.
      if (out.pos == 0 && in_.available() == 0 && in_.eof)
        return failInvalid("zstd: unexpected end of data in layer (truncated)");
    }
    return out.pos;
  }

 private:
  Input in_;
  ZSTD_DCtx* dctx_;
  size_t lastHint_ = 1;  // ZSTD_decompressStream's last return; 0 = frame complete and flushed
  bool done_ = false;
};

}  // namespace

Compression detectCompression(const unsigned char* head, size_t n) {
  if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b) return Compression::Gzip;
  if (n >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd)
    return Compression::Zstd;
  return Compression::None;
}

bool looksLikeTar(const unsigned char* head, size_t n) {
  if (detectCompression(head, n) != Compression::None) return true;
  return n >= 262 && std::memcmp(head + 257, "ustar", 5) == 0;
}

std::string_view compressionName(Compression c) {
  switch (c) {
    case Compression::None: return "none";
    case Compression::Gzip: return "gzip";
    case Compression::Zstd: return "zstd";
  }
  return "unknown";
}

std::unique_ptr<Reader> fdReader(int fd) { return std::make_unique<FdReader>(fd); }
std::unique_ptr<Reader> fdReader(UniqueFd fd) { return std::make_unique<FdReader>(std::move(fd)); }

Result<std::unique_ptr<Reader>> decompressingReader(std::unique_ptr<Reader> src,
                                                    Compression& detected) {
  Input in;
  in.src = std::move(src);
  // A pipe may deliver fewer bytes than the magic needs in one read.
  while (in.len < 4) {
    size_t n = TRY(in.src->read(in.buf.get() + in.len, kInputChunk - in.len));
    if (n == 0) {
      in.eof = true;
      break;
    }
    in.len += n;
  }
  detected = detectCompression(in.buf.get(), in.len);
  switch (detected) {
    case Compression::Gzip: {
      auto r = std::make_unique<GzipReader>(std::move(in));
      TRYV(r->init());
      return r;
    }
    case Compression::Zstd: {
      auto r = std::make_unique<ZstdReader>(std::move(in));
      TRYV(r->init());
      return r;
    }
    case Compression::None: break;
  }
  return std::make_unique<PlainReader>(std::move(in));
}

Result<std::unique_ptr<Reader>> decompressingReader(std::unique_ptr<Reader> src) {
  Compression ignored;
  return decompressingReader(std::move(src), ignored);
}

struct HashingReader::Impl {
  Sha256 sha;
};

HashingReader::HashingReader(std::unique_ptr<Reader> src)
    : src_(std::move(src)), impl_(std::make_unique<Impl>()) {}
HashingReader::~HashingReader() = default;

Result<size_t> HashingReader::read(void* buf, size_t size) {
  size_t n = TRY(src_->read(buf, size));
  impl_->sha.update(buf, n);
  count_ += n;
  return n;
}

std::string HashingReader::hex() { return impl_->sha.hex(); }

}  // namespace strata::layer
