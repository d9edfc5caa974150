// IPv4 subnets, Docker's address pools and IPAM picks, and Docker's port publishing syntax and
// `ps` PORTS column. Expected values are Docker's observable behaviour: dockerd's list of default
// subnets, docker/cli's PORTS output (including a real Docker 20.10 report, re-bracketed the way
// docker CLI >= 27.2 prints IPv6), and the go-connections/docker CLI error texts.
#include "network/addr.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>

#include "network/ports.h"

namespace strata::network {

// Readable gtest output for the structs under test (internal linkage, found by ADL).
[[maybe_unused]] static void PrintTo(const Ipv4Net& n, std::ostream* os) { *os << formatCidr(n); }
[[maybe_unused]] static void PrintTo(const PortBinding& b, std::ostream* os) {
  *os << "{ip='" << b.hostIp << "' host=" << b.hostPort << "-" << b.hostPortEnd
      << " container=" << b.containerPort << "/" << b.proto << "}";
}

namespace {

uint32_t ip(std::string_view text) {
  auto a = parseIpv4(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(0);
}

Ipv4Net cidr(std::string_view text) {
  auto n = parseCidr(text);
  EXPECT_TRUE(n.has_value()) << text;
  return n.value_or(Ipv4Net{});
}

// ------------------------------------------------------------------------------------ IPv4

TEST(Ipv4, ParsesDottedQuads) {
  EXPECT_EQ(parseIpv4("0.0.0.0"), 0u);
  EXPECT_EQ(parseIpv4("172.17.0.1"), 0xac110001u);
  EXPECT_EQ(parseIpv4("192.168.255.254"), 0xc0a8fffeu);
  EXPECT_EQ(parseIpv4("255.255.255.255"), 0xffffffffu);
  EXPECT_EQ(parseIpv4("10.0.0.0"), 0x0a000000u);
}

TEST(Ipv4, RejectsAnythingButAStrictDottedQuad) {
  for (std::string_view bad :
       {"",         "1.2.3",     "1.2.3.4.5", "256.0.0.1",  "1.2.3.256",  "01.2.3.4", "1.2.3.04",
        "1.2.3.-4", "+1.2.3.4",  " 1.2.3.4",  "1.2.3.4 ",   "1..3.4",     ".1.2.3",   "1.2.3.",
        "a.b.c.d",  "1.2.3.4/8", "1.2.3.0x4", "1000.0.0.1", "0000.0.0.1", "::1",      "1.2.3.4:80"})
    EXPECT_FALSE(parseIpv4(bad).has_value()) << "'" << bad << "'";
}

TEST(Ipv4, FormatsAndRoundTrips) {
  EXPECT_EQ(formatIpv4(0xac110001u), "172.17.0.1");
  EXPECT_EQ(formatIpv4(0), "0.0.0.0");
  EXPECT_EQ(formatIpv4(0xffffffffu), "255.255.255.255");
  for (std::string_view text : {"1.2.3.4", "10.200.0.255", "192.168.16.0"})
    EXPECT_EQ(formatIpv4(ip(text)), text);
}

// ------------------------------------------------------------------------------------ CIDR

TEST(Cidr, ParsesKeepingHostBits) {
  EXPECT_EQ(cidr("172.17.0.0/16"), (Ipv4Net{0xac110000u, 16}));
  EXPECT_EQ(cidr("172.17.0.1/16"), (Ipv4Net{0xac110001u, 16}));
  EXPECT_EQ(cidr("0.0.0.0/0"), (Ipv4Net{0, 0}));
  EXPECT_EQ(cidr("10.1.2.3/32"), (Ipv4Net{0x0a010203u, 32}));
  EXPECT_EQ(formatCidr(cidr("172.17.0.1/16")), "172.17.0.1/16");
  EXPECT_EQ(formatCidr(Ipv4Net{0xc0a81000u, 20}), "192.168.16.0/20");
}

TEST(Cidr, RejectsWithDockersMessage) {
  for (std::string_view bad :
       {"172.17.0.0", "172.17.0.0/33", "172.17.0.0/-1", "172.17.0.0/+8", "172.17.0.0/016",
        "172.17.0.0/", "/16", "172.17.0/16", "::1/128", "172.17.0.0/16/1", "172.17.0.0/1a",
        "172.17.0.0/ 16", "300.0.0.0/8", "", "172.17.0.0/100"}) {
    auto r = parseCidr(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().message(), "invalid CIDR address: " + std::string(bad));
    EXPECT_EQ(r.error().code(), 0);
  }
}

TEST(Cidr, NetmaskForEveryPrefix) {
  EXPECT_EQ(netmask(0), 0u);
  EXPECT_EQ(netmask(1), 0x80000000u);
  EXPECT_EQ(netmask(8), 0xff000000u);
  EXPECT_EQ(netmask(16), 0xffff0000u);
  EXPECT_EQ(netmask(20), 0xfffff000u);
  EXPECT_EQ(netmask(24), 0xffffff00u);
  EXPECT_EQ(netmask(31), 0xfffffffeu);
  EXPECT_EQ(netmask(32), 0xffffffffu);
  EXPECT_EQ(netmask(-1), 0u);
  EXPECT_EQ(netmask(40), 0xffffffffu);
  for (int p = 0; p <= 32; ++p) EXPECT_EQ(__builtin_popcount(netmask(p)), p) << p;
}

TEST(Cidr, NetworkOfClearsHostBits) {
  EXPECT_EQ(networkOf(cidr("172.17.0.1/16")), cidr("172.17.0.0/16"));
  EXPECT_EQ(networkOf(cidr("192.168.31.77/20")), cidr("192.168.16.0/20"));
  EXPECT_EQ(networkOf(cidr("10.1.2.3/0")), cidr("0.0.0.0/0"));
  EXPECT_EQ(networkOf(cidr("10.1.2.3/32")), cidr("10.1.2.3/32"));
}

TEST(Cidr, Overlaps) {
  EXPECT_TRUE(overlaps(cidr("172.17.0.0/16"), cidr("172.17.5.0/24")));
  EXPECT_TRUE(overlaps(cidr("172.17.5.0/24"), cidr("172.17.0.0/16")));
  EXPECT_TRUE(overlaps(cidr("172.17.0.1/16"), cidr("172.17.200.9/24")));  // host bits ignored
  EXPECT_TRUE(overlaps(cidr("10.0.0.0/8"), cidr("10.255.255.255/32")));
  EXPECT_TRUE(overlaps(cidr("0.0.0.0/0"), cidr("192.168.1.0/24")));
  EXPECT_TRUE(overlaps(cidr("172.20.0.0/14"), cidr("172.23.0.0/16")));
  EXPECT_FALSE(overlaps(cidr("172.17.0.0/16"), cidr("172.18.0.0/16")));
  EXPECT_FALSE(overlaps(cidr("192.168.0.0/20"), cidr("192.168.16.0/20")));  // adjacent
  EXPECT_FALSE(overlaps(cidr("172.20.0.0/14"), cidr("172.24.0.0/16")));
  EXPECT_FALSE(overlaps(cidr("10.0.0.1/32"), cidr("10.0.0.2/32")));
}

TEST(Cidr, Contains) {
  EXPECT_TRUE(contains(cidr("172.17.0.0/16"), ip("172.17.0.0")));
  EXPECT_TRUE(contains(cidr("172.17.0.0/16"), ip("172.17.255.255")));
  EXPECT_TRUE(contains(cidr("172.17.0.1/16"), ip("172.17.3.4")));
  EXPECT_FALSE(contains(cidr("172.17.0.0/16"), ip("172.18.0.0")));
  EXPECT_FALSE(contains(cidr("172.17.0.0/16"), ip("172.16.255.255")));
  EXPECT_TRUE(contains(cidr("10.0.0.7/32"), ip("10.0.0.7")));
  EXPECT_FALSE(contains(cidr("10.0.0.7/32"), ip("10.0.0.6")));
  EXPECT_TRUE(contains(cidr("0.0.0.0/0"), ip("255.255.255.255")));
}

// ------------------------------------------------------------------------------ pools, IPAM

std::vector<std::string> expand(const std::vector<Pool>& pools) {
  std::vector<std::string> out;
  for (const Pool& p : pools) {
    Ipv4Net base = networkOf(p.base);
    uint64_t count = uint64_t{1} << (p.size - p.base.prefix);
    for (uint64_t i = 0; i < count; ++i)
      out.push_back(
          formatCidr(Ipv4Net{static_cast<uint32_t>(base.addr + (i << (32 - p.size))), p.size}));
  }
  return out;
}

TEST(Pools, DefaultsAreDockersLocalScopePools) {
  std::vector<Pool> pools = defaultPools();
  ASSERT_EQ(pools.size(), 7u);
  EXPECT_EQ(pools[0], (Pool{cidr("172.17.0.0/16"), 16}));
  EXPECT_EQ(pools[3], (Pool{cidr("172.20.0.0/14"), 16}));
  EXPECT_EQ(pools[5], (Pool{cidr("172.28.0.0/14"), 16}));
  EXPECT_EQ(pools[6], (Pool{cidr("192.168.0.0/16"), 20}));
  // The candidate list dockerd prints when every one is taken ("PredefinedLocalScopeDefaultNetworks
  // List: [...]: no available network").
  const std::vector<std::string> docker = {
      "172.17.0.0/16",    "172.18.0.0/16",    "172.19.0.0/16",    "172.20.0.0/16",
      "172.21.0.0/16",    "172.22.0.0/16",    "172.23.0.0/16",    "172.24.0.0/16",
      "172.25.0.0/16",    "172.26.0.0/16",    "172.27.0.0/16",    "172.28.0.0/16",
      "172.29.0.0/16",    "172.30.0.0/16",    "172.31.0.0/16",    "192.168.0.0/20",
      "192.168.16.0/20",  "192.168.32.0/20",  "192.168.48.0/20",  "192.168.64.0/20",
      "192.168.80.0/20",  "192.168.96.0/20",  "192.168.112.0/20", "192.168.128.0/20",
      "192.168.144.0/20", "192.168.160.0/20", "192.168.176.0/20", "192.168.192.0/20",
      "192.168.208.0/20", "192.168.224.0/20", "192.168.240.0/20"};
  EXPECT_EQ(expand(pools), docker);
}

TEST(PickSubnet, FirstIsTheDefaultBridgeSubnet) {
  EXPECT_EQ(pickSubnet(defaultPools(), {}), cidr("172.17.0.0/16"));
}

TEST(PickSubnet, SkipsEveryCandidateThatOverlapsSomethingTaken) {
  std::vector<Ipv4Net> taken = {cidr("172.17.0.0/16"), cidr("172.18.5.0/24"), cidr("172.19.0.1/16"),
                                cidr("172.20.9.9/32")};
  EXPECT_EQ(pickSubnet(defaultPools(), taken), cidr("172.21.0.0/16"));
}

TEST(PickSubnet, AWideRouteSkipsAWholeRange) {
  // A VPN route for 172.16.0.0/12 takes every 172 candidate.
  EXPECT_EQ(pickSubnet(defaultPools(), {cidr("172.16.0.0/12")}), cidr("192.168.0.0/20"));
  EXPECT_EQ(pickSubnet(defaultPools(), {cidr("172.16.0.0/12"), cidr("192.168.0.0/19")}),
            cidr("192.168.32.0/20"));
}

TEST(PickSubnet, NoneWhenEverythingIsTaken) {
  EXPECT_EQ(pickSubnet(defaultPools(), {cidr("0.0.0.0/0")}), std::nullopt);
  EXPECT_EQ(pickSubnet(defaultPools(), {cidr("172.16.0.0/12"), cidr("192.168.0.0/16")}),
            std::nullopt);
  EXPECT_EQ(pickSubnet({}, {}), std::nullopt);
}

TEST(PickSubnet, CustomPoolsInOrder) {
  // daemon.json {"base":"10.10.0.0/16","size":24}; a base with host bits starts at its network.
  std::vector<Pool> pools = {Pool{cidr("10.10.7.7/16"), 24}};
  EXPECT_EQ(pickSubnet(pools, {}), cidr("10.10.0.0/24"));
  EXPECT_EQ(pickSubnet(pools, {cidr("10.10.0.0/23")}), cidr("10.10.2.0/24"));
  // A pool whose size is wider than its base yields nothing; the next pool is used.
  pools = {Pool{cidr("10.10.0.0/16"), 8}, Pool{cidr("10.20.0.0/16"), 28}};
  EXPECT_EQ(pickSubnet(pools, {}), cidr("10.20.0.0/28"));
  // The last candidate of 10.0.0.0/8 in /30s, found without walking four million candidates.
  pools = {Pool{cidr("10.0.0.0/8"), 30}};
  std::vector<Ipv4Net> taken = {
      cidr("10.0.0.0/9"),        cidr("10.128.0.0/10"),     cidr("10.192.0.0/11"),
      cidr("10.224.0.0/12"),     cidr("10.240.0.0/13"),     cidr("10.248.0.0/14"),
      cidr("10.252.0.0/15"),     cidr("10.254.0.0/16"),     cidr("10.255.0.0/17"),
      cidr("10.255.128.0/18"),   cidr("10.255.192.0/19"),   cidr("10.255.224.0/20"),
      cidr("10.255.240.0/21"),   cidr("10.255.248.0/22"),   cidr("10.255.252.0/23"),
      cidr("10.255.254.0/24"),   cidr("10.255.255.0/25"),   cidr("10.255.255.128/26"),
      cidr("10.255.255.192/27"), cidr("10.255.255.224/28"), cidr("10.255.255.240/29"),
      cidr("10.255.255.248/30")};
  EXPECT_EQ(pickSubnet(pools, taken), cidr("10.255.255.252/30"));
  taken.push_back(cidr("10.255.255.254/32"));  // narrower than a candidate: still overlaps
  EXPECT_EQ(pickSubnet(pools, taken), std::nullopt);
}

TEST(PickSubnet, EndOfAddressSpaceDoesNotWrap) {
  std::vector<Pool> pools = {Pool{cidr("255.255.255.0/24"), 25}};
  EXPECT_EQ(pickSubnet(pools, {cidr("255.255.255.0/25")}), cidr("255.255.255.128/25"));
  EXPECT_EQ(pickSubnet(pools, {cidr("255.255.255.0/24")}), std::nullopt);
  EXPECT_EQ(pickSubnet({Pool{cidr("0.0.0.0/0"), 1}}, {cidr("0.0.0.0/1")}), cidr("128.0.0.0/1"));
}

TEST(Ipam, FirstHostIsTheConventionalGateway) {
  EXPECT_EQ(formatIpv4(firstHost(cidr("172.17.0.0/16"))), "172.17.0.1");
  EXPECT_EQ(formatIpv4(firstHost(cidr("172.17.0.42/16"))), "172.17.0.1");
  EXPECT_EQ(formatIpv4(firstHost(cidr("192.168.16.0/20"))), "192.168.16.1");
  EXPECT_EQ(formatIpv4(firstHost(cidr("10.0.0.0/31"))), "10.0.0.1");
  EXPECT_EQ(formatIpv4(firstHost(cidr("10.0.0.9/32"))), "10.0.0.9");
}

TEST(Ipam, PickAddressSkipsNetworkGatewayUsedAndBroadcast) {
  Ipv4Net net = cidr("172.17.0.0/16");
  uint32_t gw = firstHost(net);
  EXPECT_EQ(pickAddress(net, gw, {}), ip("172.17.0.2"));
  EXPECT_EQ(pickAddress(net, gw, {ip("172.17.0.2"), ip("172.17.0.3")}), ip("172.17.0.4"));
  EXPECT_EQ(pickAddress(net, gw, {ip("172.17.0.3")}), ip("172.17.0.2"));  // fills holes
  // A gateway elsewhere leaves .1 free.
  EXPECT_EQ(pickAddress(cidr("10.0.0.0/24"), ip("10.0.0.254"), {}), ip("10.0.0.1"));
  // /30: .0 network, .1 gateway, .2 host, .3 broadcast.
  EXPECT_EQ(pickAddress(cidr("10.0.0.0/30"), ip("10.0.0.1"), {}), ip("10.0.0.2"));
  EXPECT_EQ(pickAddress(cidr("10.0.0.0/30"), ip("10.0.0.1"), {ip("10.0.0.2")}), std::nullopt);
}

TEST(Ipam, PickAddressFullSubnet) {
  Ipv4Net net = cidr("192.168.5.0/24");
  std::set<uint32_t> used;
  for (uint32_t a = ip("192.168.5.2"); a <= ip("192.168.5.253"); ++a) used.insert(a);
  EXPECT_EQ(pickAddress(net, ip("192.168.5.1"), used), ip("192.168.5.254"));
  used.insert(ip("192.168.5.254"));
  EXPECT_EQ(pickAddress(net, ip("192.168.5.1"), used), std::nullopt);
}

TEST(Ipam, PointToPointSubnetsHaveNoNetworkOrBroadcastAddress) {
  EXPECT_EQ(pickAddress(cidr("10.0.0.0/31"), ip("10.0.0.1"), {}), ip("10.0.0.0"));
  EXPECT_EQ(pickAddress(cidr("10.0.0.0/31"), ip("10.0.0.1"), {ip("10.0.0.0")}), std::nullopt);
  EXPECT_EQ(pickAddress(cidr("10.0.0.5/32"), 0, {}), ip("10.0.0.5"));
  EXPECT_EQ(pickAddress(cidr("255.255.255.255/32"), 0, {}), ip("255.255.255.255"));
}

TEST(Mac, DockerStyleFromIpv4) {
  auto mac = macFor(ip("172.17.0.2"));
  EXPECT_EQ(mac, (std::array<uint8_t, 6>{0x02, 0x42, 0xac, 0x11, 0x00, 0x02}));
  EXPECT_EQ(formatMac(mac), "02:42:ac:11:00:02");
  EXPECT_EQ(formatMac(macFor(ip("192.168.255.254"))), "02:42:c0:a8:ff:fe");
  EXPECT_EQ(formatMac(macFor(0)), "02:42:00:00:00:00");
}

// ------------------------------------------------------------------------------------ IPv6

std::string v6(std::string_view text) {
  auto a = parseIpv6(text);
  return a ? formatIpv6(*a) : "<invalid>";
}

TEST(Ipv6, ParsesGoForms) {
  auto a = parseIpv6("2001:db8::1");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(*a,
            (std::array<uint8_t, 16>{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  auto mapped = parseIpv6("::ffff:1.2.3.4");
  ASSERT_TRUE(mapped.has_value());
  EXPECT_EQ(*mapped,
            (std::array<uint8_t, 16>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4}));
  EXPECT_EQ(parseIpv6("::"), (std::array<uint8_t, 16>{}));
  EXPECT_EQ(v6("::1"), "::1");
  EXPECT_EQ(v6("1::"), "1::");
  EXPECT_EQ(v6("1:2:3:4:5:6:7:8"), "1:2:3:4:5:6:7:8");
  EXPECT_EQ(v6("1:2:3:4:5:6:1.2.3.4"), "1:2:3:4:5:6:102:304");
  EXPECT_EQ(v6("FE80::A"), "fe80::a");
  EXPECT_EQ(v6("0000:0000:0000:0000:0000:0000:0000:0001"), "::1");
  EXPECT_EQ(v6("1::2:3"), "1::2:3");
}

TEST(Ipv6, RejectsMalformed) {
  for (std::string_view bad : {"",
                               ":",
                               ":::",
                               "1::2::3",
                               "1:2:3:4:5:6:7:8:9",
                               "1:2:3:4:5:6:7",
                               "12345::",
                               "::g",
                               "1:2:3:4:5:6:7::8",
                               "::1.2.3",
                               "1.2.3.4::",
                               "::1.2.3.4:5",
                               "fe80::1%eth0",
                               "[::1]",
                               "1.2.3.4",
                               ":1::",
                               "1::2:",
                               "::01.2.3.4",
                               "1:2:3:4:5:1.2.3.4",
                               " ::1"})
    EXPECT_FALSE(parseIpv6(bad).has_value()) << "'" << bad << "'";
}

TEST(Ipv6, FormatsLikeGo) {
  EXPECT_EQ(v6("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");  // first of two equal runs
  EXPECT_EQ(v6("2001:0:0:1:0:0:0:1"), "2001:0:0:1::1");        // the longest run
  EXPECT_EQ(v6("1:0:2:3:4:5:6:7"), "1:0:2:3:4:5:6:7");         // a lone zero stays
  EXPECT_EQ(v6("0:0:0:0:0:0:0:0"), "::");
  EXPECT_EQ(v6("::ffff:10.0.0.1"), "::ffff:10.0.0.1");
  EXPECT_EQ(v6("::1.2.3.4"), "::102:304");
  EXPECT_EQ(v6("1:0:0:0:0:0:0:0"), "1::");
}

// ---------------------------------------------------------------------------- parsePublish

PortBinding bind(std::string hostIp, uint16_t host, uint16_t hostEnd, uint16_t container,
                 std::string proto = "tcp") {
  return PortBinding{std::move(hostIp), host, hostEnd, container, std::move(proto)};
}

struct PublishCase {
  std::string spec;
  std::vector<PortBinding> want;
};

class PublishForms : public ::testing::TestWithParam<PublishCase> {};

TEST_P(PublishForms, Parses) {
  const PublishCase& c = GetParam();
  auto r = parsePublish(c.spec);
  ASSERT_TRUE(r.has_value()) << c.spec << ": " << r.error().message();
  EXPECT_EQ(*r, c.want) << c.spec;
}

INSTANTIATE_TEST_SUITE_P(
    Docker, PublishForms,
    ::testing::Values(
        PublishCase{"80", {bind("", 0, 0, 80)}}, PublishCase{"8080:80", {bind("", 8080, 8080, 80)}},
        PublishCase{"127.0.0.1:8080:80", {bind("127.0.0.1", 8080, 8080, 80)}},
        PublishCase{"127.0.0.1::80", {bind("127.0.0.1", 0, 0, 80)}},
        PublishCase{"[::1]:8080:80", {bind("::1", 8080, 8080, 80)}},
        PublishCase{"::1:8080:80", {bind("::1", 8080, 8080, 80)}},
        PublishCase{"[::]::80", {bind("::", 0, 0, 80)}},
        PublishCase{"[0:0:0:0:0:0:0:1]:8080:80", {bind("::1", 8080, 8080, 80)}},
        PublishCase{"[1.2.3.4]:8080:80", {bind("1.2.3.4", 8080, 8080, 80)}},
        PublishCase{"8000-8001:80-81", {bind("", 8000, 8000, 80), bind("", 8001, 8001, 81)}},
        PublishCase{"8000-8010:80", {bind("", 8000, 8010, 80)}},
        PublishCase{"8000-8000:80", {bind("", 8000, 8000, 80)}},
        PublishCase{"80-82", {bind("", 0, 0, 80), bind("", 0, 0, 81), bind("", 0, 0, 82)}},
        PublishCase{
            "127.0.0.1:8000-8001:80-81/udp",
            {bind("127.0.0.1", 8000, 8000, 80, "udp"), bind("127.0.0.1", 8001, 8001, 81, "udp")}},
        PublishCase{"80/udp", {bind("", 0, 0, 80, "udp")}},
        PublishCase{"8080:80/tcp", {bind("", 8080, 8080, 80)}},
        PublishCase{"53:53/UDP", {bind("", 53, 53, 53, "udp")}},
        PublishCase{"9:9/sctp", {bind("", 9, 9, 9, "sctp")}},
        PublishCase{"80/", {bind("", 0, 0, 80)}}, PublishCase{":80", {bind("", 0, 0, 80)}},
        PublishCase{"0:80", {bind("", 0, 0, 80)}},
        PublishCase{"08080:080", {bind("", 8080, 8080, 80)}},
        PublishCase{"65535:65535", {bind("", 65535, 65535, 65535)}},
        PublishCase{"published=8080,target=80", {bind("", 8080, 8080, 80)}},
        PublishCase{"target=53,published=5353,protocol=udp,mode=host",
                    {bind("", 5353, 5353, 53, "udp")}},
        PublishCase{"target=80", {bind("", 0, 0, 80)}}));

struct PublishError {
  std::string spec;
  std::string message;
};

class PublishErrors : public ::testing::TestWithParam<PublishError> {};

TEST_P(PublishErrors, FailsLikeDocker) {
  const PublishError& c = GetParam();
  auto r = parsePublish(c.spec);
  ASSERT_FALSE(r.has_value()) << c.spec;
  EXPECT_EQ(r.error().message(), c.message) << c.spec;
  EXPECT_EQ(r.error().code(), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Docker, PublishErrors,
    ::testing::Values(
        PublishError{"", "no port specified: <empty>"},
        PublishError{"8080:", "no port specified: 8080:<empty>"},
        PublishError{"/udp", "no port specified: /udp<empty>"},
        PublishError{"80/http", "invalid proto: http"},
        PublishError{"80/UDPX", "invalid proto: udpx"},
        PublishError{"localhost:8080:80", "invalid IP address: localhost"},
        PublishError{"1.2.3:8080:80", "invalid IP address: 1.2.3"},
        PublishError{"[::1:8080:80", "invalid IP address: [::1"},
        PublishError{"[::1]x:8080:80", "invalid IP address: [::1]x"},
        PublishError{"fe80::1%eth0:8080:80", "invalid IP address: fe80::1%eth0"},
        PublishError{"a:b:8080:80", "invalid IP address: a:b"},
        PublishError{"8080:abc", "invalid containerPort: abc"},
        PublishError{"8080:0", "invalid containerPort: 0"},
        PublishError{"8080:65536", "invalid containerPort: 65536"},
        PublishError{"8080:-80", "invalid containerPort: -80"},
        PublishError{"8080:+80", "invalid containerPort: +80"},
        PublishError{"90-80", "invalid containerPort: 90-80"},
        PublishError{"80-81-82", "invalid containerPort: 80-81-82"},
        PublishError{"80-", "invalid containerPort: 80-"},
        PublishError{"abc:80", "invalid hostPort: abc"},
        PublishError{"70000:80", "invalid hostPort: 70000"},
        PublishError{"8010-8000:80", "invalid hostPort: 8010-8000"},
        PublishError{"8000-8002:80-81",
                     "invalid ranges specified for container and host Ports: 80-81 and 8000-8002"},
        PublishError{"8000:80-81",
                     "invalid ranges specified for container and host Ports: 80-81 and 8000"},
        // Docker checks in this order: port present, protocol, address, container, host.
        PublishError{"bad:abc:def/http", "invalid proto: http"},
        PublishError{"bad:abc:def", "invalid IP address: bad"},
        PublishError{"abc:def", "invalid containerPort: def"},
        // The long form is rewritten first, so its errors name the short form.
        PublishError{"published=8080", "no port specified: 8080:/tcp<empty>"},
        PublishError{"target=80,protocol=icmp", "invalid proto: icmp"},
        PublishError{"target=80,bogus",
                     "invalid publish opts format (should be name=value but got 'bogus')"},
        PublishError{"=80", "invalid publish opts format (should be name=value but got '=80')"},
        PublishError{"target=80,",
                     "invalid publish opts format (should be name=value but got '')"}));

// --------------------------------------------------------------------------- parsePortProto

TEST(PortProto, ParsesAndExpands) {
  using V = std::vector<std::pair<uint16_t, std::string>>;
  auto parse = [](std::string_view s) {
    auto r = parsePortProto(s);
    EXPECT_TRUE(r.has_value()) << s << ": " << (r ? "" : r.error().message());
    return r.value_or(V{});
  };
  EXPECT_EQ(parse("80"), (V{{80, "tcp"}}));
  EXPECT_EQ(parse("80/tcp"), (V{{80, "tcp"}}));
  EXPECT_EQ(parse("53/udp"), (V{{53, "udp"}}));
  EXPECT_EQ(parse("53/UDP"), (V{{53, "udp"}}));
  EXPECT_EQ(parse("9/sctp"), (V{{9, "sctp"}}));
  EXPECT_EQ(parse("080"), (V{{80, "tcp"}}));
  EXPECT_EQ(parse("65535"), (V{{65535, "tcp"}}));
  EXPECT_EQ(parse("8000-8002"), (V{{8000, "tcp"}, {8001, "tcp"}, {8002, "tcp"}}));
  EXPECT_EQ(parse("8000-8001/udp"), (V{{8000, "udp"}, {8001, "udp"}}));
  EXPECT_EQ(parse("7-7"), (V{{7, "tcp"}}));
}

TEST(PortProto, Errors) {
  auto message = [](std::string_view s) {
    auto r = parsePortProto(s);
    EXPECT_FALSE(r.has_value()) << s;
    return r ? std::string("<ok>") : r.error().message();
  };
  EXPECT_EQ(message(""), "invalid port: ");
  EXPECT_EQ(message("/udp"), "invalid port: /udp");
  EXPECT_EQ(message("abc"), "invalid port: abc");
  EXPECT_EQ(message("0"), "invalid port: 0");
  EXPECT_EQ(message("65536"), "invalid port: 65536");
  EXPECT_EQ(message("-80"), "invalid port: -80");
  EXPECT_EQ(message("80-81-82"), "invalid port: 80-81-82");
  EXPECT_EQ(message("8002-8000"), "invalid range specified for port: 8002-8000");
  EXPECT_EQ(message("80/icmp"), "invalid proto: icmp");
  EXPECT_EQ(message("8080:80"), "invalid port format: 8080:80");
}

// ------------------------------------------------------------------------ formatPortsColumn

PublishedPort exposed(uint16_t port, std::string proto = "tcp") {
  return PublishedPort{port, std::move(proto), "", 0};
}
PublishedPort pub(std::string hostIp, uint16_t host, uint16_t container,
                  std::string proto = "tcp") {
  return PublishedPort{container, std::move(proto), std::move(hostIp), host};
}

TEST(PortsColumn, Basics) {
  EXPECT_EQ(formatPortsColumn({}), "");
  EXPECT_EQ(formatPortsColumn({exposed(9988)}), "9988/tcp");
  EXPECT_EQ(formatPortsColumn({exposed(9988, "udp")}), "9988/udp");
  EXPECT_EQ(formatPortsColumn({pub("4.3.2.1", 8899, 9988)}), "4.3.2.1:8899->9988/tcp");
  EXPECT_EQ(formatPortsColumn({pub("4.3.2.1", 9988, 9988)}), "4.3.2.1:9988->9988/tcp");
  // An address decides "published"; a host port without one shows as exposed.
  EXPECT_EQ(formatPortsColumn({pub("0.0.0.0", 0, 9988)}), "0.0.0.0:0->9988/tcp");
  EXPECT_EQ(formatPortsColumn({pub("::", 0, 9988)}), "[::]:0->9988/tcp");
  EXPECT_EQ(formatPortsColumn({pub("", 8899, 9988)}), "9988/tcp");
  EXPECT_EQ(formatPortsColumn({exposed(9988, "udp"), exposed(9988, "udp")}), "9988/udp, 9988/udp");
}

TEST(PortsColumn, DualStackPublishBracketsIpv6) {
  // docker run -p 8080:80: the daemon reports a binding per address family.
  EXPECT_EQ(formatPortsColumn({pub("::", 8080, 80), pub("0.0.0.0", 8080, 80)}),
            "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp");
  EXPECT_EQ(formatPortsColumn({pub("0:0:0:0:0:0:0:1", 8080, 80)}), "[::1]:8080->80/tcp");
}

TEST(PortsColumn, FoldsRunsOnlyWhereHostPortEqualsContainerPort) {
  // -p 8000-8001:8000-8001
  EXPECT_EQ(formatPortsColumn({pub("0.0.0.0", 8000, 8000), pub("0.0.0.0", 8001, 8001),
                               pub("::", 8000, 8000), pub("::", 8001, 8001)}),
            "0.0.0.0:8000-8001->8000-8001/tcp, [::]:8000-8001->8000-8001/tcp");
  EXPECT_EQ(formatPortsColumn({pub("::1", 9998, 9998, "udp"), pub("::1", 9999, 9999, "udp")}),
            "[::1]:9998-9999->9998-9999/udp");
  // -p 8000-8001:80-81: not folded, sorted by container port, then address.
  EXPECT_EQ(formatPortsColumn({pub("0.0.0.0", 8000, 80), pub("0.0.0.0", 8001, 81),
                               pub("::", 8000, 80), pub("::", 8001, 81)}),
            "0.0.0.0:8000->80/tcp, [::]:8000->80/tcp, 0.0.0.0:8001->81/tcp, [::]:8001->81/tcp");
  // Exposed ranges fold per protocol.
  EXPECT_EQ(formatPortsColumn({exposed(81, "udp"), exposed(80), exposed(81), exposed(80, "udp")}),
            "80-81/tcp, 80-81/udp");
  EXPECT_EQ(formatPortsColumn({exposed(8002, "udp"), exposed(8000, "udp"), exposed(8001, "udp"),
                               exposed(9000, "udp")}),
            "8000-8002/udp, 9000/udp");
}

TEST(PortsColumn, MappingsToOtherHostPortsComeLast) {
  EXPECT_EQ(formatPortsColumn({pub("1.2.3.4", 7766, 6677), exposed(9988, "udp")}),
            "9988/udp, 1.2.3.4:7766->6677/tcp");
  EXPECT_EQ(formatPortsColumn({pub("1.2.3.4", 8899, 9988, "udp"), pub("1.2.3.4", 8899, 9988),
                               pub("4.3.2.1", 3322, 2233), pub("::1", 3322, 2233)}),
            "4.3.2.1:3322->2233/tcp, [::1]:3322->2233/tcp, 1.2.3.4:8899->9988/tcp, "
            "1.2.3.4:8899->9988/udp");
}

TEST(PortsColumn, AddressesSortNumericallyIpv4First) {
  EXPECT_EQ(
      formatPortsColumn({pub("::", 8080, 80), pub("10.0.0.1", 8080, 80), pub("9.0.0.1", 8080, 80)}),
      "9.0.0.1:8080->80/tcp, 10.0.0.1:8080->80/tcp, [::]:8080->80/tcp");
}

// A Docker 20.10.8 `docker container ls` line reported in docker/for-linux#1302: exposed 443, 1443,
// 2320, 8080 and -p 80:80 -p 8020:8020 -p 9000:9000 on both families. A run broken by a gap is
// printed at once; the key's newest run prints at the end in first-seen key order. 20.10 wrote
// ":::80"; current Docker writes "[::]:80".
TEST(PortsColumn, ReproducesARealDockerLine) {
  std::vector<PublishedPort> ports = {exposed(443),
                                      exposed(1443),
                                      exposed(2320),
                                      exposed(8080),
                                      pub("0.0.0.0", 80, 80),
                                      pub("::", 80, 80),
                                      pub("0.0.0.0", 8020, 8020),
                                      pub("::", 8020, 8020),
                                      pub("0.0.0.0", 9000, 9000),
                                      pub("::", 9000, 9000)};
  const std::string want =
      "443/tcp, 1443/tcp, 0.0.0.0:80->80/tcp, [::]:80->80/tcp, 2320/tcp, "
      "0.0.0.0:8020->8020/tcp, [::]:8020->8020/tcp, 0.0.0.0:9000->9000/tcp, "
      "[::]:9000->9000/tcp, 8080/tcp";
  EXPECT_EQ(formatPortsColumn(ports), want);
  // Input order does not matter.
  std::reverse(ports.begin(), ports.end());
  EXPECT_EQ(formatPortsColumn(ports), want);
  std::rotate(ports.begin(), ports.begin() + 3, ports.end());
  EXPECT_EQ(formatPortsColumn(ports), want);
}

TEST(PortsColumn, ManyProtocolsAndAddresses) {
  std::vector<PublishedPort> ports = {exposed(80),
                                      exposed(1024),
                                      exposed(80, "udp"),
                                      exposed(1024, "udp"),
                                      pub("1.1.1.1", 80, 1024),
                                      pub("1.1.1.1", 80, 1024, "udp"),
                                      pub("1.1.1.1", 1024, 80),
                                      pub("1.1.1.1", 1024, 80, "udp"),
                                      pub("2.1.1.1", 80, 1024),
                                      pub("2.1.1.1", 1024, 80, "udp"),
                                      exposed(12345, "sctp")};
  EXPECT_EQ(formatPortsColumn(ports),
            "80/tcp, 80/udp, 1024/tcp, 1024/udp, 12345/sctp, 1.1.1.1:1024->80/tcp, "
            "1.1.1.1:1024->80/udp, 2.1.1.1:1024->80/udp, 1.1.1.1:80->1024/tcp, "
            "1.1.1.1:80->1024/udp, 2.1.1.1:80->1024/tcp");
}

TEST(PortsColumn, FromParsedPublishSpecs) {
  // What ps shows after `run -p 8000-8001:8000-8001 -p 127.0.0.1:5353:53/udp --expose 9000`
  // once the daemon has bound both families for the unaddressed spec.
  std::vector<PublishedPort> ports;
  for (std::string_view spec : {"8000-8001:8000-8001", "127.0.0.1:5353:53/udp"}) {
    auto bindings = parsePublish(spec);
    ASSERT_TRUE(bindings.has_value()) << spec;
    for (const PortBinding& b : *bindings) {
      if (b.hostIp.empty()) {
        ports.push_back(pub("0.0.0.0", b.hostPort, b.containerPort, b.proto));
        ports.push_back(pub("::", b.hostPort, b.containerPort, b.proto));
      } else {
        ports.push_back(pub(b.hostIp, b.hostPort, b.containerPort, b.proto));
      }
    }
  }
  auto expose = parsePortProto("9000");
  ASSERT_TRUE(expose.has_value());
  for (const auto& [port, proto] : *expose) ports.push_back(exposed(port, proto));
  EXPECT_EQ(formatPortsColumn(ports),
            "0.0.0.0:8000-8001->8000-8001/tcp, [::]:8000-8001->8000-8001/tcp, 9000/tcp, "
            "127.0.0.1:5353->53/udp");
}

}  // namespace
}  // namespace strata::network
