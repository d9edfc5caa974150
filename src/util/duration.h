// Durations written the way Docker's flags and Dockerfiles write them ("30s", "1m30s", "1.5h").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/error.h"

namespace strata {

// Parses a Go-style duration (a sign, then one or more decimal numbers each with a unit of ns,
// us, µs, ms, s, m or h; "0" alone is allowed) into nanoseconds. Fails on anything else and on
// values beyond the int64 range.
Result<int64_t> parseGoDuration(std::string_view text);

}  // namespace strata

namespace strata {

// The Go form of a duration in nanoseconds ("0s", "1.5s", "1m30s", "1h0m0s", "300ms", "2µs"),
// as Docker prints durations in history and inspect output.
std::string formatGoDuration(int64_t nanos);

}  // namespace strata
