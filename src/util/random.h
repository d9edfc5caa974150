// Random names: temp files, IDs, interface names. Not for secrets (see the registry server's
// getrandom-based keys).
#pragma once

#include <cstddef>
#include <string>

namespace strata {

// n lowercase hex digits from a per-thread generator seeded by std::random_device.
std::string randomHex(size_t n);

}  // namespace strata
