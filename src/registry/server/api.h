// The OCI distribution API (v1.1) over Storage: routing, authentication, and one handler per
// endpoint. Every response carries `Docker-Distribution-API-Version: registry/2.0`; errors are
// the spec's JSON body {"errors":[{"code","message","detail"}]}.
//
//   api.cpp            dispatch, auth and the token endpoint, /v2/, _catalog, tags/list
//   api_blobs.cpp      blobs and uploads
//   api_manifests.cpp  manifests and referrers
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "registry/server/auth.h"
#include "registry/server/http_server.h"
#include "registry/server/names.h"
#include "registry/server/storage.h"

namespace strata::registry::server {

struct ApiOptions {
  bool readOnly = false;     // refuse every write with 405 UNSUPPORTED
  bool allowDelete = false;  // DELETE of manifests, tags and blobs (else 405 UNSUPPORTED)
};

class Api {
 public:
  // storage and auth (nullptr: no authentication) must outlive the Api.
  Api(Storage& storage, Authenticator* auth, ApiOptions opt) : storage_(storage), auth_(auth), opt_(opt) {}

  // An HttpHandler: thread-safe.
  void handle(HttpRequest& req, HttpResponse& resp);

  static constexpr size_t kMaxManifestBytes = 4u << 20;

 private:
  void token(HttpRequest& req, HttpResponse& resp);
  void catalog(const Query& q, HttpResponse& resp);
  void tags(const Route& r, const Query& q, HttpResponse& resp);

  void getBlob(HttpRequest& req, const Route& r, HttpResponse& resp);
  void deleteBlob(const Route& r, HttpResponse& resp);
  void startUpload(HttpRequest& req, const Route& r, const Query& q, HttpResponse& resp);
  void uploadStatus(const Route& r, HttpResponse& resp);
  void patchUpload(HttpRequest& req, const Route& r, HttpResponse& resp);
  void putUpload(HttpRequest& req, const Route& r, const Query& q, HttpResponse& resp);
  void cancelUpload(const Route& r, HttpResponse& resp);
  // Appends the request body to upload r.reference, honouring Content-Range; false when it
  // answered an error.
  bool appendBody(HttpRequest& req, const Route& r, HttpResponse& resp);

  void getManifest(const Route& r, HttpResponse& resp);
  void putManifest(HttpRequest& req, const Route& r, const Query& q, HttpResponse& resp);
  void deleteManifest(const Route& r, HttpResponse& resp);
  void referrers(const Route& r, const Query& q, HttpResponse& resp);

  Storage& storage_;
  Authenticator* auth_;
  ApiOptions opt_;
};

// --- helpers shared by the api_*.cpp files

// Answers with the spec's error body; message defaults to the code's standard text.
void apiError(HttpResponse& resp, int status, std::string_view code, std::string message = "",
              const nlohmann::json& detail = nullptr);
// Answers for a failed storage call: ENOENT -> 404 notFoundCode, EBADMSG -> 400 DIGEST_INVALID,
// ERANGE -> 416 RANGE_INVALID, EROFS -> 405 UNSUPPORTED, EINVAL -> 400 NAME_INVALID, else 500.
void storageError(HttpResponse& resp, const Error& e, std::string_view notFoundCode,
                  const nlohmann::json& detail = nullptr);
void sendJson(HttpResponse& resp, int status, const nlohmann::ordered_json& body,
              std::string contentType = "application/json");

}  // namespace strata::registry::server
