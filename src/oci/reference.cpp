#include "oci/reference.h"

#include <algorithm>

namespace strata::oci {

namespace {

constexpr std::string_view kDefaultDomain = "docker.io";
constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";
constexpr std::string_view kOfficialPrefix = "library/";
constexpr size_t kNameTotalLengthMax = 255;
constexpr size_t kTagLengthMax = 128;

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isAlnum(char c) { return isLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isWordChar(char c) { return isAlnum(c) || c == '_'; }
bool isLowerHexChar(char c) { return isDigit(c) || (c >= 'a' && c <= 'f'); }
bool isHexChar(char c) { return isLowerHexChar(c) || (c >= 'A' && c <= 'F'); }

bool hasUpper(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// One repository path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool isPathComponent(std::string_view s) {
  size_t i = 0;
  auto alnumRun = [&] {
    size_t start = i;
    while (i < s.size() && isLowerAlnum(s[i])) ++i;
    return i > start;
  };
  if (!alnumRun()) return false;
  while (i < s.size()) {
    if (s[i] == '.') {
      ++i;
    } else if (s[i] == '_') {
      ++i;
      if (i < s.size() && s[i] == '_') ++i;
    } else if (s[i] == '-') {
      while (i < s.size() && s[i] == '-') ++i;
    } else {
      return false;
    }
    if (!alnumRun()) return false;
  }
  return true;
}

bool isPath(std::string_view path) {
  for (;;) {
    size_t slash = path.find('/');
    if (!isPathComponent(path.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

// A host name component: [A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]
bool isDomainComponent(std::string_view s) {
  if (s.empty() || !isAlnum(s.front()) || !isAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return isAlnum(c) || c == '-'; });
}

// host[:port], where host is dotted components or a bracketed IPv6 address.
bool isDomain(std::string_view s) {
  std::string_view host = s, port;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    if (!std::all_of(s.begin() + 1, s.begin() + close,
                     [](char c) { return isHexChar(c) || c == ':'; }))
      return false;
    host = {};
    std::string_view after = s.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      port = after.substr(1);
      if (port.empty()) return false;
    }
  } else {
    if (size_t colon = s.find(':'); colon != std::string_view::npos) {
      host = s.substr(0, colon);
      port = s.substr(colon + 1);
      if (port.empty()) return false;
    }
    for (;;) {
      size_t dot = host.find('.');
      if (!isDomainComponent(host.substr(0, dot))) return false;
      if (dot == std::string_view::npos) break;
      host.remove_prefix(dot + 1);
    }
  }
  return std::all_of(port.begin(), port.end(), isDigit);
}

// [\w][\w.-]{0,127}
bool isTag(std::string_view s) {
  if (s.empty() || s.size() > kTagLengthMax || !isWordChar(s.front())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return isWordChar(c) || c == '.' || c == '-'; });
}

// Docker's rule for whether the first component names a registry.
bool looksLikeDomain(std::string_view first) {
  return first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
         hasUpper(first);
}

// text with backslashes, double quotes and control characters escaped, so that an error that
// quotes it stays on one line.
std::string escaped(std::string_view text) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHexDigits[(c >> 4) & 0xf];
      out += kHexDigits[c & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

std::string quoted(std::string_view text) { return "\"" + escaped(text) + "\""; }

}  // namespace

Result<Reference> Reference::parse(std::string_view text) {
  auto invalid = [&](std::string_view detail = {}) {
    std::string msg = quoted(text) + ": invalid reference format";
    if (!detail.empty()) msg += ": " + escaped(detail);
    return failInvalid(std::move(msg));
  };
  if (text.empty()) return invalid();
  if (isSha256Hex(text))
    return failInvalid("invalid repository name (" + std::string(text) +
                       "), cannot specify 64-byte hexadecimal strings");

  // Split off the registry the way Docker's splitDockerDomain does, before any validation.
  Reference ref;
  std::string_view rest = text;
  size_t slash = text.find('/');
  if (slash != std::string_view::npos && looksLikeDomain(text.substr(0, slash))) {
    ref.domain = std::string(text.substr(0, slash));
    rest = text.substr(slash + 1);
  } else {
    ref.domain = std::string(kDefaultDomain);
  }
  if (ref.domain == kLegacyDefaultDomain) ref.domain = std::string(kDefaultDomain);

  // name[:tag][@digest]: neither the path nor the tag can contain '@', and the path (with the
  // registry already removed) cannot contain ':'.
  std::string_view name = rest, tag, digest;
  bool hasTag = false, hasDigest = false;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    name = rest.substr(0, at);
    digest = rest.substr(at + 1);
    hasDigest = true;
  }
  if (size_t colon = name.find(':'); colon != std::string_view::npos) {
    tag = name.substr(colon + 1);
    name = name.substr(0, colon);
    hasTag = true;
  }

  // Docker reports uppercase before any other problem of the path.
  if (hasUpper(name)) return invalid("repository name must be lowercase");

  if (!isDomain(ref.domain) || !isPath(name)) return invalid();
  if (hasTag && !isTag(tag)) return invalid();
  ref.path = std::string(name);
  if (ref.domain == kDefaultDomain && ref.path.find('/') == std::string::npos)
    ref.path.insert(0, kOfficialPrefix);
  if (hasDigest) {
    auto d = Digest::parse(digest);
    if (!d) return invalid(d.error().message());
    ref.digest = std::move(*d);
  }
  if (ref.repository().size() > kNameTotalLengthMax)
    return failInvalid(quoted(text) + ": repository name must not be more than 255 characters");

  if (hasTag)
    ref.tag = std::string(tag);
  else if (!hasDigest)
    ref.tag = "latest";
  return ref;
}

std::string Reference::repository() const { return domain + "/" + path; }

std::string Reference::familiarRepository() const {
  if (domain != kDefaultDomain) return repository();
  std::string_view p = path;
  if (p.starts_with(kOfficialPrefix)) {
    std::string_view rest = p.substr(kOfficialPrefix.size());
    if (rest.find('/') == std::string_view::npos) return std::string(rest);
  }
  // Unlike Docker's FamiliarName, keep "docker.io/" when the path's first component would be
  // read back as a registry ("docker.io/example.com/app"), so the familiar form round-trips.
  size_t slash = p.find('/');
  if (slash != std::string_view::npos && looksLikeDomain(p.substr(0, slash))) return repository();
  return path;
}

namespace {
std::string suffix(const Reference& r) {
  std::string s;
  if (!r.tag.empty()) s += ":" + r.tag;
  if (r.digest) s += "@" + r.digest->str();
  return s;
}
}  // namespace

std::string Reference::familiar() const { return familiarRepository() + suffix(*this); }

std::string Reference::str() const { return repository() + suffix(*this); }

std::optional<std::string> asImageIdPrefix(std::string_view text) {
  std::string_view hex = text;
  if (hex.starts_with("sha256:")) hex.remove_prefix(7);
  if (hex.empty() || hex.size() > 64) return std::nullopt;
  if (!std::all_of(hex.begin(), hex.end(), isLowerHexChar)) return std::nullopt;
  return std::string(hex);
}

}  // namespace strata::oci
