// The name-service files a bridge member gets, and attach/detach against the real kernel in a
// private network namespace (root only): the bridge and its rules live exactly as long as leases.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include "network/endpoint.h"
#include "network/netlink.h"
#include "util/child.h"
#include "util/fs.h"

namespace strata::network {
namespace {

constexpr uint32_t kGateway = 0xac110001;  // 172.17.0.1

TEST(ResolvConf, KeepsReachableServersAndDropsLoopbackAndIpv6) {
  std::string host = "search example.org\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver fd00::1\noptions ndots:2\n";
  EXPECT_EQ(loopbackResolver(host), std::nullopt);
  EXPECT_EQ(bridgeResolvConf(host, kGateway), "search example.org\nnameserver 10.0.0.2\noptions ndots:2\n");
}

TEST(ResolvConf, OnlyLoopbackServersGoThroughTheGateway) {
  std::string host = "nameserver 127.0.0.53\nnameserver 127.0.0.1\nsearch lan\n";
  ASSERT_TRUE(loopbackResolver(host).has_value());
  EXPECT_EQ(*loopbackResolver(host), 0x7f000035u);
  EXPECT_EQ(bridgeResolvConf(host, kGateway), "search lan\nnameserver 172.17.0.1\n");
}

TEST(ResolvConf, NoServerAtAllFallsBackToPublicOnes) {
  EXPECT_EQ(loopbackResolver("search lan\n"), std::nullopt);
  EXPECT_EQ(bridgeResolvConf("search lan\n", kGateway),
            "search lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n");
}

// Runs body in a child with its own network and mount namespaces (sysfs remounted so
// /sys/class/net shows that namespace) and a private state directory.
void inPrivateNetwork(const std::function<Status()>& body) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (makes bridges in a private network namespace)";
  auto child = ChildProcess::spawn("the network test", [&]() -> Status {
    if (::unshare(CLONE_NEWNET | CLONE_NEWNS) < 0) return failErrno("unshare");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) return failErrno("private mounts");
    if (::mount("sysfs", "/sys", "sysfs", 0, nullptr) < 0) return failErrno("mount sysfs");
    // ip_forward is per namespace; /run/strata/net is replaced by a private one.
    if (::mount("tmpfs", "/run", "tmpfs", 0, nullptr) < 0) return failErrno("mount /run");
    TRYV(netlink::setLinkUp("lo"));
    return body();
  });
  ASSERT_TRUE(child) << child.error().what();
  auto st = child->wait();
  EXPECT_TRUE(st) << st.error().what();
}

#define CHECK(cond) \
  if (!(cond)) return failInvalid(std::string("line ") + std::to_string(__LINE__) + ": " #cond)

TEST(Endpoint, BridgeAndRulesLiveExactlyAsLongAsLeases) {
  inPrivateNetwork([]() -> Status {
    TRYV(mkdirAll("/run/t", 0755));
    TRYV(writeFileAtomic("/run/t/hosts-a", ""));
    TRYV(writeFileAtomic("/run/t/hosts-b", ""));
    BridgeRequest req;
    req.network = "test";
    req.bridge = "strata-t0";
    req.subnet = Ipv4Net{0x0a630001, 24};  // 10.99.0.1/24
    req.namesInHosts = true;
    Endpoint a = TRY(attach(req, {"aaaaaaaaaaaa1", "alpha", "ha", {}, "/run/t/hosts-a"}));
    CHECK(netlink::linkExists("strata-t0"));
    CHECK(a.address == 0x0a630002 && a.gateway == 0x0a630001 && a.prefix == 24);
    CHECK(pathExists("/run/strata/net/strata-t0/bridge.json"));
    Endpoint b = TRY(attach(req, {"bbbbbbbbbbbb1", "beta", "hb", {}, "/run/t/hosts-b"}));
    CHECK(b.address == 0x0a630003);
    TRYV(running(b, ::getpid()));
    std::string hostsA = TRY(readFile("/run/t/hosts-a"));
    CHECK(hostsA.find("10.99.0.3\tbeta") != std::string::npos);
    std::string hostsB = TRY(readFile("/run/t/hosts-b"));
    CHECK(hostsB.find("10.99.0.3\thb\n") != std::string::npos);
    CHECK(hostsB.find("10.99.0.2\talpha") != std::string::npos);
    TRYV(detach(b));
    hostsA = TRY(readFile("/run/t/hosts-a"));
    CHECK(hostsA.find("beta") == std::string::npos);
    CHECK(netlink::linkExists("strata-t0"));
    TRYV(detach(a));
    CHECK(!netlink::linkExists("strata-t0"));
    CHECK(!pathExists("/run/strata/net/strata-t0"));
    return {};
  });
}

TEST(Endpoint, StaleLeasesAreSweptAndOverlappingRoutesRefused) {
  inPrivateNetwork([]() -> Status {
    BridgeRequest req;
    req.network = "test";
    req.bridge = "strata-t1";
    req.subnet = Ipv4Net{0x0a640001, 24};  // 10.100.0.1/24
    Endpoint a = TRY(attach(req, {"c1", "c1", "c1", {}, ""}));
    // A lease whose processes are gone, as a killed monitor leaves it.
    std::string text = TRY(readFile(a.lease));
    auto pos = text.find("\"Owner\":");
    CHECK(pos != std::string::npos);
    text.replace(pos, text.find(',', pos) - pos, "\"Owner\":999999999");
    TRYV(writeFileAtomic(a.lease, text));
    TRYV(sweep());
    CHECK(!netlink::linkExists("strata-t1"));
    CHECK(!pathExists(a.lease));

    // A subnet the host already routes elsewhere is refused and nothing is made.
    TRYV(netlink::createBridge("other0"));
    TRYV(netlink::addAddress("other0", {0x0a650001, 16}));
    TRYV(netlink::setLinkUp("other0"));
    req.bridge = "strata-t2";
    req.subnet = Ipv4Net{0x0a650101, 24};  // 10.101.1.1/24 inside other0's 10.101.0.0/16
    auto refused = attach(req, {"c2", "c2", "c2", {}, ""});
    CHECK(!refused);
    CHECK(refused.error().what().find("overlaps the host's route to 10.101.0.0/16 on other0") != std::string::npos);
    CHECK(!netlink::linkExists("strata-t2"));
    // Without a fixed subnet, a free one of the pools is picked around it.
    req.subnet.reset();
    req.pools = {{{0x0a650000, 16}, 24}, {{0x0a660000, 16}, 24}};
    Endpoint c = TRY(attach(req, {"c3", "c3", "c3", {}, ""}));
    CHECK(c.gateway == 0x0a660001);
    TRYV(detach(c));
    return {};
  });
}

}  // namespace
}  // namespace strata::network
