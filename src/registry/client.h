// A client of one registry speaking the OCI distribution API: endpoint and scheme choice, the
// Basic and Bearer token authentication flows, manifests, blobs, uploads and tags.
//
// Errors name the registry and what was asked, and carry the registry's own error text the way
// Docker prints it ("manifest unknown: manifest unknown", "unauthorized: authentication
// required").
//
// Thread safety: every method may be called from several threads at once (pull and push fetch
// and upload layers in parallel); tokens are shared under a lock.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "oci/digest.h"
#include "oci/image.h"
#include "registry/auth.h"
#include "util/error.h"
#include "util/http.h"

namespace strata::registry {

struct Options {
  // Registries (host[:port]) reached over plain HTTP, or HTTPS without certificate checks.
  std::vector<std::string> insecure;
  std::optional<Credentials> credentials;
};

// The host serving the API for a reference's domain ("docker.io" -> "registry-1.docker.io").
std::string apiHost(std::string_view domain);
// Plain HTTP is allowed for localhost, 127.0.0.0/8, ::1 and the listed registries.
bool allowsPlainHttp(std::string_view domain, const std::vector<std::string>& insecure);

struct FetchedManifest {
  std::string bytes;
  std::string mediaType;  // from the document (or Content-Type when the document has none)
  oci::Digest digest;     // sha256 of bytes, checked against what the registry said
};

// The media types pull accepts, in preference order (manifests and indexes).
extern const char* const kManifestAccept;

class Client {
 public:
  // Finds domain's endpoint: HTTPS, or plain HTTP when HTTPS fails and allowsPlainHttp(); pings
  // /v2/ and keeps the authentication challenge. Errors: unreachable host, TLS failure, not a
  // registry — each naming the registry.
  static Result<std::unique_ptr<Client>> connect(const std::string& domain, const Options& opt);

  const std::string& domain() const { return domain_; }
  // "https://host:port"
  const std::string& base() const { return base_; }

  // Widens the access the next token asks for ("repository:library/busybox:pull").
  void addScope(const std::string& scope);
  // Checks the credentials (a token fetched with them, or /v2/ answered with Basic auth).
  Status checkLogin();

  // GET a manifest or index by tag or digest; verified against the digest asked for, and against
  // Docker-Content-Digest when the registry sends one.
  Result<FetchedManifest> getManifest(const std::string& repo, const std::string& reference);
  // PUT a manifest under reference (a tag or its digest). Returns the digest the registry gave,
  // checked against sha256 of bytes.
  Result<oci::Digest> putManifest(const std::string& repo, const std::string& reference,
                                  const std::string& bytes, const std::string& mediaType);

  // Reads a small blob (config) whole, verified against d and at most limit bytes.
  Result<std::string> fetchSmallBlob(const std::string& repo, const oci::Digest& d, uint64_t limit);
  // Streams blob d from byte offset into sink, following redirects to blob storage. Before the
  // first byte, onStart learns whether the registry resumed at offset (true) or restarts from
  // byte 0 (false).
  Status fetchBlob(const std::string& repo, const oci::Digest& d, uint64_t offset,
                   const std::function<Status(bool resumed)>& onStart,
                   const std::function<Status(const char*, size_t)>& sink);
  // HEAD: whether the repository has blob d.
  Result<bool> hasBlob(const std::string& repo, const oci::Digest& d);
  // Cross-repository mount of d from another repository of this registry. Returns false when
  // the registry started a normal upload instead (which is cancelled).
  Result<bool> mountBlob(const std::string& repo, const oci::Digest& d, const std::string& from);
  // Uploads size bytes read from fd (positional reads from offset 0) as blob d: monolithic up to
  // chunkSize, chunked PATCHes of chunkSize above it. progress gets the bytes sent so far.
  Status uploadBlob(const std::string& repo, const oci::Digest& d, int fd, uint64_t size,
                    const std::function<void(uint64_t)>& progress);

  // Every tag of repo, following pagination.
  Result<std::vector<std::string>> listTags(const std::string& repo);

  static constexpr uint64_t kChunkSize = 8u << 20;

 private:
  Client(std::string domain, Options opt) : domain_(std::move(domain)), opt_(std::move(opt)) {}
  Status ping();
  // Sends req with authorisation; on 401 refreshes the token (for the challenge's scope too)
  // and retries once.
  Result<http::Response> send(http::Request req);
  Status authorize(http::Request& req);
  Status refreshToken(const std::string& challengeHeader);
  std::string url(std::string_view path) const { return base_ + std::string(path); }

  std::string domain_;
  Options opt_;
  std::string base_;
  bool verifyTls_ = true;

  std::mutex mu_;
  std::optional<Challenge> challenge_;  // from /v2/ or a later 401
  std::set<std::string> scopes_;
  std::string token_;       // Bearer token for scopes_ ("" until fetched)
  bool tokenStale_ = true;  // scopes_ changed since token_ was fetched
};

// What the configuration files say about domain: its credentials (strata's config, then
// Docker's) and the insecure registries (strata's config plus extraInsecure).
Options configuredOptions(const CredentialStore& config, const std::string& domain,
                          const std::vector<std::string>& extraInsecure);
// Connects to domain with configuredOptions() from the configuration files.
Result<std::unique_ptr<Client>> connectConfigured(const std::string& domain,
                                                  const std::vector<std::string>& extraInsecure);

// Docker's text for a registry's error response: "manifest unknown: manifest unknown", or
// "unexpected status 500 Internal Server Error" when the body says nothing.
std::string errorText(const http::Response& r);

}  // namespace strata::registry
