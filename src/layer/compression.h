// Streaming decompression of layer blobs (gzip, zstd or none), detected by magic bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "util/error.h"
#include "util/fd.h"

namespace strata::layer {

enum class Compression { None, Gzip, Zstd };

// Detects compression from the first bytes of a stream (needs up to 4 bytes).
Compression detectCompression(const unsigned char* head, size_t n);
// Whether the first bytes of a stream look like a tar archive: gzip or zstd magic, or a plain
// tar header ("ustar" at offset 257; head needs 262 bytes for that).
bool looksLikeTar(const unsigned char* head, size_t n);
std::string_view compressionName(Compression c);

// A pull-style byte source.
class Reader {
 public:
  virtual ~Reader() = default;
  // Reads up to size bytes; 0 means end of stream.
  virtual Result<size_t> read(void* buf, size_t size) = 0;
};

// A push-style byte sink (for example a store::BlobWriter or an HTTP upload). It receives a
// stream in order, in pieces of any size; an error it returns stops the producer.
using Sink = std::function<Status(const void* data, size_t size)>;

// Reads an fd (not owned).
std::unique_ptr<Reader> fdReader(int fd);
// Reads an fd and closes it when destroyed.
std::unique_ptr<Reader> fdReader(UniqueFd fd);
// Wraps src, detecting and undoing gzip or zstd (or passing plain data through). The returned
// reader owns src. Corrupt input is an error naming the format.
Result<std::unique_ptr<Reader>> decompressingReader(std::unique_ptr<Reader> src);
// As above, and stores the detected compression in detected.
Result<std::unique_ptr<Reader>> decompressingReader(std::unique_ptr<Reader> src,
                                                    Compression& detected);
// Wraps src and computes the sha256 of every byte read through it (the caller keeps a pointer
// to read the digest after the stream is drained).
class HashingReader : public Reader {
 public:
  explicit HashingReader(std::unique_ptr<Reader> src);
  ~HashingReader() override;
  Result<size_t> read(void* buf, size_t size) override;
  // Hex sha256 and byte count of everything read so far; call once, after the end of stream.
  std::string hex();
  uint64_t count() const { return count_; }

 private:
  std::unique_ptr<Reader> src_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint64_t count_ = 0;
};

}  // namespace strata::layer
