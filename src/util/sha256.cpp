#include "util/sha256.h"

// OpenSSL's SHA256_* functions, not EVP: an EVP digest's first use in a process loads OpenSSL's
// provider tables (about 5 million instructions, 1.5 ms, paid by every command that reads a
// blob), while these call the same assembly (SHA extensions, AVX2) directly. They are marked
// deprecated since OpenSSL 3.0 in favour of EVP, and remain in its API.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

namespace strata {

struct Sha256::Impl {
  SHA256_CTX ctx;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) { SHA256_Init(&impl_->ctx); }
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, size_t size) { SHA256_Update(&impl_->ctx, data, size); }

std::string Sha256::hex() {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256_Final(md, &impl_->ctx);
  static const char* digits = "0123456789abcdef";
  std::string out(2 * SHA256_DIGEST_LENGTH, '0');
  for (unsigned i = 0; i < SHA256_DIGEST_LENGTH; ++i) {
    out[2 * i] = digits[md[i] >> 4];
    out[2 * i + 1] = digits[md[i] & 15];
  }
  return out;
}

std::string Sha256::hexOf(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.hex();
}

}  // namespace strata
