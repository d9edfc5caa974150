#include "registry/server/transport.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "util/fs.h"

namespace strata::registry::server {
namespace {

// The oldest queued OpenSSL error as text (and the queue cleared), or fallback.
std::string sslError(const std::string& fallback) {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return fallback;
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

class PlainTransport final : public Transport {
 public:
  explicit PlainTransport(int fd) : fd_(fd) {}

  Result<size_t> read(char* buf, size_t size) override {
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, size, 0);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EINTR) continue;
      return failErrno("read from client");
    }
  }

  Status write(const char* data, size_t size) override {
    return sendAll(fd_, data, size, "write to client");
  }

  Status sendFile(int fd, uint64_t offset, uint64_t length) override {
    off_t off = static_cast<off_t>(offset);
    while (length > 0) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(length, 1u << 30));
      const ssize_t n = ::sendfile(fd_, fd, &off, want);
      if (n < 0) {
        if (errno == EINTR) continue;
        return failErrno("sendfile to client");
      }
      if (n == 0) return failInvalid("sendfile to client: file shorter than expected");
      length -= static_cast<uint64_t>(n);
    }
    return {};
  }

 private:
  int fd_;
};

class TlsTransport final : public Transport {
 public:
  explicit TlsTransport(SSL* ssl) : ssl_(ssl) {}
  ~TlsTransport() override {
    SSL_shutdown(ssl_);  // best effort close_notify; the socket is closed by its owner
    SSL_free(ssl_);
  }

  Status handshake() override {
    ERR_clear_error();
    if (SSL_accept(ssl_) == 1) return {};
    return fail(Error(errno, "TLS handshake: " + sslError("connection closed")));
  }

  Result<size_t> read(char* buf, size_t size) override {
    ERR_clear_error();
    const int n = SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(size, 1 << 30)));
    if (n > 0) return static_cast<size_t>(n);
    const int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_ZERO_RETURN) return size_t(0);
    return fail(Error(errno, "TLS read from client: " + sslError("connection closed")));
  }

  Status write(const char* data, size_t size) override {
    while (size > 0) {
      ERR_clear_error();
      const int n = SSL_write(ssl_, data, static_cast<int>(std::min<size_t>(size, 1 << 30)));
      if (n <= 0) return fail(Error(errno, "TLS write to client: " + sslError("connection closed")));
      data += n;
      size -= static_cast<size_t>(n);
    }
    return {};
  }

  Status sendFile(int fd, uint64_t offset, uint64_t length) override {
    std::vector<char> buf(256 << 10);
    while (length > 0) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(length, buf.size()));
      const ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return failErrno("read blob");
      }
      if (n == 0) return failInvalid("read blob: file shorter than expected");
      TRYV(write(buf.data(), static_cast<size_t>(n)));
      offset += static_cast<uint64_t>(n);
      length -= static_cast<uint64_t>(n);
    }
    return {};
  }

  bool pending() const override { return SSL_has_pending(ssl_) == 1; }

 private:
  SSL* ssl_;
};

}  // namespace

std::unique_ptr<Transport> plainTransport(int socket) { return std::make_unique<PlainTransport>(socket); }

Result<std::unique_ptr<TlsContext>> TlsContext::load(const std::string& certFile, const std::string& keyFile) {
  std::unique_ptr<TlsContext> t(new TlsContext());
  t->ctx_ = SSL_CTX_new(TLS_server_method());
  if (!t->ctx_) return failInvalid("TLS: " + sslError("cannot create a context"));
  SSL_CTX_set_min_proto_version(t->ctx_, TLS1_2_VERSION);
  SSL_CTX_set_options(t->ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(t->ctx_, SSL_MODE_AUTO_RETRY);
  if (::access(certFile.c_str(), R_OK) < 0) return failErrno("TLS certificate `" + certFile + "`");
  if (::access(keyFile.c_str(), R_OK) < 0) return failErrno("TLS key `" + keyFile + "`");
  if (SSL_CTX_use_certificate_chain_file(t->ctx_, certFile.c_str()) != 1)
    return failInvalid("TLS certificate `" + certFile + "`: " + sslError("unusable"));
  if (SSL_CTX_use_PrivateKey_file(t->ctx_, keyFile.c_str(), SSL_FILETYPE_PEM) != 1)
    return failInvalid("TLS key `" + keyFile + "`: " + sslError("unusable"));
  if (SSL_CTX_check_private_key(t->ctx_) != 1)
    return failInvalid("TLS key `" + keyFile + "` does not match certificate `" + certFile + "`");
  return t;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Result<std::unique_ptr<Transport>> TlsContext::wrap(int socket) {
  SSL* ssl = SSL_new(ctx_);
  if (!ssl) return failInvalid("TLS: " + sslError("cannot create a session"));
  if (SSL_set_fd(ssl, socket) != 1) {
    SSL_free(ssl);
    return failInvalid("TLS: " + sslError("cannot attach the socket"));
  }
  return std::unique_ptr<Transport>(std::make_unique<TlsTransport>(ssl));
}

}  // namespace strata::registry::server
