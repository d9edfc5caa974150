// Content digests ("sha256:<64 lowercase hex>").
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "util/error.h"

namespace strata::oci {

struct Digest {
  std::string algorithm;  // only "sha256" is produced; "sha512" is accepted by parse()
  std::string hex;

  // Parses "alg:hex", checking the algorithm and the hex length and alphabet; the error names
  // the text.
  static Result<Digest> parse(std::string_view text);
  static Digest sha256(std::string hex) { return Digest{"sha256", std::move(hex)}; }
  // The sha256 digest of data.
  static Digest of(std::string_view data);

  std::string str() const { return algorithm + ":" + hex; }
  bool empty() const { return hex.empty(); }
  auto operator<=>(const Digest&) const = default;
};

// True when text is a full 64-hex sha256 value without the "sha256:" prefix.
bool isSha256Hex(std::string_view text);

}  // namespace strata::oci
