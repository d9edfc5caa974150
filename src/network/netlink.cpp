#include "network/netlink.h"

#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <optional>
#include <span>

#include "util/fd.h"

namespace strata::network::netlink {
namespace {

using Bytes = std::span<const std::byte>;
// Called with the type and payload of each reply that is not an acknowledgement.
using ReplyFn = std::function<void(uint16_t type, Bytes payload)>;

// Larger than any datagram the kernel sends us: it caps a dump's datagrams at 32 KiB.
constexpr size_t kReceiveBufferSize = 64 * 1024;

// A T copied from b at offset, when b is long enough. Copying avoids unaligned access.
template <typename T>
std::optional<T> readAt(Bytes b, size_t offset = 0) {
  if (offset > b.size() || b.size() - offset < sizeof(T)) return std::nullopt;
  T v;
  std::memcpy(&v, b.data() + offset, sizeof(T));
  return v;
}

// Calls f(type, payload) for each attribute in b; stops at a malformed one.
template <typename F>
void forEachAttr(Bytes b, F&& f) {
  size_t off = 0;
  while (auto a = readAt<nlattr>(b, off)) {
    if (a->nla_len < NLA_HDRLEN || a->nla_len > b.size() - off) return;
    f(static_cast<uint16_t>(a->nla_type & NLA_TYPE_MASK),
      b.subspan(off + NLA_HDRLEN, a->nla_len - NLA_HDRLEN));
    off += NLA_ALIGN(a->nla_len);
  }
}

std::string attrString(Bytes p) {
  std::string s(reinterpret_cast<const char*>(p.data()), p.size());
  return s.substr(0, s.find('\0'));
}

uint32_t attrU32(Bytes p) { return readAt<uint32_t>(p).value_or(0); }

std::string formatAddr(Ipv4Addr a) {
  uint32_t net = htonl(a.addr);
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &net, text, sizeof text);
  return std::string(text) + "/" + std::to_string(a.prefix);
}

Status checkName(const std::string& name, const std::string& what) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return fail(Error(EINVAL, what + ": an interface name has 1 to 15 bytes"));
  }
  return {};
}

// A request under construction: the netlink header, the family header (ifinfomsg, ...), then
// attributes, each padded to 4 bytes. Nests are opened with beginNest and closed with endNest.
class Request {
 public:
  Request(uint16_t type, uint16_t flags) : buf_(NLMSG_HDRLEN) {
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = static_cast<uint16_t>(flags | NLM_F_REQUEST | NLM_F_ACK);
    std::memcpy(buf_.data(), &h, sizeof h);
  }

  template <typename T>
  void append(const T& v) {
    appendPadded(&v, sizeof v);
  }
  void attr(uint16_t type, const void* data, size_t len) {
    nlattr a{static_cast<uint16_t>(NLA_HDRLEN + len), type};
    appendPadded(&a, sizeof a);
    appendPadded(data, len);
  }
  void attr(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
  void attrU32(uint16_t type, uint32_t v) { attr(type, &v, sizeof v); }

  size_t beginNest(uint16_t type) {
    size_t at = buf_.size();
    attr(type, nullptr, 0);
    return at;
  }
  void endNest(size_t at) {
    auto len = static_cast<uint16_t>(buf_.size() - at);
    std::memcpy(buf_.data() + at + offsetof(nlattr, nla_len), &len, sizeof len);
  }

  // The finished message carrying sequence number seq.
  Bytes finish(uint32_t seq) {
    auto len = static_cast<uint32_t>(buf_.size());
    std::memcpy(buf_.data() + offsetof(nlmsghdr, nlmsg_len), &len, sizeof len);
    std::memcpy(buf_.data() + offsetof(nlmsghdr, nlmsg_seq), &seq, sizeof seq);
    return buf_;
  }

 private:
  void appendPadded(const void* p, size_t n) {
    size_t at = buf_.size();
    buf_.resize(at + NLMSG_ALIGN(n));
    if (n > 0) std::memcpy(buf_.data() + at, p, n);
  }

  std::vector<std::byte> buf_;
};

// The error an NLMSG_ERROR message carries, nullopt for an acknowledgement. The kernel's
// extended-ack text, when it sent one, is appended to `what`.
std::optional<Error> ackError(uint16_t flags, Bytes payload, const std::string& what) {
  auto err = readAt<nlmsgerr>(payload);
  if (!err) return Error(EPROTO, what + ": truncated netlink error message");
  if (err->error == 0) return std::nullopt;
  std::string message = what;
  if (flags & NLM_F_ACK_TLVS) {
    // The TLVs follow the echoed request, which is only its header when the kernel capped it.
    size_t off =
        (flags & NLM_F_CAPPED) ? sizeof(nlmsgerr) : sizeof(int) + NLMSG_ALIGN(err->msg.nlmsg_len);
    if (off <= payload.size()) {
      forEachAttr(payload.subspan(off), [&](uint16_t type, Bytes p) {
        if (type == NLMSGERR_ATTR_MSG) message += ": " + attrString(p);
      });
    }
  }
  return Error(-err->error, message);
}

// One NETLINK_ROUTE socket speaking to the kernel, one request at a time.
class Socket {
 public:
  static Result<Socket> open() {
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd) return failErrno("open rtnetlink socket");
    // Short acknowledgements (no echo of our request), with the kernel's reason on a refusal.
    // Both are best effort: older kernels lack them and errors still come with an errno.
    int one = 1;
    (void)::setsockopt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    (void)::setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    return Socket(std::move(fd));
  }

  // Sends req and reads replies until the kernel's acknowledgement (or, for a dump, NLMSG_DONE),
  // passing every other message to onReply. A refusal becomes an Error with the kernel's errno,
  // its message `what`.
  Status exchange(Request& req, const std::string& what, const ReplyFn& onReply = nullptr) {
    uint32_t seq = ++seq_;
    Bytes msg = req.finish(seq);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    ssize_t n = ::sendto(fd_.get(), msg.data(), msg.size(), 0,
                         reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel);
    if (n < 0) return failErrno(what + ": send netlink request");
    if (static_cast<size_t>(n) != msg.size()) return failInvalid(what + ": short netlink send");
    for (;;) {
      Bytes datagram = TRY(receive(what));
      if (TRY(dispatch(datagram, seq, what, onReply))) return {};
    }
  }

 private:
  explicit Socket(UniqueFd fd)
      : fd_(std::move(fd)),
        seq_(static_cast<uint32_t>(::time(nullptr))),
        buf_(kReceiveBufferSize) {}

  // The next datagram from the kernel; datagrams from other senders are dropped.
  Result<Bytes> receive(const std::string& what) {
    for (;;) {
      sockaddr_nl from{};
      iovec iov{buf_.data(), buf_.size()};
      msghdr mh{};
      mh.msg_name = &from;
      mh.msg_namelen = sizeof from;
      mh.msg_iov = &iov;
      mh.msg_iovlen = 1;
      ssize_t n = ::recvmsg(fd_.get(), &mh, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return failErrno(what + ": receive netlink reply");
      if (mh.msg_flags & MSG_TRUNC)
        return fail(Error(EMSGSIZE, what + ": netlink reply truncated"));
      if (from.nl_pid != 0) continue;
      return Bytes(buf_.data(), static_cast<size_t>(n));
    }
  }

  // Handles the messages of one datagram; true when the exchange is over.
  Result<bool> dispatch(Bytes datagram, uint32_t seq, const std::string& what,
                        const ReplyFn& onReply) {
    size_t off = 0;
    while (auto h = readAt<nlmsghdr>(datagram, off)) {
      if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > datagram.size() - off) {
        return fail(Error(EPROTO, what + ": malformed netlink reply"));
      }
      if (h->nlmsg_seq != seq) {
        return fail(Error(EPROTO, what + ": netlink reply for sequence " +
                                      std::to_string(h->nlmsg_seq) + ", expected " +
                                      std::to_string(seq)));
      }
      Bytes payload = datagram.subspan(off + NLMSG_HDRLEN, h->nlmsg_len - NLMSG_HDRLEN);
      off += NLMSG_ALIGN(h->nlmsg_len);
      switch (h->nlmsg_type) {
        case NLMSG_NOOP:
          break;
        case NLMSG_ERROR:
          if (auto e = ackError(h->nlmsg_flags, payload, what)) return fail(std::move(*e));
          return true;
        case NLMSG_DONE:
          // A dump's end; it carries the dump's own error, if it failed part-way.
          if (int err = readAt<int>(payload).value_or(0); err < 0) return fail(Error(-err, what));
          return true;
        case NLMSG_OVERRUN:
          return fail(Error(ENOBUFS, what + ": netlink overrun"));
        default:
          if (onReply) onReply(h->nlmsg_type, payload);
      }
    }
    return false;
  }

  UniqueFd fd_;
  uint32_t seq_;
  std::vector<std::byte> buf_;
};

// A link request naming the link by IFLA_IFNAME (ifi_index 0); flags are ORed into ifinfomsg.
Request linkRequest(uint16_t type, uint16_t nlFlags, const std::string& name,
                    unsigned ifiFlags = 0) {
  Request req(type, nlFlags);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_flags = ifiFlags;
  ifi.ifi_change = ifiFlags;
  req.append(ifi);
  req.attr(IFLA_IFNAME, name);
  return req;
}

Result<int> linkIndex(Socket& sock, const std::string& name) {
  std::string what = "find link `" + name + "`";
  TRYV(checkName(name, what));
  Request req = linkRequest(RTM_GETLINK, 0, name);
  int index = 0;
  TRYV(sock.exchange(req, what, [&](uint16_t type, Bytes p) {
    if (auto ifi = readAt<ifinfomsg>(p); type == RTM_NEWLINK && ifi) index = ifi->ifi_index;
  }));
  if (index <= 0) return fail(Error(ENODEV, what + ": no index in the kernel's reply"));
  return index;
}

// Index -> name of every link in the socket's namespace.
Result<std::map<int, std::string>> linkTable(Socket& sock) {
  Request req(RTM_GETLINK, NLM_F_DUMP);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  req.append(ifi);
  std::map<int, std::string> links;
  TRYV(sock.exchange(req, "list links", [&](uint16_t type, Bytes p) {
    auto hdr = readAt<ifinfomsg>(p);
    if (type != RTM_NEWLINK || !hdr) return;
    forEachAttr(p.subspan(NLMSG_ALIGN(sizeof(ifinfomsg))), [&](uint16_t t, Bytes a) {
      if (t == IFLA_IFNAME) links[hdr->ifi_index] = attrString(a);
    });
  }));
  return links;
}

// A route message of the main table turned into a Route; nullopt for other tables.
std::optional<Route> parseRoute(Bytes p, const std::map<int, std::string>& links) {
  auto rtm = readAt<rtmsg>(p);
  if (!rtm || rtm->rtm_family != AF_INET) return std::nullopt;
  uint32_t table = rtm->rtm_table;  // RTA_TABLE, when present, holds ids above 255
  Route r;
  r.prefix = rtm->rtm_dst_len;
  forEachAttr(p.subspan(NLMSG_ALIGN(sizeof(rtmsg))), [&](uint16_t t, Bytes a) {
    if (t == RTA_TABLE) table = attrU32(a);
    if (t == RTA_DST) r.dst = ntohl(attrU32(a));
    if (t == RTA_OIF) {
      auto it = links.find(static_cast<int>(attrU32(a)));
      if (it != links.end()) r.dev = it->second;
    }
  });
  if (table != RT_TABLE_MAIN) return std::nullopt;
  return r;
}

}  // namespace

Status createBridge(const std::string& name) {
  std::string what = "create bridge `" + name + "`";
  TRYV(checkName(name, what));
  Socket sock = TRY(Socket::open());
  Request req = linkRequest(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, name);
  size_t info = req.beginNest(IFLA_LINKINFO);
  req.attr(IFLA_INFO_KIND, std::string("bridge"));
  req.endNest(info);
  return sock.exchange(req, what);
}

Status deleteLink(const std::string& name) {
  std::string what = "delete link `" + name + "`";
  TRYV(checkName(name, what));
  Socket sock = TRY(Socket::open());
  Request req = linkRequest(RTM_DELLINK, 0, name);
  return sock.exchange(req, what);
}

bool linkExists(const std::string& name) {
  auto sock = Socket::open();
  return sock && linkIndex(*sock, name).has_value();
}

Status setLinkUp(const std::string& name) {
  std::string what = "set link `" + name + "` up";
  TRYV(checkName(name, what));
  Socket sock = TRY(Socket::open());
  // Without NLM_F_CREATE this changes the existing link, or fails with ENODEV.
  Request req = linkRequest(RTM_NEWLINK, 0, name, IFF_UP);
  return sock.exchange(req, what);
}

Status addAddress(const std::string& ifname, Ipv4Addr a) {
  std::string what = "add address " + formatAddr(a) + " to `" + ifname + "`";
  if (a.prefix < 0 || a.prefix > 32) return fail(Error(EINVAL, what + ": prefix out of range"));
  Socket sock = TRY(Socket::open());
  int index = TRY_CTX(linkIndex(sock, ifname), what);
  Request req(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET;
  ifa.ifa_prefixlen = static_cast<uint8_t>(a.prefix);
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  ifa.ifa_index = static_cast<uint32_t>(index);
  req.append(ifa);
  uint32_t local = htonl(a.addr);
  req.attrU32(IFA_LOCAL, local);
  req.attrU32(IFA_ADDRESS, local);
  if (a.prefix <= 30) {  // /31 and /32 subnets have no broadcast address
    uint32_t hostBits = a.prefix == 0 ? ~0u : ~0u >> a.prefix;
    req.attrU32(IFA_BROADCAST, htonl(a.addr | hostBits));
  }
  return sock.exchange(req, what);
}

Result<std::vector<Ipv4Addr>> addresses(const std::string& ifname) {
  std::string what = "list addresses of `" + ifname + "`";
  Socket sock = TRY(Socket::open());
  int index = TRY_CTX(linkIndex(sock, ifname), what);
  Request req(RTM_GETADDR, NLM_F_DUMP);
  ifaddrmsg filter{};
  filter.ifa_family = AF_INET;
  req.append(filter);
  std::vector<Ipv4Addr> out;
  TRYV(sock.exchange(req, what, [&](uint16_t type, Bytes p) {
    auto ifa = readAt<ifaddrmsg>(p);
    if (type != RTM_NEWADDR || !ifa || ifa->ifa_family != AF_INET) return;
    if (ifa->ifa_index != static_cast<uint32_t>(index)) return;  // dumps are not filtered
    std::optional<uint32_t> local, address;
    forEachAttr(p.subspan(NLMSG_ALIGN(sizeof(ifaddrmsg))), [&](uint16_t t, Bytes a) {
      if (t == IFA_LOCAL) local = ntohl(attrU32(a));
      if (t == IFA_ADDRESS) address = ntohl(attrU32(a));
    });
    // IFA_ADDRESS is the far end on point-to-point links; IFA_LOCAL is always ours.
    if (local || address) out.push_back({local.value_or(address.value_or(0)), ifa->ifa_prefixlen});
  }));
  return out;
}

Status createVeth(const std::string& hostName, const std::string& master,
                  const std::string& peerName, pid_t peerNetnsPid,
                  const std::array<uint8_t, 6>& peerMac) {
  std::string what = "create veth `" + hostName + "` (peer `" + peerName + "` in process " +
                     std::to_string(peerNetnsPid) + ")";
  TRYV(checkName(hostName, what));
  TRYV(checkName(peerName, what));
  Socket sock = TRY(Socket::open());
  int masterIndex = TRY_CTX(linkIndex(sock, master), what);
  // One request creates both ends, so the kernel either makes the whole pair or nothing.
  Request req = linkRequest(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, hostName, IFF_UP);
  req.attrU32(IFLA_MASTER, static_cast<uint32_t>(masterIndex));
  size_t info = req.beginNest(IFLA_LINKINFO);
  req.attr(IFLA_INFO_KIND, std::string("veth"));
  size_t data = req.beginNest(IFLA_INFO_DATA);
  size_t peer = req.beginNest(VETH_INFO_PEER);
  ifinfomsg peerIfi{};  // no flags: the peer stays down
  peerIfi.ifi_family = AF_UNSPEC;
  req.append(peerIfi);
  req.attr(IFLA_IFNAME, peerName);
  req.attrU32(IFLA_NET_NS_PID, static_cast<uint32_t>(peerNetnsPid));
  req.attr(IFLA_ADDRESS, peerMac.data(), peerMac.size());
  req.endNest(peer);
  req.endNest(data);
  req.endNest(info);
  return sock.exchange(req, what);
}

Result<std::vector<Route>> ipv4Routes() {
  Socket sock = TRY(Socket::open());
  auto links = TRY_CTX(linkTable(sock), "list IPv4 routes");
  Request req(RTM_GETROUTE, NLM_F_DUMP);
  rtmsg filter{};
  filter.rtm_family = AF_INET;
  req.append(filter);
  std::vector<Route> out;
  TRYV(sock.exchange(req, "list IPv4 routes", [&](uint16_t type, Bytes p) {
    if (type != RTM_NEWROUTE) return;
    if (auto r = parseRoute(p, links)) out.push_back(std::move(*r));
  }));
  return out;
}

Result<std::vector<std::string>> linkNames() {
  Socket sock = TRY(Socket::open());
  auto links = TRY(linkTable(sock));
  std::vector<std::string> names;
  for (auto& [index, name] : links) names.push_back(std::move(name));
  return names;
}

}  // namespace strata::network::netlink
