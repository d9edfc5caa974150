// Internal to the HTTP server: one client connection, request parsing, body framing and
// response writing. http_server.cpp owns the threads that move connections through here.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "registry/server/http_server.h"
#include "registry/server/transport.h"
#include "util/error.h"
#include "util/fd.h"

namespace strata::registry::server {

struct Connection {
  UniqueFd fd;                     // declared before io: the TLS session is freed first
  std::unique_ptr<Transport> io;   // null until the worker sets it up (TLS handshake)
  std::string remote;
  std::chrono::steady_clock::time_point idleDeadline;

  std::string in;  // bytes read ahead of the parser
  size_t inPos = 0;

  bool buffered() const { return inPos < in.size() || (io && io->pending()); }
  // Reads up to size bytes, buffered ones first; 0 at end of stream.
  Result<size_t> read(char* buf, size_t size);
  // Appends more bytes from the transport to `in`; false at end of stream.
  Result<bool> fill();
  // A line ending in LF (CR LF or bare LF), without the terminator; an error past max bytes.
  Result<std::string> readLine(size_t max);
};

// The framing of one request body, read on demand by the handler.
class BodyReader {
 public:
  BodyReader(Connection& c, bool chunked, uint64_t length, bool expectContinue)
      : c_(c), chunked_(chunked), left_(chunked ? 0 : length), done_(!chunked && length == 0),
        expect_(expectContinue) {}

  Result<size_t> read(char* buf, size_t size);
  bool chunked() const { return chunked_; }
  bool finished() const { return done_; }
  // A read failed: the connection cannot carry another request.
  bool broken() const { return broken_; }
  // The client waits for "100 Continue" that was never sent, so it may not send the body.
  bool continuePending() const { return expect_ && !continueSent_ && !done_; }
  // Reads and discards the rest of the body; an error when more than limit bytes remain.
  Status drain(uint64_t limit);

 private:
  Result<size_t> readChunked(char* buf, size_t size);

  Connection& c_;
  bool chunked_;
  uint64_t left_;  // bytes left in the body (Content-Length) or in the current chunk
  bool done_;
  bool expect_;
  bool continueSent_ = false;
  bool inChunk_ = false;
  bool broken_ = false;
};

// Reads, handles and answers one request on c (whose transport is ready). Returns whether the
// connection may carry another request.
bool serveRequest(Connection& c, const HttpOptions& opt, const HttpHandler& handler, bool stopping);

// The reason phrase of an HTTP status ("Not Found").
const char* statusText(int status);

}  // namespace strata::registry::server
