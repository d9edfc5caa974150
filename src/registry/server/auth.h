// Who may use the registry: users of an htpasswd file (bcrypt hashes, as `htpasswd -B` writes
// them; checked with libxcrypt's crypt_r), sending Basic credentials on every request or a
// Bearer token from the server's own token endpoint.
//
// Tokens are "<payload>.<hmac>" where the payload names the user and the expiry time and the
// HMAC-SHA256 key lives in the storage (Storage::tokenKeyPath()), so every server process
// sharing the storage accepts the tokens of the others. There are no per-repository permissions: an
// authenticated user may pull and push everything.
//
// Thread safety: every method may be called concurrently.
#pragma once

#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.h"

namespace strata::registry::server {

// The users of an htpasswd file, re-read when the file changes.
class Htpasswd {
 public:
  // Reads path; errors name it (unreadable, a line without "user:hash").
  static Result<std::unique_ptr<Htpasswd>> load(const std::string& path);
  // Whether password is user's. Successful checks are remembered for a few minutes, since
  // clients send Basic credentials with every request and bcrypt is slow on purpose.
  bool verify(const std::string& user, const std::string& password);

 private:
  explicit Htpasswd(std::string path) : path_(std::move(path)) {}
  Status reloadIfChanged();

  std::string path_;
  std::mutex mu_;
  std::map<std::string, std::string> users_;  // user -> hash
  struct timespec mtime_ {};
  off_t size_ = -1;
  ino_t inode_ = 0;
  std::map<std::string, std::chrono::steady_clock::time_point> recent_;  // verified keys
  std::string cacheSalt_;
};

struct TokenGrant {
  std::string token;
  int64_t expiresIn = 0;  // seconds
  std::string issuedAt;   // RFC 3339
};

class Authenticator {
 public:
  // htpasswdPath must be readable; the token key file is created (0600, in a 0700 folder) when
  // missing, and kept in memory only when it cannot be written (read-only storage). bearer
  // selects the challenge sent on 401: a Bearer challenge naming the token endpoint, or Basic.
  static Result<std::unique_ptr<Authenticator>> create(const std::string& htpasswdPath,
                                                       const std::string& tokenKeyPath, bool bearer);

  // The user an Authorization header value proves ("Basic ..." or "Bearer ..."), or nullopt.
  std::optional<std::string> authenticate(std::string_view authorization);
  // The user of valid Basic credentials only (the token endpoint accepts no tokens).
  std::optional<std::string> authenticateBasic(std::string_view authorization);
  std::optional<std::string> checkPassword(const std::string& user, const std::string& password);
  // A token for user, valid for kTokenSeconds.
  TokenGrant issue(const std::string& user);

  // The WWW-Authenticate value for a 401: Basic, or Bearer with the token endpoint at
  // base + "/token" (base = "https://host:port") and scope when not empty.
  std::string challenge(const std::string& base, const std::string& scope) const;
  bool bearer() const { return bearer_; }

  static constexpr int64_t kTokenSeconds = 300;

 private:
  Authenticator() = default;
  std::string sign(std::string_view payload) const;

  std::unique_ptr<Htpasswd> users_;
  std::string key_;
  bool bearer_ = false;
};

}  // namespace strata::registry::server
