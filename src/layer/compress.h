// Streaming compression of layer blobs: parallel gzip (pigz-style), zstd, or plain copy.
//
// The gzip output is one member whose deflate stream is cut into independently compressed
// blocks, so it is byte-identical for the same input and options whatever the thread count;
// any gzip reader (layer::decompressingReader, gzip -d, Go's compress/gzip) decodes it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "layer/compression.h"
#include "util/error.h"

namespace strata::layer {

struct CompressOptions {
  Compression kind = Compression::Gzip;  // Gzip or Zstd (None: copy through)
  int level = -1;                        // -1: the default for the kind (gzip 1 = fast, zstd 3)
  unsigned threads = 0;                  // 0: std::thread::hardware_concurrency()
  size_t blockSize = 1 << 20;            // gzip: input bytes per independently compressed block
};

// Reads src to its end and writes the compressed stream to sink; returns the number of input
// bytes read. Gzip levels are 0..9, zstd levels ZSTD_minCLevel()..ZSTD_maxCLevel(); gzip block
// sizes 1 byte..1 GiB. Gzip keeps at most about 2 x threads blocks in memory; zstd with more than
// one thread uses libzstd's own workers (single-threaded when the library has none), and its
// frame carries a content checksum. Errors from src or sink are returned as they are (sink may
// then have received part of the stream); bad options and codec failures are one-line errors
// naming the codec ("gzip: ..."). Threads started here are joined before it returns. src and sink
// are used from the calling thread only.
Result<uint64_t> compress(Reader& src, const Sink& sink, const CompressOptions& opt = {});

}  // namespace strata::layer
