// --userns=auto: subordinate id files, the block each container gets, the record's mapping and
// the idmapped-layer plan.
#include <gtest/gtest.h>

#include "container/create.h"
#include "container/id_ranges.h"
#include "container/record.h"
#include "runtime/userns_internal.h"
#include "util/fs.h"

namespace strata::container {
namespace {

TEST(SubIds, TakesTheUsersLinesInOrderAndIgnoresTheRest) {
  const std::string text =
      "alice:100000:65536\n"
      "strata:200000:655360\n"
      "# strata:1:2\n"
      "strata:300000\n"             // two fields
      "strata:x:65536\n"            // not a number
      "strata:400000:0\n"           // empty
      "strata:4294967000:65536\n"   // past the last id
      "strata:-5:65536\n"
      "strata:500000:65536:extra\n"  // count does not parse
      "stratax:600000:65536\n"
      "strata:700000:131072";        // no newline at the end
  std::vector<IdRange> want = {{200000, 655360}, {700000, 131072}};
  EXPECT_EQ(parseSubIds(text, "strata"), want);
  EXPECT_TRUE(parseSubIds("", "strata").empty());
  EXPECT_TRUE(parseSubIds("strata::\n:::\n", "strata").empty());
}

runtime::IdMapping block(uint32_t uid, uint32_t gid) { return {uid, gid, kUsernsSize}; }

void expectBlock(const std::optional<runtime::IdMapping>& got, uint32_t uid, uint32_t gid) {
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->hostUid, uid);
  EXPECT_EQ(got->hostGid, gid);
  EXPECT_EQ(got->size, kUsernsSize);
}

TEST(SubIds, LowestFreeBlockSkipsUsedOnes) {
  IdPool pool{{{100000, 3 * 65536}}, {{100000, 3 * 65536}}};
  expectBlock(lowestFreeBlock(pool, {}), 100000, 100000);
  expectBlock(lowestFreeBlock(pool, {block(100000, 100000)}), 165536, 165536);
  // A freed block is reused.
  expectBlock(lowestFreeBlock(pool, {block(165536, 165536)}), 100000, 100000);
  // Exhausted.
  EXPECT_FALSE(lowestFreeBlock(pool, {block(100000, 100000), block(165536, 165536),
                                      block(231072, 231072)}));
}

TEST(SubIds, BlocksHaveTheSameOffsetInBothPoolsAndNeverStraddleRanges) {
  // 1.5 blocks then one block: the half block is not used.
  IdPool pool{{{100000, 98304}, {500000, 65536}}, {{200000, 65536}, {900000, 65536}}};
  expectBlock(lowestFreeBlock(pool, {}), 100000, 200000);
  expectBlock(lowestFreeBlock(pool, {block(100000, 200000)}), 500000, 900000);
  // A block is taken when its gids overlap a mapping even if its uids do not (the pool changed).
  expectBlock(lowestFreeBlock(pool, {{1, 200100, 10}}), 500000, 900000);
  EXPECT_FALSE(lowestFreeBlock(IdPool{{{100000, 65535}}, {{100000, 65535}}}, {}));
}

TEST(SubIds, LoadNamesTheFileWithoutALine) {
  auto dir = TempDir::create("/tmp", "strata-subid-");
  ASSERT_TRUE(dir);
  const std::string uid = dir->path() + "/subuid", gid = dir->path() + "/subgid";
  ASSERT_TRUE(writeFileReplace(uid, "strata:100000:65536\n"));
  ASSERT_TRUE(writeFileReplace(gid, "other:100000:65536\n"));
  auto pool = loadIdPool(uid, gid);
  ASSERT_FALSE(pool);
  EXPECT_EQ(pool.error().what(), "--userns=auto: no subordinate ids for user \"strata\" in " + gid +
                                     " (add a line such as strata:100000:655360)");
  // A missing file is the same as one without a line.
  pool = loadIdPool(dir->path() + "/none", gid);
  ASSERT_FALSE(pool);
  EXPECT_NE(pool.error().what().find(dir->path() + "/none"), std::string::npos);
  ASSERT_TRUE(writeFileReplace(gid, "strata:300000:65536\n"));
  pool = loadIdPool(uid, gid);
  ASSERT_TRUE(pool);
  expectBlock(lowestFreeBlock(*pool, {}), 100000, 300000);
}

TEST(UsernsRecord, MappingRoundTripsAndAutoWithoutOneIsRefused) {
  Record r;
  r.id = std::string(64, 'a');
  r.image = *oci::Digest::parse("sha256:" + std::string(64, 'b'));
  r.host.usernsMode = "auto";
  r.idMapping = block(231072, 296608);
  auto back = recordFromJson(recordToJson(r).dump());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->host.usernsMode, "auto");
  expectBlock(back->idMapping, 231072, 296608);
  oci::Json j = recordToJson(r);
  EXPECT_EQ(j["HostConfig"]["UsernsMode"], "auto");
  j.erase("IdMapping");
  EXPECT_FALSE(recordFromJson(j.dump()));
}

TEST(UsernsFlag, ModesAndConflicts) {
  image::Loaded img;
  img.record.id = oci::Digest::of("config");
  img.config.config.cmd = std::vector<std::string>{"sh"};
  const std::string id(64, 'a');
  CreateOptions o;
  o.image = "bb";
  for (const char* mode : {"", "host", "auto"}) {
    o.userns = mode;
    auto r = compose(o, img, id);
    ASSERT_TRUE(r) << mode;
    EXPECT_EQ(r->host.usernsMode, mode);
    EXPECT_FALSE(r->idMapping);  // chosen by Containers::add
  }
  auto error = [&](CreateOptions opt) {
    auto r = compose(opt, img, id);
    return r ? std::string("no error") : r.error().what();
  };
  o.userns = "bogus";
  EXPECT_EQ(error(o), "invalid argument \"bogus\" for \"--userns\" flag: the modes are host and auto");
  o.userns = "auto";
  CreateOptions privileged = o;
  privileged.privileged = true;
  EXPECT_EQ(error(privileged), "conflicting options: --privileged and --userns=auto");
  CreateOptions hostNet = o;
  hostNet.network = "host";
  EXPECT_EQ(error(hostNet), "conflicting options: --network host and --userns=auto");
}

}  // namespace
}  // namespace strata::container

namespace strata::runtime::detail {
namespace {

TEST(IdmapTargets, TheUpperDirsParentThenLowersOutsideIt) {
  Overlay o;
  o.lowerDirs = {"/s/containers/c/init", "/s/layers/a/diff", "/s/layers/b/diff"};
  o.upperDir = "/s/containers/c/upper";
  o.workDir = "/s/containers/c/work";
  std::vector<std::string> want = {"/s/containers/c", "/s/layers/a/diff", "/s/layers/b/diff"};
  EXPECT_EQ(idmapTargets(o), want);
  // Read-only (no upper dir): every lower dir.
  o.upperDir.clear();
  o.workDir.clear();
  want = o.lowerDirs;
  EXPECT_EQ(idmapTargets(o), want);
}

TEST(IdmapTargets, HostIdsShiftOnlyWithAMapping) {
  std::optional<IdMapping> none;
  EXPECT_EQ(hostUid(none, 5), 5u);
  std::optional<IdMapping> m = IdMapping{200000, 300000, 65536};
  EXPECT_EQ(hostUid(m, 5), 200005u);
  EXPECT_EQ(hostGid(m, 5), 300005u);
}

}  // namespace
}  // namespace strata::runtime::detail
