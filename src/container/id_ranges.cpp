#include "container/id_ranges.h"

#include <cerrno>
#include <charconv>

#include "util/fs.h"

namespace strata::container {

namespace {

std::optional<uint32_t> number(std::string_view s) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// The start of each whole block of size ids, range by range.
std::vector<uint32_t> blocks(const std::vector<IdRange>& ranges, uint32_t size) {
  std::vector<uint32_t> out;
  for (const IdRange& r : ranges) {
    for (uint64_t off = 0; off + size <= r.count; off += size) {
      out.push_back(static_cast<uint32_t>(r.start + off));
    }
  }
  return out;
}

bool overlaps(uint64_t a, uint64_t aSize, uint64_t b, uint64_t bSize) {
  return a < b + bSize && b < a + aSize;
}

Result<std::vector<IdRange>> readPool(const std::string& path) {
  auto text = readFile(path);
  if (!text && text.error().code() != ENOENT) return fail(std::move(text).error());
  std::vector<IdRange> ranges = parseSubIds(text ? *text : "", kSubIdUser);
  if (ranges.empty()) {
    return failInvalid("--userns=auto: no subordinate ids for user \"" + std::string(kSubIdUser) +
                       "\" in " + path + " (add a line such as " + std::string(kSubIdUser) +
                       ":100000:655360)");
  }
  return ranges;
}

}  // namespace

std::vector<IdRange> parseSubIds(std::string_view text, std::string_view user) {
  std::vector<IdRange> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    size_t a = line.find(':');
    size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos || line.substr(0, a) != user) continue;
    std::optional<uint32_t> start = number(line.substr(a + 1, b - a - 1));
    std::optional<uint32_t> count = number(line.substr(b + 1));
    if (!start || !count || *count == 0 || uint64_t{*start} + *count - 1 > UINT32_MAX - 1) {
      continue;
    }
    out.push_back({*start, *count});
  }
  return out;
}

Result<IdPool> loadIdPool(const std::string& subuid, const std::string& subgid) {
  IdPool pool;
  pool.uids = TRY(readPool(subuid));
  pool.gids = TRY(readPool(subgid));
  return pool;
}

std::optional<runtime::IdMapping> lowestFreeBlock(const IdPool& pool,
                                                  const std::vector<runtime::IdMapping>& used,
                                                  uint32_t size) {
  const std::vector<uint32_t> uids = blocks(pool.uids, size), gids = blocks(pool.gids, size);
  for (size_t i = 0; i < uids.size() && i < gids.size(); ++i) {
    bool taken = false;
    for (const runtime::IdMapping& u : used) {
      taken = taken || overlaps(uids[i], size, u.hostUid, u.size) ||
              overlaps(gids[i], size, u.hostGid, u.size);
    }
    if (!taken) return runtime::IdMapping{uids[i], gids[i], size};
  }
  return std::nullopt;
}

}  // namespace strata::container
