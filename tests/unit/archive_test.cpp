// save/load round trips between throwaway stores, and hostile or broken archives.
#include "archive/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <thread>

#include "image/images.h"
#include "oci/image.h"
#include "oci/media_types.h"
#include "oci/reference.h"
#include "util/fs.h"

namespace strata::archive {
namespace {

using Json = oci::Json;

// ---------------------------------------------------------------- tar helpers

struct Item {
  std::string name;
  std::string data;
  mode_t type = AE_IFREG;  // AE_IFDIR, AE_IFLNK, AE_IFCHR; hardlink when link is set on a file
  std::string link;
};

std::string writeTar(const std::vector<Item>& items) {
  std::string out;
  ::archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_per_block(a, 0);
  archive_write_open(
      a, &out, nullptr,
      [](::archive*, void* ctx, const void* buf, size_t n) -> la_ssize_t {
        static_cast<std::string*>(ctx)->append(static_cast<const char*>(buf), n);
        return static_cast<la_ssize_t>(n);
      },
      nullptr);
  for (const auto& it : items) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, it.name.c_str());
    archive_entry_set_filetype(e, it.type);
    archive_entry_set_perm(e, it.type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_mtime(e, 1000, 0);
    if (it.type == AE_IFLNK) archive_entry_set_symlink(e, it.link.c_str());
    if (it.type == AE_IFREG && !it.link.empty()) archive_entry_set_hardlink(e, it.link.c_str());
    if (it.type == AE_IFCHR) archive_entry_set_rdev(e, makedev(1, 3));
    bool hasData = it.type == AE_IFREG && it.link.empty();
    archive_entry_set_size(e, hasData ? static_cast<la_int64_t>(it.data.size()) : 0);
    EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    if (hasData && !it.data.empty()) archive_write_data(a, it.data.data(), it.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

std::vector<Item> readTar(const std::string& bytes) {
  std::vector<Item> items;
  ::archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, bytes.data(), bytes.size()), ARCHIVE_OK);
  archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    Item it;
    it.name = archive_entry_pathname(e);
    it.type = archive_entry_filetype(e);
    if (archive_entry_symlink(e)) it.link = archive_entry_symlink(e);
    if (archive_entry_hardlink(e)) it.link = archive_entry_hardlink(e);
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) it.data.append(buf, n);
    items.push_back(std::move(it));
  }
  archive_read_free(a);
  return items;
}

const Item* find(const std::vector<Item>& items, const std::string& name) {
  for (const auto& it : items)
    if (it.name == name) return &it;
  return nullptr;
}

size_t entriesIn(const std::string& dir) {
  size_t n = 0;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) ++n;
    ::closedir(d);
  }
  return n;
}

size_t count(const std::vector<Item>& items, const std::string& name) {
  return std::count_if(items.begin(), items.end(), [&](const Item& i) { return i.name == name; });
}

// Reads, edits and rewrites an archive.
std::string rewrite(const std::string& bytes, const std::function<void(std::vector<Item>&)>& fn) {
  auto items = readTar(bytes);
  fn(items);
  return writeTar(items);
}

std::string gzip(const std::string& in) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string zstd(const std::string& in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// ---------------------------------------------------------------- store helpers

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("/tmp", "archive-test-");
    ASSERT_TRUE(d) << d.error().what();
    dir_ = std::move(*d);
  }

  store::Store newStore(const std::string& name) {
    auto s = store::Store::open(dir_.path() + "/" + name);
    EXPECT_TRUE(s) << s.error().what();
    return std::move(*s);
  }

  // A layer whose tar holds one file; stored gzip-compressed when asked.
  image::LayerDesc addLayer(store::Store& s, const std::string& file, const std::string& content,
                            bool compressed = false) {
    std::string tar = writeTar({{"etc", "", AE_IFDIR, ""}, {"etc/" + file, content}});
    std::string blob = compressed ? gzip(tar) : tar;
    auto digest = s.putBlob(blob);
    EXPECT_TRUE(digest) << digest.error().what();
    oci::Digest diffId = oci::Digest::of(tar);
    auto blobReader = s.openBlob(*digest);
    EXPECT_TRUE(blobReader);
    auto info = s.addLayer(std::move(*blobReader), diffId, *digest);
    EXPECT_TRUE(info) << info.error().what();
    image::LayerDesc d;
    d.blob.mediaType = std::string(compressed ? oci::media::kOciLayerGzip : oci::media::kOciLayer);
    d.blob.digest = *digest;
    d.blob.size = static_cast<int64_t>(blob.size());
    d.diffId = diffId;
    return d;
  }

  store::ImageRecord addImage(store::Store& s, const std::vector<image::LayerDesc>& layers,
                              const std::vector<std::string>& tags,
                              const std::string& created = "2024-01-02T03:04:05.123456789Z") {
    oci::ImageConfig cfg;
    cfg.created = created;
    cfg.config.cmd = std::vector<std::string>{"sh"};
    for (const auto& l : layers) {
      cfg.diffIds.push_back(l.diffId);
      cfg.history.push_back({created, "test", "", "", false});
    }
    std::vector<oci::Reference> refs;
    for (const auto& t : tags) refs.push_back(*oci::Reference::parse(t));
    auto r = image::addImage(s, cfg, layers, refs);
    EXPECT_TRUE(r) << r.error().what();
    return *r;
  }

  // A busybox:latest with a plain and a gzip-compressed layer.
  store::ImageRecord busybox(store::Store& s) {
    return addImage(s, {addLayer(s, "base", "base layer\n"), addLayer(s, "hello", "hello world\n", true)},
                    {"busybox:latest"});
  }

  Result<std::string> saveToString(const store::Store& s, std::vector<std::string> args,
                                   Format f) {
    std::string path = dir_.path() + "/out-" + std::to_string(outputs_++) + ".tar";
    UniqueFd fd = TRY(openFile(path, O_RDWR | O_CREAT | O_TRUNC, 0644));
    TRYV(save(s, SaveRequest{std::move(args), f}, fd.get()));
    return readFile(path);
  }

  Result<LoadResult> loadString(store::Store& s, const std::string& bytes) {
    std::string path = dir_.path() + "/in-" + std::to_string(outputs_++) + ".tar";
    TRYV(writeFileAtomic(path, bytes));
    UniqueFd fd = TRY(openFile(path, O_RDONLY));
    return load(s, fd.get());
  }

  TempDir dir_;
  int outputs_ = 0;
};

std::vector<std::string> diffIdsOf(const store::Store& s, const store::ImageRecord& r) {
  auto l = image::load(s, r);
  EXPECT_TRUE(l) << l.error().what();
  std::vector<std::string> out;
  for (const auto& d : l->config.diffIds) out.push_back(d.str());
  return out;
}

// ---------------------------------------------------------------- tests

TEST(ArchiveFormat, Parse) {
  EXPECT_EQ(*parseFormat("docker-archive"), Format::DockerArchive);
  EXPECT_EQ(*parseFormat("docker"), Format::DockerArchive);
  EXPECT_EQ(*parseFormat("oci-archive"), Format::OciArchive);
  EXPECT_EQ(*parseFormat("oci"), Format::OciArchive);
  auto bad = parseFormat("tarball");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("tarball"), std::string::npos);
}

TEST_F(ArchiveTest, DockerArchiveLayoutAndRoundTrip) {
  store::Store a = newStore("a");
  store::ImageRecord img = busybox(a);
  auto bytes = saveToString(a, {"busybox"}, Format::DockerArchive);
  ASSERT_TRUE(bytes) << bytes.error().what();
  auto items = readTar(*bytes);

  const Item* manifest = find(items, "manifest.json");
  ASSERT_TRUE(manifest);
  Json m = Json::parse(manifest->data);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0]["Config"], img.id.hex + ".json");
  EXPECT_EQ(m[0]["RepoTags"], Json::array({"busybox:latest"}));
  auto diffIds = diffIdsOf(a, img);
  ASSERT_EQ(m[0]["Layers"].size(), 2u);
  EXPECT_EQ(m[0]["Layers"][1], diffIds[1].substr(7) + "/layer.tar");

  const Item* config = find(items, img.id.hex + ".json");
  ASSERT_TRUE(config);
  EXPECT_EQ(config->data, *a.readBlob(img.id));
  // The gzip layer is written uncompressed: its bytes hash to the diff_id.
  const Item* top = find(items, diffIds[1].substr(7) + "/layer.tar");
  ASSERT_TRUE(top);
  EXPECT_EQ("sha256:" + oci::Digest::of(top->data).hex, diffIds[1]);
  const Item* v1 = find(items, diffIds[1].substr(7) + "/json");
  ASSERT_TRUE(v1);
  EXPECT_EQ(Json::parse(v1->data)["parent"], diffIds[0].substr(7));
  EXPECT_EQ(find(items, diffIds[1].substr(7) + "/VERSION")->data, "1.0");
  Json repos = Json::parse(find(items, "repositories")->data);
  EXPECT_EQ(repos["busybox"]["latest"], diffIds[1].substr(7));

  store::Store b = newStore("b");
  auto res = loadString(b, *bytes);
  ASSERT_TRUE(res) << res.error().what();
  EXPECT_EQ(res->lines, std::vector<std::string>{"Loaded image: busybox:latest"});
  auto got = image::resolve(b, "busybox:latest");
  ASSERT_TRUE(got) << got.error().what();
  EXPECT_EQ(got->id, img.id);
  EXPECT_EQ(got->tags, img.tags);
  EXPECT_EQ(diffIdsOf(b, *got), diffIds);
  EXPECT_TRUE(b.hasLayer(diffIds[0].substr(7)));
  EXPECT_TRUE(b.hasLayer(diffIds[1].substr(7)));
  EXPECT_EQ(entriesIn(b.tmpDir()), 0u);  // staging cleaned up, blobs moved out

  // Saving is reproducible, even from the store that loaded it (whose layer blobs are now
  // uncompressed).
  auto again = saveToString(a, {"busybox"}, Format::DockerArchive);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *bytes);
  auto fromB = saveToString(b, {"busybox"}, Format::DockerArchive);
  ASSERT_TRUE(fromB) << fromB.error().what();
  EXPECT_EQ(*fromB, *bytes);
}

TEST_F(ArchiveTest, OciArchiveLayoutAndRoundTrip) {
  store::Store a = newStore("a");
  store::ImageRecord img = busybox(a);
  auto bytes = saveToString(a, {"busybox:latest"}, Format::OciArchive);
  ASSERT_TRUE(bytes) << bytes.error().what();
  auto items = readTar(*bytes);
  EXPECT_EQ(Json::parse(find(items, "oci-layout")->data)["imageLayoutVersion"], "1.0.0");
  Json index = Json::parse(find(items, "index.json")->data);
  EXPECT_EQ(index["mediaType"], oci::media::kOciIndex);
  ASSERT_EQ(index["manifests"].size(), 1u);
  EXPECT_EQ(index["manifests"][0]["digest"], img.manifest.str());
  EXPECT_EQ(index["manifests"][0]["annotations"]["io.containerd.image.name"],
            "docker.io/library/busybox:latest");
  EXPECT_EQ(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], "latest");
  // Every blob verbatim, including the compressed layer.
  auto loaded = image::load(a, img);
  ASSERT_TRUE(loaded);
  for (const auto& d : {img.manifest, img.id, loaded->manifest.layers[0].digest,
                        loaded->manifest.layers[1].digest}) {
    const Item* blob = find(items, "blobs/sha256/" + d.hex);
    ASSERT_TRUE(blob) << d.str();
    EXPECT_EQ(oci::Digest::of(blob->data), d);
  }

  store::Store b = newStore("b");
  auto res = loadString(b, *bytes);
  ASSERT_TRUE(res) << res.error().what();
  EXPECT_EQ(res->lines, std::vector<std::string>{"Loaded image: busybox:latest"});
  auto got = image::resolve(b, "busybox");
  ASSERT_TRUE(got) << got.error().what();
  EXPECT_EQ(got->id, img.id);
  EXPECT_EQ(got->manifest, img.manifest);  // manifest kept byte for byte
  EXPECT_EQ(diffIdsOf(b, *got), diffIdsOf(a, img));
}

TEST_F(ArchiveTest, SharedLayerWrittenOnce) {
  store::Store a = newStore("a");
  image::LayerDesc base = addLayer(a, "base", "shared\n");
  store::ImageRecord one = addImage(a, {base, addLayer(a, "one", "1\n")}, {"one:1"});
  store::ImageRecord two = addImage(a, {base, addLayer(a, "two", "2\n", true)}, {"two:2"});

  auto docker = saveToString(a, {"one:1", "two:2"}, Format::DockerArchive);
  ASSERT_TRUE(docker) << docker.error().what();
  auto items = readTar(*docker);
  EXPECT_EQ(count(items, base.diffId.hex + "/layer.tar"), 1u);
  EXPECT_EQ(Json::parse(find(items, "manifest.json")->data).size(), 2u);

  auto oci = saveToString(a, {"one:1", "two:2"}, Format::OciArchive);
  ASSERT_TRUE(oci) << oci.error().what();
  EXPECT_EQ(count(readTar(*oci), "blobs/sha256/" + base.blob.digest.hex), 1u);

  for (const auto& bytes : {*docker, *oci}) {
    store::Store b = newStore("b" + std::to_string(outputs_));
    auto res = loadString(b, bytes);
    ASSERT_TRUE(res) << res.error().what();
    EXPECT_EQ(res->lines, (std::vector<std::string>{"Loaded image: one:1", "Loaded image: two:2"}));
    EXPECT_EQ(image::resolve(b, "one:1")->id, one.id);
    EXPECT_EQ(image::resolve(b, "two:2")->id, two.id);
  }
}

TEST_F(ArchiveTest, SeveralArgumentsOneImage) {
  store::Store a = newStore("a");
  store::ImageRecord img = busybox(a);
  ASSERT_TRUE(image::tag(a, img, *oci::Reference::parse("example.com/x/box:v1")));
  auto bytes = saveToString(a, {"busybox:latest", img.id.hex, "example.com/x/box:v1"},
                            Format::DockerArchive);
  ASSERT_TRUE(bytes) << bytes.error().what();
  Json m = Json::parse(find(readTar(*bytes), "manifest.json")->data);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0]["RepoTags"], Json::array({"busybox:latest", "example.com/x/box:v1"}));
}

TEST_F(ArchiveTest, UntaggedByIdLoadsAsId) {
  store::Store a = newStore("a");
  store::ImageRecord img = busybox(a);
  for (Format f : {Format::DockerArchive, Format::OciArchive}) {
    auto bytes = saveToString(a, {img.id.hex.substr(0, 12)}, f);
    ASSERT_TRUE(bytes) << bytes.error().what();
    auto items = readTar(*bytes);
    if (f == Format::DockerArchive) {
      EXPECT_TRUE(Json::parse(find(items, "manifest.json")->data)[0]["RepoTags"].is_null());
      EXPECT_FALSE(find(items, "repositories"));
    } else {
      EXPECT_FALSE(Json::parse(find(items, "index.json")->data)["manifests"][0].contains(
          "annotations"));
    }
    store::Store b = newStore("b" + std::to_string(outputs_));
    auto res = loadString(b, *bytes);
    ASSERT_TRUE(res) << res.error().what();
    EXPECT_EQ(res->lines, std::vector<std::string>{"Loaded image ID: " + img.id.str()});
    auto recs = b.images();
    ASSERT_EQ(recs->size(), 1u);
    EXPECT_TRUE((*recs)[0].tags.empty());
  }
}

TEST_F(ArchiveTest, UnknownImageWritesNothing) {
  store::Store a = newStore("a");
  busybox(a);
  std::string path = dir_.path() + "/empty.tar";
  UniqueFd fd = *openFile(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  auto r = save(a, SaveRequest{{"busybox", "nosuch:1"}, Format::DockerArchive}, fd.get());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "No such image: nosuch:1");
  EXPECT_EQ(readFile(path)->size(), 0u);
}

TEST_F(ArchiveTest, TamperedLayerRecordsNothing) {
  store::Store a = newStore("a");
  busybox(a);
  auto bytes = saveToString(a, {"busybox"}, Format::DockerArchive);
  ASSERT_TRUE(bytes);
  std::string bad = *bytes;
  size_t at = bad.find("hello world");
  ASSERT_NE(at, std::string::npos);
  bad[at] = 'J';
  store::Store b = newStore("b");
  auto res = loadString(b, bad);
  ASSERT_FALSE(res);
  EXPECT_NE(res.error().what().find("does not match its diff_id"), std::string::npos)
      << res.error().what();
  EXPECT_TRUE(b.images()->empty());
}

TEST_F(ArchiveTest, TamperedOciBlobIsRejected) {
  store::Store a = newStore("a");
  store::ImageRecord img = busybox(a);
  auto bytes = saveToString(a, {"busybox"}, Format::OciArchive);
  ASSERT_TRUE(bytes);
  // A config whose bytes differ from its digest.
  std::string bad = rewrite(*bytes, [&](std::vector<Item>& items) {
    for (auto& it : items)
      if (it.name == "blobs/sha256/" + img.id.hex) it.data[it.data.size() - 1] = ' ';
  });
  store::Store b = newStore("b");
  auto res = loadString(b, bad);
  ASSERT_FALSE(res);
  EXPECT_NE(res.error().what().find(img.id.str() + " does not match its digest"),
            std::string::npos)
      << res.error().what();
  EXPECT_TRUE(b.images()->empty());
}

TEST_F(ArchiveTest, TruncatedAndGarbageAreOneLineErrors) {
  store::Store a = newStore("a");
  busybox(a);
  auto bytes = saveToString(a, {"busybox"}, Format::DockerArchive);
  ASSERT_TRUE(bytes);
  store::Store b = newStore("b");
  for (const std::string& input :
       {bytes->substr(0, bytes->size() / 2), bytes->substr(0, 700), std::string("not a tar"),
        std::string(), gzip(bytes->substr(0, bytes->size() / 2)).substr(0, 300)}) {
    auto res = loadString(b, input);
    ASSERT_FALSE(res) << input.size();
    EXPECT_EQ(res.error().what().find('\n'), std::string::npos) << res.error().what();
    EXPECT_TRUE(b.images()->empty());
  }
  auto res = loadString(b, "not a tar archive, just some text that is long enough to need a bid");
  ASSERT_FALSE(res);
  EXPECT_NE(res.error().what().find("invalid tar archive"), std::string::npos)
      << res.error().what();
}

TEST_F(ArchiveTest, NotAnImageArchive) {
  store::Store b = newStore("b");
  auto res = loadString(b, writeTar({{"hello.txt", "hi"}}));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().what(),
            "archive is not a docker-archive or oci-archive: no manifest.json or index.json");
}

TEST_F(ArchiveTest, HostileEntriesAreRejected) {
  store::Store b = newStore("b");
  auto dotdot = loadString(b, writeTar({{"manifest.json", "[]"}, {"../evil", "x"}}));
  ASSERT_FALSE(dotdot);
  EXPECT_NE(dotdot.error().what().find("../evil"), std::string::npos) << dotdot.error().what();
  EXPECT_FALSE(pathExists(b.tmpDir() + "/evil"));

  auto abs = loadString(b, writeTar({{"/etc/evil", "x"}}));
  ASSERT_FALSE(abs);
  EXPECT_NE(abs.error().what().find("/etc/evil"), std::string::npos) << abs.error().what();

  auto dev = loadString(b, writeTar({{"null", "", AE_IFCHR}}));
  ASSERT_FALSE(dev);
  EXPECT_NE(dev.error().what().find("`null`"), std::string::npos) << dev.error().what();
}

// Docker >= 25: config and layers in blobs/, <id>/layer.tar symlinks into them.
TEST_F(ArchiveTest, SymlinkedLayersInsideTheArchive) {
  store::Store a = newStore("a");
  store::ImageRecord img = busybox(a);
  auto oci = saveToString(a, {"busybox"}, Format::OciArchive);
  ASSERT_TRUE(oci);
  auto diffIds = diffIdsOf(a, img);
  auto loaded = *image::load(a, img);
  // A combined archive: the OCI layout plus manifest.json naming symlinks (layer 1 via a
  // symlinked directory, to exercise resolution of parent components).
  std::string combined = rewrite(*oci, [&](std::vector<Item>& items) {
    items.push_back({"l0", "", AE_IFDIR, ""});
    items.push_back({"l0/layer.tar", "", AE_IFLNK, "../blobs/sha256/" + loaded.manifest.layers[0].digest.hex});
    items.push_back({"l1", "", AE_IFLNK, "blobs/sha256"});
    Json m = Json::array({{{"Config", "blobs/sha256/" + img.id.hex},
                           {"RepoTags", {"busybox:latest"}},
                           {"Layers", {"l0/layer.tar", "l1/" + loaded.manifest.layers[1].digest.hex}}}});
    items.push_back({"manifest.json", m.dump()});
  });
  store::Store b = newStore("b");
  auto res = loadString(b, combined);
  ASSERT_TRUE(res) << res.error().what();
  EXPECT_EQ(res->lines, std::vector<std::string>{"Loaded image: busybox:latest"});
  EXPECT_EQ(image::resolve(b, "busybox")->id, img.id);
  // The compressed layer kept its blob digest (named by its path).
  auto got = image::load(b, *image::resolve(b, "busybox"));
  EXPECT_EQ(got->manifest.layers[1].digest, loaded.manifest.layers[1].digest);
  EXPECT_EQ(got->manifest.layers[1].mediaType, oci::media::kOciLayerGzip);

  // A symlink leading out of the archive is refused.
  std::string escape = rewrite(*oci, [&](std::vector<Item>& items) {
    items.push_back({"l0/layer.tar", "", AE_IFLNK, "../../etc/passwd"});
    Json m = Json::array({{{"Config", "blobs/sha256/" + img.id.hex},
                           {"RepoTags", nullptr},
                           {"Layers", {"l0/layer.tar", "l0/layer.tar"}}}});
    items.push_back({"manifest.json", m.dump()});
  });
  store::Store c = newStore("c");
  auto bad = loadString(c, escape);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("outside the archive"), std::string::npos)
      << bad.error().what();
}

TEST_F(ArchiveTest, HardlinkedLayerFile) {
  store::Store a = newStore("a");
  store::ImageRecord img = busybox(a);
  auto bytes = saveToString(a, {"busybox"}, Format::DockerArchive);
  ASSERT_TRUE(bytes);
  auto diffIds = diffIdsOf(a, img);
  std::string linked = rewrite(*bytes, [&](std::vector<Item>& items) {
    items.push_back({"alias/layer.tar", "", AE_IFREG, diffIds[0].substr(7) + "/layer.tar"});
    for (auto& it : items)
      if (it.name == "manifest.json") {
        Json m = Json::parse(it.data);
        m[0]["Layers"][0] = "alias/layer.tar";
        it.data = m.dump();
      }
  });
  store::Store b = newStore("b");
  auto res = loadString(b, linked);
  ASSERT_TRUE(res) << res.error().what();
  EXPECT_EQ(image::resolve(b, "busybox")->id, img.id);
}

TEST_F(ArchiveTest, CompressedOuterArchives) {
  store::Store a = newStore("a");
  store::ImageRecord img = busybox(a);
  auto bytes = saveToString(a, {"busybox"}, Format::DockerArchive);
  ASSERT_TRUE(bytes);
  for (const auto& packed : {gzip(*bytes), zstd(*bytes)}) {
    store::Store b = newStore("b" + std::to_string(outputs_));
    auto res = loadString(b, packed);
    ASSERT_TRUE(res) << res.error().what();
    EXPECT_EQ(image::resolve(b, "busybox:latest")->id, img.id);
  }
}

TEST_F(ArchiveTest, LoadFromPipe) {
  store::Store a = newStore("a");
  store::ImageRecord img = busybox(a);
  auto bytes = saveToString(a, {"busybox"}, Format::OciArchive);
  ASSERT_TRUE(bytes);
  std::string packed = gzip(*bytes);
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd rd(p[0]), wr(p[1]);
  std::thread writer([&] {
    // Small writes exercise short reads all the way down.
    for (size_t i = 0; i < packed.size(); i += 333)
      (void)writeAll(wr.get(), packed.data() + i, std::min<size_t>(333, packed.size() - i));
    wr.reset();
  });
  store::Store b = newStore("b");
  auto res = load(b, rd.get());
  writer.join();
  ASSERT_TRUE(res) << res.error().what();
  EXPECT_EQ(image::resolve(b, "busybox")->id, img.id);
}

TEST_F(ArchiveTest, LoadMovesTagsAndSaysSo) {
  store::Store a = newStore("a");
  store::ImageRecord img = busybox(a);
  auto bytes = saveToString(a, {"busybox"}, Format::DockerArchive);
  ASSERT_TRUE(bytes);
  store::Store b = newStore("b");
  store::ImageRecord old = addImage(b, {addLayer(b, "other", "other\n")}, {"busybox:latest"});
  auto res = loadString(b, *bytes);
  ASSERT_TRUE(res) << res.error().what();
  EXPECT_EQ(res->lines, (std::vector<std::string>{
                            "The image busybox:latest already exists, renaming the old one with "
                            "ID " + old.id.str() + " to empty string",
                            "Loaded image: busybox:latest"}));
  EXPECT_EQ(image::resolve(b, "busybox")->id, img.id);
  // Loading again into a store that has everything verifies and changes nothing.
  auto again = loadString(b, *bytes);
  ASSERT_TRUE(again) << again.error().what();
  EXPECT_EQ(again->lines, std::vector<std::string>{"Loaded image: busybox:latest"});
}

TEST_F(ArchiveTest, OciRefNameAlone) {
  store::Store a = newStore("a");
  store::ImageRecord img = busybox(a);
  auto bytes = saveToString(a, {"busybox"}, Format::OciArchive);
  ASSERT_TRUE(bytes);
  auto withRefName = [&](const std::string& refName) {
    return rewrite(*bytes, [&](std::vector<Item>& items) {
      for (auto& it : items)
        if (it.name == "index.json") {
          Json j = Json::parse(it.data);
          j["manifests"][0]["annotations"] = {{"org.opencontainers.image.ref.name", refName}};
          it.data = j.dump();
        }
    });
  };
  store::Store b = newStore("b");
  auto bare = loadString(b, withRefName("latest"));
  ASSERT_TRUE(bare) << bare.error().what();
  EXPECT_EQ(bare->lines, std::vector<std::string>{"Loaded image ID: " + img.id.str()});
  auto full = loadString(b, withRefName("example.com/app:2"));
  ASSERT_TRUE(full) << full.error().what();
  EXPECT_EQ(full->lines, std::vector<std::string>{"Loaded image: example.com/app:2"});
}

TEST_F(ArchiveTest, LayerCountMismatch) {
  store::Store a = newStore("a");
  busybox(a);
  auto bytes = saveToString(a, {"busybox"}, Format::DockerArchive);
  ASSERT_TRUE(bytes);
  std::string bad = rewrite(*bytes, [&](std::vector<Item>& items) {
    for (auto& it : items)
      if (it.name == "manifest.json") {
        Json m = Json::parse(it.data);
        m[0]["Layers"].erase(1);
        it.data = m.dump();
      }
  });
  store::Store b = newStore("b");
  auto res = loadString(b, bad);
  ASSERT_FALSE(res);
  EXPECT_NE(res.error().what().find("lists 1 layers but its config has 2 diff_ids"),
            std::string::npos)
      << res.error().what();
}

}  // namespace
}  // namespace strata::archive
