#include "registry/server/names.h"

namespace strata::registry::server {
namespace {

bool lowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool validComponent(std::string_view c) {
  size_t i = 0;
  auto run = [&] {
    const size_t start = i;
    while (i < c.size() && lowerAlnum(c[i])) ++i;
    return i > start;
  };
  if (!run()) return false;
  while (i < c.size()) {
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < c.size() && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < c.size() && c[i] == '-') ++i;
    } else {
      return false;
    }
    if (!run()) return false;
  }
  return true;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

}  // namespace

bool validRepositoryName(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (std::string_view c : split(name, '/'))
    if (!validComponent(c)) return false;
  return true;
}

bool validTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (!word(tag[0])) return false;
  for (char c : tag.substr(1))
    if (!word(c) && c != '.' && c != '-') return false;
  return true;
}

bool validUploadId(std::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
      return false;
  }
  return true;
}

std::optional<std::string> percentDecode(std::string_view text, bool plusAsSpace) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hexValue(text[i + 1]), lo = hexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plusAsSpace) {
      c = ' ';
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

Query parseQuery(std::string_view query) {
  Query q;
  if (query.empty()) return q;
  for (std::string_view pair : split(query, '&')) {
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto name = percentDecode(pair.substr(0, eq), true);
    auto value = percentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (name && value) q.emplace_back(std::move(*name), std::move(*value));
  }
  return q;
}

std::optional<std::string> queryValue(const Query& q, std::string_view name) {
  for (const auto& [k, v] : q)
    if (k == name) return v;
  return std::nullopt;
}

std::vector<std::string> queryValues(const Query& q, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : q)
    if (k == name) out.push_back(v);
  return out;
}

Route parseRoute(std::string_view path) {
  Route r;
  if (path == "/token") return r.kind = Route::Token, r;
  if (path == "/v2" || path == "/v2/") return r.kind = Route::Base, r;
  if (path.substr(0, 4) != "/v2/") return r;
  if (path == "/v2/_catalog") return r.kind = Route::Catalog, r;

  std::vector<std::string> parts;
  for (std::string_view raw : split(path.substr(4), '/')) {
    auto part = percentDecode(raw, false);
    if (!part) return r;
    parts.push_back(std::move(*part));
  }
  const size_t n = parts.size();
  // Matches the route's fixed tail; the components before it are the name.
  auto tail = [&](std::initializer_list<const char*> words, size_t extra) {
    if (n < words.size() + extra + 1) return false;
    size_t i = n - extra - words.size();
    for (const char* w : words)
      if (parts[i++] != w) return false;
    return true;
  };
  size_t nameParts = 0;
  if (tail({"tags", "list"}, 0)) {
    r.kind = Route::Tags, nameParts = n - 2;
  } else if (tail({"blobs", "uploads"}, 0) || (tail({"blobs", "uploads"}, 1) && parts[n - 1].empty())) {
    r.kind = Route::UploadStart, nameParts = parts[n - 1].empty() ? n - 3 : n - 2;
  } else if (tail({"blobs", "uploads"}, 1)) {
    r.kind = Route::Upload, nameParts = n - 3, r.reference = parts[n - 1];
  } else if (tail({"blobs"}, 1)) {
    r.kind = Route::Blob, nameParts = n - 2, r.reference = parts[n - 1];
  } else if (tail({"manifests"}, 1)) {
    r.kind = Route::Manifest, nameParts = n - 2, r.reference = parts[n - 1];
  } else if (tail({"referrers"}, 1)) {
    r.kind = Route::Referrers, nameParts = n - 2, r.reference = parts[n - 1];
  } else {
    return r;
  }
  bool encodedSlash = false;
  for (size_t i = 0; i < nameParts; ++i) {
    r.name += (i ? "/" : "") + parts[i];
    encodedSlash = encodedSlash || parts[i].find('/') != std::string::npos;
  }
  if (encodedSlash || !validRepositoryName(r.name)) r.kind = Route::BadName;
  return r;
}

}  // namespace strata::registry::server
