#include "registry/server/server.h"

#include <signal.h>
#include <unistd.h>

#include "registry/server/api.h"
#include "registry/server/auth.h"
#include "registry/server/http_server.h"
#include "registry/server/storage.h"
#include "registry/server/transport.h"
#include "util/fs.h"

namespace strata::registry::server {

struct Server::Impl {
  std::unique_ptr<Storage> storage;
  std::unique_ptr<Authenticator> auth;
  std::unique_ptr<TlsContext> tls;
  std::unique_ptr<Api> api;
  std::unique_ptr<HttpServer> http;  // last: stopped and destroyed before what it calls into
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { stop(); }

uint16_t Server::port() const { return impl_->http->port(); }

void Server::stop() {
  if (impl_->http) impl_->http->stop();
}

Result<std::unique_ptr<Server>> Server::start(const ServeOptions& opt) {
  // Check everything the user typed before touching the storage or the network.
  TRYV(parseListenAddress(opt.addr));
  if (opt.storage.empty()) return failInvalid("no storage directory (--storage)");
  if (opt.tlsCert.empty() != opt.tlsKey.empty())
    return failInvalid("TLS needs both a certificate (--tls-cert) and a key (--tls-key)");
  if (opt.tokenAuth && opt.htpasswd.empty())
    return failInvalid("token authentication needs an htpasswd file (--htpasswd)");

  if (!opt.htpasswd.empty()) TRYV_CTX(readFile(opt.htpasswd), "htpasswd `" + opt.htpasswd + "`");

  auto impl = std::make_unique<Impl>();
  if (!opt.tlsCert.empty()) impl->tls = TRY(TlsContext::load(opt.tlsCert, opt.tlsKey));
  // A storage directory this call creates goes again if the server cannot start after all
  // (the address is taken, say): a failed start leaves nothing behind.
  const bool storageExisted = pathExists(opt.storage);
  auto started = [&]() -> Status {
    impl->storage = TRY(Storage::open(opt.storage, opt.readOnly));
    if (!opt.htpasswd.empty())
      impl->auth = TRY(Authenticator::create(opt.htpasswd, impl->storage->tokenKeyPath(), opt.tokenAuth));
    impl->api = std::make_unique<Api>(*impl->storage, impl->auth.get(), ApiOptions{opt.readOnly, opt.allowDelete});
    HttpOptions http;
    http.addr = opt.addr;
    http.tls = impl->tls.get();
    http.log = opt.log;
    Api* api = impl->api.get();
    impl->http = TRY(HttpServer::start(http, [api](HttpRequest& req, HttpResponse& resp) { api->handle(req, resp); }));
    return {};
  }();
  if (!started) {
    impl.reset();
    if (!storageExisted) (void)removeAll(opt.storage);
    return fail(std::move(started).error());
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Status serve(const ServeOptions& opt) {
  sigset_t stopSignals, old;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGTERM);
  // Blocked before the threads start, so they inherit the mask and sigwait() below gets them.
  ::pthread_sigmask(SIG_BLOCK, &stopSignals, &old);
  auto server = Server::start(opt);
  if (!server) {
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return fail(std::move(server).error());
  }
  if (opt.log) {
    std::fprintf(opt.log, "strata registry: serving %s on %s (port %u)%s%s\n", opt.storage.c_str(), opt.addr.c_str(),
                 (*server)->port(), opt.tlsCert.empty() ? "" : ", TLS", opt.readOnly ? ", read-only" : "");
    std::fflush(opt.log);
  }
  int sig = 0;
  while (::sigwait(&stopSignals, &sig) != 0) {
  }
  (*server)->stop();
  if (opt.log) {
    std::fprintf(opt.log, "strata registry: stopped (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    std::fflush(opt.log);
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return {};
}

}  // namespace strata::registry::server
