#include "registry/client.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "util/base64.h"

namespace strata::registry {
namespace {

using Json = nlohmann::json;

std::string hostOnly(std::string_view domain) {
  if (!domain.empty() && domain[0] == '[') return std::string(domain.substr(1, domain.find(']') - 1));
  if (std::count(domain.begin(), domain.end(), ':') > 1) return std::string(domain);  // bare IPv6
  return std::string(domain.substr(0, domain.find(':')));
}

bool isLoopbackV4(const std::string& host) {
  if (host.rfind("127.", 0) != 0) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') ++dots;
    else if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return dots == 3;
}

const char* reason(long status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Request Entity Too Large";
    case 416: return "Requested Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "";
  }
}

std::string withQuery(const std::string& url, const std::string& query) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + query;
}

// The URL of a rel="next" Link header ("<url>; rel=\"next\""), or "".
std::string nextLink(const std::string& link) {
  if (link.find("rel=\"next\"") == std::string::npos && link.find("rel=next") == std::string::npos)
    return "";
  const size_t open = link.find('<'), close = link.find('>');
  if (open == std::string::npos || close == std::string::npos || close < open) return "";
  return link.substr(open + 1, close - open - 1);
}

Status expectStatus(const http::Response& r, long want, const std::string& what) {
  if (r.status == want) return {};
  return failInvalid(what + ": " + errorText(r));
}

}  // namespace

const char* const kManifestAccept =
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

std::string apiHost(std::string_view domain) {
  if (domain == "docker.io" || domain == "index.docker.io") return "registry-1.docker.io";
  return std::string(domain);
}

bool allowsPlainHttp(std::string_view domain, const std::vector<std::string>& insecure) {
  const std::string host = hostOnly(domain);
  if (host == "localhost" || host == "::1" || isLoopbackV4(host)) return true;
  return std::find(insecure.begin(), insecure.end(), domain) != insecure.end() ||
         std::find(insecure.begin(), insecure.end(), host) != insecure.end();
}

std::string errorText(const http::Response& r) {
  Json j = Json::parse(r.body, nullptr, false);
  if (j.is_object()) {
    if (auto e = j.find("errors"); e != j.end() && e->is_array() && !e->empty() && (*e)[0].is_object()) {
      const Json& first = (*e)[0];
      std::string code = first.value("code", ""), message = first.value("message", "");
      std::transform(code.begin(), code.end(), code.begin(), [](unsigned char c) {
        return c == '_' ? ' ' : static_cast<char>(std::tolower(c));
      });
      if (!code.empty()) return message.empty() ? code : code + ": " + message;
    }
    for (const char* key : {"details", "message", "error"})
      if (auto v = j.find(key); v != j.end() && v->is_string() && !v->get<std::string>().empty())
        return (r.status == 401 ? "unauthorized: " : "") + v->get<std::string>();
  }
  if (r.status == 401) return "unauthorized: authentication required";
  if (r.status == 403) return "denied: requested access to the resource is denied";
  std::string text = "received unexpected HTTP status: " + std::to_string(r.status);
  if (*reason(r.status)) text += std::string(" ") + reason(r.status);
  return text;
}

Options configuredOptions(const CredentialStore& config, const std::string& domain,
                          const std::vector<std::string>& extraInsecure) {
  Options opt;
  opt.insecure = config.insecureRegistries();
  opt.insecure.insert(opt.insecure.end(), extraInsecure.begin(), extraInsecure.end());
  opt.credentials = config.find(domain);
  return opt;
}

Result<std::unique_ptr<Client>> connectConfigured(const std::string& domain,
                                                  const std::vector<std::string>& extraInsecure) {
  const CredentialStore config = TRY(CredentialStore::load());
  return Client::connect(domain, configuredOptions(config, domain, extraInsecure));
}

Result<std::unique_ptr<Client>> Client::connect(const std::string& domain, const Options& opt) {
  std::unique_ptr<Client> c(new Client(domain, opt));
  const std::string host = apiHost(domain);
  const bool plain = allowsPlainHttp(domain, opt.insecure);
  struct Try { std::string base; bool verify; };
  std::vector<Try> tries{{"https://" + host, !plain}};
  if (plain) tries.push_back({"http://" + host, true});
  Error last;
  for (const auto& t : tries) {
    c->base_ = t.base;
    c->verifyTls_ = t.verify;
    http::Request req;
    req.url = c->url("/v2/");
    req.verifyTls = t.verify;
    req.maxBody = 1 << 20;
    auto r = http::perform(req);
    if (!r) {
      last = std::move(r).error();
      continue;  // unreachable over this scheme; plain HTTP may still answer
    }
    if (r->status == 401) {
      auto ch = parseChallenges(r->header("www-authenticate"));
      if (!ch.empty()) c->challenge_ = ch.front();
      return c;
    }
    if (r->status >= 200 && r->status < 300) return c;
    return failInvalid("registry " + domain + " at " + t.base + ": /v2/: " + errorText(*r));
  }
  return fail(std::move(last));
}

void Client::addScope(const std::string& scope) {
  std::lock_guard lock(mu_);
  if (scopes_.insert(scope).second) tokenStale_ = true;
}

Status Client::authorize(http::Request& req) {
  std::lock_guard lock(mu_);
  if (!challenge_) return {};
  const auto& creds = opt_.credentials;
  if (challenge_->scheme == "basic") {
    if (creds && !creds->username.empty())
      req.headers.push_back("Authorization: Basic " + base64Encode(creds->username + ":" + creds->password));
    return {};
  }
  if (challenge_->scheme != "bearer") return {};
  if (tokenStale_) {
    auto realm = challenge_->params.find("realm");
    if (realm == challenge_->params.end() || realm->second.empty())
      return failInvalid("registry " + domain_ + ": bearer challenge without a realm");
    std::string query;
    if (auto s = challenge_->params.find("service"); s != challenge_->params.end())
      query = "service=" + http::queryEscape(s->second);
    for (const auto& scope : scopes_) query += (query.empty() ? "" : "&") + ("scope=" + http::queryEscape(scope));
    http::Request t;
    t.verifyTls = verifyTls_;
    t.followRedirects = true;
    t.maxBody = 1 << 20;
    if (creds && !creds->identityToken.empty()) {
      // An identity token is exchanged with OAuth2's refresh_token grant, as Docker does.
      t.method = "POST";
      t.url = realm->second;
      t.headers.push_back("Content-Type: application/x-www-form-urlencoded");
      t.body = "grant_type=refresh_token&client_id=strata&refresh_token=" +
               http::queryEscape(creds->identityToken) + (query.empty() ? "" : "&" + query);
    } else {
      t.url = query.empty() ? realm->second : withQuery(realm->second, query);
      if (creds && !creds->username.empty())
        t.headers.push_back("Authorization: Basic " + base64Encode(creds->username + ":" + creds->password));
    }
    auto r = http::perform(t);
    if (!r) return fail(std::move(r).error().wrap("registry " + domain_ + ": token"));
    if (r->status != 200) return failInvalid("registry " + domain_ + ": " + errorText(*r));
    Json j = Json::parse(r->body, nullptr, false);
    std::string token;
    if (j.is_object()) {
      token = j.value("token", "");
      if (token.empty()) token = j.value("access_token", "");
    }
    if (token.empty()) return failInvalid("registry " + domain_ + ": token server sent no token");
    token_ = token;
    tokenStale_ = false;
  }
  req.headers.push_back("Authorization: Bearer " + token_);
  return {};
}

Status Client::refreshToken(const std::string& header) {
  auto challenges = parseChallenges(header);
  if (challenges.empty()) return {};
  std::lock_guard lock(mu_);
  challenge_ = challenges.front();
  if (auto s = challenge_->params.find("scope"); s != challenge_->params.end()) {
    std::string_view rest = s->second;
    while (!rest.empty()) {
      const size_t sp = rest.find(' ');
      if (sp != 0) scopes_.insert(std::string(rest.substr(0, sp)));
      if (sp == std::string_view::npos) break;
      rest.remove_prefix(sp + 1);
    }
  }
  tokenStale_ = true;
  return {};
}

Result<http::Response> Client::send(http::Request req) {
  req.verifyTls = verifyTls_;
  http::Request attempt = req;
  TRYV(authorize(attempt));
  auto r = TRY(http::perform(attempt));
  // A body already streamed cannot be replayed; uploads authorise on their first, bodiless POST.
  if (r.status != 401 || req.source) return r;
  const std::string header = r.header("www-authenticate");
  if (header.empty()) return r;
  TRYV(refreshToken(header));
  attempt = req;
  TRYV(authorize(attempt));
  return http::perform(attempt);
}

Status Client::checkLogin() {
  http::Request req;
  req.url = url("/v2/");
  auto r = TRY(send(req));
  if (r.status >= 200 && r.status < 300) return {};
  return failInvalid("login to " + domain_ + ": " + errorText(r));
}

Result<FetchedManifest> Client::getManifest(const std::string& repo, const std::string& reference) {
  http::Request req;
  req.url = url("/v2/" + repo + "/manifests/" + reference);
  req.headers.push_back(std::string("Accept: ") + kManifestAccept);
  req.maxBody = 4u << 20;
  auto r = TRY(send(req));
  if (r.status != 200) return failInvalid(errorText(r));
  FetchedManifest m;
  m.digest = oci::Digest::of(r.body);
  if (reference.find(':') != std::string::npos && reference != m.digest.str())
    return failInvalid("manifest " + reference + ": the registry sent content with digest " +
                       m.digest.str());
  if (auto said = oci::Digest::parse(r.header("docker-content-digest"));
      said && said->algorithm == "sha256" && *said != m.digest)
    return failInvalid("manifest " + reference + ": Docker-Content-Digest " + said->str() +
                       " does not match the content's digest " + m.digest.str());
  auto type = oci::sniffMediaType(r.body);
  m.mediaType = type && !type->empty() ? *type : r.header("content-type");
  m.bytes = std::move(r.body);
  return m;
}

Result<oci::Digest> Client::putManifest(const std::string& repo, const std::string& reference,
                                        const std::string& bytes, const std::string& mediaType) {
  http::Request req;
  req.method = "PUT";
  req.url = url("/v2/" + repo + "/manifests/" + reference);
  req.headers.push_back("Content-Type: " + mediaType);
  req.body = bytes;
  auto r = TRY(send(req));
  if (r.status != 201 && r.status != 200) return failInvalid(errorText(r));
  const oci::Digest mine = oci::Digest::of(bytes);
  if (auto said = oci::Digest::parse(r.header("docker-content-digest")); said && *said != mine)
    return failInvalid("registry " + domain_ + " stored the manifest as " + said->str() +
                       ", expected " + mine.str());
  return mine;
}

Result<std::string> Client::fetchSmallBlob(const std::string& repo, const oci::Digest& d, uint64_t limit) {
  http::Request req;
  req.url = url("/v2/" + repo + "/blobs/" + d.str());
  req.followRedirects = true;
  req.maxBody = limit;
  std::string body;
  req.sink = [&](const char* data, size_t n) -> Status {
    if (body.size() + n > limit) return failInvalid("blob " + d.str() + ": larger than " + std::to_string(limit) + " bytes");
    body.append(data, n);
    return {};
  };
  auto r = TRY(send(req));
  if (r.status != 200) return failInvalid("blob " + d.str() + ": " + errorText(r));
  if (oci::Digest::of(body) != d)
    return failInvalid("blob " + d.str() + ": content does not match its digest (got " +
                       oci::Digest::of(body).str() + ")");
  return body;
}

Status Client::fetchBlob(const std::string& repo, const oci::Digest& d, uint64_t offset,
                         const std::function<Status(bool)>& onStart,
                         const std::function<Status(const char*, size_t)>& sink) {
  http::Request req;
  req.url = url("/v2/" + repo + "/blobs/" + d.str());
  req.followRedirects = true;
  if (offset > 0) req.headers.push_back("Range: bytes=" + std::to_string(offset) + "-");
  req.onStart = [&](long status) { return onStart(status == 206); };
  req.sink = sink;
  auto r = TRY(send(req));
  if (r.status != 200 && r.status != 206) return failInvalid("blob " + d.str() + ": " + errorText(r));
  return {};
}

Result<bool> Client::hasBlob(const std::string& repo, const oci::Digest& d) {
  http::Request req;
  req.method = "HEAD";
  req.url = url("/v2/" + repo + "/blobs/" + d.str());
  req.followRedirects = true;
  auto r = TRY(send(req));
  if (r.status == 200) return true;
  if (r.status == 404) return false;
  return failInvalid("blob " + d.str() + ": " + errorText(r));
}

Result<bool> Client::mountBlob(const std::string& repo, const oci::Digest& d, const std::string& from) {
  http::Request req;
  req.method = "POST";
  req.url = url("/v2/" + repo + "/blobs/uploads/?mount=" + http::queryEscape(d.str()) +
                "&from=" + http::queryEscape(from));
  auto r = TRY(send(req));
  if (r.status == 201) return true;
  if (r.status == 202) {
    // The registry opened an ordinary upload instead; close it so it does not linger.
    http::Request cancel;
    cancel.method = "DELETE";
    cancel.url = http::resolveUrl(req.url, r.header("location"));
    (void)send(cancel);
    return false;
  }
  return failInvalid("mount " + d.str() + " from " + from + ": " + errorText(r));
}

Status Client::uploadBlob(const std::string& repo, const oci::Digest& d, int fd, uint64_t size,
                          const std::function<void(uint64_t)>& progress) {
  const std::string what = "upload " + d.str();
  http::Request start;
  start.method = "POST";
  start.url = url("/v2/" + repo + "/blobs/uploads/");
  auto r = TRY(send(start));
  TRYV(expectStatus(r, 202, what));
  std::string location = http::resolveUrl(start.url, r.header("location"));
  if (r.header("location").empty()) return failInvalid(what + ": the registry gave no upload location");

  uint64_t sent = 0;
  // Sends bytes [from, from+n) of fd as the body of req.
  auto body = [&](http::Request& req, uint64_t from, uint64_t n) {
    req.bodyLength = static_cast<int64_t>(n);
    req.headers.push_back("Content-Type: application/octet-stream");
    auto pos = std::make_shared<uint64_t>(from);
    const uint64_t end = from + n;
    req.source = [&, pos, end](char* buf, size_t cap) -> Result<size_t> {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(cap, end - *pos));
      if (want == 0) return size_t(0);
      const ssize_t got = ::pread(fd, buf, want, static_cast<off_t>(*pos));
      if (got < 0) return failErrno(what + ": read");
      if (got == 0) return failInvalid(what + ": blob file is shorter than " + std::to_string(size) + " bytes");
      *pos += static_cast<uint64_t>(got);
      sent += static_cast<uint64_t>(got);
      if (progress) progress(sent);
      return static_cast<size_t>(got);
    };
  };

  // Above the chunk size the blob goes in PATCHes and the closing PUT carries no body;
  // otherwise the PUT carries it all (a monolithic upload).
  const bool chunked = size > kChunkSize;
  for (uint64_t off = 0; chunked && off < size; off += kChunkSize) {
    const uint64_t n = std::min<uint64_t>(kChunkSize, size - off);
    http::Request patch;
    patch.method = "PATCH";
    patch.url = location;
    patch.headers.push_back("Content-Range: " + std::to_string(off) + "-" + std::to_string(off + n - 1));
    body(patch, off, n);
    r = TRY(send(patch));
    TRYV(expectStatus(r, 202, what));
    if (!r.header("location").empty()) location = http::resolveUrl(location, r.header("location"));
  }
  http::Request put;
  put.method = "PUT";
  put.url = withQuery(location, "digest=" + http::queryEscape(d.str()));
  if (!chunked) body(put, 0, size);
  r = TRY(send(put));
  return expectStatus(r, 201, what);
}

Result<std::vector<std::string>> Client::listTags(const std::string& repo) {
  std::vector<std::string> tags;
  std::string next = url("/v2/" + repo + "/tags/list");
  for (int page = 0; !next.empty() && page < 10000; ++page) {
    http::Request req;
    req.url = next;
    auto r = TRY(send(req));
    if (r.status != 200) return failInvalid("tags of " + repo + ": " + errorText(r));
    Json j = Json::parse(r.body, nullptr, false);
    if (!j.is_object()) return failInvalid("tags of " + repo + ": the registry sent malformed JSON");
    if (auto t = j.find("tags"); t != j.end() && t->is_array())
      for (const auto& tag : *t)
        if (tag.is_string()) tags.push_back(tag.get<std::string>());
    const std::string link = nextLink(r.header("link"));
    next = link.empty() ? "" : http::resolveUrl(next, link);
  }
  return tags;
}

}  // namespace strata::registry
