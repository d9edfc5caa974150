#include "oci/digest.h"

#include "util/sha256.h"

namespace strata::oci {

static bool isLowerHex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool isSha256Hex(std::string_view text) { return text.size() == 64 && isLowerHex(text); }

Result<Digest> Digest::parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return failInvalid("invalid digest `" + std::string(text) + "`: missing algorithm");
  std::string_view alg = text.substr(0, colon), hex = text.substr(colon + 1);
  size_t want = 0;
  if (alg == "sha256") want = 64;
  else if (alg == "sha512") want = 128;
  else return failInvalid("invalid digest `" + std::string(text) + "`: unsupported algorithm");
  if (hex.size() != want || !isLowerHex(hex))
    return failInvalid("invalid digest `" + std::string(text) + "`: want " +
                       std::to_string(want) + " lowercase hex characters");
  return Digest{std::string(alg), std::string(hex)};
}

Digest Digest::of(std::string_view data) { return sha256(Sha256::hexOf(data)); }

}  // namespace strata::oci
