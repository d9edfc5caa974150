// Helpers shared by the layer tests: in-memory readers, tar builders (libarchive's writer and
// hand-made ustar headers for what libarchive would refuse), compressors.
#pragma once

#include <archive.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "layer/compression.h"
#include "layer/tar.h"
#include "util/fs.h"

namespace strata::layer::testing {

// Serves a string in pieces of at most maxChunk bytes (small pieces exercise buffer edges);
// fails with EIO once failAt bytes have been served.
class StringReader : public Reader {
 public:
  explicit StringReader(std::string data, size_t maxChunk = SIZE_MAX, size_t failAt = SIZE_MAX)
      : data_(std::move(data)), maxChunk_(maxChunk), failAt_(failAt) {}
  Result<size_t> read(void* buf, size_t size) override {
    if (pos_ >= failAt_) return fail(Error(EIO, "read test source"));
    size_t n = std::min({size, maxChunk_, data_.size() - pos_});
    std::memcpy(buf, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  size_t maxChunk_;
  size_t failAt_;
  size_t pos_ = 0;
};

inline std::unique_ptr<Reader> stringReader(std::string data, size_t maxChunk = SIZE_MAX) {
  return std::make_unique<StringReader>(std::move(data), maxChunk);
}

struct Entry {
  std::string path;
  mode_t type = AE_IFREG;
  std::string content;
  std::string link;  // symlink target, or hardlink target when hardlink is true
  bool hardlink = false;
  mode_t perm = 0644;
  int64_t uid = 0;
  int64_t gid = 0;
  int64_t mtime = 1000000000;
  unsigned rdevMajor = 0;
  unsigned rdevMinor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

// Builds a tar in memory with libarchive's writer.
class TarBuilder {
 public:
  // gnu: GNU tar format (././@LongLink names) instead of PAX.
  explicit TarBuilder(bool gnu = false) : a_(archive_write_new()) {
    if (gnu)
      archive_write_set_format_gnutar(a_);
    else
      archive_write_set_format_pax_restricted(a_);
    archive_write_set_bytes_per_block(a_, 0);
    archive_write_open2(a_, &out_, nullptr, &TarBuilder::write, nullptr, nullptr);
  }
  ~TarBuilder() { archive_write_free(a_); }
  TarBuilder(const TarBuilder&) = delete;
  TarBuilder& operator=(const TarBuilder&) = delete;

  TarBuilder& add(const Entry& spec) {
    archive_entry* e = archive_entry_new();
    archive_entry_copy_pathname(e, spec.path.c_str());
    archive_entry_set_filetype(e, spec.type);
    archive_entry_set_perm(e, spec.perm);
    archive_entry_set_uid(e, spec.uid);
    archive_entry_set_gid(e, spec.gid);
    archive_entry_set_mtime(e, spec.mtime, 0);
    archive_entry_set_size(e, spec.type == AE_IFREG && !spec.hardlink
                                  ? static_cast<la_int64_t>(spec.content.size())
                                  : 0);
    if (spec.hardlink)
      archive_entry_copy_hardlink(e, spec.link.c_str());
    else if (spec.type == AE_IFLNK)
      archive_entry_copy_symlink(e, spec.link.c_str());
    archive_entry_set_rdevmajor(e, spec.rdevMajor);
    archive_entry_set_rdevminor(e, spec.rdevMinor);
    for (const auto& [k, v] : spec.xattrs)
      archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    if (archive_write_header(a_, e) < ARCHIVE_WARN)
      throw std::runtime_error(std::string("archive_write_header: ") +
                               archive_error_string(a_));
    if (!spec.content.empty() && !spec.hardlink)
      archive_write_data(a_, spec.content.data(), spec.content.size());
    archive_entry_free(e);
    return *this;
  }
  TarBuilder& file(const std::string& path, const std::string& content, mode_t perm = 0644) {
    return add({.path = path, .content = content, .perm = perm});
  }
  TarBuilder& dir(const std::string& path, mode_t perm = 0755) {
    return add({.path = path, .type = AE_IFDIR, .perm = perm});
  }
  TarBuilder& symlink(const std::string& path, const std::string& target) {
    return add({.path = path, .type = AE_IFLNK, .link = target, .perm = 0777});
  }
  TarBuilder& hardlink(const std::string& path, const std::string& target) {
    return add({.path = path, .link = target, .hardlink = true});
  }

  std::string finish() {
    archive_write_close(a_);
    return std::move(out_);
  }

 private:
  static la_ssize_t write(archive*, void* self, const void* data, size_t n) {
    static_cast<std::string*>(self)->append(static_cast<const char*>(data), n);
    return static_cast<la_ssize_t>(n);
  }
  archive* a_;
  std::string out_;
};

// One hand-made ustar entry (header plus padded data): names are written exactly as given.
inline std::string ustarEntry(const std::string& name, char typeflag,
                              const std::string& data = "", const std::string& link = "",
                              unsigned mode = 0644) {
  std::string h(512, '\0');
  auto put = [&](size_t off, size_t len, const std::string& s) {
    std::memcpy(h.data() + off, s.data(), std::min(len, s.size()));
  };
  auto octal = [&](size_t off, size_t len, unsigned long long v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*llo", static_cast<int>(len - 1), v);
    put(off, len - 1, buf);
  };
  put(0, 100, name);
  octal(100, 8, mode);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, typeflag == '0' ? data.size() : 0);
  octal(136, 12, 1000000000);
  h[156] = typeflag;
  put(157, 100, link);
  put(257, 6, std::string("ustar\0", 6));
  put(263, 2, "00");
  std::memset(h.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  char buf[8];
  std::snprintf(buf, sizeof buf, "%06o", sum);
  std::memcpy(h.data() + 148, buf, 7);
  std::string out = h;
  if (typeflag == '0') {
    out += data;
    out.append((512 - data.size() % 512) % 512, '\0');
  }
  return out;
}
inline std::string endOfArchive() { return std::string(1024, '\0'); }

inline std::string gzipOf(const std::string& data) {
  z_stream zs{};
  if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

inline std::string zstdOf(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  if (ZSTD_isError(n)) throw std::runtime_error("ZSTD_compress");
  out.resize(n);
  return out;
}

// Deterministic pseudo-random bytes (incompressible enough to make compressed streams long).
inline std::string randomBytes(size_t n, uint32_t seed = 1) {
  std::string s(n, '\0');
  for (auto& c : s) {
    seed = seed * 1103515245u + 12345u;
    c = static_cast<char>(seed >> 16);
  }
  return s;
}

inline bool isRoot() { return ::geteuid() == 0; }

// A fresh directory under /tmp per test, with an empty root to extract into.
class LayerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::create("/tmp", "strata-layer-test-");
    ASSERT_TRUE(dir) << dir.error().what();
    tmp_ = std::move(*dir);
    root_ = joinPath(tmp_.path(), "root");
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
  }

  std::string path(const std::string& rel) const { return joinPath(root_, rel); }

  void resetRoot() {
    ASSERT_TRUE(removeAll(root_));
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
  }

  Result<ExtractResult> extract(std::string data, ExtractOptions options = {},
                                size_t chunk = SIZE_MAX) {
    if (!isRoot()) options.restoreOwnership = false;  // chown would fail, by contract
    return extractLayer(stringReader(std::move(data), chunk), root_, options);
  }

  static void writeFile(const std::string& p, const std::string& content, mode_t mode = 0644) {
    UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    ASSERT_TRUE(fd.valid()) << p;
    ASSERT_TRUE(writeAll(fd.get(), content));
  }

  static struct stat lstatOf(const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st;
  }

  static std::string contentOf(const std::string& p) {
    auto r = readFile(p);
    EXPECT_TRUE(r) << p;
    return r ? *r : std::string();
  }

  // Writes the tree at dir to a tar file and returns its bytes.
  std::string tarOf(const std::string& dir, WriteTarOptions options = {},
                    WriteTarResult* result = nullptr) {
    std::string out = joinPath(tmp_.path(), "out.tar");
    UniqueFd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    EXPECT_TRUE(fd.valid());
    auto r = writeTarFromDir(dir, fd.get(), options);
    EXPECT_TRUE(r) << r.error().what();
    if (r && result) *result = *r;
    fd.reset();
    return contentOf(out);
  }

  TempDir tmp_;
  std::string root_;
};

}  // namespace strata::layer::testing
