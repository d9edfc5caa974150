#include "layer/compress.h"

#define ZLIB_CONST  // next_in is const
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace strata::layer {

namespace {

using Bytes = std::vector<unsigned char>;

constexpr size_t kWindow = size_t(1) << 15;       // deflate's history: 32 KiB
constexpr size_t kMaxBlock = size_t(1) << 30;     // keeps a block within zlib's uInt counters
constexpr size_t kStreamChunk = size_t(1) << 20;  // input read per call by zstd and copy
constexpr int kGzipDefaultLevel = 1;
constexpr int kZstdDefaultLevel = 3;

// Reads src into buf until it holds want bytes or the source ends (setting eof); returns the
// bytes held. Whole blocks, whatever sizes src's reads return, keep gzip's output a function of
// the input alone.
Result<size_t> fill(Reader& src, unsigned char* buf, size_t want, bool& eof) {
  size_t n = 0;
  while (n < want && !eof) {
    size_t got = TRY(src.read(buf + n, want - n));
    if (got == 0) eof = true;
    n += got;
  }
  return n;
}

void putLe32(unsigned char* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

// One raw deflate stream, reused block after block. deflateReset makes each block's output
// depend only on its input, dictionary and finality, whichever worker compresses it.
class Deflater {
 public:
  explicit Deflater(int level) : level_(level) {}
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;
  ~Deflater() {
    if (ready_) deflateEnd(&zs_);
  }

  // Compresses in, as the continuation of the history dict, into out: a deflate fragment that
  // ends on a byte boundary, with a sync flush (more fragments follow) or the final block.
  Status compress(const Bytes& in, const Bytes& dict, bool last, Bytes& out) {
    TRYV(reset());
    if (!dict.empty() && deflateSetDictionary(&zs_, dict.data(), uInt(dict.size())) != Z_OK)
      return failInvalid("gzip: cannot set the deflate dictionary");
    out.resize(deflateBound(&zs_, uLong(in.size())) + 64);  // room for the flush marker too
    zs_.next_in = in.data();
    zs_.avail_in = uInt(in.size());
    size_t pos = 0;
    for (;;) {
      if (pos == out.size()) out.resize(out.size() * 2);
      zs_.next_out = out.data() + pos;
      zs_.avail_out = uInt(out.size() - pos);
      int ret = deflate(&zs_, last ? Z_FINISH : Z_SYNC_FLUSH);
      pos = out.size() - zs_.avail_out;
      if (last && ret == Z_STREAM_END) break;
      if (ret != Z_OK)
        return failInvalid(std::string("gzip: deflate failed: ") +
                           (zs_.msg ? zs_.msg : "error " + std::to_string(ret)));
      // A sync flush is complete once it returns with input consumed and output space left.
      if (!last && zs_.avail_in == 0 && zs_.avail_out != 0) break;
    }
    out.resize(pos);
    return {};
  }

 private:
  Status reset() {
    if (ready_) {
      if (deflateReset(&zs_) != Z_OK) return failInvalid("gzip: cannot reset the compressor");
      return {};
    }
    zs_ = z_stream{};
    // Negative window bits: raw deflate; the gzip header and trailer are written by hand.
    int ret = deflateInit2(&zs_, level_, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    if (ret != Z_OK)
      return fail(Error(ret == Z_MEM_ERROR ? ENOMEM : 0, "gzip: cannot initialise compressor"));
    ready_ = true;
    return {};
  }

  int level_;
  z_stream zs_{};
  bool ready_ = false;
};

// One block of input on its way through a worker.
struct Block {
  Bytes in;           // input bytes
  Bytes dict;         // up to 32 KiB of input just before them
  bool last = false;  // ends the deflate stream
  Bytes out;          // the compressed fragment
  uLong crc = 0;      // CRC-32 of in
  Status status;
  bool ready = false;  // guarded by Workers::mu_ while queued
};

void compressBlock(Deflater& d, Block& b) {
  try {
    b.crc = crc32_z(0, b.in.data(), b.in.size());
    b.status = d.compress(b.in, b.dict, b.last, b.out);
  } catch (const std::bad_alloc&) {
    b.status = fail(Error(ENOMEM, "gzip: cannot allocate an output buffer"));
  }
}

// A fixed set of threads, each with its own Deflater, compressing queued blocks. With no
// threads, queue() compresses on the caller's thread. The destructor stops and joins the
// threads; blocks still queued are left untouched.
class Workers {
 public:
  explicit Workers(int level) : level_(level), local_(level) {}
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;
  ~Workers() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    work_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  Status start(unsigned n) {
    try {
      for (unsigned i = 0; i < n; i++) threads_.emplace_back([this] { run(); });
    } catch (const std::system_error& e) {
      return fail(Error(e.code().value(), "gzip: cannot start a worker thread"));
    }
    return {};
  }

  void queue(Block& b) {
    b.ready = false;
    if (threads_.empty()) {
      compressBlock(local_, b);
      b.ready = true;
      return;
    }
    {
      std::lock_guard lock(mu_);
      queue_.push_back(&b);
    }
    work_.notify_one();
  }

  // Waits until b, queued earlier, is compressed.
  void wait(Block& b) {
    std::unique_lock lock(mu_);
    done_.wait(lock, [&] { return b.ready; });
  }

 private:
  void run() {
    Deflater d(level_);
    for (;;) {
      Block* b;
      {
        std::unique_lock lock(mu_);
        work_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        b = queue_.front();
        queue_.pop_front();
      }
      compressBlock(d, *b);
      {
        std::lock_guard lock(mu_);
        b->ready = true;
      }
      done_.notify_all();
    }
  }

  int level_;
  Deflater local_;
  std::mutex mu_;
  std::condition_variable work_;  // a block was queued, or stop_ was set
  std::condition_variable done_;  // a block became ready
  std::deque<Block*> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

// pigz's scheme: one gzip member whose deflate stream is the concatenation of independently
// compressed blocks, each primed with the 32 KiB of input before it, with the per-block CRCs
// combined in order. The calling thread reads, writes and keeps order; workers compress.
class GzipCompressor {
 public:
  GzipCompressor(Reader& src, const Sink& sink, int level, unsigned threads, size_t blockSize)
      : src_(src),
        sink_(sink),
        level_(level),
        threads_(threads),
        blockSize_(blockSize),
        maxInFlight_(2 * size_t(threads)),
        workers_(level) {}

  Result<uint64_t> run() {
    TRYV(workers_.start(threads_ > 1 ? threads_ : 0));
    TRYV(writeHeader());
    // One block of lookahead: a block is the last one when the source has nothing after it.
    std::unique_ptr<Block> pending = TRY(readBlock());
    for (;;) {
      while (inFlight_.size() >= maxInFlight_) TRYV(writeOldest());
      std::unique_ptr<Block> next = TRY(readBlock());
      pending->last = next->in.empty();
      workers_.queue(*pending);
      inFlight_.push_back(std::move(pending));
      if (inFlight_.back()->last) break;
      pending = std::move(next);
    }
    while (!inFlight_.empty()) TRYV(writeOldest());
    unsigned char trailer[8];
    putLe32(trailer, uint32_t(crc_));
    putLe32(trailer + 4, uint32_t(total_));  // ISIZE: the length modulo 2^32
    TRYV(sink_(trailer, sizeof trailer));
    return total_;
  }

 private:
  Status writeHeader() {
    // Fixed fields keep the output reproducible: no name, mtime 0, OS 255 ("unknown", as Go's
    // compress/gzip writes). XFL follows zlib: 2 for the best level, 4 for the fastest ones.
    unsigned char xfl = level_ == 9 ? 2 : level_ < 2 ? 4 : 0;
    const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255};
    return sink_(header, sizeof header);
  }

  // The next block of input (empty at the end), with the history before it as its dictionary.
  Result<std::unique_ptr<Block>> readBlock() {
    std::unique_ptr<Block> b;
    if (free_.empty()) {
      b = std::make_unique<Block>();
    } else {
      b = std::move(free_.back());
      free_.pop_back();
    }
    b->in.resize(blockSize_);
    size_t n = TRY(fill(src_, b->in.data(), blockSize_, eof_));
    b->in.resize(n);
    total_ += b->in.size();
    b->dict = window_;
    if (b->in.size() >= kWindow) {
      window_.assign(b->in.end() - kWindow, b->in.end());
    } else {
      window_.insert(window_.end(), b->in.begin(), b->in.end());
      if (window_.size() > kWindow) window_.erase(window_.begin(), window_.end() - kWindow);
    }
    return b;
  }

  // Waits for the oldest block, writes it and keeps it for reuse.
  Status writeOldest() {
    Block& b = *inFlight_.front();
    workers_.wait(b);
    TRYV(b.status);
    TRYV(sink_(b.out.data(), b.out.size()));
    crc_ = crc32_combine(crc_, b.crc, z_off_t(b.in.size()));
    free_.push_back(std::move(inFlight_.front()));
    inFlight_.pop_front();
    return {};
  }

  Reader& src_;
  const Sink& sink_;
  int level_;
  unsigned threads_;
  size_t blockSize_;
  size_t maxInFlight_;
  bool eof_ = false;
  uint64_t total_ = 0;
  uLong crc_ = 0;
  Bytes window_;  // the last (up to) 32 KiB of input read
  // Blocks are declared before workers_ so that the workers are joined before any block a
  // worker may hold is freed.
  std::deque<std::unique_ptr<Block>> inFlight_;  // queued, in input order
  std::vector<std::unique_ptr<Block>> free_;
  Workers workers_;
};

Status zstdParam(ZSTD_CCtx* cctx, ZSTD_cParameter param, int value, const char* what) {
  size_t ret = ZSTD_CCtx_setParameter(cctx, param, value);
  if (ZSTD_isError(ret))
    return failInvalid(std::string("zstd: cannot set ") + what + ": " + ZSTD_getErrorName(ret));
  return {};
}

struct FreeCCtx {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

Result<uint64_t> compressZstd(Reader& src, const Sink& sink, int level, unsigned threads) {
  std::unique_ptr<ZSTD_CCtx, FreeCCtx> cctx(ZSTD_createCCtx());
  if (!cctx) return fail(Error(ENOMEM, "zstd: cannot initialise compressor"));
  TRYV(zstdParam(cctx.get(), ZSTD_c_compressionLevel, level, "the compression level"));
  TRYV(zstdParam(cctx.get(), ZSTD_c_checksumFlag, 1, "the content checksum"));
  // Worker mode even for one thread: its output is the same for any number of workers, so a
  // layer gets one digest on every machine. A library built without threads refuses; it then
  // compresses on this thread.
  (void)ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_nbWorkers, int(std::max(1u, threads)));
  Bytes in(kStreamChunk), out(ZSTD_CStreamOutSize());
  uint64_t total = 0;
  for (;;) {
    size_t n = TRY(src.read(in.data(), in.size()));
    total += n;
    ZSTD_EndDirective mode = n == 0 ? ZSTD_e_end : ZSTD_e_continue;
    ZSTD_inBuffer ib{in.data(), n, 0};
    for (;;) {
      ZSTD_outBuffer ob{out.data(), out.size(), 0};
      size_t left = ZSTD_compressStream2(cctx.get(), &ob, &ib, mode);
      if (ZSTD_isError(left)) return failInvalid(std::string("zstd: ") + ZSTD_getErrorName(left));
      if (ob.pos > 0) TRYV(sink(out.data(), ob.pos));
      if (mode == ZSTD_e_end ? left == 0 : ib.pos == ib.size) break;
    }
    if (n == 0) return total;
  }
}

Result<uint64_t> copyThrough(Reader& src, const Sink& sink) {
  Bytes buf(kStreamChunk);
  uint64_t total = 0;
  for (;;) {
    size_t n = TRY(src.read(buf.data(), buf.size()));
    if (n == 0) return total;
    TRYV(sink(buf.data(), n));
    total += n;
  }
}

}  // namespace

Result<uint64_t> compress(Reader& src, const Sink& sink, const CompressOptions& opt) {
  unsigned threads = opt.threads ? opt.threads : std::max(1u, std::thread::hardware_concurrency());
  switch (opt.kind) {
    case Compression::None:
      return copyThrough(src, sink);
    case Compression::Gzip: {
      int level = opt.level == -1 ? kGzipDefaultLevel : opt.level;
      if (level < 0 || level > 9)
        return failInvalid("gzip: compression level " + std::to_string(level) +
                           " is out of range (0 to 9)");
      if (opt.blockSize == 0 || opt.blockSize > kMaxBlock)
        return failInvalid("gzip: block size " + std::to_string(opt.blockSize) +
                           " is out of range (1 byte to 1 GiB)");
      GzipCompressor gz(src, sink, level, threads, opt.blockSize);
      return gz.run();
    }
    case Compression::Zstd: {
      int level = opt.level == -1 ? kZstdDefaultLevel : opt.level;
      if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
        return failInvalid("zstd: compression level " + std::to_string(level) +
                           " is out of range (" + std::to_string(ZSTD_minCLevel()) + " to " +
                           std::to_string(ZSTD_maxCLevel()) + ")");
      return compressZstd(src, sink, level, threads);
    }
  }
  return failInvalid("unknown compression");
}

}  // namespace strata::layer
