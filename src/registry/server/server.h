// `strata registry serve` and `strata registry gc`: a registry speaking the OCI distribution
// API v1.1 over a storage directory (layout in storage.h).
//
// Several server processes may serve one storage directory at once: all state lives in files
// replaced atomically, and bearer tokens are signed with a key kept in the storage.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "util/error.h"

namespace strata::registry::server {

struct ServeOptions {
  std::string addr = "127.0.0.1:5000";  // HOST:PORT, [V6]:PORT or :PORT; port 0 picks a free one
  std::string storage;                  // created when missing (must exist in read-only mode)
  std::string tlsCert, tlsKey;          // PEM files; TLS on every connection when both are set
  std::string htpasswd;                 // users (bcrypt); every /v2/ request needs credentials when set
  bool readOnly = false;                // refuse every write with 405 UNSUPPORTED
  bool allowDelete = false;             // DELETE of manifests, tags and blobs (else 405)
  bool tokenAuth = false;               // with htpasswd: answer 401 with a Bearer challenge
                                        // naming /token instead of a Basic one
  FILE* log = stderr;                   // one line per request; nullptr for none
};

// A running registry. Thread-safe; stop() may be called from any thread.
class Server {
 public:
  // Validates opt (one-line errors naming the bad address, directory or file), opens the
  // storage, binds and starts serving on background threads.
  static Result<std::unique_ptr<Server>> start(const ServeOptions& opt);
  ~Server();  // stop()s
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The port bound (the one chosen when the address asked for port 0).
  uint16_t port() const;
  // Stops accepting, breaks off requests in progress and joins every thread. Idempotent.
  void stop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Starts a Server and serves until SIGINT or SIGTERM, then stops it and returns. The signals
// are blocked in the calling thread (and so in the server's threads) while it runs.
Status serve(const ServeOptions& opt);

struct GcResult {
  uint64_t blobsRemoved = 0, bytesFreed = 0;
};

// Removes every blob that no manifest of any repository references (manifests themselves are
// kept while a repository links them), the repository links to removed blobs, referrer
// entries of deleted manifests and uploads started more than a week ago. Run it while no push
// is in progress (a server in read-only mode may keep serving): a blob uploaded but not yet
// referenced by a manifest would be removed.
Result<GcResult> collectGarbage(const std::string& storage);

}  // namespace strata::registry::server
