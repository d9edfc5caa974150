// Docker-compatible text for sizes, ages and timestamps (docker/go-units and Go's time package).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <string_view>

#include "util/error.h"

namespace strata {

// go-units HumanSizeWithPrecision: decimal units (B kB MB GB TB PB EB ZB YB, base 1000) and
// printf "%.<precision>g": 999 -> "999B", 1234 -> "1.23kB" (precision 3).
std::string humanSizeWithPrecision(double bytes, int precision);
// The SIZE columns of `images`, `history` and `ps -s`: precision 3 ("12.3MB", "123MB").
std::string humanSize(double bytes);
// Docker's RAMInBytes: a number (decimals allowed) with an optional binary unit b, k, m, g, t
// (case-insensitive, an optional trailing "b": "512k", "1.5GB", "100"). nullopt when invalid.
std::optional<double> parseRamSize(std::string_view text);

// go-units HumanDuration of a whole number of seconds: "Less than a second", "1 second",
// "About a minute", "3 hours", "2 weeks", ... Docker appends " ago" in CREATED columns.
std::string humanDuration(int64_t seconds);

// A point in time as Unix seconds plus nanoseconds in [0, 1e9).
struct Timestamp {
  int64_t sec = 0;
  int64_t nsec = 0;
};

// Go's time.RFC3339Nano in UTC: "2024-03-01T12:00:00.5Z"; the fraction loses trailing zeros
// and disappears when zero. nsec outside [0, 1e9) is carried into sec.
std::string formatRfc3339Nano(int64_t sec, int64_t nsec);
// The current time, formatted as above.
std::string nowRfc3339Nano();

// Parses RFC 3339 ("YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)") into UTC. Fails with a message
// naming the text on any deviation or out-of-range field.
Result<Timestamp> parseRfc3339(std::string_view text);
// As parseRfc3339, keeping only the Unix seconds (floor, as Go's Time.Unix).
Result<int64_t> parseRfc3339Seconds(std::string_view text);

// JSON text as Go's encoding/json writes it, which is what Docker prints: compact (indent < 0)
// or indented, with <, > and & escaped as \u003c, \u003e, \u0026.
std::string toGoJson(const nlohmann::ordered_json& value, int indent = -1);

}  // namespace strata
