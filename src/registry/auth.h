// Registry authentication inputs: WWW-Authenticate challenges and stored credentials.
//
// Credentials live in Docker's config.json format:
//   {"auths": {"<key>": {"auth": base64("user:password")}}}
// strata reads its own file first ($STRATA_CONFIG/config.json or ~/.strata/config.json), then
// Docker's ($DOCKER_CONFIG/config.json or ~/.docker/config.json), and writes only its own.
// Credential helpers ("credsStore", "credHelpers") are not supported: an entry that only points at
// a helper yields no credentials.
#pragma once

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.h"

namespace strata::registry {

// One challenge from a WWW-Authenticate header (RFC 7235 §4.1).
struct Challenge {
  std::string scheme;                         // lowercased: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lowercased; values unquoted and unescaped
};

// Parses every challenge in one WWW-Authenticate header value:
//   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="a:b:pull"
// A challenge is a scheme token followed by comma-separated name=value parameters, the value a
// token or a quoted-string with backslash escapes; a token not followed by '=' starts the next
// challenge. Extra spaces and empty list elements are skipped; unquoted values run to the next
// comma or space (servers send realm=https://... unquoted). A name repeated within a challenge
// keeps its first value. token68 forms ("Negotiate abc==") are not represented. Never fails:
// malformed input yields whatever challenges could be recognised, possibly none.
std::vector<Challenge> parseChallenges(std::string_view headerValue);

struct Credentials {
  std::string username;
  std::string password;
  std::string identityToken;  // an OAuth refresh token ("identitytoken" in config.json)

  // True when no field is set.
  bool empty() const { return username.empty() && password.empty() && identityToken.empty(); }
};

// The key Docker uses in config.json for a registry domain: "https://index.docker.io/v1/" for
// Docker Hub (docker.io, index.docker.io, registry-1.docker.io), otherwise the domain's host
// ("localhost:5000"). A scheme or path on domain is dropped.
std::string credentialKey(std::string_view domain);

// strata's config file: $STRATA_CONFIG/config.json when STRATA_CONFIG is set and non-empty, else
// $HOME/.strata/config.json (HOME from the environment, else the password database). Empty when
// no home directory can be found.
std::string strataConfigPath();
// Docker's config file: $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json. Empty when no
// home directory can be found.
std::string dockerConfigPath();

// The credentials and registry settings read from strata's and Docker's config files.
// Not thread-safe; save() and erase() do not lock against other processes writing the file.
class CredentialStore {
 public:
  // Reads strataConfigPath() and dockerConfigPath().
  static Result<CredentialStore> load();
  // Reads the two files given. Either may be missing (or the path empty): it then holds nothing.
  // Errors name the file: unreadable, not a JSON object, "auths" or an entry not an object, an
  // "auth" value that is not base64 of "user:password", "insecure-registries" not a string list.
  static Result<CredentialStore> load(const std::string& strataPath, const std::string& dockerPath);

  // Credentials for a registry domain ("docker.io", "localhost:5000"): strata's file first, then
  // Docker's. Within a file the exact credentialKey() wins; otherwise a key matches when, with any
  // "http://"/"https://" and path removed, its host is the domain's host (Docker Hub's aliases
  // count as one host), so "https://localhost:5000/v2/" serves "localhost:5000". Entries with no
  // credentials (left behind by a credential helper) are skipped. nullopt when nothing matches.
  std::optional<Credentials> find(std::string_view domain) const;

  // Stores c under credentialKey(domain) in strata's file, keeping every other key of the file.
  // The directory is created 0700 if missing; the file is written 0600 through temp + fsync +
  // rename. The file is re-read first, so changes since load() are kept. Errors: c has no
  // username and no identity token, a username containing ':', no strata config path, I/O.
  Status save(std::string_view domain, const Credentials& c);

  // Removes every entry for domain (exact key or normalised match) from strata's file. Returns
  // whether one was there; the file is not rewritten when nothing matched. Docker's file is
  // never changed, so find() may still answer from it afterwards.
  Result<bool> erase(std::string_view domain);

  // "insecure-registries" of strata's file: registry hosts ("host:port") to reach over plain
  // HTTP or with unverified TLS. Empty when the file does not set it.
  std::vector<std::string> insecureRegistries() const;

 private:
  struct File {
    std::string path;
    std::vector<std::pair<std::string, Credentials>> auths;  // in file order
    std::vector<std::string> insecureRegistries;
  };
  static Result<File> readConfig(const std::string& path);
  // Validates doc, the content of path, and extracts what find() and insecureRegistries() need.
  static Result<File> parseConfig(const nlohmann::ordered_json& doc, const std::string& path);
  static std::optional<Credentials> findIn(const File& f, std::string_view domain);

  File strata_;
  File docker_;
};

}  // namespace strata::registry
