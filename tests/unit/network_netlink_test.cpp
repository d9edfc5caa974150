// rtnetlink: bridges, veth pairs, addresses and routes made through our own netlink client and
// checked through the kernel's other windows (sysfs, a second namespace). Every root test runs
// in a child with a network namespace of its own, so the host's links are never touched.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "network/netlink.h"
#include "util/child.h"
#include "util/fs.h"

namespace strata::network::netlink {
namespace {

// In a Status function run in a child: fails it, naming the line, the condition and detail.
#define NL_CHECK(cond, detail)                                                                \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      return failInvalid("line " + std::to_string(__LINE__) + ": check failed: " #cond ": " + \
                         std::string(detail));                                                \
    }                                                                                         \
  } while (0)

constexpr uint32_t ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
}

std::string show(const Ipv4Addr& a) {
  return std::to_string(a.addr >> 24) + "." + std::to_string(a.addr >> 16 & 255) + "." +
         std::to_string(a.addr >> 8 & 255) + "." + std::to_string(a.addr & 255) + "/" +
         std::to_string(a.prefix);
}
std::string show(const Route& r) { return show(Ipv4Addr{r.dst, r.prefix}) + " dev " + r.dev; }
std::string show(const std::string& s) { return s; }
template <typename T>
std::string show(const std::vector<T>& v) {
  std::string out = "[";
  for (const auto& x : v) out += (out.size() > 1 ? ", " : "") + show(x);
  return out + "]";
}

template <typename T>
bool contains(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// A call that must fail with errno `code`.
template <typename T>
Status expectErrno(const Result<T>& st, int code, const std::string& call) {
  if (st) return failInvalid(call + " succeeded; expected " + std::strerror(code));
  if (st.error().code() != code) {
    return failInvalid(call + " failed with `" + st.error().what() + "`; expected " +
                       std::strerror(code));
  }
  return {};
}

// The text of /sys/class/net/<rel> without its newline.
Result<std::string> sysNet(const std::string& rel) {
  auto text = TRY(readFile("/sys/class/net/" + rel));
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

Result<std::string> readLink(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  if (n < 0) return failErrno("readlink `" + path + "`");
  return std::string(buf, static_cast<size_t>(n));
}

// Whether /sys/class/net/<rel> reads `want` within 3 seconds. A port's carrier change reaches its
// bridge through the kernel's linkwatch work, which runs at most once a second, so it can lag.
bool sysNetBecomes(const std::string& rel, const std::string& want) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  do {
    if (auto v = sysNet(rel); v && *v == want) return true;
    ::usleep(10000);
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

// The broadcast address of the link's primary IPv4 address, as the old ioctl interface sees it.
Result<uint32_t> broadcastOf(const std::string& name) {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return failErrno("socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFBRDADDR, &ifr) < 0) return failErrno("SIOCGIFBRDADDR " + name);
  sockaddr_in sin{};
  std::memcpy(&sin, &ifr.ifr_broadaddr, sizeof sin);
  return ntohl(sin.sin_addr.s_addr);
}

Result<unsigned long> linkFlags(const std::string& name) {
  return std::stoul(TRY(sysNet(name + "/flags")), nullptr, 16);
}

// sysfs shows the links of the namespace that mounted it: a fresh mount in a private mount
// namespace makes /sys/class/net show ours.
Status remountSysfs() {
  if (::unshare(CLONE_NEWNS) < 0) return failErrno("unshare mount namespace");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) {
    return failErrno("make / private");
  }
  if (::mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) {
    return failErrno("mount sysfs");
  }
  return {};
}

Status runChild(const std::string& what, const std::function<Status()>& body) {
  auto child = TRY(ChildProcess::spawn(what, body));
  TRYV_CTX(child.wait(), what);
  return {};
}

// Runs body in a child with a new network namespace (and sysfs to match).
Status inFreshNetns(const std::function<Status()>& body) {
  return runChild("test child", [&]() -> Status {
    if (::unshare(CLONE_NEWNET) < 0) return failErrno("unshare network namespace");
    TRYV(remountSysfs());
    return body();
  });
}

// Runs body in a child that joined the network namespace of process pid.
Status inNetnsOf(pid_t pid, const std::function<Status()>& body) {
  return runChild("checker in the netns of " + std::to_string(pid), [&]() -> Status {
    auto ns = TRY(openFile("/proc/" + std::to_string(pid) + "/ns/net", O_RDONLY));
    if (::setns(ns.get(), CLONE_NEWNET) < 0) return failErrno("setns");
    TRYV(remountSysfs());
    return body();
  });
}

// A process sitting in a network namespace of its own until it is killed: where createVeth puts
// the peer, as it would a container's init.
struct NetnsHolder {
  ChildProcess process;
  pid_t pid;
};

Result<NetnsHolder> startNetnsHolder() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return failErrno("pipe");
  UniqueFd readyR(p[0]), readyW(p[1]);
  auto child = TRY(ChildProcess::spawn("netns holder", [&]() -> Status {
    if (::unshare(CLONE_NEWNET) < 0) return failErrno("unshare network namespace");
    pid_t self = ::getpid();
    TRYV(writeAll(readyW.get(), &self, sizeof self));
    for (;;) ::pause();
  }));
  readyW.reset();
  pid_t pid = 0;
  if (::read(readyR.get(), &pid, sizeof pid) != sizeof pid) {
    TRYV(child.wait());
    return failInvalid("netns holder did not start");
  }
  return NetnsHolder{std::move(child), pid};
}

// A pid that no process has: a child that was already reaped.
pid_t deadPid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

class NetlinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "creates links in a private network namespace: needs root";
  }
};

TEST(NetlinkNames, InvalidNamesAreRefusedBeforeAskingTheKernel) {
  auto empty = createBridge("");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code(), EINVAL);
  auto longName = createBridge("sixteen-bytes-xx");
  ASSERT_FALSE(longName);
  EXPECT_EQ(longName.error().code(), EINVAL);
  EXPECT_EQ(longName.error().message().rfind("create bridge `sixteen-bytes-xx`", 0), 0u)
      << longName.error().what();
  EXPECT_FALSE(linkExists(""));
}

TEST_F(NetlinkTest, LinkNamesListLoopback) {
  auto st = inFreshNetns([]() -> Status {
    auto names = TRY(linkNames());
    NL_CHECK(contains(names, std::string("lo")), show(names));
    NL_CHECK(!contains(names, std::string("strata0")), show(names));
    TRYV(createBridge("strata0"));
    names = TRY(linkNames());
    NL_CHECK(contains(names, std::string("strata0")), show(names));
    return {};
  });
  ASSERT_TRUE(st) << st.error().what();
}

TEST_F(NetlinkTest, CreateBridgeTwiceFailsWithEexist) {
  auto st = inFreshNetns([]() -> Status {
    NL_CHECK(!linkExists("strata0"), "before");
    TRYV(createBridge("strata0"));
    NL_CHECK(linkExists("strata0"), "after");
    // A bridge, not just any link: sysfs has a bridge/ directory for bridges only.
    NL_CHECK(isDirectory("/sys/class/net/strata0/bridge"), "no bridge/ in sysfs");
    NL_CHECK((TRY(linkFlags("strata0")) & IFF_UP) == 0, "a new bridge is down");
    auto again = createBridge("strata0");
    TRYV(expectErrno(again, EEXIST, "second createBridge"));
    NL_CHECK(again.error().what() == "create bridge `strata0`: File exists", again.error().what());
    return {};
  });
  ASSERT_TRUE(st) << st.error().what();
}

TEST_F(NetlinkTest, SetLinkUpSetsIffUp) {
  auto st = inFreshNetns([]() -> Status {
    TRYV(createBridge("strata0"));
    TRYV(setLinkUp("strata0"));
    auto flags = TRY(linkFlags("strata0"));
    NL_CHECK((flags & IFF_UP) != 0, std::to_string(flags));
    TRYV(setLinkUp("strata0"));  // already up: no change, no error
    auto missing = setLinkUp("strata9");
    TRYV(expectErrno(missing, ENODEV, "setLinkUp of a missing link"));
    NL_CHECK(missing.error().message() == "set link `strata9` up", missing.error().what());
    return {};
  });
  ASSERT_TRUE(st) << st.error().what();
}

TEST_F(NetlinkTest, AddAddressThenAddressesListsIt) {
  auto st = inFreshNetns([]() -> Status {
    TRYV(createBridge("strata0"));
    NL_CHECK(TRY(addresses("strata0")).empty(), "a new bridge has no IPv4 address");
    const Ipv4Addr gateway{ip(172, 30, 0, 1), 16};
    TRYV(addAddress("strata0", gateway));
    auto got = TRY(addresses("strata0"));
    NL_CHECK(got == std::vector<Ipv4Addr>{gateway}, show(got));
    auto broadcast = TRY(broadcastOf("strata0"));
    NL_CHECK(broadcast == ip(172, 30, 255, 255), show(Ipv4Addr{broadcast, 0}));
    TRYV(expectErrno(addAddress("strata0", gateway), EEXIST, "adding the address again"));
    const Ipv4Addr second{ip(10, 66, 5, 9), 24};
    TRYV(addAddress("strata0", second));
    got = TRY(addresses("strata0"));
    NL_CHECK(got.size() == 2 && contains(got, gateway) && contains(got, second), show(got));
    // Only that link's addresses: lo comes up with 127.0.0.1/8, which the kernel adds itself.
    TRYV(setLinkUp("lo"));
    auto lo = TRY(addresses("lo"));
    NL_CHECK(lo == (std::vector<Ipv4Addr>{{ip(127, 0, 0, 1), 8}}), show(lo));
    TRYV(expectErrno(addresses("strata9"), ENODEV, "addresses(missing)"));
    TRYV(expectErrno(addAddress("strata9", gateway), ENODEV, "addAddress(missing)"));
    TRYV(expectErrno(addAddress("strata0", {ip(10, 0, 0, 1), 33}), EINVAL, "prefix 33"));
    return {};
  });
  ASSERT_TRUE(st) << st.error().what();
}

TEST_F(NetlinkTest, ConnectedRouteAppearsWhenBridgeIsUpAndStaysWithoutCarrier) {
  auto st = inFreshNetns([]() -> Status {
    const Route connected{ip(10, 77, 0, 0), 24, "strata0"};
    TRYV(createBridge("strata0"));
    TRYV(addAddress("strata0", {ip(10, 77, 0, 1), 24}));
    auto routes = TRY(ipv4Routes());
    NL_CHECK(!contains(routes, connected), "no route while the link is down: " + show(routes));
    TRYV(setLinkUp("strata0"));
    routes = TRY(ipv4Routes());
    NL_CHECK(contains(routes, connected), show(routes));
    // A bridge that never had a port has carrier; one whose only port has no carrier (a veth
    // whose peer is down) loses it. The route stays (the kernel marks it linkdown).
    NL_CHECK(TRY(sysNet("strata0/carrier")) == "1", "fresh bridge carrier");
    auto holder = TRY(startNetnsHolder());
    TRYV(createVeth("veth-h0", "strata0", "eth0", holder.pid, {2, 0, 0, 0, 0, 1}));
    NL_CHECK(sysNetBecomes("strata0/carrier", "0"), "carrier with a dead port");
    routes = TRY(ipv4Routes());
    NL_CHECK(contains(routes, connected), show(routes));
    // The local table's routes (10.77.0.1 local, broadcast) are not in the main table.
    for (const auto& r : routes) NL_CHECK(r.prefix != 32, show(routes));
    return {};
  });
  ASSERT_TRUE(st) << st.error().what();
}

TEST_F(NetlinkTest, CreateVethPutsPeerIntoTheOtherNamespace) {
  auto st = inFreshNetns([]() -> Status {
    TRYV(createBridge("strata0"));
    TRYV(setLinkUp("strata0"));
    auto holder = TRY(startNetnsHolder());
    const std::array<uint8_t, 6> mac{0x02, 0x42, 0xac, 0x11, 0x00, 0x02};
    TRYV(createVeth("veth-h0", "strata0", "eth0", holder.pid, mac));

    NL_CHECK(linkExists("veth-h0"), "host end");
    NL_CHECK(!linkExists("eth0"), "the peer must not be in our namespace");
    auto master = TRY(readLink("/sys/class/net/veth-h0/master"));
    NL_CHECK(baseName(master) == "strata0", master);
    NL_CHECK(pathExists("/sys/class/net/strata0/brif/veth-h0"), "not a port of the bridge");
    NL_CHECK((TRY(linkFlags("veth-h0")) & IFF_UP) != 0, "host end up");

    TRYV(inNetnsOf(holder.pid, [&]() -> Status {
      NL_CHECK(linkExists("eth0"), "peer in the holder's namespace");
      NL_CHECK(!linkExists("veth-h0") && !linkExists("strata0"), "host links leaked in");
      NL_CHECK(TRY(sysNet("eth0/address")) == "02:42:ac:11:00:02", "peer MAC");
      NL_CHECK((TRY(linkFlags("eth0")) & IFF_UP) == 0, "peer left down");
      auto names = TRY(linkNames());
      NL_CHECK(contains(names, std::string("eth0")) && !contains(names, std::string("veth-h0")),
               show(names));
      return {};
    }));

    TRYV(expectErrno(createVeth("veth-h0", "strata0", "eth1", holder.pid, mac), EEXIST,
                     "createVeth with a taken host name"));
    TRYV(expectErrno(createVeth("veth-h1", "strata0", "eth0", holder.pid, mac), EEXIST,
                     "createVeth with a peer name taken in the other namespace"));
    NL_CHECK(!linkExists("veth-h1"), "half a pair left behind");

    // Deleting either end deletes the pair.
    TRYV(deleteLink("veth-h0"));
    NL_CHECK(!linkExists("veth-h0"), "host end after delete");
    return inNetnsOf(holder.pid, []() -> Status {
      NL_CHECK(!linkExists("eth0"), "peer after deleting the host end");
      return {};
    });
  });
  ASSERT_TRUE(st) << st.error().what();
}

TEST_F(NetlinkTest, CreateVethFailuresLeaveNothingBehind) {
  auto st = inFreshNetns([]() -> Status {
    TRYV(createBridge("strata0"));
    auto holder = TRY(startNetnsHolder());
    const std::array<uint8_t, 6> mac{0x02, 0, 0, 0, 0, 9};
    auto noMaster = createVeth("veth-h0", "strata9", "eth0", holder.pid, mac);
    TRYV(expectErrno(noMaster, ENODEV, "createVeth with a missing master"));
    auto noProcess = createVeth("veth-h0", "strata0", "eth0", deadPid(), mac);
    TRYV(expectErrno(noProcess, ESRCH, "createVeth into a dead process"));
    // A master that is not a bridge (nor a bond): the kernel refuses to enslave.
    auto notBridge = createVeth("veth-h0", "lo", "eth0", holder.pid, mac);
    NL_CHECK(!notBridge, "enslaving to lo succeeded");
    NL_CHECK(!linkExists("veth-h0"), "host end left behind");
    auto names = TRY(linkNames());
    NL_CHECK(!contains(names, std::string("veth-h0")) && !contains(names, std::string("eth0")),
             show(names));
    return inNetnsOf(holder.pid, []() -> Status {
      NL_CHECK(!linkExists("eth0"), "peer left behind");
      return {};
    });
  });
  ASSERT_TRUE(st) << st.error().what();
}

// A dump larger than one datagram (the kernel fills at most 32 KiB each) arrives as a multipart
// series; every part must be read up to NLMSG_DONE.
TEST_F(NetlinkTest, DumpsSpanningManyDatagramsAreComplete) {
  auto st = inFreshNetns([]() -> Status {
    constexpr int kBridges = 64, kAddresses = 600;
    for (int i = 0; i < kBridges; ++i) TRYV(createBridge("strata" + std::to_string(i)));
    auto names = TRY(linkNames());
    NL_CHECK(names.size() >= kBridges + 1, std::to_string(names.size()));
    for (int i = 0; i < kBridges; ++i) {
      NL_CHECK(contains(names, "strata" + std::to_string(i)), std::to_string(i));
    }
    TRYV(setLinkUp("strata0"));
    for (int i = 0; i < kAddresses; ++i) {
      TRYV(addAddress("strata0", {ip(10, 100 + i / 250, i % 250, 1), 24}));
    }
    auto got = TRY(addresses("strata0"));
    NL_CHECK(got.size() == kAddresses, std::to_string(got.size()));
    NL_CHECK(contains(got, Ipv4Addr{ip(10, 102, 99, 1), 24}), "the last address");
    auto routes = TRY(ipv4Routes());
    NL_CHECK(routes.size() == kAddresses, std::to_string(routes.size()));
    NL_CHECK(contains(routes, Route{ip(10, 102, 99, 0), 24, "strata0"}), "the last route");
    return {};
  });
  ASSERT_TRUE(st) << st.error().what();
}

TEST_F(NetlinkTest, DeleteLinkRemovesItAndMissingIsEnodev) {
  auto st = inFreshNetns([]() -> Status {
    TRYV(createBridge("strata0"));
    TRYV(deleteLink("strata0"));
    NL_CHECK(!linkExists("strata0"), "after delete");
    NL_CHECK(!pathExists("/sys/class/net/strata0"), "sysfs still lists it");
    auto again = deleteLink("strata0");
    TRYV(expectErrno(again, ENODEV, "deleting twice"));
    NL_CHECK(again.error().what() == "delete link `strata0`: No such device", again.error().what());
    return {};
  });
  ASSERT_TRUE(st) << st.error().what();
}

}  // namespace
}  // namespace strata::network::netlink
