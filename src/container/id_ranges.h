// --userns=auto: the subordinate ids strata may hand out (the lines of user "strata" in
// /etc/subuid and /etc/subgid) and the block of them each container gets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/spec.h"
#include "util/error.h"

namespace strata::container {

// The user whose subordinate ids strata uses, and how many ids each container gets.
inline constexpr std::string_view kSubIdUser = "strata";
inline constexpr uint32_t kUsernsSize = 65536;

struct IdRange {
  uint32_t start = 0;
  uint32_t count = 0;
  bool operator==(const IdRange&) const = default;
};

// The ranges of `user` in the text of a subuid or subgid file ("name:start:count" lines), in
// file order. As shadow's tools do, other users' lines, comments and malformed lines (not three
// fields, a number that does not parse, a count of 0, a range past 2^32-1) are ignored.
std::vector<IdRange> parseSubIds(std::string_view text, std::string_view user);

struct IdPool {
  std::vector<IdRange> uids, gids;
};

// Reads both files. An error names the file that has no range for kSubIdUser and the line to
// add ("--userns=auto: no subordinate ids for user \"strata\" in /etc/subuid (add a line such
// as strata:100000:655360)"). Paths are parameters for tests.
Result<IdPool> loadIdPool(const std::string& subuid = "/etc/subuid",
                          const std::string& subgid = "/etc/subgid");

// The first block of `size` ids, at the same position among the blocks of both pools (blocks are
// taken from each range in turn and never straddle two ranges), whose uids and gids overlap no
// mapping in used. nullopt when every block is taken. Pure.
std::optional<runtime::IdMapping> lowestFreeBlock(const IdPool& pool,
                                                  const std::vector<runtime::IdMapping>& used,
                                                  uint32_t size = kUsernsSize);

}  // namespace strata::container
