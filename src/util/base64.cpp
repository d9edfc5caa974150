#include "util/base64.h"

#include <fmt/format.h>

namespace strata {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The 6-bit value of c, or -1 when c is not in the alphabet.
int sextet(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string describe(unsigned char c) {
  if (c >= 0x21 && c < 0x7f) return fmt::format("'{}'", static_cast<char>(c));
  return fmt::format("byte 0x{:02x}", c);
}

}  // namespace

std::string base64Encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(data[i])) << 16 | uint32_t(uint8_t(data[i + 1])) << 8 |
                 uint8_t(data[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t(uint8_t(data[i])) << 16;
    if (rest == 2) v |= uint32_t(uint8_t(data[i + 1])) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> base64Decode(std::string_view text) {
  // Split off the trailing padding so that the loop below expects only alphabet characters.
  size_t end = text.size();
  while (end > 0 && text[end - 1] == '=') --end;
  size_t padding = text.size() - end;
  std::string out;
  out.reserve(end / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < end; ++i) {
    int v = sextet(static_cast<unsigned char>(text[i]));
    if (v < 0) {
      if (text[i] == '=')
        return failInvalid(
            fmt::format("invalid base64: padding '=' inside the data at offset {}", i));
      return failInvalid(fmt::format("invalid base64: unexpected {} at offset {}",
                                     describe(static_cast<unsigned char>(text[i])), i));
    }
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Length and padding are checked after the characters, so that a stray character is reported
  // as such rather than as a bad length.
  if (padding > 2)
    return failInvalid(fmt::format("invalid base64: too much padding at offset {}", end));
  if (padding > 0 && text.size() % 4 != 0)
    return failInvalid(
        fmt::format("invalid base64: padding at offset {} does not end a group of 4", end));
  if (end % 4 == 1)
    return failInvalid(fmt::format("invalid base64: length {} leaves a lone character", end));
  return out;
}

}  // namespace strata
