// Incremental SHA-256 (OpenSSL's implementation; uses the CPU's SHA extensions where present).
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace strata {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(const void* data, size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // Lowercase hex of the digest. Ends the computation; the object must not be updated after.
  std::string hex();

  static std::string hexOf(std::string_view data);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata
