#include "util/duration.h"

#include <fmt/format.h>

namespace strata {
namespace {

struct Unit {
  std::string_view name;
  uint64_t nanos;
};

constexpr Unit kUnits[] = {
    {"ns", 1},          {"us", 1000},           {"\xC2\xB5s", 1000}, {"\xCE\xBCs", 1000},
    {"ms", 1000000},    {"s", 1000000000ULL},   {"m", 60000000000ULL}, {"h", 3600000000000ULL},
};

}  // namespace

Result<int64_t> parseGoDuration(std::string_view text) {
  const auto invalid = [&] { return failInvalid(fmt::format("invalid duration \"{}\"", text)); };
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return invalid();
  const uint64_t limit = negative ? (uint64_t{1} << 63) : (uint64_t{1} << 63) - 1;
  uint64_t total = 0;
  while (!s.empty()) {
    // The number: digits, optionally a fraction.
    uint64_t whole = 0;
    bool overflow = false;
    std::size_t i = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (whole > (limit - static_cast<uint64_t>(s[i] - '0')) / 10) overflow = true;
      whole = whole * 10 + static_cast<uint64_t>(s[i] - '0');
      ++i;
    }
    bool hadDigits = i > 0;
    double fraction = 0, scale = 1;
    if (i < s.size() && s[i] == '.') {
      ++i;
      std::size_t start = i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        scale /= 10;
        fraction += (s[i] - '0') * scale;
        ++i;
      }
      hadDigits = hadDigits || i > start;
    }
    if (!hadDigits || overflow) return invalid();
    s.remove_prefix(i);
    // The unit: the longest run of non-digit, non-dot characters.
    std::size_t u = 0;
    while (u < s.size() && s[u] != '.' && !(s[u] >= '0' && s[u] <= '9')) ++u;
    if (u == 0) return failInvalid(fmt::format("missing unit in duration \"{}\"", text));
    std::string_view unitName = s.substr(0, u);
    s.remove_prefix(u);
    const Unit* unit = nullptr;
    for (const Unit& candidate : kUnits)
      if (candidate.name == unitName) unit = &candidate;
    if (!unit)
      return failInvalid(fmt::format("unknown unit \"{}\" in duration \"{}\"", unitName, text));
    if (whole > limit / unit->nanos) return invalid();
    uint64_t value = whole * unit->nanos + static_cast<uint64_t>(fraction * unit->nanos);
    if (value > limit || total > limit - value) return invalid();
    total += value;
  }
  return negative ? -static_cast<int64_t>(total - 1) - 1 : static_cast<int64_t>(total);
}

}  // namespace strata

namespace strata {
namespace {

// Appends value / 10^digits with its trailing zeros (and a bare point) removed.
void appendFraction(std::string& out, uint64_t value, int digits) {
  uint64_t scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  out += std::to_string(value / scale);
  uint64_t frac = value % scale;
  if (frac == 0) return;
  std::string f = std::to_string(frac);
  f.insert(0, static_cast<std::size_t>(digits) - f.size(), '0');
  while (!f.empty() && f.back() == '0') f.pop_back();
  out += '.';
  out += f;
}

}  // namespace

std::string formatGoDuration(int64_t nanos) {
  if (nanos == 0) return "0s";
  std::string out;
  uint64_t u = nanos < 0 ? static_cast<uint64_t>(-(nanos + 1)) + 1 : static_cast<uint64_t>(nanos);
  if (nanos < 0) out += '-';
  if (u < 1000000000ULL) {
    if (u < 1000) {
      out += std::to_string(u) + "ns";
    } else if (u < 1000000) {
      appendFraction(out, u, 3);
      out += "\xC2\xB5s";
    } else {
      appendFraction(out, u, 6);
      out += "ms";
    }
    return out;
  }
  const uint64_t hours = u / 3600000000000ULL;
  u %= 3600000000000ULL;
  const uint64_t minutes = u / 60000000000ULL;
  u %= 60000000000ULL;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  appendFraction(out, u, 9);
  out += "s";
  return out;
}

}  // namespace strata
