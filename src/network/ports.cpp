#include "network/ports.h"

#include <algorithm>
#include <array>
#include <optional>
#include <tuple>

#include "network/addr.h"

namespace strata::network {
namespace {

struct PortRange {
  unsigned first = 0;
  unsigned last = 0;  // may be below first; callers decide what that means
};

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool isValidProto(const std::string& proto) {
  return proto == "tcp" || proto == "udp" || proto == "sctp";
}

// Splits "80/udp" at the first '/'; no protocol means tcp. The protocol is lowercased.
std::pair<std::string_view, std::string> splitProto(std::string_view spec) {
  size_t slash = spec.find('/');
  if (slash == std::string_view::npos) return {spec, "tcp"};
  std::string proto = toLower(spec.substr(slash + 1));
  return {spec.substr(0, slash), proto.empty() ? "tcp" : proto};
}

// A port number as Go's strconv.ParseUint(s, 10, 16) reads it: decimal digits only (no sign),
// leading zeros allowed, at most 65535.
std::optional<unsigned> parsePortNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > 65535) return std::nullopt;
  }
  return v;
}

// "N" or "N-M".
std::optional<PortRange> parsePortRange(std::string_view s) {
  size_t dash = s.find('-');
  if (dash == std::string_view::npos) {
    auto port = parsePortNumber(s);
    if (!port) return std::nullopt;
    return PortRange{*port, *port};
  }
  auto first = parsePortNumber(s.substr(0, dash));
  auto last = parsePortNumber(s.substr(dash + 1));  // a second '-' fails here
  if (!first || !last) return std::nullopt;
  return PortRange{*first, *last};
}

// The host address of a -p spec: brackets stripped ("[::1]" -> "::1"; "[]" means all addresses,
// as in Docker), IPv6 in canonical form. nullopt when it is not an IP address.
std::optional<std::string> normalizeHostIp(std::string_view ip) {
  if (!ip.empty() && ip.front() == '[') {
    if (ip.back() != ']') return std::nullopt;
    ip = ip.substr(1, ip.size() - 2);
    if (ip.find_first_of("[]") != std::string_view::npos) return std::nullopt;
  }
  if (ip.empty() || parseIpv4(ip)) return std::string(ip);
  if (auto v6 = parseIpv6(ip)) return formatIpv6(*v6);
  return std::nullopt;
}

// docker run's long form "published=8080,target=80,protocol=udp" rewritten as the short form
// "8080:80/udp", as the docker CLI does before parsing. Other keys are accepted and ignored.
Result<std::string> expandLongSyntax(std::string_view spec) {
  if (spec.find('=') == std::string_view::npos) return std::string(spec);
  std::string published, target, protocol = "tcp";
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = std::min(spec.find(',', start), spec.size());
    std::string_view param = spec.substr(start, comma - start);
    size_t eq = param.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return failInvalid("invalid publish opts format (should be name=value but got '" +
                         std::string(param) + "')");
    std::string_view key = param.substr(0, eq), value = param.substr(eq + 1);
    if (key == "published") published = value;
    if (key == "target") target = value;
    if (key == "protocol") protocol = value;
    start = comma + 1;
  }
  return published + ":" + target + "/" + protocol;
}

// Sort key of a host address in Go's netip.Addr order: none, then IPv4, then IPv6, each
// numerically; text that is no address (not produced by parsePublish) sorts last, by text.
struct AddrKey {
  int family = 0;
  std::array<uint8_t, 16> bytes{};
  std::string text;
  bool operator<(const AddrKey& o) const {
    return std::tie(family, bytes, text) < std::tie(o.family, o.bytes, o.text);
  }
};

struct Row {
  PublishedPort port;
  AddrKey key;
  std::string ip;  // display form of the host address; "" = exposed only
};

Row makeRow(PublishedPort p) {
  Row row;
  row.ip = p.hostIp;
  if (p.hostIp.empty()) {
    row.key.family = 0;
  } else if (auto v4 = parseIpv4(p.hostIp)) {
    row.key.family = 1;
    for (int i = 0; i < 4; ++i) row.key.bytes[i] = static_cast<uint8_t>(*v4 >> (24 - 8 * i));
  } else if (auto v6 = parseIpv6(p.hostIp)) {
    row.key.family = 2;
    row.key.bytes = *v6;
    row.ip = formatIpv6(*v6);
  } else {
    row.key.family = 3;
    row.key.text = p.hostIp;
  }
  row.port = std::move(p);
  return row;
}

// A run of consecutive container ports sharing a host address and protocol; the host ports equal
// the container ports (or there are none).
struct Run {
  std::string ip;
  std::string proto;
  unsigned first = 0;
  unsigned last = 0;
};

std::string describe(const Run& run) {
  std::string ports = std::to_string(run.first);
  if (run.last != run.first) ports += "-" + std::to_string(run.last);
  if (!run.ip.empty()) ports = joinHostPort(run.ip, ports) + "->" + ports;
  return ports + "/" + run.proto;
}

}  // namespace

Result<std::vector<PortBinding>> parsePublish(std::string_view spec) {
  const std::string text = TRY(expandLongSyntax(spec));

  // ip:host:container, host:container or container; an unbracketed IPv6 address keeps its
  // colons because only the last two separate the ports.
  std::string_view rest = text, ip, host;
  if (size_t c2 = rest.rfind(':'); c2 != std::string_view::npos) {
    std::string_view front = rest.substr(0, c2);
    rest = rest.substr(c2 + 1);
    if (size_t c1 = front.rfind(':'); c1 != std::string_view::npos) {
      ip = front.substr(0, c1);
      host = front.substr(c1 + 1);
    } else {
      host = front;
    }
  }
  auto [containerText, proto] = splitProto(rest);
  if (containerText.empty()) return failInvalid("no port specified: " + text + "<empty>");
  if (!isValidProto(proto)) return failInvalid("invalid proto: " + proto);
  std::optional<std::string> hostIp = normalizeHostIp(ip);
  if (!hostIp) return failInvalid("invalid IP address: " + std::string(ip));

  std::optional<PortRange> container = parsePortRange(containerText);
  if (!container || container->last < container->first || container->first == 0)
    return failInvalid("invalid containerPort: " + std::string(containerText));
  PortRange hostRange;
  if (!host.empty()) {
    std::optional<PortRange> parsed = parsePortRange(host);
    if (!parsed || parsed->last < parsed->first)
      return failInvalid("invalid hostPort: " + std::string(host));
    hostRange = *parsed;
    // Unequal lengths are only allowed for one container port: the host range is then where a
    // free port is picked.
    if (hostRange.last - hostRange.first != container->last - container->first &&
        container->last != container->first)
      return failInvalid("invalid ranges specified for container and host Ports: " +
                         std::string(containerText) + " and " + std::string(host));
  }

  std::vector<PortBinding> out;
  const unsigned count = container->last - container->first + 1;
  for (unsigned i = 0; i < count; ++i) {
    PortBinding b;
    b.hostIp = *hostIp;
    b.containerPort = static_cast<uint16_t>(container->first + i);
    b.proto = proto;
    if (!host.empty()) {
      b.hostPort = static_cast<uint16_t>(hostRange.first + i);
      b.hostPortEnd = count == 1 ? static_cast<uint16_t>(hostRange.last) : b.hostPort;
    }
    out.push_back(std::move(b));
  }
  return out;
}

Result<std::vector<std::pair<uint16_t, std::string>>> parsePortProto(std::string_view spec) {
  if (spec.find(':') != std::string_view::npos)
    return failInvalid("invalid port format: " + std::string(spec));
  auto [portText, proto] = splitProto(spec);
  if (!isValidProto(proto)) return failInvalid("invalid proto: " + proto);
  std::optional<PortRange> range = parsePortRange(portText);
  if (!range || range->first == 0) return failInvalid("invalid port: " + std::string(spec));
  if (range->last < range->first)
    return failInvalid("invalid range specified for port: " + std::string(spec));
  std::vector<std::pair<uint16_t, std::string>> out;
  for (unsigned p = range->first; p <= range->last; ++p)
    out.emplace_back(static_cast<uint16_t>(p), proto);
  return out;
}

std::string joinHostPort(const std::string& host, const std::string& port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + port;
  return host + ":" + port;
}

std::string formatPortsColumn(std::vector<PublishedPort> ports) {
  std::vector<Row> rows;
  rows.reserve(ports.size());
  for (PublishedPort& p : ports) rows.push_back(makeRow(std::move(p)));
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return std::tie(a.port.containerPort, a.key, a.port.hostPort, a.port.proto) <
           std::tie(b.port.containerPort, b.key, b.port.hostPort, b.port.proto);
  });

  std::vector<std::string> parts;     // closed runs, in the order they closed
  std::vector<std::string> mappings;  // host port != container port: listed last, never folded
  std::vector<Run> open;              // one open run per (address, protocol), by first appearance
  for (const Row& row : rows) {
    const PublishedPort& p = row.port;
    if (!row.ip.empty() && p.hostPort != p.containerPort) {
      mappings.push_back(joinHostPort(row.ip, std::to_string(p.hostPort)) + "->" +
                         std::to_string(p.containerPort) + "/" + p.proto);
      continue;
    }
    auto run = std::find_if(open.begin(), open.end(),
                            [&](const Run& r) { return r.ip == row.ip && r.proto == p.proto; });
    if (run == open.end()) {
      open.push_back(Run{row.ip, p.proto, p.containerPort, p.containerPort});
    } else if (p.containerPort == run->last + 1) {
      run->last = p.containerPort;
    } else {
      // Docker closes the run here but keeps the key's place: the new run prints at the end.
      parts.push_back(describe(*run));
      run->first = run->last = p.containerPort;
    }
  }
  for (const Run& run : open) parts.push_back(describe(run));
  parts.insert(parts.end(), mappings.begin(), mappings.end());

  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? "" : ", ") + part;
  return out;
}

}  // namespace strata::network
