// The content-addressed store: blobs, layers, image records, garbage collection.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <gtest/gtest.h>

#include "image/changes.h"
#include "image/images.h"
#include "layer/tar.h"
#include "oci/media_types.h"
#include "store/store.h"
#include "system/prune.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace strata {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::create("/tmp", "strata-store-test-");
    ASSERT_TRUE(t) << t.error().what();
    dir_ = std::move(*t);
    auto s = store::Store::open(dir_.path() + "/root");
    ASSERT_TRUE(s) << s.error().what();
    store_.emplace(std::move(*s));
  }

  // A one-file layer tar built with writeTarFromDir; returns its bytes.
  std::string makeLayer(const std::string& name, const std::string& content) {
    std::string tree = dir_.path() + "/tree-" + name;
    EXPECT_TRUE(mkdirAll(tree));
    EXPECT_TRUE(writeFileAtomic(tree + "/" + name, content));
    std::string tarPath = dir_.path() + "/" + name + ".tar";
    auto fd = openFile(tarPath, O_WRONLY | O_CREAT | O_TRUNC);
    EXPECT_TRUE(fd);
    layer::WriteTarOptions o;
    o.mtime = 0;
    EXPECT_TRUE(layer::writeTarFromDir(tree, fd->get(), o));
    return *readFile(tarPath);
  }

  // A reader over a string.
  static std::unique_ptr<layer::Reader> stringReader(std::string data) {
    struct R : layer::Reader {
      std::string d;
      size_t off = 0;
      Result<size_t> read(void* buf, size_t n) override {
        n = std::min(n, d.size() - off);
        std::memcpy(buf, d.data() + off, n);
        off += n;
        return n;
      }
    };
    auto r = std::make_unique<R>();
    r->d = std::move(data);
    return r;
  }

  // Stores a one-layer image tagged `tag` and returns its record.
  store::ImageRecord addImage(const std::string& tag, const std::string& layerTar,
                              const std::string& cmd = "sh") {
    auto info = store_->addLayerUnverified(stringReader(layerTar));
    EXPECT_TRUE(info) << info.error().what();
    auto blob = store_->putBlob(layerTar);
    EXPECT_TRUE(blob);
    oci::ImageConfig cfg;
    cfg.created = "2024-01-01T00:00:00Z";
    cfg.config.cmd = std::vector<std::string>{cmd};
    cfg.diffIds = {oci::Digest::sha256(info->diffIdHex)};
    cfg.history = {oci::HistoryEntry{"2024-01-01T00:00:00Z", "", "", "test", false}};
    image::LayerDesc d;
    d.blob.mediaType = std::string(oci::media::kOciLayer);
    d.blob.digest = *blob;
    d.blob.size = static_cast<int64_t>(layerTar.size());
    d.diffId = cfg.diffIds[0];
    auto rec = image::addImage(*store_, cfg, {d}, {*oci::Reference::parse(tag)});
    EXPECT_TRUE(rec) << rec.error().what();
    return *rec;
  }

  // A build step's upper dir under the store's tmp/: files, a subdirectory with a symlink and a
  // socket (which the layer leaves out), every mtime fixed. Returns its path.
  std::string makeUpper(const std::string& name, const std::string& content) {
    const std::string upper = store_->tmpDir() + "/upper-" + name;
    EXPECT_TRUE(mkdirAll(upper + "/sub"));
    EXPECT_TRUE(writeFileAtomic(upper + "/" + name, content));
    EXPECT_TRUE(writeFileAtomic(upper + "/sub/big", std::string(3 << 20, 'b')));
    EXPECT_EQ(::symlink(("../" + name).c_str(), (upper + "/sub/link").c_str()), 0);
    UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string sockPath = upper + "/sub/sock";
    std::strncpy(addr.sun_path, sockPath.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const struct timespec times[2] = {{1000, 0}, {1000, 0}};
    for (const char* rel : {"/sub/link", "/sub/big", "/sub"})
      EXPECT_EQ(::utimensat(AT_FDCWD, (upper + rel).c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
    EXPECT_EQ(::utimensat(AT_FDCWD, (upper + "/" + name).c_str(), times, 0), 0);
    return upper;
  }

  // The layer tar of an upper dir, as a step's layer blob was stored before trees made it.
  static std::string layerTarOf(const std::string& upper) {
    std::string out;
    layer::WriteTarOptions o;
    o.overlay = layer::OverlayMarkers::ToLayer;
    auto r = layer::writeTarFromDir(upper, [&](const void* p, size_t n) -> Status {
      out.append(static_cast<const char*>(p), n);
      return {};
    }, o);
    EXPECT_TRUE(r) << r.error().what();
    return out;
  }

  // Reads blob d to its end: its bytes, or the error of the read that failed.
  Result<std::string> readWhole(const oci::Digest& d) {
    auto r = TRY(store_->openBlob(d));
    std::string out;
    char buf[65536];
    for (;;) {
      size_t n = TRY(r->read(buf, sizeof buf));
      if (n == 0) return out;
      out.append(buf, n);
    }
  }

  TempDir dir_;
  std::optional<store::Store> store_;
};

TEST_F(StoreTest, BlobsAreContentAddressedAndVerified) {
  auto d = store_->putBlob("hello");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->str(), "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  EXPECT_TRUE(store_->hasBlob(*d));
  EXPECT_EQ(*store_->readBlob(*d), "hello");
  // Writing the same content again is a no-op.
  EXPECT_EQ(*store_->putBlob("hello"), *d);
  // A corrupted blob is detected on read.
  std::string path = store_->layout().blob(*d);
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  ASSERT_TRUE(writeFileAtomic(path, "jello"));
  auto bad = store_->readBlob(*d);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("corrupt"), std::string::npos);
}

TEST_F(StoreTest, BlobWriterRejectsWrongDigestAndLeavesNothing) {
  auto w = store_->newBlobWriter();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->write("abc", 3));
  auto r = w->commit(oci::Digest::of("xyz"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("digest mismatch"), std::string::npos);
  EXPECT_FALSE(store_->hasBlob(oci::Digest::of("abc")));
}

TEST_F(StoreTest, LayerIsUnpackedOnceAndVerified) {
  std::string tar = makeLayer("a", "content-a");
  std::string diff = Sha256::hexOf(tar);
  auto info = store_->addLayer(stringReader(tar), oci::Digest::sha256(diff), oci::Digest::sha256(diff));
  ASSERT_TRUE(info) << info.error().what();
  EXPECT_EQ(info->diffIdHex, diff);
  EXPECT_EQ(info->tarSize, tar.size());
  EXPECT_EQ(*readFile(store_->layout().layerTree(diff) + "/a"), "content-a");
  // Adding it again still verifies the stream.
  auto again = store_->addLayer(stringReader(tar + std::string(512, 'x')), oci::Digest::sha256(diff),
                                oci::Digest::sha256(diff));
  ASSERT_FALSE(again);
  // A layer that does not match its diff_id is refused and not kept.
  std::string other = makeLayer("b", "content-b");
  auto bad = store_->addLayer(stringReader(other), oci::Digest::sha256(diff.substr(0, 63) + "0"),
                              oci::Digest::of(other));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("does not match its diff_id"), std::string::npos);
  EXPECT_FALSE(store_->hasLayer(Sha256::hexOf(other)));
}

TEST_F(StoreTest, AdoptedTreeMakesItsTarBlobOnDemand) {
  const std::string upper = makeUpper("f", "content-f");
  const std::string tar = layerTarOf(upper);
  auto adopted = store_->adoptLayerTree(upper);
  ASSERT_TRUE(adopted) << adopted.error().what();
  ASSERT_TRUE(adopted->has_value());
  const store::LayerInfo& info = **adopted;
  EXPECT_EQ(info.diffIdHex, Sha256::hexOf(tar));  // the socket's removal changed nothing tar shows
  EXPECT_EQ(info.tarSize, tar.size());
  EXPECT_TRUE(info.tarFromTree);
  EXPECT_FALSE(pathExists(upper));
  EXPECT_EQ(*readFile(store_->layout().layerTree(info.diffIdHex) + "/f"), "content-f");

  // Present with its size, but no file: read, it is the same tar.
  const oci::Digest d = oci::Digest::sha256(info.diffIdHex);
  EXPECT_FALSE(pathExists(store_->layout().blob(d)));
  EXPECT_TRUE(store_->hasBlob(d));
  EXPECT_EQ(*store_->blobSize(d), tar.size());
  auto made = readWhole(d);
  ASSERT_TRUE(made) << made.error().what();
  EXPECT_TRUE(*made == tar);
  EXPECT_FALSE(store_->openBlobFile(d));

  // The same tar arriving as a file (load) is not stored twice.
  const std::string copy = store_->tmpDir() + "/copy";
  ASSERT_TRUE(writeFileAtomic(copy, tar));
  ASSERT_TRUE(store_->adoptBlob(copy, d));
  EXPECT_FALSE(pathExists(copy));
  EXPECT_FALSE(pathExists(store_->layout().blob(d)));
}

TEST_F(StoreTest, TreeMadeBlobIsKeptWhileReferenced) {
  auto adopted = store_->adoptLayerTree(makeUpper("g", "content-g"));
  ASSERT_TRUE(adopted && adopted->has_value());
  const oci::Digest d = oci::Digest::sha256((*adopted)->diffIdHex);
  oci::ImageConfig cfg;
  cfg.diffIds = {d};
  image::LayerDesc l;
  l.blob.mediaType = std::string(oci::media::kOciLayer);
  l.blob.digest = d;
  l.blob.size = static_cast<int64_t>((*adopted)->tarSize);
  l.diffId = d;
  auto rec = image::addImage(*store_, cfg, {l}, {*oci::Reference::parse("made:latest")});
  ASSERT_TRUE(rec) << rec.error().what();
  ASSERT_TRUE(store_->collectGarbage());
  EXPECT_TRUE(store_->hasLayer(d.hex));
  EXPECT_TRUE(store_->hasBlob(d));
  EXPECT_TRUE(readWhole(d));
  auto rm = image::remove(*store_, {"made:latest"}, {});
  ASSERT_TRUE(rm);
  EXPECT_FALSE(store_->hasLayer(d.hex));
  EXPECT_FALSE(store_->hasBlob(d));
}

TEST_F(StoreTest, TreeChangedOnDiskFailsItsBlob) {
  auto adopted = store_->adoptLayerTree(makeUpper("h", "content-h"));
  ASSERT_TRUE(adopted && adopted->has_value());
  const std::string hex = (*adopted)->diffIdHex;
  const oci::Digest d = oci::Digest::sha256(hex);
  const std::string want =
      "layer sha256:" + hex + " changed on disk: its tar no longer matches its diff_id";
  const std::string file = store_->layout().layerTree(hex) + "/sub/big";
  // Same size, other bytes: found when the stream ends.
  {
    UniqueFd fd = *openFile(file, O_WRONLY);
    ASSERT_EQ(::pwrite(fd.get(), "x", 1, 100), 1);
  }
  auto changed = readWhole(d);
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().what(), want);
  // Longer: found as soon as the stream passes the recorded size.
  {
    UniqueFd fd = *openFile(file, O_WRONLY | O_APPEND);
    ASSERT_TRUE(writeAll(fd.get(), std::string(1 << 20, 'y')));
  }
  auto longer = readWhole(d);
  ASSERT_FALSE(longer);
  EXPECT_EQ(longer.error().what(), want);
  // A reader dropped halfway stops its writer.
  auto r = store_->openBlob(d);
  ASSERT_TRUE(r);
  char buf[512];
  EXPECT_TRUE((*r)->read(buf, sizeof buf));
}

TEST_F(StoreTest, AdoptingALayerTheStoreHasFromAnotherBlobStoresItsTar) {
  const std::string upper = makeUpper("k", "content-k");
  const std::string tar = layerTarOf(upper);
  const oci::Digest d = oci::Digest::of(tar);
  // As after a pull: the layer unpacked from a compressed blob, no uncompressed blob.
  ASSERT_TRUE(store_->addLayer(stringReader(tar), d, oci::Digest::of("compressed")));
  ASSERT_FALSE(store_->hasBlob(d));
  auto adopted = store_->adoptLayerTree(upper);
  ASSERT_TRUE(adopted && adopted->has_value()) << (adopted ? "" : adopted.error().what());
  EXPECT_FALSE((*adopted)->tarFromTree);
  EXPECT_EQ(*readFile(store_->layout().blob(d)), tar);
}

TEST_F(StoreTest, TagsMoveAndSharedLayersSurviveRemoval) {
  std::string tar = makeLayer("f", "shared");
  auto a = addImage("app:one", tar, "a");
  auto b = addImage("app:two", tar, "b");
  ASSERT_NE(a.id, b.id);
  std::string diff = Sha256::hexOf(tar);
  // Moving a tag leaves the previous holder dangling.
  ASSERT_TRUE(image::tag(*store_, b, *oci::Reference::parse("app:one")));
  auto recs = *store_->images();
  ASSERT_EQ(recs.size(), 2u);
  for (const auto& r : recs) {
    if (r.id == a.id) {
      EXPECT_TRUE(r.tags.empty());
    } else {
      EXPECT_EQ(r.tags.size(), 2u);
    }
  }
  // Removing one name of b only untags.
  auto rm = image::remove(*store_, {"app:one"}, {});
  ASSERT_TRUE(rm);
  ASSERT_EQ(rm->lines.size(), 1u);
  EXPECT_EQ(rm->lines[0], "Untagged: app:one");
  // Removing a (dangling, by ID) deletes it; the shared layer stays for b.
  rm = image::remove(*store_, {a.id.hex.substr(0, 8)}, {});
  ASSERT_TRUE(rm);
  EXPECT_EQ(rm->lines.back(), "Deleted: " + a.id.str());
  EXPECT_FALSE(store_->hasBlob(a.id));
  EXPECT_TRUE(store_->hasLayer(diff));
  // Removing the last image frees the layer and its blob.
  rm = image::remove(*store_, {"app:two"}, {});
  ASSERT_TRUE(rm);
  EXPECT_TRUE(rm->errors.empty());
  EXPECT_FALSE(store_->hasLayer(diff));
  EXPECT_FALSE(store_->hasBlob(oci::Digest::sha256(diff)));
  EXPECT_TRUE(store_->images()->empty());
}

TEST_F(StoreTest, ResolveByNameIdPrefixAndErrors) {
  auto a = addImage("busybox", makeLayer("x", "x"));
  EXPECT_EQ(image::resolve(*store_, "busybox")->id, a.id);
  EXPECT_EQ(image::resolve(*store_, "docker.io/library/busybox:latest")->id, a.id);
  EXPECT_EQ(image::resolve(*store_, a.id.str())->id, a.id);
  EXPECT_EQ(image::resolve(*store_, a.id.hex.substr(0, 5))->id, a.id);
  auto missing = image::resolve(*store_, "nosuch:tag");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().what(), "No such image: nosuch:tag");
  auto bad = image::resolve(*store_, "Bad/Name");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("invalid reference format"), std::string::npos);
}

TEST_F(StoreTest, RemoveByIdWithTagsInTwoRepositoriesNeedsForce) {
  auto a = addImage("one:latest", makeLayer("y", "y"));
  ASSERT_TRUE(image::tag(*store_, a, *oci::Reference::parse("two:latest")));
  auto rm = image::remove(*store_, {a.id.str()}, {});
  ASSERT_TRUE(rm);
  ASSERT_EQ(rm->errors.size(), 1u);
  EXPECT_NE(rm->errors[0].find("must be forced"), std::string::npos);
  EXPECT_EQ(store_->images()->size(), 1u);
  image::RemoveOptions force;
  force.force = true;
  rm = image::remove(*store_, {a.id.str()}, force);
  ASSERT_TRUE(rm);
  ASSERT_EQ(rm->lines.size(), 4u);  // two Untagged, the image and its layer Deleted
  EXPECT_EQ(rm->lines[2], "Deleted: " + a.id.str());
  EXPECT_TRUE(store_->images()->empty());
}

TEST_F(StoreTest, ImageUsedByContainerIsKept) {
  auto a = addImage("inuse:latest", makeLayer("u", "u"));
  std::string c = store_->layout().containersDir() + "/c1";
  ASSERT_TRUE(mkdirAll(c));
  ASSERT_TRUE(writeFileAtomic(c + "/container.json", "{\"Image\":\"" + a.id.str() + "\"}"));
  auto rm = image::remove(*store_, {"inuse"}, {});
  ASSERT_TRUE(rm);
  ASSERT_EQ(rm->errors.size(), 1u);
  EXPECT_NE(rm->errors[0].find("container is using its referenced image"), std::string::npos);
  rm = image::remove(*store_, {a.id.str()}, {});
  ASSERT_EQ(rm->errors.size(), 1u);
  EXPECT_EQ(store_->images()->size(), 1u);
  // Forced removal of the last tag untags but keeps the image for its container.
  image::RemoveOptions force;
  force.force = true;
  rm = image::remove(*store_, {"inuse"}, force);
  ASSERT_TRUE(rm);
  EXPECT_TRUE(rm->errors.empty());
  ASSERT_EQ(store_->images()->size(), 1u);
  EXPECT_TRUE(store_->images()->at(0).tags.empty());
  EXPECT_TRUE(store_->hasBlob(a.id));
}

// What a reader sees of a tag move cut short at each step: the name counts on the image its
// symlink points at, whatever the records list.
TEST_F(StoreTest, ANameBelongsToTheImageItsSymlinkNames) {
  std::string tar = makeLayer("n", "n");
  auto a = addImage("move:me", tar, "a");
  auto b = addImage("other:tag", tar, "b");
  const std::string bRecord = store_->layout().imageRecord(b.id.hex);
  const std::string aRecord = store_->layout().imageRecord(a.id.hex);
  // Step one done (b's record lists the tag), the symlink not yet moved: still a's.
  auto text = readFile(bRecord);
  ASSERT_TRUE(text);
  std::string moved = *text;
  moved.replace(moved.find("\"docker.io/library/other:tag\""), 0, "\"docker.io/library/move:me\",");
  ASSERT_TRUE(writeFileAtomic(bRecord, moved));
  EXPECT_EQ((*store_->imageNamed("docker.io/library/move:me"))->id, a.id);
  EXPECT_EQ((*store_->image(b.id))->tags, std::vector<std::string>{"docker.io/library/other:tag"});
  // The symlink moved, a's record not yet rewritten: b's, and a shows it no more.
  const std::string link = store_->layout().refsDir() + "/docker.io+library+move:me";
  ASSERT_EQ(::unlink(link.c_str()), 0);
  ASSERT_EQ(::symlink(b.id.hex.c_str(), link.c_str()), 0);
  EXPECT_EQ((*store_->imageNamed("docker.io/library/move:me"))->id, b.id);
  EXPECT_TRUE((*store_->image(a.id))->tags.empty());
  ASSERT_NE(readFile(aRecord)->find("move:me"), std::string::npos);
  // The next change to a rewrites its record without the name.
  ASSERT_TRUE(image::tag(*store_, a, *oci::Reference::parse("a:new")));
  EXPECT_EQ(readFile(aRecord)->find("move:me"), std::string::npos);
  auto recs = *store_->images();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].id, a.id);  // oldest first
  EXPECT_EQ(recs[0].tags, std::vector<std::string>{"docker.io/library/a:new"});
  EXPECT_EQ(recs[1].tags.size(), 2u);
  // A symlink naming no record names nothing.
  ASSERT_EQ(::symlink(std::string(64, 'c').c_str(), (store_->layout().refsDir() + "/x").c_str()), 0);
  EXPECT_FALSE(*store_->imageNamed("x"));
}

// A change killed part-way leaves temp files and names no record lists; they are reported,
// and system prune's removal of leftovers takes them and nothing else.
TEST_F(StoreTest, RecordLeftoversAreFoundAndCollected) {
  auto a = addImage("keep:me", makeLayer("r", "r"));
  EXPECT_TRUE(store_->recordLeftovers(false)->empty());
  const std::string images = store_->layout().imagesDir(), refs = store_->layout().refsDir();
  ASSERT_TRUE(writeFileAtomic(images + "/.tmp-" + a.id.hex + ".json-0123", "{"));
  ASSERT_EQ(::symlink(a.id.hex.c_str(), (refs + "/.tmp-4567").c_str()), 0);
  // An untag cut short: the record no longer lists the name, the symlink is still there.
  ASSERT_EQ(::symlink(a.id.hex.c_str(), (refs + "/docker.io+library+gone:tag").c_str()), 0);
  const std::vector<std::string> want = {"images/.tmp-" + a.id.hex + ".json-0123", "refs/.tmp-4567",
                                         "refs/docker.io+library+gone:tag"};
  auto found = *store_->recordLeftovers(false);
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, want);
  EXPECT_FALSE(*store_->imageNamed("docker.io/library/gone:tag"));
  ASSERT_TRUE(system::pruneLeftovers(*store_));
  EXPECT_TRUE(store_->recordLeftovers(false)->empty());
  EXPECT_EQ(image::resolve(*store_, "keep:me")->id, a.id);
  EXPECT_EQ(*listDirectory(refs), std::vector<std::string>{"docker.io+library+keep:me"});
}

TEST_F(StoreTest, LongNamesAndDigestNamesResolve) {
  auto a = addImage("short", makeLayer("l", "l"));
  const std::string longTag = "reg.example:5000/" + std::string(150, 'p') + "/repo:" + std::string(120, 't');
  auto ref = oci::Reference::parse(longTag);
  ASSERT_TRUE(ref) << ref.error().what();
  ASSERT_TRUE(image::tag(*store_, a, *ref));
  EXPECT_EQ(image::resolve(*store_, longTag)->id, a.id);
  EXPECT_EQ(image::resolve(*store_, "docker.io/library/short@" + a.manifest.str())->id, a.id);
  ASSERT_TRUE(image::recordImage(*store_, a.id, a.manifest, {}, {"docker.io/library/short@" + a.manifest.str()}));
  EXPECT_EQ((*store_->imageNamed("docker.io/library/short@" + a.manifest.str()))->id, a.id);
  EXPECT_EQ((*store_->image(a.id))->digests.size(), 1u);
}

TEST_F(StoreTest, ACorruptRecordIsNamedAndTheOthersStillResolve) {
  std::string tar = makeLayer("k", "k");
  auto a = addImage("good", tar, "a");
  auto b = addImage("bad", tar, "b");
  const std::string path = store_->layout().imageRecord(b.id.hex);
  ASSERT_TRUE(writeFileAtomic(path, "{garbage"));
  auto all = store_->images();
  ASSERT_FALSE(all);
  EXPECT_EQ(all.error().what().rfind("image record `" + path + "` is corrupt", 0), 0u) << all.error().what();
  EXPECT_EQ(image::resolve(*store_, "good")->id, a.id);
  EXPECT_FALSE(image::resolve(*store_, "bad"));
}

TEST_F(StoreTest, RecordsOfAnOlderStoreMoveOutOfImagesJson) {
  std::string tar = makeLayer("m", "m");
  auto a = addImage("old:one", tar, "a");
  auto b = addImage("old:two", tar, "b");
  const auto want = *store_->images();
  // The same records as images.json wrote them, and nothing else.
  std::string legacy = R"({"images":[)";
  for (const auto& r : want) {
    legacy += std::string(&r == &want.front() ? "" : ",") + R"({"id":")" + r.id.str() + R"(","manifest":")" +
              r.manifest.str() + R"(","tags":[")" + r.tags.at(0) + R"("],"digests":[],"added":")" + r.added +
              R"(","lastTagTime":")" + r.lastTagTime + R"("})";
  }
  legacy += "]}";
  const auto& l = store_->layout();
  ASSERT_TRUE(removeAll(l.imagesDir()));
  ASSERT_TRUE(removeAll(l.refsDir()));
  ASSERT_TRUE(writeFileAtomic(l.legacyImagesFile(), legacy));
  auto reopened = store::Store::open(l.root());
  ASSERT_TRUE(reopened) << reopened.error().what();
  EXPECT_EQ(*reopened->images(), want);
  EXPECT_EQ(image::resolve(*reopened, "old:two")->id, b.id);
  EXPECT_FALSE(pathExists(l.legacyImagesFile()));
  // One that cannot be read stops the store from opening, and stays for the user to see.
  ASSERT_TRUE(writeFileAtomic(l.legacyImagesFile(), "{garbage"));
  auto broken = store::Store::open(l.root());
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().what().find("store index `" + l.legacyImagesFile() + "` is corrupt"), std::string::npos);
  EXPECT_TRUE(pathExists(l.legacyImagesFile()));
  EXPECT_EQ(image::resolve(*store_, a.id.hex.substr(0, 12))->id, a.id);
}

TEST_F(StoreTest, ConcurrentRecordUpdatesLoseNothing) {
  std::string tar = makeLayer("c", "c");
  auto base = addImage("base", tar);
  const int kProcs = 4, kTags = 10;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto s = store::Store::open(store_->layout().root());
      for (int t = 0; t < kTags && s; ++t) {
        auto ref = oci::Reference::parse("p" + std::to_string(p) + ":t" + std::to_string(t));
        if (!ref || !image::tag(*s, base, *ref)) ::_exit(1);
      }
      ::_exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto recs = *store_->images();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].tags.size(), size_t(1 + kProcs * kTags));
}

TEST(ChangesTest, AppliesDockerfileInstructions) {
  oci::ContainerConfig c;
  const auto apply = [&](std::vector<std::string> changes) { return image::applyChanges(c, changes); };
  ASSERT_TRUE(apply({"CMD [\"sh\", \"-c\", \"echo hi\"]"}));
  EXPECT_EQ(*c.cmd, (std::vector<std::string>{"sh", "-c", "echo hi"}));
  ASSERT_TRUE(apply({"CMD echo hi"}));
  EXPECT_EQ(*c.cmd, (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
  ASSERT_TRUE(apply({"ENV A=1 B=\"two words\"", "ENV C three four", "ENV A=9 D=$B"}));
  EXPECT_EQ(c.env, (std::vector<std::string>{"A=9", "B=two words", "C=three four", "D=two words"}));
  ASSERT_TRUE(apply({"WORKDIR /app", "WORKDIR sub/../sub2"}));
  EXPECT_EQ(c.workingDir, "/app/sub2");
  ASSERT_TRUE(apply({"EXPOSE 80 53/udp"}));
  EXPECT_EQ(c.exposedPorts, (std::vector<std::string>{"53/udp", "80/tcp"}));
  ASSERT_TRUE(apply({"LABEL a=b"}));
  EXPECT_EQ(c.labels.at("a"), "b");
  ASSERT_TRUE(apply({"ENTRYPOINT [\"/init\"]"}));
  EXPECT_FALSE(c.cmd.has_value());  // ENTRYPOINT clears an inherited CMD
  ASSERT_TRUE(apply({"CMD [\"x\"]", "ENTRYPOINT [\"/init\"]"}));
  EXPECT_EQ(*c.cmd, (std::vector<std::string>{"x"}));  // ...but not one set in the same list
  ASSERT_TRUE(apply({"VOLUME [\"/data\"]"}));
  EXPECT_EQ(c.volumes, (std::vector<std::string>{"/data"}));
  ASSERT_TRUE(apply({"user nobody"}));
  EXPECT_EQ(c.user, "nobody");
}

TEST(ChangesTest, RejectsUnknownAndMalformedLeavingConfigUnchanged) {
  oci::ContainerConfig c;
  c.user = "before";
  auto r = image::applyChanges(c, {"USER after", "RUN echo"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "invalid change `RUN echo`: RUN is not a valid change command");
  EXPECT_EQ(c.user, "before");
  auto port = image::applyChanges(c, {"EXPOSE eighty"});
  ASSERT_FALSE(port);
  EXPECT_EQ(port.error().what(), "invalid change `EXPOSE eighty`: invalid containerPort: eighty");
  EXPECT_FALSE(image::applyChanges(c, {"LABEL novalue"}));
  EXPECT_FALSE(image::applyChanges(c, {"ENV A=\"unterminated"}));
  EXPECT_FALSE(image::applyChanges(c, {"STOPSIGNAL SIGNOPE"}));
  EXPECT_FALSE(image::applyChanges(c, {"CMD a\nCMD b"}));
}

}  // namespace
}  // namespace strata
