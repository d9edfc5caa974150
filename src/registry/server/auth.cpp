#include "registry/server/auth.h"

#include <crypt.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

#include "util/base64.h"
#include "util/format.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace strata::registry::server {
namespace {

constexpr auto kRememberFor = std::chrono::minutes(5);
constexpr size_t kMaxRemembered = 10000;

std::string toHex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

std::string randomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  for (size_t got = 0; got < bytes;) {
    const ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  return toHex(reinterpret_cast<const unsigned char*>(raw.data()), bytes);
}

bool equalConstantTime(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Hash schemes accepted in the htpasswd file: bcrypt (what `htpasswd -B` writes) and the
// crypt(3) schemes libxcrypt offers that are not weak.
bool supportedHash(std::string_view h) {
  for (std::string_view prefix : {"$2a$", "$2b$", "$2y$", "$5$", "$6$", "$y$"})
    if (h.substr(0, prefix.size()) == prefix) return true;
  return false;
}

Result<std::map<std::string, std::string>> parseHtpasswd(const std::string& path, const std::string& text) {
  std::map<std::string, std::string> users;
  size_t lineNo = 0, start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++lineNo;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const size_t colon = line.find(':');
    if (colon == 0 || colon == std::string::npos || colon + 1 == line.size())
      return failInvalid("htpasswd `" + path + "` line " + std::to_string(lineNo) + ": want user:hash");
    users.emplace(line.substr(0, colon), line.substr(colon + 1));
  }
  return users;
}

// The user and password of a "Basic <base64>" value.
std::optional<std::pair<std::string, std::string>> basicCredentials(std::string_view header) {
  if (header.size() < 6 || strncasecmp(header.data(), "basic ", 6) != 0) return std::nullopt;
  std::string_view b64 = header.substr(6);
  while (!b64.empty() && b64.front() == ' ') b64.remove_prefix(1);
  auto decoded = base64Decode(b64);
  if (!decoded) return std::nullopt;
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  return std::make_pair(decoded->substr(0, colon), decoded->substr(colon + 1));
}

// The token key shared by every process using the storage: created once with link(2), which
// fails when another process won the race, so all read the same key.
std::string tokenKey(const std::string& path) {
  const std::string dir = dirName(path);
  if (auto key = readFile(path); key && key->size() >= 32) return *key;
  const std::string fresh = randomHex(32);
  if (mkdirAll(dir, 0700)) {
    const std::string tmp = dir + "/.token.key-" + randomHex(6);
    if (writeFileAtomic(tmp, fresh, 0600)) {
      const bool linked = ::link(tmp.c_str(), path.c_str()) == 0;
      ::unlink(tmp.c_str());
      if (linked) (void)fsyncDir(dir);
      if (auto key = readFile(path); key && key->size() >= 32) return *key;
    }
  }
  return fresh;  // read-only storage: tokens are good for this process only
}

}  // namespace

Result<std::unique_ptr<Htpasswd>> Htpasswd::load(const std::string& path) {
  std::unique_ptr<Htpasswd> h(new Htpasswd(path));
  h->cacheSalt_ = randomHex(16);
  TRYV(h->reloadIfChanged());
  return h;
}

Status Htpasswd::reloadIfChanged() {
  struct stat st;
  if (::stat(path_.c_str(), &st) < 0) return failErrno("htpasswd `" + path_ + "`");
  if (st.st_mtim.tv_sec == mtime_.tv_sec && st.st_mtim.tv_nsec == mtime_.tv_nsec && st.st_size == size_ &&
      st.st_ino == inode_)
    return {};
  std::string text = TRY_CTX(readFile(path_), "htpasswd `" + path_ + "`");
  users_ = TRY(parseHtpasswd(path_, text));
  mtime_ = st.st_mtim;
  size_ = st.st_size;
  inode_ = st.st_ino;
  recent_.clear();
  return {};
}

bool Htpasswd::verify(const std::string& user, const std::string& password) {
  std::string hash, key;
  {
    std::lock_guard lock(mu_);
    (void)reloadIfChanged();  // a broken edit keeps the users read before
    auto it = users_.find(user);
    if (it == users_.end() || !supportedHash(it->second)) return false;
    hash = it->second;
    key = Sha256::hexOf(cacheSalt_ + '\0' + user + '\0' + password + '\0' + hash);
    if (auto r = recent_.find(key); r != recent_.end() && std::chrono::steady_clock::now() - r->second < kRememberFor)
      return true;
  }
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const char* out = ::crypt_r(password.c_str(), hash.c_str(), data.get());
  if (!out || out[0] == '*' || !equalConstantTime(out, hash)) return false;
  std::lock_guard lock(mu_);
  if (recent_.size() >= kMaxRemembered) recent_.clear();
  recent_[key] = std::chrono::steady_clock::now();
  return true;
}

Result<std::unique_ptr<Authenticator>> Authenticator::create(const std::string& htpasswdPath,
                                                             const std::string& tokenKeyPath, bool bearer) {
  std::unique_ptr<Authenticator> a(new Authenticator());
  a->users_ = TRY(Htpasswd::load(htpasswdPath));
  a->key_ = tokenKey(tokenKeyPath);
  a->bearer_ = bearer;
  return a;
}

std::string Authenticator::sign(std::string_view payload) const {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(payload.data()),
       payload.size(), md, &len);
  return toHex(md, len);
}

std::optional<std::string> Authenticator::checkPassword(const std::string& user, const std::string& password) {
  if (users_->verify(user, password)) return user;
  return std::nullopt;
}

std::optional<std::string> Authenticator::authenticateBasic(std::string_view authorization) {
  auto creds = basicCredentials(authorization);
  if (!creds) return std::nullopt;
  return checkPassword(creds->first, creds->second);
}

std::optional<std::string> Authenticator::authenticate(std::string_view authorization) {
  if (authorization.size() > 7 && strncasecmp(authorization.data(), "bearer ", 7) == 0) {
    std::string_view token = authorization.substr(7);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    const size_t dot = token.rfind('.');
    if (dot == std::string_view::npos || !equalConstantTime(sign(token.substr(0, dot)), token.substr(dot + 1)))
      return std::nullopt;
    auto payload = base64Decode(token.substr(0, dot));
    if (!payload) return std::nullopt;
    const size_t nl = payload->rfind('\n');
    if (nl == std::string::npos) return std::nullopt;
    const std::string user = payload->substr(0, nl);
    int64_t expiry = 0;
    for (char c : payload->substr(nl + 1)) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
      expiry = expiry * 10 + (c - '0');
    }
    if (expiry < static_cast<int64_t>(std::time(nullptr))) return std::nullopt;
    return user;
  }
  return authenticateBasic(authorization);
}

TokenGrant Authenticator::issue(const std::string& user) {
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  const std::string payload = base64Encode(user + "\n" + std::to_string(now + kTokenSeconds));
  return TokenGrant{payload + "." + sign(payload), kTokenSeconds, formatRfc3339Nano(now, 0)};
}

std::string Authenticator::challenge(const std::string& base, const std::string& scope) const {
  if (!bearer_) return "Basic realm=\"strata-registry\"";
  std::string c = "Bearer realm=\"" + base + "/token\",service=\"strata-registry\"";
  if (!scope.empty()) c += ",scope=\"" + scope + "\"";
  return c;
}

}  // namespace strata::registry::server
