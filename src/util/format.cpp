#include "util/format.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <ctime>

namespace strata {

std::string humanSizeWithPrecision(double bytes, int precision) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  constexpr int kLast = sizeof(kUnits) / sizeof(kUnits[0]) - 1;
  int unit = 0;
  while (bytes >= 1000.0 && unit < kLast) {
    bytes /= 1000.0;
    ++unit;
  }
  // C's %g and Go's %g agree for finite values: same rounding, same exponent switch, and both
  // drop trailing zeros.
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g%s", precision, bytes, kUnits[unit]);
  return buf;
}

std::string humanSize(double bytes) { return humanSizeWithPrecision(bytes, 3); }

std::optional<double> parseRamSize(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.'))
    ++digits;
  if (digits == 0) return std::nullopt;
  std::string unit(text.substr(digits));
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (unit.size() == 2 && unit[1] == 'b') unit.pop_back();
  double mult = 1;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "k") mult = 1024.0;
  else if (unit == "m") mult = 1024.0 * 1024;
  else if (unit == "g") mult = 1024.0 * 1024 * 1024;
  else if (unit == "t") mult = 1024.0 * 1024 * 1024 * 1024;
  else return std::nullopt;
  return std::strtod(std::string(text.substr(0, digits)).c_str(), nullptr) * mult;
}

std::string humanDuration(int64_t seconds) {
  auto n = [](int64_t v, const char* unit) { return std::to_string(v) + " " + unit; };
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return n(seconds, "seconds");
  int64_t minutes = seconds / 60;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return n(minutes, "minutes");
  // go-units rounds hours to the nearest (half away from zero) from here on, except for years.
  auto hours = static_cast<int64_t>(std::round(static_cast<double>(seconds) / 3600.0));
  if (hours == 1) return "About an hour";
  if (hours < 48) return n(hours, "hours");
  if (hours < 24 * 7 * 2) return n(hours / 24, "days");
  if (hours < 24 * 30 * 2) return n(hours / 24 / 7, "weeks");
  if (hours < 24 * 365 * 2) return n(hours / 24 / 30, "months");
  return n(seconds / 3600 / 24 / 365, "years");
}

namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

// Days since 1970-01-01 of a proleptic Gregorian date, and back (Hinnant's algorithms).
int64_t daysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civilFromDays(int64_t z, int64_t& y, int64_t& m, int64_t& d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = yoe + era * 400 + (m <= 2);
}

int64_t floorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool isLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int daysInMonth(int64_t y, int64_t m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && isLeap(y) ? 29 : kDays[m - 1];
}

}  // namespace

std::string formatRfc3339Nano(int64_t sec, int64_t nsec) {
  sec += floorDiv(nsec, kNanosPerSecond);
  nsec -= floorDiv(nsec, kNanosPerSecond) * kNanosPerSecond;
  int64_t days = floorDiv(sec, 86400);
  int64_t secOfDay = sec - days * 86400;
  int64_t y, m, d;
  civilFromDays(days, y, m, d);
  char buf[80];
  int len = std::snprintf(
      buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld", static_cast<long long>(y),
      static_cast<long long>(m), static_cast<long long>(d), static_cast<long long>(secOfDay / 3600),
      static_cast<long long>(secOfDay / 60 % 60), static_cast<long long>(secOfDay % 60));
  std::string out(buf, static_cast<size_t>(len));
  if (nsec != 0) {
    std::snprintf(buf, sizeof buf, ".%09lld", static_cast<long long>(nsec));
    std::string frac = buf;
    while (frac.back() == '0') frac.pop_back();
    out += frac;
  }
  out += 'Z';
  return out;
}

std::string nowRfc3339Nano() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return formatRfc3339Nano(ts.tv_sec, ts.tv_nsec);
}

Result<Timestamp> parseRfc3339(std::string_view text) {
  auto bad = [&](const char* why) {
    return failInvalid("invalid RFC 3339 time \"" + std::string(text) + "\": " + why);
  };
  size_t i = 0;
  // Reads exactly n digits.
  auto digits = [&](size_t n, int64_t& out) {
    if (i + n > text.size()) return false;
    out = 0;
    for (size_t k = 0; k < n; ++k, ++i) {
      char c = text[i];
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    return true;
  };
  auto expect = [&](char c) {
    if (i >= text.size() || (text[i] != c && !(c == 'T' && text[i] == 't'))) return false;
    ++i;
    return true;
  };
  int64_t y, mo, d, h, mi, s;
  if (!digits(4, y) || !expect('-') || !digits(2, mo) || !expect('-') || !digits(2, d) ||
      !expect('T') || !digits(2, h) || !expect(':') || !digits(2, mi) || !expect(':') ||
      !digits(2, s))
    return bad("want YYYY-MM-DDTHH:MM:SS");
  if (mo < 1 || mo > 12) return bad("month out of range");
  if (d < 1 || d > daysInMonth(y, mo)) return bad("day out of range");
  if (h > 23) return bad("hour out of range");
  if (mi > 59) return bad("minute out of range");
  if (s > 59) return bad("second out of range");

  int64_t nsec = 0;
  if (i < text.size() && (text[i] == '.' || text[i] == ',')) {
    ++i;
    size_t start = i;
    int64_t scale = kNanosPerSecond;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (scale > 1) {
        scale /= 10;
        nsec += (text[i] - '0') * scale;
      }
      ++i;
    }
    if (i == start) return bad("empty fraction");
  }

  int64_t offset = 0;
  if (i < text.size() && (text[i] == 'Z' || text[i] == 'z')) {
    ++i;
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int sign = text[i] == '-' ? -1 : 1;
    ++i;
    int64_t oh, om;
    if (!digits(2, oh) || !expect(':') || !digits(2, om)) return bad("want a zone offset ±hh:mm");
    if (oh > 23 || om > 59) return bad("zone offset out of range");
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return bad("missing time zone (Z or ±hh:mm)");
  }
  if (i != text.size()) return bad("trailing characters");

  int64_t sec = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
  return Timestamp{sec, nsec};
}

Result<int64_t> parseRfc3339Seconds(std::string_view text) {
  Timestamp t = TRY(parseRfc3339(text));
  return t.sec;
}

std::string toGoJson(const nlohmann::ordered_json& value, int indent) {
  std::string text = value.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  // The three characters occur in JSON text only inside strings, so a plain scan is exact.
  for (char c : text) {
    if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    else out += c;
  }
  return out;
}

}  // namespace strata
