// The build cache: records keyed by step chains, and when a record is a hit.
#include <gtest/gtest.h>

#include "build/cache.h"
#include "image/images.h"
#include "util/fs.h"

namespace strata {
namespace {

class BuildCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::create("/tmp", "strata-cache-test-");
    ASSERT_TRUE(t) << t.error().what();
    dir_ = std::move(*t);
    auto s = store::Store::open(dir_.path() + "/root");
    ASSERT_TRUE(s) << s.error().what();
    store_.emplace(std::move(*s));
  }

  // A state of one layer holding one file.
  build::ImageState stateWithLayer(const std::string& name) {
    const std::string tree = dir_.path() + "/" + name;
    EXPECT_TRUE(mkdirAll(tree));
    EXPECT_TRUE(writeFileAtomic(tree + "/" + name, name));
    auto l = image::addLayerFromDir(*store_, tree, {});
    EXPECT_TRUE(l) << l.error().what();
    build::ImageState st;
    st.config.os = "linux";
    st.config.diffIds.push_back(l->diffId);
    oci::HistoryEntry h;
    h.created = "2024-01-01T00:00:00Z";
    h.createdBy = "COPY " + name;
    st.config.history.push_back(h);
    st.layers.push_back({l->blob, l->diffId});
    return st;
  }

  TempDir dir_;
  std::optional<store::Store> store_;
};

TEST_F(BuildCacheTest, KeysChainTheirParents) {
  const std::string a = build::chainKey("", "RUN a");
  EXPECT_EQ(a, build::chainKey("", "RUN a"));
  EXPECT_NE(a, build::chainKey("", "RUN b"));
  EXPECT_NE(build::chainKey(a, "RUN c"), build::chainKey(build::chainKey("", "RUN b"), "RUN c"));
  // The separator keeps "ab"+"c" and "a"+"bc" apart.
  EXPECT_NE(build::chainKey("ab", "c"), build::chainKey("a", "bc"));
}

TEST_F(BuildCacheTest, AHitIsTheRecordedStateWhileItsLayersAreStored) {
  build::BuildCache cache(*store_);
  const build::ImageState st = stateWithLayer("f");
  const std::string key = build::chainKey("", "COPY f");
  EXPECT_FALSE(*cache.lookup(key, {}));
  ASSERT_TRUE(cache.record(key, st));
  auto hit = cache.lookup(key, {});
  ASSERT_TRUE(hit) << hit.error().what();
  ASSERT_TRUE(*hit);
  EXPECT_EQ((*hit)->config.diffIds, st.config.diffIds);
  EXPECT_EQ((*hit)->config.history.at(0).createdBy, "COPY f");
  EXPECT_EQ((*hit)->layers.at(0).blob.digest, st.layers.at(0).blob.digest);

  // Its layer gone (collected, or removed by hand), the record is a miss...
  ASSERT_TRUE(removeAll(store_->layout().layerDir(st.config.diffIds[0].hex)));
  EXPECT_FALSE(*cache.lookup(key, {}));
  // ...unless the step starts from a state that has that layer: that one was checked already.
  EXPECT_TRUE(*cache.lookup(key, st));
  // A parent with another layer at that place does not vouch for it.
  build::ImageState other = stateWithLayer("g");
  EXPECT_FALSE(*cache.lookup(key, other));
}

TEST_F(BuildCacheTest, ADamagedRecordIsAMiss) {
  build::BuildCache cache(*store_);
  const std::string key = build::chainKey("", "RUN x");
  ASSERT_TRUE(cache.record(key, stateWithLayer("x")));
  const std::string path = store_->layout().buildCacheRecord(key);
  for (const char* text : {"{garbage", "[]", R"({"config":{},"layerDescriptors":[]})",
                           R"({"config":{"rootfs":{"type":"layers","diff_ids":[]}},"layerDescriptors":[1]})"}) {
    ASSERT_TRUE(writeFileAtomic(path, text));
    auto r = cache.lookup(key, {});
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_FALSE(*r) << text;
  }
  ASSERT_TRUE(cache.record(key, stateWithLayer("y")));
  EXPECT_TRUE(*cache.lookup(key, {}));
  EXPECT_EQ(*cache.prune(), 1u);
  EXPECT_FALSE(*cache.lookup(key, {}));
}

}  // namespace
}  // namespace strata
