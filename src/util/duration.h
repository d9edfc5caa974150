// Durations written the way Docker's flags and Dockerfiles write them ("30s", "1m30s", "1.5h").
#pragma once

#include <cstdint>
#include <string_view>

#include "util/error.h"

namespace strata {

// Parses a Go-style duration (a sign, then one or more decimal numbers each with a unit of ns,
// us, µs, ms, s, m or h; "0" alone is allowed) into nanoseconds. Fails on anything else and on
// values beyond the int64 range.
Result<int64_t> parseGoDuration(std::string_view text);

}  // namespace strata
