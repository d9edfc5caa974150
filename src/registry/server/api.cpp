// Request dispatch, authentication, the token endpoint, /v2/, _catalog and tags/list.
#include "registry/server/api.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "util/http.h"

namespace strata::registry::server {
namespace {

using OJson = nlohmann::ordered_json;

std::string_view standardMessage(std::string_view code) {
  static const std::pair<std::string_view, std::string_view> kMessages[] = {
      {"BLOB_UNKNOWN", "blob unknown to registry"},
      {"BLOB_UPLOAD_INVALID", "blob upload invalid"},
      {"BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry"},
      {"DIGEST_INVALID", "provided digest did not match uploaded content"},
      {"MANIFEST_BLOB_UNKNOWN", "blob unknown to registry"},
      {"MANIFEST_INVALID", "manifest invalid"},
      {"MANIFEST_UNKNOWN", "manifest unknown"},
      {"NAME_INVALID", "invalid repository name"},
      {"NAME_UNKNOWN", "repository name not known to registry"},
      {"SIZE_INVALID", "provided length did not match content length"},
      {"TAG_INVALID", "manifest tag did not match URI"},
      {"UNAUTHORIZED", "authentication required"},
      {"DENIED", "requested access to the resource is denied"},
      {"UNSUPPORTED", "The operation is unsupported."},
      {"RANGE_INVALID", "invalid content range"},
      {"PAGINATION_NUMBER_INVALID", "invalid number of results requested"},
      {"TOOMANYREQUESTS", "too many requests"},
  };
  for (const auto& [c, m] : kMessages)
    if (c == code) return m;
  return "unknown error";
}

bool isRead(const std::string& method) { return method == "GET" || method == "HEAD"; }

// "https://host:port" for links the client must follow back to this server.
std::string baseUrl(const HttpRequest& req) {
  std::string host = req.header("host");
  host.erase(std::remove_if(host.begin(), host.end(),
                            [](unsigned char c) { return !std::isalnum(c) && !std::strchr(".-:[]", c); }),
             host.end());
  return std::string(req.tls ? "https://" : "http://") + (host.empty() ? "localhost" : host);
}

std::string scopeFor(const Route& r, const std::string& method) {
  switch (r.kind) {
    case Route::Catalog: return "registry:catalog:*";
    case Route::Base:
    case Route::Unknown:
    case Route::Token:
    case Route::BadName: return "";
    default: return "repository:" + r.name + (isRead(method) ? ":pull" : ":pull,push");
  }
}

// One page of sorted items after `last`, at most `n` of them; sets the Link header for the
// next page. False (after answering 400) for a malformed n.
bool paginate(std::vector<std::string>& items, const Query& q, const std::string& path, HttpResponse& resp) {
  auto n = queryValue(q, "n");
  auto last = queryValue(q, "last");
  if (last) items.erase(items.begin(), std::upper_bound(items.begin(), items.end(), *last));
  if (!n || n->empty()) return true;
  if (n->size() > 9 || !std::all_of(n->begin(), n->end(), [](char c) { return c >= '0' && c <= '9'; })) {
    apiError(resp, 400, "PAGINATION_NUMBER_INVALID", "", {{"n", *n}});
    return false;
  }
  const size_t limit = std::stoul(*n);
  if (items.size() > limit) {
    items.resize(limit);
    if (limit > 0)
      resp.set("Link", "<" + path + "?n=" + *n + "&last=" + http::queryEscape(items.back()) + ">; rel=\"next\"");
  }
  return true;
}

}  // namespace

void apiError(HttpResponse& resp, int status, std::string_view code, std::string message, const nlohmann::json& detail) {
  OJson err = {{"code", code}, {"message", message.empty() ? std::string(standardMessage(code)) : message}};
  if (!detail.is_null()) err["detail"] = detail;
  sendJson(resp, status, OJson{{"errors", OJson::array({err})}});
}

void storageError(HttpResponse& resp, const Error& e, std::string_view notFoundCode, const nlohmann::json& detail) {
  switch (e.code()) {
    case ENOENT: return apiError(resp, 404, notFoundCode, "", detail);
    case EBADMSG: return apiError(resp, 400, "DIGEST_INVALID", "", detail);
    case ERANGE: return apiError(resp, 416, "RANGE_INVALID", e.message());
    case EROFS: return apiError(resp, 405, "UNSUPPORTED", "the registry is read-only");
    case EINVAL: return apiError(resp, 400, "NAME_INVALID", e.message());
    default: return apiError(resp, 500, "UNKNOWN", e.what());
  }
}

void sendJson(HttpResponse& resp, int status, const nlohmann::ordered_json& body, std::string contentType) {
  resp.status = status;
  resp.body = body.dump();
  resp.set("Content-Type", std::move(contentType));
}

void Api::handle(HttpRequest& req, HttpResponse& resp) {
  resp.set("Docker-Distribution-API-Version", "registry/2.0");
  const Route r = parseRoute(req.path);
  if (r.kind == Route::Token) return token(req, resp);
  if (r.kind == Route::Unknown) return apiError(resp, 404, "UNSUPPORTED", "no such API endpoint");
  if (auth_) {
    auto user = auth_->authenticate(req.header("authorization"));
    if (!user) {
      resp.set("WWW-Authenticate", auth_->challenge(baseUrl(req), scopeFor(r, req.method)));
      return apiError(resp, 401, "UNAUTHORIZED");
    }
    req.user = *user;
  }
  if (r.kind == Route::BadName) return apiError(resp, 400, "NAME_INVALID", "", {{"name", r.name}});
  const std::string& m = req.method;
  if (opt_.readOnly && !isRead(m)) return apiError(resp, 405, "UNSUPPORTED", "the registry is read-only");
  const bool deleting = m == "DELETE" && (r.kind == Route::Manifest || r.kind == Route::Blob);
  if (deleting && !opt_.allowDelete) return apiError(resp, 405, "UNSUPPORTED", "deletion is disabled");
  const Query q = parseQuery(req.query);

  auto allow = [&](const char* methods) {
    resp.set("Allow", methods);
    apiError(resp, 405, "UNSUPPORTED");
  };
  switch (r.kind) {
    case Route::Base:
      if (!isRead(m)) return allow("GET, HEAD");
      return sendJson(resp, 200, OJson::object());
    case Route::Catalog:
      if (!isRead(m)) return allow("GET, HEAD");
      return catalog(q, resp);
    case Route::Tags:
      if (!isRead(m)) return allow("GET, HEAD");
      return tags(r, q, resp);
    case Route::Manifest:
      if (isRead(m)) return getManifest(r, resp);
      if (m == "PUT") return putManifest(req, r, q, resp);
      if (m == "DELETE") return deleteManifest(r, resp);
      return allow("GET, HEAD, PUT, DELETE");
    case Route::Blob:
      if (isRead(m)) return getBlob(req, r, resp);
      if (m == "DELETE") return deleteBlob(r, resp);
      return allow("GET, HEAD, DELETE");
    case Route::UploadStart:
      if (m == "POST") return startUpload(req, r, q, resp);
      return allow("POST");
    case Route::Upload:
      if (isRead(m)) return uploadStatus(r, resp);
      if (m == "PATCH") return patchUpload(req, r, resp);
      if (m == "PUT") return putUpload(req, r, q, resp);
      if (m == "DELETE") return cancelUpload(r, resp);
      return allow("GET, HEAD, PATCH, PUT, DELETE");
    case Route::Referrers:
      if (!isRead(m)) return allow("GET, HEAD");
      return referrers(r, q, resp);
    default:
      return apiError(resp, 404, "UNSUPPORTED", "no such API endpoint");
  }
}

void Api::token(HttpRequest& req, HttpResponse& resp) {
  if (!auth_) return apiError(resp, 404, "UNSUPPORTED", "this registry does not use tokens");
  std::optional<std::string> user;
  if (req.method == "GET") {
    user = auth_->authenticateBasic(req.header("authorization"));
  } else if (req.method == "POST") {  // OAuth2 password grant
    auto body = req.readBodyAll(64 << 10);
    if (!body) return apiError(resp, 400, "UNSUPPORTED", "unreadable token request");
    const Query form = parseQuery(*body);
    if (queryValue(form, "grant_type").value_or("") != "password")
      return apiError(resp, 400, "UNSUPPORTED", "unsupported grant_type");
    user = auth_->checkPassword(queryValue(form, "username").value_or(""), queryValue(form, "password").value_or(""));
  } else {
    resp.set("Allow", "GET, POST");
    return apiError(resp, 405, "UNSUPPORTED");
  }
  if (!user) {
    resp.set("WWW-Authenticate", "Basic realm=\"strata-registry\"");
    return apiError(resp, 401, "UNAUTHORIZED");
  }
  req.user = *user;
  const TokenGrant g = auth_->issue(*user);
  sendJson(resp, 200,
           OJson{{"token", g.token}, {"access_token", g.token}, {"expires_in", g.expiresIn}, {"issued_at", g.issuedAt}});
}

void Api::catalog(const Query& q, HttpResponse& resp) {
  auto repos = storage_.repositories();
  if (!repos) return storageError(resp, repos.error(), "NAME_UNKNOWN");
  if (!paginate(*repos, q, "/v2/_catalog", resp)) return;
  sendJson(resp, 200, OJson{{"repositories", *repos}});
}

void Api::tags(const Route& r, const Query& q, HttpResponse& resp) {
  auto list = storage_.tags(r.name);
  if (!list) return storageError(resp, list.error(), "NAME_UNKNOWN", {{"name", r.name}});
  if (!paginate(*list, q, "/v2/" + r.name + "/tags/list", resp)) return;
  sendJson(resp, 200, OJson{{"name", r.name}, {"tags", *list}});
}

}  // namespace strata::registry::server
