// A small HTTP/1.1 server: one dispatcher thread (accept + epoll over idle keep-alive
// connections) and a fixed pool of worker threads that each serve one request at a time.
//
// Request bodies (Content-Length or chunked) are streamed to the handler; responses carry a body
// from a string or from a file range (sendfile(2) on plain TCP). HEAD responses carry the
// headers of the GET. Every socket has read/write timeouts and the request head a deadline, so
// a stalled client cannot pin a worker for long; idle connections cost no worker at all.
// One log line per request: `127.0.0.1 - user "GET /v2/ HTTP/1.1" 200 2 0.001s`.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.h"
#include "util/fd.h"

namespace strata::registry::server {

class TlsContext;
class BodyReader;

struct HttpRequest {
  std::string method;   // as sent ("GET")
  std::string target;   // as sent ("/v2/x/tags/list?n=2")
  std::string path;     // target up to '?', not decoded
  std::string query;    // after '?', not decoded
  std::string version;  // "HTTP/1.1"
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string remote;   // peer address ("127.0.0.1")
  bool tls = false;
  std::string user;     // set by the handler once authenticated; shown in the log line

  // The first header called name (lowercase), or "".
  std::string header(std::string_view name) const;
  // Whether the request has a body to read (chunked, or Content-Length above 0).
  bool hasBody() const;
  // Reads up to size bytes of the body; 0 at its end. Errors: the client broke off, timed out,
  // or sent malformed chunked framing.
  Result<size_t> readBody(char* buf, size_t size);
  // Reads the whole body; an error with errno EFBIG when it is longer than limit.
  Result<std::string> readBodyAll(size_t limit);

  BodyReader* body = nullptr;  // set by the server
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Length is added
  std::string body;
  // When file is valid the body is bytes [fileOffset, fileOffset+fileLength) of it instead.
  UniqueFd file;
  uint64_t fileOffset = 0, fileLength = 0;

  void set(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
};

// Called on a worker thread, concurrently with other requests.
using HttpHandler = std::function<void(HttpRequest&, HttpResponse&)>;

struct HttpOptions {
  std::string addr;               // "host:port", "[v6]:port" or ":port"; port 0 picks one
  TlsContext* tls = nullptr;      // TLS on every connection when set; not owned
  unsigned threads = 0;           // workers; 0 picks from the CPU count
  FILE* log = nullptr;            // request log; nullptr for none
  int ioTimeoutSeconds = 60;      // one read or write making no progress
  int headerTimeoutSeconds = 30;  // the whole request head
  int idleTimeoutSeconds = 90;    // a keep-alive connection waiting for its next request
  size_t maxHeaderBytes = 64 << 10;
  size_t maxConnections = 4096;
};

class HttpServer {
 public:
  // Binds and listens (errors name the address), then starts the threads.
  static Result<std::unique_ptr<HttpServer>> start(const HttpOptions& opt, HttpHandler handler);
  ~HttpServer();  // stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  // Stops accepting, breaks off requests in progress and joins every thread. Idempotent.
  void stop();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Parses "host:port" ("[::1]:5000", ":5000"); errors name the text.
Result<std::pair<std::string, uint16_t>> parseListenAddress(std::string_view addr);

}  // namespace strata::registry::server
