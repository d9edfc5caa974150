#include "registry/auth.h"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "util/base64.h"
#include "util/fs.h"

namespace strata::registry {

using Json = nlohmann::ordered_json;

// ---------------------------------------------------------------- challenges

namespace {

bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

// A cursor over a header value. Every read either consumes input or reports that it could not,
// so the parse loops always make progress.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  bool done() const { return pos_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[pos_]; }
  size_t pos() const { return pos_; }
  void seek(size_t p) { pos_ = p; }
  void advance() { ++pos_; }

  void skipSpace() {
    while (!done() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  // Skips spaces and commas: the separators of a list with possibly empty elements.
  void skipSeparators() {
    while (!done() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == ',')) ++pos_;
  }
  std::string_view token() {
    size_t start = pos_;
    while (!done() && isTokenChar(s_[pos_])) ++pos_;
    return s_.substr(start, pos_ - start);
  }
  // After the opening quote: the unescaped content up to the closing quote (or the end, when the
  // string is unterminated).
  std::string quoted() {
    std::string out;
    while (!done()) {
      char c = s_[pos_++];
      if (c == '"') break;
      if (c == '\\') {
        if (done()) break;
        c = s_[pos_++];
      }
      out += c;
    }
    return out;
  }
  // A lenient unquoted value: everything up to a comma or white space.
  std::string_view bare() {
    size_t start = pos_;
    while (!done() && s_[pos_] != ',' && s_[pos_] != ' ' && s_[pos_] != '\t') ++pos_;
    return s_.substr(start, pos_ - start);
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

// Reads the auth-params after a scheme into c, stopping before a token that starts the next
// challenge.
void parseParams(Scanner& sc, Challenge& c) {
  for (;;) {
    sc.skipSeparators();
    if (sc.done()) return;
    size_t start = sc.pos();
    std::string_view name = sc.token();
    if (name.empty()) {
      sc.advance();  // not a token character: skip it
      continue;
    }
    sc.skipSpace();
    if (sc.peek() != '=') {
      sc.seek(start);  // a token without '=' is the next challenge's scheme
      return;
    }
    sc.advance();
    sc.skipSpace();
    std::string value;
    if (sc.peek() == '"') {
      sc.advance();
      value = sc.quoted();
    } else {
      value = sc.bare();
    }
    c.params.emplace(lowered(name), std::move(value));
  }
}

}  // namespace

std::vector<Challenge> parseChallenges(std::string_view headerValue) {
  std::vector<Challenge> out;
  Scanner sc(headerValue);
  for (;;) {
    sc.skipSeparators();
    if (sc.done()) break;
    std::string_view scheme = sc.token();
    if (scheme.empty()) {
      sc.advance();  // garbage before a scheme
      continue;
    }
    Challenge c;
    c.scheme = lowered(scheme);
    parseParams(sc, c);
    out.push_back(std::move(c));
  }
  return out;
}

// ---------------------------------------------------------------- keys and paths

namespace {

constexpr std::string_view kDockerHubKey = "https://index.docker.io/v1/";

// The host part of a config.json key or a domain: scheme and path removed, Docker Hub's aliases
// folded into "index.docker.io". This is Docker's ConvertToHostname plus the alias folding.
std::string registryHost(std::string_view key) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (key.starts_with(scheme)) {
      key.remove_prefix(scheme.size());
      break;
    }
  }
  key = key.substr(0, key.find('/'));
  if (key == "docker.io" || key == "index.docker.io" || key == "registry-1.docker.io")
    return "index.docker.io";
  return std::string(key);
}

std::string homeDir() {
  if (const char* h = std::getenv("HOME"); h && *h) return h;
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::string buf(size > 0 ? size_t(size) : 16384, '\0');
  struct passwd pw;
  struct passwd* result = nullptr;
  if (::getpwuid_r(::getuid(), &pw, buf.data(), buf.size(), &result) != 0 || !result) return "";
  return result->pw_dir ? result->pw_dir : "";
}

std::string configPath(const char* envVar, const char* homeSubdir) {
  if (const char* d = std::getenv(envVar); d && *d) return joinPath(d, "config.json");
  std::string home = homeDir();
  if (home.empty()) return "";
  return joinPath(joinPath(home, homeSubdir), "config.json");
}

}  // namespace

std::string credentialKey(std::string_view domain) {
  std::string host = registryHost(domain);
  if (host == "index.docker.io") return std::string(kDockerHubKey);
  return host;
}

std::string strataConfigPath() { return configPath("STRATA_CONFIG", ".strata"); }
std::string dockerConfigPath() { return configPath("DOCKER_CONFIG", ".docker"); }

// ---------------------------------------------------------------- config files

namespace {

// The JSON object in path; an empty object when path is empty or the file does not exist.
Result<Json> readDocument(const std::string& path) {
  if (path.empty()) return Json::object();
  auto text = strata::readFile(path);
  if (!text) {
    if (text.error().code() == ENOENT) return Json::object();
    return fail(std::move(text).error());
  }
  Json j = Json::parse(*text, nullptr, false);
  if (j.is_discarded()) return failInvalid("malformed config file `" + path + "`: not valid JSON");
  if (!j.is_object()) return failInvalid("malformed config file `" + path + "`: not a JSON object");
  return j;
}

std::string stringField(const Json& entry, const char* key) {
  auto it = entry.find(key);
  return it != entry.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// One "auths" entry: "auth" (base64 of user:password) wins over "username"/"password".
Result<Credentials> parseEntry(const Json& entry) {
  if (!entry.is_object()) return failInvalid("not a JSON object");
  Credentials c;
  c.username = stringField(entry, "username");
  c.password = stringField(entry, "password");
  c.identityToken = stringField(entry, "identitytoken");
  if (std::string auth = stringField(entry, "auth"); !auth.empty()) {
    std::string decoded = TRY_CTX(base64Decode(auth), "\"auth\"");
    size_t colon = decoded.find(':');
    if (colon == std::string::npos) return failInvalid("\"auth\" does not decode to user:password");
    c.username = decoded.substr(0, colon);
    c.password = decoded.substr(colon + 1);
  }
  return c;
}

Status writeDocument(const std::string& path, const Json& doc) {
  TRYV(mkdirAll(dirName(path), 0700));
  return writeFileAtomic(path, doc.dump(1, '\t') + "\n", 0600);
}

}  // namespace

Result<CredentialStore::File> CredentialStore::readConfig(const std::string& path) {
  return parseConfig(TRY(readDocument(path)), path);
}

Result<CredentialStore::File> CredentialStore::parseConfig(const Json& doc,
                                                           const std::string& path) {
  auto bad = [&](const std::string& what) {
    return failInvalid("malformed config file `" + path + "`: " + what);
  };
  File f;
  f.path = path;
  if (auto auths = doc.find("auths"); auths != doc.end()) {
    if (!auths->is_object()) return bad("\"auths\" is not a JSON object");
    for (const auto& [key, entry] : auths->items()) {
      auto c = parseEntry(entry);
      if (!c) return bad("\"auths\" entry `" + key + "`: " + c.error().message());
      f.auths.emplace_back(key, std::move(*c));
    }
  }
  if (auto ins = doc.find("insecure-registries"); ins != doc.end()) {
    if (!ins->is_array()) return bad("\"insecure-registries\" is not a list");
    for (const auto& host : *ins) {
      if (!host.is_string()) return bad("\"insecure-registries\" holds a non-string");
      f.insecureRegistries.push_back(host.get<std::string>());
    }
  }
  return f;
}

Result<CredentialStore> CredentialStore::load() {
  return load(strataConfigPath(), dockerConfigPath());
}

Result<CredentialStore> CredentialStore::load(const std::string& strataPath,
                                              const std::string& dockerPath) {
  CredentialStore s;
  s.strata_ = TRY(readConfig(strataPath));
  s.docker_ = TRY(readConfig(dockerPath));
  return s;
}

std::optional<Credentials> CredentialStore::findIn(const File& f, std::string_view domain) {
  std::string key = credentialKey(domain);
  for (const auto& [k, c] : f.auths)
    if (k == key && !c.empty()) return c;
  std::string host = registryHost(domain);
  for (const auto& [k, c] : f.auths)
    if (registryHost(k) == host && !c.empty()) return c;
  return std::nullopt;
}

std::optional<Credentials> CredentialStore::find(std::string_view domain) const {
  if (auto c = findIn(strata_, domain)) return c;
  return findIn(docker_, domain);
}

Status CredentialStore::save(std::string_view domain, const Credentials& c) {
  std::string key = credentialKey(domain);
  if (c.username.empty() && c.identityToken.empty())
    return failInvalid("save credentials for `" + key + "`: no username or identity token");
  if (c.username.find(':') != std::string::npos)
    return failInvalid("save credentials for `" + key + "`: username must not contain ':'");
  if (strata_.path.empty())
    return failInvalid("save credentials for `" + key + "`: no home directory for the config file");

  std::string ctx = "save credentials for `" + key + "`";
  // Re-read so that changes since load() survive, and refuse to rewrite a malformed file.
  Json doc = TRY_CTX(readDocument(strata_.path), ctx);
  TRYV_CTX(parseConfig(doc, strata_.path), ctx);
  if (!doc.contains("auths")) doc["auths"] = Json::object();
  Json entry = Json::object();
  if (!c.username.empty() || !c.password.empty())
    entry["auth"] = base64Encode(c.username + ":" + c.password);
  if (!c.identityToken.empty()) entry["identitytoken"] = c.identityToken;
  doc["auths"][key] = std::move(entry);

  TRYV_CTX(writeDocument(strata_.path, doc), ctx);
  strata_ = TRY_CTX(parseConfig(doc, strata_.path), ctx);
  return {};
}

Result<bool> CredentialStore::erase(std::string_view domain) {
  std::string key = credentialKey(domain);
  std::string ctx = "remove credentials for `" + key + "`";
  if (strata_.path.empty()) return false;
  Json doc = TRY_CTX(readDocument(strata_.path), ctx);
  TRYV_CTX(parseConfig(doc, strata_.path), ctx);
  auto auths = doc.find("auths");
  if (auths == doc.end()) return false;

  // Every alias of the registry goes, or find() would fall back to one left behind.
  std::string host = registryHost(domain);
  std::vector<std::string> doomed;
  for (const auto& [k, entry] : auths->items())
    if (registryHost(k) == host) doomed.push_back(k);
  if (doomed.empty()) return false;
  for (const auto& k : doomed) auths->erase(k);

  TRYV_CTX(writeDocument(strata_.path, doc), ctx);
  strata_ = TRY_CTX(parseConfig(doc, strata_.path), ctx);
  return true;
}

std::vector<std::string> CredentialStore::insecureRegistries() const {
  return strata_.insecureRegistries;
}

}  // namespace strata::registry
