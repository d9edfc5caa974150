// A store's network definitions: the predefined three, create's checks, lookup, removal.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "network/netlink.h"
#include "network/networks.h"
#include "store/store.h"
#include "util/fs.h"

namespace strata::network {
namespace {

class NetworksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::create("/tmp", "strata-networks-test-");
    ASSERT_TRUE(t);
    dir_ = std::move(*t);
    // An empty config: Docker's pools, no bip.
    ::setenv("STRATA_CONFIG", dir_.path().c_str(), 1);
    auto s = store::Store::open(dir_.path() + "/root");
    ASSERT_TRUE(s) << s.error().what();
    store_.emplace(std::move(*s));
  }
  void TearDown() override { ::unsetenv("STRATA_CONFIG"); }

  TempDir dir_;
  std::optional<store::Store> store_;
};

TEST_F(NetworksTest, PredefinedNetworksAlwaysExistAndCannotBeRemoved) {
  Networks nets(*store_);
  auto all = nets.list();
  ASSERT_TRUE(all) << all.error().what();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "bridge");
  EXPECT_EQ((*all)[0].bridge, kDefaultBridge);
  EXPECT_EQ((*all)[1].name, "host");
  EXPECT_EQ((*all)[2].driver, "null");
  auto byPrefix = nets.find((*all)[0].id.substr(0, 12));
  ASSERT_TRUE(byPrefix);
  EXPECT_EQ(byPrefix->name, "bridge");
  auto rm = nets.remove((*all)[0]);
  ASSERT_FALSE(rm);
  EXPECT_EQ(rm.error().what(), "bridge is a pre-defined network and cannot be removed");
  EXPECT_EQ(nets.find("nosuch").error().what(), "network nosuch not found");
}

TEST_F(NetworksTest, CreatePicksAFreeSubnetAwayFromHostRoutesAndOtherNetworks) {
  Networks nets(*store_);
  auto a = nets.create({.name = "one"});
  ASSERT_TRUE(a) << a.error().what();
  auto b = nets.create({.name = "two"});
  ASSERT_TRUE(b) << b.error().what();
  ASSERT_TRUE(a->subnet && b->subnet);
  EXPECT_FALSE(overlaps(*a->subnet, *b->subnet));
  EXPECT_EQ(a->subnet->addr, firstHost(networkOf(*a->subnet)));  // the gateway is .1
  auto routes = netlink::ipv4Routes();
  ASSERT_TRUE(routes) << routes.error().what();
  for (const auto& r : *routes) {
    if (r.prefix == 0) continue;
    EXPECT_FALSE(overlaps(*a->subnet, {r.dst, r.prefix})) << r.dev;
    EXPECT_FALSE(overlaps(*b->subnet, {r.dst, r.prefix})) << r.dev;
  }
  EXPECT_EQ(a->bridge, "strata-" + a->id.substr(0, 8));
  // They survive a reopen, sorted by name after the predefined ones.
  auto all = Networks(*store_).list();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[3].name, "one");
  EXPECT_EQ((*all)[4].name, "two");
  ASSERT_TRUE(nets.remove(*a));
  EXPECT_FALSE(nets.find("one"));
}

TEST_F(NetworksTest, CreateChecksNameDriverSubnetAndGateway) {
  Networks nets(*store_);
  ASSERT_TRUE(nets.create({.name = "net", .subnet = "10.200.0.0/24", .gateway = "10.200.0.254"}));
  auto got = nets.find("net");
  ASSERT_TRUE(got);
  EXPECT_EQ(formatCidr(*got->subnet), "10.200.0.254/24");
  auto err = [&](NetworkCreate c) { return nets.create(c).error().what(); };
  EXPECT_EQ(err({.name = "net"}), "network with name net already exists");
  EXPECT_EQ(err({.name = "bridge"}), "network with name bridge already exists");
  EXPECT_NE(err({.name = "-bad"}).find("invalid network name"), std::string::npos);
  EXPECT_NE(err({.name = "x", .driver = "overlay"}).find("plugin \"overlay\" not found"), std::string::npos);
  EXPECT_NE(err({.name = "x", .subnet = "10.200.0.128/25"}).find("Pool overlaps"), std::string::npos);
  EXPECT_NE(err({.name = "x", .subnet = "10.201.0.1/24"}).find("host bits"), std::string::npos);
  EXPECT_NE(err({.name = "x", .subnet = "10.201.0.0/24", .gateway = "10.202.0.1"}).find("no matching subnet for gateway"),
            std::string::npos);
  EXPECT_EQ(err({.name = "x", .gateway = "10.1.1.1"}), "--gateway needs a --subnet");
  EXPECT_EQ(err({.name = "x", .subnet = "nope"}), "invalid CIDR address: nope");
  auto all = nets.list();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 4u);  // nothing was added by the failures
}

TEST_F(NetworksTest, TheConfigChoosesTheDefaultBridgeSubnetAndThePools) {
  ASSERT_TRUE(writeFileAtomic(dir_.path() + "/config.json",
                              R"({"bip": "10.210.0.1/24", "default-address-pools": [{"base": "10.220.0.0/16", "size": 24}]})"));
  Networks nets(*store_);
  auto bridge = nets.find("bridge");
  ASSERT_TRUE(bridge);
  auto req = nets.bridgeRequest(*bridge);
  ASSERT_TRUE(req) << req.error().what();
  ASSERT_TRUE(req->subnet);
  EXPECT_EQ(formatCidr(*req->subnet), "10.210.0.1/24");
  auto n = nets.create({.name = "pooled"});
  ASSERT_TRUE(n) << n.error().what();
  EXPECT_EQ(formatCidr(*n->subnet), "10.220.0.1/24");
  auto userReq = nets.bridgeRequest(*n);
  ASSERT_TRUE(userReq);
  EXPECT_TRUE(userReq->namesInHosts);
  ASSERT_TRUE(writeFileAtomic(dir_.path() + "/config.json", R"({"bip": 7})"));
  EXPECT_NE(nets.bridgeRequest(*bridge).error().what().find("\"bip\" must be a string"), std::string::npos);
}

}  // namespace
}  // namespace strata::network
