// Compression of layer blobs: round trips through decompressingReader, determinism of parallel
// gzip across thread counts, interoperability with the system gzip, and error propagation.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>

#include "layer/compress.h"
#include "layer/compression.h"
#include "layer_test_util.h"
#include "util/fs.h"

namespace strata::layer {
namespace {

using MemReader = testing::StringReader;

CompressOptions options(Compression kind, unsigned threads = 2, size_t blockSize = 1 << 20,
                        int level = -1) {
  CompressOptions o;
  o.kind = kind;
  o.threads = threads;
  o.blockSize = blockSize;
  o.level = level;
  return o;
}

// Compresses data (read in pieces of at most maxChunk bytes) and returns the stream.
std::string compressed(const std::string& data, const CompressOptions& opt,
                       size_t maxChunk = SIZE_MAX) {
  MemReader src(data, maxChunk);
  std::string out;
  auto n = compress(
      src,
      [&](const void* p, size_t size) -> Status {
        out.append(static_cast<const char*>(p), size);
        return {};
      },
      opt);
  if (n) {
    EXPECT_EQ(*n, data.size());
  } else {
    ADD_FAILURE() << n.error().what();
  }
  return out;
}

// Decodes a stream with layer::decompressingReader, checking the detected format.
std::string decompressed(const std::string& stream, Compression expected) {
  Compression detected;
  auto r = decompressingReader(std::make_unique<MemReader>(stream), detected);
  EXPECT_TRUE(r) << r.error().what();
  if (!r) return {};
  EXPECT_EQ(detected, expected);
  std::string out;
  char buf[65536];
  for (;;) {
    auto n = (*r)->read(buf, sizeof buf);
    EXPECT_TRUE(n) << n.error().what();
    if (!n || *n == 0) break;
    out.append(buf, *n);
  }
  return out;
}

// Runs of repetitive text alternating with runs of random bytes, reproducibly.
std::string mixedData(size_t size, unsigned seed = 1) {
  static const char* const kWords[] = {"layer ",  "image ",    "container ", "strata ", "blob ",
                                       "digest ", "manifest ", "\n",         "sha256:", "rootfs "};
  std::mt19937 rng(seed);
  std::string s;
  s.reserve(size);
  while (s.size() < size) {
    size_t run = 1024 + rng() % 32768;
    if (rng() % 3 == 0) {
      for (size_t i = 0; i < run; i++) s.push_back(char(rng()));
    } else {
      while (run > 0) {
        std::string w = kWords[rng() % 10];
        s += w;
        run -= std::min(run, w.size());
      }
    }
  }
  s.resize(size);
  return s;
}

std::string repeatedText(size_t size) {
  std::string s;
  while (s.size() < size) s += "The quick brown fox jumps over the lazy dog. ";
  s.resize(size);
  return s;
}

uint32_t le32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = v << 8 | static_cast<unsigned char>(s[at + i]);
  return v;
}

class RoundTrip : public ::testing::TestWithParam<Compression> {};

TEST_P(RoundTrip, EmptyInput) {
  std::string z = compressed("", options(GetParam()));
  EXPECT_FALSE(z.empty());
  EXPECT_EQ(detectCompression(reinterpret_cast<const unsigned char*>(z.data()), z.size()),
            GetParam());
  EXPECT_EQ(decompressed(z, GetParam()), "");
}

TEST_P(RoundTrip, SmallInput) {
  std::string data = "hello, layer\n";
  std::string z = compressed(data, options(GetParam()));
  EXPECT_EQ(decompressed(z, GetParam()), data);
}

TEST_P(RoundTrip, ManyBlocksFromChoppySource) {
  std::string data = mixedData(3 * (1 << 20) + (1 << 19));  // 3.5 MiB
  for (unsigned threads : {1u, 4u}) {
    // An odd read size so blocks never line up with the source's reads.
    std::string z = compressed(data, options(GetParam(), threads, 64 << 10), 7777);
    EXPECT_LT(z.size(), data.size());
    EXPECT_EQ(decompressed(z, GetParam()), data) << "threads=" << threads;
  }
}

TEST_P(RoundTrip, SourceErrorPropagates) {
  MemReader src(mixedData(1 << 20), 4096, 300000);
  auto r = compress(
      src, [](const void*, size_t) -> Status { return {}; }, options(GetParam(), 4, 64 << 10));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), EIO);
  EXPECT_EQ(r.error().message(), "read test source");
}

TEST_P(RoundTrip, SinkErrorPropagates) {
  std::string data = mixedData(2 << 20);
  for (int failOn : {1, 3}) {
    MemReader src(data);
    int calls = 0;
    auto r = compress(
        src,
        [&](const void*, size_t) -> Status {
          if (++calls == failOn) return fail(Error(ENOSPC, "write blob"));
          return {};
        },
        options(GetParam(), 4, 64 << 10));
    ASSERT_FALSE(r) << "failOn=" << failOn;
    EXPECT_EQ(r.error().code(), ENOSPC);
    EXPECT_EQ(r.error().message(), "write blob");
    EXPECT_EQ(calls, failOn);  // nothing more is written after the failure
  }
}

TEST_P(RoundTrip, HighlyCompressibleInputShrinks) {
  std::string data = repeatedText(4 << 20);
  std::string z = compressed(data, options(GetParam(), 2));
  EXPECT_LT(z.size(), data.size() / 100) << z.size();
  EXPECT_EQ(decompressed(z, GetParam()), data);
}

INSTANTIATE_TEST_SUITE_P(Kinds, RoundTrip, ::testing::Values(Compression::Gzip, Compression::Zstd),
                         [](const auto& info) { return std::string(compressionName(info.param)); });

TEST(GzipCompress, EmptyInputIsHeaderEmptyFinalBlockAndTrailer) {
  std::string z = compressed("", options(Compression::Gzip));
  // 10-byte header, the empty final fixed-Huffman block (03 00), CRC 0, ISIZE 0.
  EXPECT_EQ(z, std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x04\xff\x03\x00"
                           "\x00\x00\x00\x00\x00\x00\x00\x00",
                           20));
}

TEST(GzipCompress, HeaderAndTrailerFields) {
  std::string data = mixedData(1 << 20);
  std::string z = compressed(data, options(Compression::Gzip, 4, 100000));
  ASSERT_GE(z.size(), 18u);
  EXPECT_EQ(z.substr(0, 4), std::string("\x1f\x8b\x08\x00", 4));  // deflate, no flags
  EXPECT_EQ(le32(z, 4), 0u);                                      // mtime
  EXPECT_EQ(static_cast<unsigned char>(z[9]), 255);               // OS
  auto crc = crc32_z(0, reinterpret_cast<const Bytef*>(data.data()), data.size());
  EXPECT_EQ(le32(z, z.size() - 8), uint32_t(crc));
  EXPECT_EQ(le32(z, z.size() - 4), uint32_t(data.size()));
}

TEST(GzipCompress, IsOneMember) {
  // zlib's gzip decoder stops at the end of the first member: all the data must come out of it.
  std::string data = mixedData(1 << 20, 7);
  std::string z = compressed(data, options(Compression::Gzip, 4, 64 << 10));
  z_stream zs{};
  ASSERT_EQ(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
  std::string out(data.size() + 1, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(z.data());
  zs.avail_in = uInt(z.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = uInt(out.size());
  int ret = inflate(&zs, Z_FINISH);
  EXPECT_EQ(ret, Z_STREAM_END);
  EXPECT_EQ(zs.avail_in, 0u);  // the member ends exactly at the end of the stream
  out.resize(out.size() - zs.avail_out);
  inflateEnd(&zs);
  EXPECT_EQ(out, data);
}

TEST(GzipCompress, DeterministicAcrossThreadsAndSourceReads) {
  std::string data = mixedData(3 << 20, 3);
  std::string one = compressed(data, options(Compression::Gzip, 1, 64 << 10));
  EXPECT_EQ(decompressed(one, Compression::Gzip), data);
  for (unsigned threads : {2u, 4u, 7u}) {
    EXPECT_EQ(compressed(data, options(Compression::Gzip, threads, 64 << 10)), one)
        << "threads=" << threads;
  }
  EXPECT_EQ(compressed(data, options(Compression::Gzip, 4, 64 << 10), 1000), one);
  // A different block size is a different (still valid) stream.
  std::string other = compressed(data, options(Compression::Gzip, 4, 128 << 10));
  EXPECT_NE(other, one);
  EXPECT_EQ(decompressed(other, Compression::Gzip), data);
}

TEST(GzipCompress, BlocksSmallerThanTheWindowAndEveryLevel) {
  // Blocks smaller than deflate's 32 KiB window take their dictionary from several blocks back.
  std::string data = mixedData(300000, 5) + repeatedText(100000);
  for (int level : {0, 1, 6, 9}) {
    for (size_t blockSize : {size_t(1000), size_t(40000)}) {
      std::string z = compressed(data, options(Compression::Gzip, 3, blockSize, level));
      EXPECT_EQ(decompressed(z, Compression::Gzip), data)
          << "level=" << level << " blockSize=" << blockSize;
    }
  }
  std::string head = data.substr(0, 50000);
  std::string z = compressed(head, options(Compression::Gzip, 3, 7));
  EXPECT_EQ(decompressed(z, Compression::Gzip), head);
}

TEST(GzipCompress, SystemGzipDecodesIt) {
  if (access("/bin/gzip", X_OK) != 0) GTEST_SKIP() << "no /bin/gzip";
  auto dir = TempDir::create("/tmp", "strata-compress-test-");
  ASSERT_TRUE(dir) << dir.error().what();
  std::string data = mixedData(3 << 20, 11);
  std::string z = compressed(data, options(Compression::Gzip, 4, 64 << 10));
  std::string path = joinPath(dir->path(), "layer.tar.gz");
  auto w = writeFileAtomic(path, z);
  ASSERT_TRUE(w) << w.error().what();
  FILE* p = popen(("/bin/gzip -dc '" + path + "'").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  EXPECT_EQ(status, 0);  // gzip also checks the CRC and length in the trailer
  EXPECT_EQ(out.size(), data.size());
  EXPECT_TRUE(out == data);
}

TEST(GzipCompress, RejectsBadOptions) {
  MemReader src("x");
  Sink sink = [](const void*, size_t) -> Status { return {}; };
  auto r = compress(src, sink, options(Compression::Gzip, 2, 1 << 20, 10));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "gzip: compression level 10 is out of range (0 to 9)");
  r = compress(src, sink, options(Compression::Gzip, 2, 0));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what().rfind("gzip: block size 0", 0), 0u) << r.error().what();
  r = compress(src, sink, options(Compression::Zstd, 2, 1 << 20, 100));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what().rfind("zstd: compression level 100", 0), 0u) << r.error().what();
}

TEST(ZstdCompress, FrameHasContentChecksum) {
  std::string z = compressed(mixedData(100000), options(Compression::Zstd, 1));
  ASSERT_GE(z.size(), 5u);
  // Frame header descriptor, after the 4-byte magic: bit 2 is Content_Checksum_flag.
  EXPECT_TRUE(static_cast<unsigned char>(z[4]) & 0x04);
  EXPECT_EQ(decompressed(z, Compression::Zstd), mixedData(100000));
}

TEST(NoCompression, CopiesThrough) {
  std::string data = mixedData(3 << 20, 9);
  std::string out = compressed(data, options(Compression::None), 5000);
  EXPECT_TRUE(out == data);
}

}  // namespace
}  // namespace strata::layer
