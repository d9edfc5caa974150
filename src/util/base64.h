// Base64 with the standard alphabet of RFC 4648 §4 (A-Z a-z 0-9 + /), as Docker's config.json
// "auth" field and registry tokens use it.
#pragma once

#include <string>
#include <string_view>

#include "util/error.h"

namespace strata {

// Encodes data with the standard alphabet, padded with '=' to a multiple of 4 characters.
std::string base64Encode(std::string_view data);

// Decodes standard-alphabet base64, padded or unpadded. Padding, when present, must complete the
// last group of 4 ("QQ==", "QUI="); nothing may follow it. Unused low bits of the last character
// are ignored, as Go's decoder does. Errors (one line, naming the problem and its offset): a
// character outside the alphabet (whitespace included), misplaced or excess padding, a length that
// cannot be base64 (a lone character in the last group).
Result<std::string> base64Decode(std::string_view text);

}  // namespace strata
