// Byte streams under the HTTP server: a plain TCP socket or a TLS session over one (OpenSSL).
//
// The socket stays blocking; the HTTP server sets SO_RCVTIMEO/SO_SNDTIMEO on it, so every call
// here returns (with an error) when the peer stalls. A Transport does not own the socket.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "util/error.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace strata::registry::server {

class Transport {
 public:
  virtual ~Transport() = default;
  // Completes the TLS handshake (nothing for plain TCP).
  virtual Status handshake() { return {}; }
  // Reads up to size bytes; 0 at the peer's orderly end of stream. A timeout is an error.
  virtual Result<size_t> read(char* buf, size_t size) = 0;
  // Writes all of data.
  virtual Status write(const char* data, size_t size) = 0;
  // Writes bytes [offset, offset+length) of file fd (sendfile(2) on plain TCP).
  virtual Status sendFile(int fd, uint64_t offset, uint64_t length) = 0;
  // Whether bytes are already buffered inside the transport, so read() would not block.
  virtual bool pending() const { return false; }
};

std::unique_ptr<Transport> plainTransport(int socket);

// A server-side TLS configuration (certificate chain and private key, TLS 1.2 and later).
// Thread-safe: wrap() may be called from any thread.
class TlsContext {
 public:
  // Loads PEM files; errors name the file that could not be used.
  static Result<std::unique_ptr<TlsContext>> load(const std::string& certFile, const std::string& keyFile);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // A TLS session over socket; handshake() must succeed before reading or writing.
  Result<std::unique_ptr<Transport>> wrap(int socket);

 private:
  TlsContext() = default;
  ::ssl_ctx_st* ctx_ = nullptr;
};

}  // namespace strata::registry::server
