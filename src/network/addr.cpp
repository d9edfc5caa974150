#include "network/addr.h"

#include <fmt/format.h>

#include <algorithm>

namespace strata::network {
namespace {

int clampPrefix(int prefix) { return std::clamp(prefix, 0, 32); }

// Number of addresses in a network of this prefix: 2^(32-prefix), up to 2^32.
uint64_t blockSize(int prefix) { return uint64_t{1} << (32 - clampPrefix(prefix)); }

bool isDigit(char c) { return c >= '0' && c <= '9'; }

int hexValue(char c) {
  if (isDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A decimal field without sign or leading zeros, at most maxValue.
std::optional<unsigned> parseDecimal(std::string_view s, unsigned maxValue) {
  if (s.empty() || s.size() > 10 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (!isDigit(c)) return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > maxValue) return std::nullopt;
  return static_cast<unsigned>(v);
}

// Splits s at every sep. "a::b" with sep ':' gives {"a", "", "b"}.
std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  return out;
}

// Appends the 16-bit groups of a colon-separated run ("1:ff:0") to groups; the last field of the
// whole address (lastOfAddress) may be a dotted quad, worth two groups. An empty run gives none.
bool parseIpv6Groups(std::string_view run, bool lastOfAddress, std::vector<uint16_t>& groups) {
  if (run.empty()) return true;
  std::vector<std::string_view> fields = split(run, ':');
  for (size_t i = 0; i < fields.size(); ++i) {
    std::string_view f = fields[i];
    if (lastOfAddress && i + 1 == fields.size() && f.find('.') != std::string_view::npos) {
      std::optional<uint32_t> v4 = parseIpv4(f);
      if (!v4) return false;
      groups.push_back(static_cast<uint16_t>(*v4 >> 16));
      groups.push_back(static_cast<uint16_t>(*v4 & 0xffff));
      continue;
    }
    if (f.empty() || f.size() > 4) return false;
    unsigned v = 0;
    for (char c : f) {
      int h = hexValue(c);
      if (h < 0) return false;
      v = v * 16 + static_cast<unsigned>(h);
    }
    groups.push_back(static_cast<uint16_t>(v));
  }
  return true;
}

}  // namespace

std::optional<uint32_t> parseIpv4(std::string_view text) {
  std::vector<std::string_view> fields = split(text, '.');
  if (fields.size() != 4) return std::nullopt;
  uint32_t a = 0;
  for (std::string_view f : fields) {
    if (f.size() > 3) return std::nullopt;
    std::optional<unsigned> v = parseDecimal(f, 255);
    if (!v) return std::nullopt;
    a = (a << 8) | *v;
  }
  return a;
}

std::string formatIpv4(uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

Result<Ipv4Net> parseCidr(std::string_view text) {
  auto invalid = [&] { return failInvalid("invalid CIDR address: " + std::string(text)); };
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return invalid();
  std::optional<uint32_t> addr = parseIpv4(text.substr(0, slash));
  std::string_view prefixText = text.substr(slash + 1);
  std::optional<unsigned> prefix =
      prefixText.size() <= 2 ? parseDecimal(prefixText, 32) : std::nullopt;
  if (!addr || !prefix) return invalid();
  return Ipv4Net{*addr, static_cast<int>(*prefix)};
}

std::string formatCidr(Ipv4Net n) { return formatIpv4(n.addr) + "/" + std::to_string(n.prefix); }

uint32_t netmask(int prefix) {
  if (prefix <= 0) return 0;
  if (prefix >= 32) return 0xffffffffu;
  return ~uint32_t{0} << (32 - prefix);
}

Ipv4Net networkOf(Ipv4Net n) { return Ipv4Net{n.addr & netmask(n.prefix), n.prefix}; }

bool overlaps(Ipv4Net a, Ipv4Net b) {
  // Two aligned blocks either nest or are disjoint: compare under the shorter prefix.
  uint32_t mask = netmask(std::min(a.prefix, b.prefix));
  return (a.addr & mask) == (b.addr & mask);
}

bool contains(Ipv4Net net, uint32_t ip) {
  uint32_t mask = netmask(net.prefix);
  return (ip & mask) == (net.addr & mask);
}

std::vector<Pool> defaultPools() {
  auto net = [](uint32_t a, int prefix) { return Ipv4Net{a, prefix}; };
  return {
      Pool{net(0xac110000, 16), 16},  // 172.17.0.0/16
      Pool{net(0xac120000, 16), 16},  // 172.18.0.0/16
      Pool{net(0xac130000, 16), 16},  // 172.19.0.0/16
      Pool{net(0xac140000, 14), 16},  // 172.20.0.0/14
      Pool{net(0xac180000, 14), 16},  // 172.24.0.0/14
      Pool{net(0xac1c0000, 14), 16},  // 172.28.0.0/14
      Pool{net(0xc0a80000, 16), 20},  // 192.168.0.0/16
  };
}

std::optional<Ipv4Net> pickSubnet(const std::vector<Pool>& pools,
                                  const std::vector<Ipv4Net>& taken) {
  for (const Pool& pool : pools) {
    if (pool.size < pool.base.prefix || pool.size > 32 || pool.base.prefix < 0) continue;
    const uint64_t start = networkOf(pool.base).addr;
    const uint64_t end = start + blockSize(pool.base.prefix);  // exclusive
    const uint64_t step = blockSize(pool.size);
    for (uint64_t at = start; at < end;) {
      Ipv4Net candidate{static_cast<uint32_t>(at), pool.size};
      auto hit = std::find_if(taken.begin(), taken.end(),
                              [&](const Ipv4Net& t) { return overlaps(candidate, t); });
      if (hit == taken.end()) return candidate;
      // A taken network at least as wide as the candidate covers it: jump past its end, which is
      // aligned to the step. A narrower one sits inside: move to the next candidate.
      if (clampPrefix(hit->prefix) <= pool.size)
        at = uint64_t{networkOf(*hit).addr} + blockSize(hit->prefix);
      else
        at += step;
    }
  }
  return std::nullopt;
}

uint32_t firstHost(Ipv4Net subnet) {
  Ipv4Net net = networkOf(subnet);
  return clampPrefix(net.prefix) >= 32 ? net.addr : net.addr + 1;
}

std::optional<uint32_t> pickAddress(Ipv4Net subnet, uint32_t gateway,
                                    const std::set<uint32_t>& used) {
  Ipv4Net net = networkOf(subnet);
  uint64_t first = net.addr;
  uint64_t last = first + blockSize(net.prefix) - 1;
  if (clampPrefix(net.prefix) < 31) {  // network and broadcast addresses are not hosts
    ++first;
    --last;
  }
  // Every address skipped is the gateway or in used, so this ends within used.size() + 2 steps.
  for (uint64_t a = first; a <= last; ++a) {
    auto ip = static_cast<uint32_t>(a);
    if (ip != gateway && !used.contains(ip)) return ip;
  }
  return std::nullopt;
}

std::array<uint8_t, 6> macFor(uint32_t ip) {
  return {0x02,
          0x42,
          static_cast<uint8_t>(ip >> 24),
          static_cast<uint8_t>(ip >> 16),
          static_cast<uint8_t>(ip >> 8),
          static_cast<uint8_t>(ip)};
}

std::string formatMac(const std::array<uint8_t, 6>& mac) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3],
                     mac[4], mac[5]);
}

std::optional<std::array<uint8_t, 16>> parseIpv6(std::string_view text) {
  size_t ellipsis = text.find("::");
  std::vector<uint16_t> head, tail;
  if (ellipsis == std::string_view::npos) {
    if (!parseIpv6Groups(text, true, head) || head.size() != 8) return std::nullopt;
  } else {
    std::string_view before = text.substr(0, ellipsis);
    std::string_view after = text.substr(ellipsis + 2);
    if (after.find("::") != std::string_view::npos) return std::nullopt;
    // A dotted quad ends the text, so only the part after "::" may hold one.
    if (!parseIpv6Groups(before, false, head) || !parseIpv6Groups(after, true, tail))
      return std::nullopt;
    // "::" stands for at least one zero group (Go's netip refuses "1:2:3:4:5:6:7::8").
    if (head.size() + tail.size() > 7) return std::nullopt;
    head.resize(8 - tail.size(), 0);
    head.insert(head.end(), tail.begin(), tail.end());
  }
  std::array<uint8_t, 16> out{};
  for (size_t i = 0; i < 8; ++i) {
    out[2 * i] = static_cast<uint8_t>(head[i] >> 8);
    out[2 * i + 1] = static_cast<uint8_t>(head[i] & 0xff);
  }
  return out;
}

std::string formatIpv6(const std::array<uint8_t, 16>& a) {
  bool mapped = std::all_of(a.begin(), a.begin() + 10, [](uint8_t b) { return b == 0; }) &&
                a[10] == 0xff && a[11] == 0xff;
  if (mapped) {
    uint32_t v4 =
        (uint32_t{a[12]} << 24) | (uint32_t{a[13]} << 16) | (uint32_t{a[14]} << 8) | a[15];
    return "::ffff:" + formatIpv4(v4);
  }
  std::array<unsigned, 8> g{};
  for (size_t i = 0; i < 8; ++i) g[i] = (unsigned{a[2 * i]} << 8) | a[2 * i + 1];
  // The longest run of zero groups, the first one on a tie; runs of one are not compressed.
  size_t bestStart = 8, bestLen = 1;
  for (size_t i = 0; i < 8;) {
    size_t j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j == i ? i + 1 : j;
  }
  std::string out;
  for (size_t i = 0; i < 8; ++i) {
    if (i == bestStart) {
      out += "::";
      i += bestLen - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    out += fmt::format("{:x}", g[i]);
  }
  return out;
}

}  // namespace strata::network
