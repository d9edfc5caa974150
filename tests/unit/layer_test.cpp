// Layer tar <-> tree: round trips, digests, compression, writer output, size limit.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>

#include "layer/compression.h"
#include "layer/in_root.h"
#include "layer/tar.h"
#include "layer_test_util.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace strata::layer {
namespace {

using testing::Entry;
using testing::stringReader;
using testing::TarBuilder;
using LayerTest = testing::LayerFixture;
using testing::isRoot;


struct ListedEntry {
  std::string path;
  mode_t type = 0;
  std::string hardlink;
  std::string symlink;
  int64_t uid = 0, gid = 0, mtime = 0, size = 0;
  std::map<std::string, std::string> xattrs;
};

// The entries of a tar, in order, as libarchive reads them.
std::vector<ListedEntry> listTar(const std::string& tar) {
  std::vector<ListedEntry> out;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, tar.data(), tar.size()), ARCHIVE_OK);
  archive_entry* e;
  // ARCHIVE_WARN: a UTF-8 name the "C" locale cannot show; the bytes are intact.
  for (int r; (r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN;) {
    ListedEntry l;
    l.path = archive_entry_pathname(e);
    l.type = archive_entry_filetype(e);
    if (archive_entry_hardlink(e)) l.hardlink = archive_entry_hardlink(e);
    if (archive_entry_symlink(e)) l.symlink = archive_entry_symlink(e);
    l.uid = archive_entry_uid(e);
    l.gid = archive_entry_gid(e);
    l.mtime = archive_entry_mtime(e);
    l.size = archive_entry_size(e);
    const char* uname = archive_entry_uname(e);
    EXPECT_TRUE(!uname || !*uname) << l.path;
    archive_entry_xattr_reset(e);
    const char* name;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
      l.xattrs[name] = std::string(static_cast<const char*>(value), size);
    out.push_back(std::move(l));
  }
  archive_read_free(a);
  return out;
}

TEST(LayerPathTest, CleanEntryPath) {
  using detail::cleanEntryPath;
  EXPECT_EQ(*cleanEntryPath("./a/b"), "a/b");
  EXPECT_EQ(*cleanEntryPath("/abs//path/"), "abs/path");
  EXPECT_EQ(*cleanEntryPath("a/./b/../c"), "a/c");
  EXPECT_EQ(*cleanEntryPath("./"), "");
  EXPECT_EQ(*cleanEntryPath("/"), "");
  EXPECT_FALSE(cleanEntryPath("../x"));
  EXPECT_FALSE(cleanEntryPath("a/../../x"));
  EXPECT_FALSE(cleanEntryPath("/.."));
}

TEST(CompressionTest, DetectsMagic) {
  const unsigned char gz[] = {0x1f, 0x8b, 0x08, 0x00};
  const unsigned char zst[] = {0x28, 0xb5, 0x2f, 0xfd};
  const unsigned char tar[] = {'e', 't', 'c', '/'};
  EXPECT_EQ(detectCompression(gz, 4), Compression::Gzip);
  EXPECT_EQ(detectCompression(zst, 4), Compression::Zstd);
  EXPECT_EQ(detectCompression(zst, 3), Compression::None);
  EXPECT_EQ(detectCompression(tar, 4), Compression::None);
  EXPECT_EQ(compressionName(Compression::Zstd), "zstd");
}

TEST(CompressionTest, GzipConcatenatedMembersAndZstdFrames) {
  std::string data = testing::randomBytes(3 << 20, 7) + std::string(1 << 20, 'z');
  std::string half1 = data.substr(0, data.size() / 3), half2 = data.substr(data.size() / 3);
  for (const auto& compressed :
       {testing::gzipOf(half1) + testing::gzipOf(half2),
        testing::zstdOf(half1) + testing::zstdOf(half2)}) {
    for (size_t chunk : {size_t(4093), SIZE_MAX}) {
      auto r = digestLayer(stringReader(compressed, chunk));
      ASSERT_TRUE(r) << r.error().what();
      EXPECT_EQ(r->diffIdHex, Sha256::hexOf(data));
      EXPECT_EQ(r->uncompressedSize, data.size());
    }
  }
  // Tiny reads across every boundary, including inside the magic bytes.
  std::string small = "hello, layers";
  for (const auto& compressed : {testing::gzipOf(small) + testing::gzipOf(small),
                                 testing::zstdOf(small) + testing::zstdOf(small)}) {
    auto r = digestLayer(stringReader(compressed, 1));
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->diffIdHex, Sha256::hexOf(small + small));
  }
}

TEST(CompressionTest, CorruptAndTruncatedStreamsFail) {
  std::string data = testing::randomBytes(200000, 3);
  std::string gz = testing::gzipOf(data);
  std::string bad = gz;
  for (size_t i = 100; i < 200; ++i) bad[i] ^= 0x55;
  auto r = digestLayer(stringReader(bad));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("gzip: invalid data in layer"), std::string::npos)
      << r.error().what();

  r = digestLayer(stringReader(gz.substr(0, gz.size() / 2)));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("gzip"), std::string::npos) << r.error().what();

  r = digestLayer(stringReader(gz + "trailing garbage"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("gzip"), std::string::npos) << r.error().what();

  // Compressible input: random bytes would be stored raw, where flipped bits go unnoticed.
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "line " + std::to_string(i * 7919 % 1000) + "\n";
  std::string zs = testing::zstdOf(text);
  std::string zbad = zs;
  for (size_t i = 20; i < zbad.size(); i += 7) zbad[i] ^= 0x5a;
  r = digestLayer(stringReader(zbad));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("zstd: invalid data in layer"), std::string::npos)
      << r.error().what();

  r = digestLayer(stringReader(zs.substr(0, zs.size() - 10)));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("zstd"), std::string::npos) << r.error().what();
}

TEST_F(LayerTest, SameDiffIdForPlainGzipAndZstd) {
  std::string tar = TarBuilder()
                        .dir("etc")
                        .file("etc/big", testing::randomBytes(3 << 20, 11))
                        .file("etc/small", "x")
                        .finish();
  std::string want = Sha256::hexOf(tar);
  struct Case {
    std::string data;
    Compression compression;
  };
  for (const auto& c : {Case{tar, Compression::None}, Case{testing::gzipOf(tar), Compression::Gzip},
                        Case{testing::zstdOf(tar), Compression::Zstd}}) {
    resetRoot();
    auto r = extract(c.data, {}, 65521);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->diffIdHex, want);
    EXPECT_EQ(r->uncompressedSize, tar.size());
    EXPECT_EQ(r->compression, c.compression);
    EXPECT_EQ(contentOf(path("etc/big")).size(), size_t(3 << 20));
    EXPECT_EQ(contentOf(path("etc/small")), "x");
    auto d = digestLayer(stringReader(c.data));
    ASSERT_TRUE(d) << d.error().what();
    EXPECT_EQ(d->diffIdHex, want);
    EXPECT_EQ(d->compression, c.compression);
  }
}

TEST_F(LayerTest, TrailingPaddingCountsInDigest) {
  std::string tar = TarBuilder().file("a", "hello").finish();
  // What "tar" leaves after the end-of-archive marker: zero blocks up to a 10 KiB record, and
  // then some more bytes a sloppy tool appended.
  std::string padded = tar + std::string(10240 - tar.size() % 10240, '\0') + "junk";
  auto r = extract(padded);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->diffIdHex, Sha256::hexOf(padded));
  EXPECT_EQ(r->uncompressedSize, padded.size());
  EXPECT_EQ(contentOf(path("a")), "hello");

  auto z = extract(testing::gzipOf(padded));
  ASSERT_TRUE(z) << z.error().what();
  EXPECT_EQ(z->diffIdHex, Sha256::hexOf(padded));
}

TEST_F(LayerTest, EmptyStreamIsAnEmptyLayer) {
  auto r = extract("");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->diffIdHex, Sha256::hexOf(""));
  EXPECT_EQ(r->uncompressedSize, 0u);
  auto z = extract(testing::endOfArchive());
  ASSERT_TRUE(z) << z.error().what();
  EXPECT_EQ(z->diffIdHex, Sha256::hexOf(testing::endOfArchive()));
}

TEST_F(LayerTest, CorruptGzipLayerFails) {
  std::string gz = testing::gzipOf(TarBuilder().file("a", testing::randomBytes(100000)).finish());
  for (size_t i = 50; i < 150; ++i) gz[i] ^= 0x33;
  auto r = extract(gz);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("gzip: invalid data in layer"), std::string::npos)
      << r.error().what();
}

TEST_F(LayerTest, TruncatedTarFails) {
  std::string tar = TarBuilder().file("a", testing::randomBytes(10000)).file("b", "x").finish();
  auto r = extract(tar.substr(0, 3000));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("runcated"), std::string::npos) << r.error().what();
  // A header cut in half.
  r = extract(tar.substr(0, 256));
  ASSERT_FALSE(r);
}

TEST_F(LayerTest, MaxBytesExceededFails) {
  std::string tar = TarBuilder().file("a", std::string(100000, 'a')).finish();
  ExtractOptions options;
  options.maxBytes = 50000;
  auto r = extract(testing::gzipOf(tar), options);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("exceeds the size limit"), std::string::npos)
      << r.error().what();
  options.maxBytes = tar.size();
  resetRoot();
  EXPECT_TRUE(extract(tar, options));
}

TEST_F(LayerTest, ExtractsTypesModesOwnersTimesXattrs) {
  bool root = isRoot();
  std::string tar =
      TarBuilder()
          .add({.path = "bin/", .type = AE_IFDIR, .perm = 0755, .mtime = 111})
          .add({.path = "bin/su", .content = "#!", .perm = 04755, .uid = root ? 1234 : 0,
                .gid = root ? 5678 : 0, .mtime = 222,
                .xattrs = {{"user.note", "hi"}}})
          .add({.path = "bin/sh", .type = AE_IFLNK, .link = "/bin/busybox", .mtime = 333})
          .add({.path = "bin/su2", .link = "bin/su", .hardlink = true})
          .add({.path = "tmp/", .type = AE_IFDIR, .perm = 01777, .mtime = 444})
          .add({.path = "fifo", .type = AE_IFIFO, .perm = 0600, .mtime = 555})
          .finish();
  auto r = extract(tar, {.restoreOwnership = root});
  ASSERT_TRUE(r) << r.error().what();

  struct stat su = lstatOf(path("bin/su"));
  EXPECT_EQ(su.st_mode & 07777, 04755u);
  EXPECT_EQ(su.st_mtim.tv_sec, 222);
  EXPECT_EQ(su.st_atim.tv_sec, 222);
  if (root) {
    EXPECT_EQ(su.st_uid, 1234u);
    EXPECT_EQ(su.st_gid, 5678u);
  }
  EXPECT_EQ(su.st_nlink, 2u);
  EXPECT_EQ(lstatOf(path("bin/su2")).st_ino, su.st_ino);
  char value[16] = {};
  ssize_t n = ::getxattr(path("bin/su").c_str(), "user.note", value, sizeof value);
  if (n >= 0) {  // tmpfs before 6.6 lacks user.*
    EXPECT_EQ(std::string(value, n), "hi");
  }

  struct stat sh = lstatOf(path("bin/sh"));
  ASSERT_TRUE(S_ISLNK(sh.st_mode));
  EXPECT_EQ(sh.st_mtim.tv_sec, 333);
  char target[64] = {};
  ASSERT_GT(::readlink(path("bin/sh").c_str(), target, sizeof target), 0);
  EXPECT_STREQ(target, "/bin/busybox");

  EXPECT_EQ(lstatOf(path("bin")).st_mtim.tv_sec, 111);  // set after its children
  EXPECT_EQ(lstatOf(path("tmp")).st_mode & 07777, 01777u);
  EXPECT_EQ(lstatOf(path("tmp")).st_mtim.tv_sec, 444);
  EXPECT_TRUE(S_ISFIFO(lstatOf(path("fifo")).st_mode));
  EXPECT_EQ(lstatOf(path("fifo")).st_mtim.tv_sec, 555);
}

TEST_F(LayerTest, GnuLongNamesAndLinks) {
  std::string dir(150, 'd');
  std::string longName = dir + "/" + std::string(120, 'f');
  std::string longTarget = "/" + std::string(200, 't');
  std::string tar = TarBuilder(/*gnu=*/true)
                        .dir(dir)
                        .file(longName, "long")
                        .symlink(dir + "/link", longTarget)
                        .hardlink(dir + "/" + std::string(110, 'h'), longName)
                        .finish();
  ASSERT_NE(tar.find("././@LongLink"), std::string::npos);
  auto r = extract(tar);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(contentOf(path(longName)), "long");
  char target[512] = {};
  ASSERT_GT(::readlink(path(dir + "/link").c_str(), target, sizeof target - 1), 0);
  EXPECT_EQ(target, longTarget);
  EXPECT_EQ(lstatOf(path(dir + "/" + std::string(110, 'h'))).st_ino,
            lstatOf(path(longName)).st_ino);
}

TEST_F(LayerTest, SparseFilesKeepTheirHoles) {
  // libarchive writes a PAX GNU.sparse entry: two 4 KiB data runs in a 3 MiB file.
  std::string tar;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_per_block(a, 0);
  archive_write_open2(
      a, &tar, nullptr,
      [](archive*, void* self, const void* data, size_t n) -> la_ssize_t {
        static_cast<std::string*>(self)->append(static_cast<const char*>(data), n);
        return static_cast<la_ssize_t>(n);
      },
      nullptr, nullptr);
  archive_entry* e = archive_entry_new();
  archive_entry_copy_pathname(e, "sparse");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, 3 << 20);
  archive_entry_sparse_add_entry(e, 0, 4096);
  archive_entry_sparse_add_entry(e, 2 << 20, 4096);
  ASSERT_GE(archive_write_header(a, e), ARCHIVE_WARN) << archive_error_string(a);
  // The writer takes the whole logical content and leaves out the holes itself.
  std::string run1(4096, 'a'), run2(4096, 'b');
  std::string logical(3 << 20, '\0');
  logical.replace(0, 4096, run1);
  logical.replace(2 << 20, 4096, run2);
  for (size_t off = 0; off < logical.size();) {
    la_ssize_t n = archive_write_data(a, logical.data() + off, logical.size() - off);
    ASSERT_GT(n, 0);
    off += static_cast<size_t>(n);
  }
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);

  auto r = extract(tar);
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_LT(tar.size(), size_t(64 << 10));  // the holes are not in the archive
  std::string content = contentOf(path("sparse"));
  ASSERT_EQ(content.size(), size_t(3 << 20));
  // (EXPECT_TRUE: a failing EXPECT_EQ would print megabytes)
  EXPECT_TRUE(content.substr(0, 4096) == run1);
  EXPECT_TRUE(content.substr(2 << 20, 4096) == run2);
  EXPECT_TRUE(content.substr(4096, (2 << 20) - 4096) == std::string((2 << 20) - 4096, '\0'));
  EXPECT_TRUE(content.substr((2 << 20) + 4096) == std::string((1 << 20) - 4096, '\0'));
}

TEST_F(LayerTest, RootOnlyDevicesCapabilitiesAndTrustedXattrs) {
  if (!isRoot()) GTEST_SKIP() << "needs root (mknod, chown, trusted.* xattrs)";
  std::string cap("\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
                  20);  // cap_net_bind_service, permitted
  std::string tar = TarBuilder()
                        .add({.path = "dev/null", .type = AE_IFCHR, .perm = 0666, .rdevMajor = 1,
                              .rdevMinor = 3})
                        .add({.path = "dev/sda", .type = AE_IFBLK, .perm = 0660, .gid = 6,
                              .rdevMajor = 8, .rdevMinor = 0})
                        .add({.path = "ping", .content = "elf", .perm = 0755, .uid = 0,
                              .gid = 0, .xattrs = {{"security.capability", cap},
                                                   {"trusted.note", "t"},
                                                   {"trusted.overlay.redirect", "/x"}}})
                        .add({.path = "owned", .content = "x", .perm = 02755, .uid = 1000,
                              .gid = 50})
                        .finish();
  auto r = extract(tar);
  ASSERT_TRUE(r) << r.error().what();
  struct stat null = lstatOf(path("dev/null"));
  EXPECT_TRUE(S_ISCHR(null.st_mode));
  EXPECT_EQ(null.st_rdev, makedev(1, 3));
  EXPECT_EQ(null.st_mode & 07777, 0666u);
  struct stat sda = lstatOf(path("dev/sda"));
  EXPECT_TRUE(S_ISBLK(sda.st_mode));
  EXPECT_EQ(sda.st_rdev, makedev(8, 0));
  EXPECT_EQ(sda.st_gid, 6u);

  char buf[64];
  ssize_t n = ::getxattr(path("ping").c_str(), "security.capability", buf, sizeof buf);
  ASSERT_EQ(n, 20) << strerror(errno);
  EXPECT_EQ(std::string(buf, n), cap);
  n = ::getxattr(path("ping").c_str(), "trusted.note", buf, sizeof buf);
  EXPECT_EQ(n, 1);
  // overlayfs's own xattrs are never taken from layer content.
  EXPECT_LT(::getxattr(path("ping").c_str(), "trusted.overlay.redirect", buf, sizeof buf), 0);

  struct stat owned = lstatOf(path("owned"));
  EXPECT_EQ(owned.st_uid, 1000u);
  EXPECT_EQ(owned.st_gid, 50u);
  EXPECT_EQ(owned.st_mode & 07777, 02755u);  // survives the chown

  // Without ownership restoration devices are skipped, not failed.
  std::string other = joinPath(tmp_.path(), "other");
  ASSERT_EQ(::mkdir(other.c_str(), 0755), 0);
  auto s = extractLayer(stringReader(tar), other, {.restoreOwnership = false});
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_FALSE(pathExists(joinPath(other, "dev/null")));
  EXPECT_TRUE(pathExists(joinPath(other, "ping")));
  EXPECT_EQ(lstatOf(joinPath(other, "owned")).st_uid, 0u);
}

TEST_F(LayerTest, RoundTripDirToTarToDir) {
  bool root = isRoot();
  std::string src = joinPath(tmp_.path(), "src");
  ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
  ASSERT_TRUE(mkdirAll(joinPath(src, "usr/bin")));
  ASSERT_TRUE(mkdirAll(joinPath(src, "a-b")));
  writeFile(joinPath(src, "usr/bin/tool"), testing::randomBytes(2500000, 5), 0755);
  writeFile(joinPath(src, "usr/bin/suid"), "s", 0755);
  ASSERT_EQ(::chmod(joinPath(src, "usr/bin/suid").c_str(), 04755), 0);
  ASSERT_EQ(::link(joinPath(src, "usr/bin/tool").c_str(), joinPath(src, "usr/bin/tool2").c_str()),
            0);
  ASSERT_EQ(::symlink("tool", joinPath(src, "usr/bin/link").c_str()), 0);
  ASSERT_EQ(::symlink("/nowhere/at/all", joinPath(src, "dangling").c_str()), 0);
  writeFile(joinPath(src, "empty"), "");
  writeFile(joinPath(src, "caf\xc3\xa9"), "utf8");
  ASSERT_EQ(::mkfifo(joinPath(src, "pipe").c_str(), 0640), 0);
  bool userXattrs =
      ::setxattr(joinPath(src, "empty").c_str(), "user.k", "v\0w", 3, 0) == 0;
  if (root) {
    ASSERT_EQ(::chown(joinPath(src, "usr/bin/tool").c_str(), 1000, 1001), 0);
    ASSERT_EQ(::lchown(joinPath(src, "usr/bin/link").c_str(), 7, 8), 0);
    ASSERT_EQ(::setxattr(joinPath(src, "usr").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
    ASSERT_EQ(::setxattr(joinPath(src, "usr").c_str(), "trusted.keep", "1", 1, 0), 0);
  }
  timespec times[2] = {{12345, 0}, {12345, 678}};
  ASSERT_EQ(::utimensat(AT_FDCWD, joinPath(src, "usr/bin").c_str(), times, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, joinPath(src, "usr/bin/link").c_str(), times,
                        AT_SYMLINK_NOFOLLOW),
            0);

  WriteTarResult written;
  std::string tar = tarOf(src, {}, &written);
  EXPECT_EQ(written.sha256Hex, Sha256::hexOf(tar));
  EXPECT_EQ(written.size, tar.size());
  EXPECT_EQ(tar.size() % 512, 0u);
  EXPECT_EQ(tar.substr(tar.size() - 1024), testing::endOfArchive());

  auto entries = listTar(tar);
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.path);
  std::vector<std::string> want = {"a-b/",         "caf\xc3\xa9",    "dangling",
                                   "empty",        "pipe",           "usr/",
                                   "usr/bin/",     "usr/bin/link",   "usr/bin/suid",
                                   "usr/bin/tool", "usr/bin/tool2"};
  EXPECT_EQ(names, want);
  std::map<std::string, ListedEntry> byName;
  for (const auto& e : entries) byName[e.path] = e;
  EXPECT_EQ(byName["usr/bin/tool2"].hardlink, "usr/bin/tool");
  EXPECT_EQ(byName["usr/bin/tool2"].size, 0);
  EXPECT_EQ(byName["usr/bin/link"].symlink, "tool");
  EXPECT_EQ(byName["usr/bin/"].mtime, 12345);
  if (root) {
    EXPECT_EQ(byName["usr/bin/tool"].uid, 1000);
    EXPECT_EQ(byName["usr/"].xattrs.count("trusted.overlay.opaque"), 0u);
    EXPECT_EQ(byName["usr/"].xattrs["trusted.keep"], "1");
  }
  if (userXattrs) {
    EXPECT_EQ(byName["empty"].xattrs["user.k"], std::string("v\0w", 3));
  }
  // The header must not need hdrcharset=BINARY for a UTF-8 name, and xattrs are written the
  // way Docker and GNU tar read them (SCHILY.xattr only).
  EXPECT_EQ(tar.find("hdrcharset"), std::string::npos);
  EXPECT_EQ(tar.find("LIBARCHIVE.xattr"), std::string::npos);

  auto r = extract(tar, {.restoreOwnership = root});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->diffIdHex, written.sha256Hex);
  EXPECT_EQ(r->uncompressedSize, written.size);

  EXPECT_EQ(contentOf(path("usr/bin/tool")), contentOf(joinPath(src, "usr/bin/tool")));
  EXPECT_EQ(lstatOf(path("usr/bin/tool")).st_ino, lstatOf(path("usr/bin/tool2")).st_ino);
  EXPECT_EQ(lstatOf(path("usr/bin/suid")).st_mode & 07777, 04755u);
  EXPECT_EQ(lstatOf(path("usr/bin/tool")).st_mode & 07777, 0755u);
  EXPECT_EQ(lstatOf(path("usr/bin")).st_mtim.tv_sec, 12345);
  EXPECT_EQ(lstatOf(path("usr/bin/link")).st_mtim.tv_sec, 12345);
  EXPECT_TRUE(S_ISLNK(lstatOf(path("dangling")).st_mode));
  EXPECT_TRUE(S_ISFIFO(lstatOf(path("pipe")).st_mode));
  EXPECT_EQ(lstatOf(path("pipe")).st_mode & 07777, 0640u);
  EXPECT_EQ(contentOf(path("caf\xc3\xa9")), "utf8");
  EXPECT_EQ(lstatOf(path("empty")).st_size, 0);
  if (userXattrs) {
    char v[8];
    EXPECT_EQ(::getxattr(path("empty").c_str(), "user.k", v, sizeof v), 3);
  }
  if (root) {
    EXPECT_EQ(lstatOf(path("usr/bin/tool")).st_uid, 1000u);
    EXPECT_EQ(lstatOf(path("usr/bin/tool")).st_gid, 1001u);
    EXPECT_EQ(lstatOf(path("usr/bin/link")).st_uid, 7u);
    char v[8];
    EXPECT_EQ(::getxattr(path("usr").c_str(), "trusted.keep", v, sizeof v), 1);
  }

  // Tar of the extracted tree is byte-identical (same content, same metadata).
  std::string again = tarOf(root_);
  EXPECT_EQ(Sha256::hexOf(again), Sha256::hexOf(tar));
}

TEST_F(LayerTest, WriterFixedMtimeIsReproducible) {
  std::string src = joinPath(tmp_.path(), "src");
  ASSERT_TRUE(mkdirAll(joinPath(src, "d")));
  writeFile(joinPath(src, "d/f"), "data");
  WriteTarResult first, second;
  std::string t1 = tarOf(src, {.mtime = 42}, &first);
  writeFile(joinPath(src, "d/f"), "data");  // new mtime, same content
  std::string t2 = tarOf(src, {.mtime = 42}, &second);
  EXPECT_EQ(first.sha256Hex, second.sha256Hex);
  for (const auto& e : listTar(t1)) EXPECT_EQ(e.mtime, 42) << e.path;
}

TEST_F(LayerTest, WriterKeepsWhiteoutDevicesAsTheyAre) {
  if (!isRoot()) GTEST_SKIP() << "needs root (mknod)";
  std::string src = joinPath(tmp_.path(), "src");
  ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
  ASSERT_EQ(::mknod(joinPath(src, "gone").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
  auto entries = listTar(tarOf(src));
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].path, "gone");
  EXPECT_EQ(entries[0].type, mode_t(AE_IFCHR));
}

}  // namespace
}  // namespace strata::layer
