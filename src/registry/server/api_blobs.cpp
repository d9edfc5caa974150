// Blobs (GET with Range, HEAD, DELETE) and uploads (POST monolithic / mount / session, PATCH
// chunks, PUT to close, GET status, DELETE to cancel).
#include <algorithm>
#include <cctype>

#include "registry/server/api.h"

namespace strata::registry::server {
namespace {

std::optional<uint64_t> parseNumber(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// "s-e" with an optional "bytes " / "bytes=" before it and "/total" after it.
std::optional<std::pair<uint64_t, uint64_t>> parseContentRange(std::string_view v) {
  if (v.substr(0, 6) == "bytes " || v.substr(0, 6) == "bytes=") v.remove_prefix(6);
  v = v.substr(0, v.find('/'));
  const size_t dash = v.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto s = parseNumber(v.substr(0, dash)), e = parseNumber(v.substr(dash + 1));
  if (!s || !e || *e < *s) return std::nullopt;
  return std::make_pair(*s, *e);
}

struct ByteRange {
  enum Kind { Whole, Part, Unsatisfiable } kind = Whole;
  uint64_t first = 0, last = 0;
};

// A single-range Range header (RFC 9110 §14.1.2) against a blob of size bytes. Malformed or
// multi-range headers are ignored: the whole blob is sent.
ByteRange parseRange(std::string_view h, uint64_t size) {
  if (h.substr(0, 6) != "bytes=" || h.find(',') != std::string_view::npos) return {};
  h.remove_prefix(6);
  const size_t dash = h.find('-');
  if (dash == std::string_view::npos) return {};
  auto first = parseNumber(h.substr(0, dash));
  auto last = parseNumber(h.substr(dash + 1));
  if (!first) {  // suffix: the last n bytes
    if (!last || dash != 0) return {};
    if (*last == 0 || size == 0) return {ByteRange::Unsatisfiable};
    return {ByteRange::Part, size - std::min(*last, size), size - 1};
  }
  if (dash + 1 < h.size() && (!last || *last < *first)) return {};
  if (*first >= size) return {ByteRange::Unsatisfiable};
  return {ByteRange::Part, *first, last ? std::min(*last, size - 1) : size - 1};
}

std::optional<oci::Digest> parseSha256(std::string_view text) {
  auto d = oci::Digest::parse(text);
  if (!d || d->algorithm != "sha256") return std::nullopt;
  return *d;
}

// The upload status headers: where to send the next chunk and what has arrived.
void uploadHeaders(HttpResponse& resp, const Route& r, uint64_t size) {
  resp.set("Location", "/v2/" + r.name + "/blobs/uploads/" + r.reference);
  resp.set("Range", "0-" + std::to_string(size > 0 ? size - 1 : 0));
  resp.set("Docker-Upload-UUID", r.reference);
}

void blobCreated(HttpResponse& resp, const Route& r, const oci::Digest& d) {
  resp.status = 201;
  resp.set("Location", "/v2/" + r.name + "/blobs/" + d.str());
  resp.set("Docker-Content-Digest", d.str());
}

// The request body as a ByteSource that remembers whether the client failed (as opposed to
// the storage), and that insists on exactly `expect` bytes when given.
struct BodySource {
  HttpRequest& req;
  std::optional<uint64_t> expect;
  uint64_t seen = 0;
  bool clientFailed = false;

  ByteSource source() {
    return [this](char* buf, size_t size) -> Result<size_t> {
      auto n = req.readBody(buf, size);
      if (!n) {
        clientFailed = true;
        return n;
      }
      seen += *n;
      if (expect && (seen > *expect || (*n == 0 && seen != *expect))) {
        clientFailed = true;
        return fail(Error(EMSGSIZE, "body length does not match Content-Range"));
      }
      return n;
    };
  }
};

}  // namespace

void Api::getBlob(HttpRequest& req, const Route& r, HttpResponse& resp) {
  auto d = parseSha256(r.reference);
  if (!d) return apiError(resp, 400, "DIGEST_INVALID", "invalid digest", {{"digest", r.reference}});
  auto blob = storage_.openBlob(r.name, *d);
  if (!blob) return storageError(resp, blob.error(), "BLOB_UNKNOWN", {{"digest", d->str()}});
  const uint64_t size = blob->size;
  resp.set("Docker-Content-Digest", d->str());
  resp.set("Accept-Ranges", "bytes");
  resp.set("ETag", "\"" + d->str() + "\"");
  resp.set("Cache-Control", "max-age=31536000");
  const ByteRange range = parseRange(req.header("range"), size);
  if (range.kind == ByteRange::Unsatisfiable) {
    resp.set("Content-Range", "bytes */" + std::to_string(size));
    return apiError(resp, 416, "RANGE_INVALID", "", {{"size", size}});
  }
  resp.set("Content-Type", "application/octet-stream");
  resp.file = std::move(blob->fd);
  if (range.kind == ByteRange::Part) {
    resp.status = 206;
    resp.fileOffset = range.first;
    resp.fileLength = range.last - range.first + 1;
    resp.set("Content-Range", "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" +
                                  std::to_string(size));
  } else {
    resp.status = 200;
    resp.fileLength = size;
  }
}

void Api::deleteBlob(const Route& r, HttpResponse& resp) {
  auto d = parseSha256(r.reference);
  if (!d) return apiError(resp, 400, "DIGEST_INVALID", "invalid digest", {{"digest", r.reference}});
  if (auto st = storage_.unlinkBlob(r.name, *d); !st)
    return storageError(resp, st.error(), "BLOB_UNKNOWN", {{"digest", d->str()}});
  resp.status = 202;
  resp.set("Docker-Content-Digest", d->str());
}

void Api::startUpload(HttpRequest& req, const Route& r, const Query& q, HttpResponse& resp) {
  if (auto mount = queryValue(q, "mount")) {
    auto d = parseSha256(*mount);
    if (!d) return apiError(resp, 400, "DIGEST_INVALID", "invalid digest", {{"digest", *mount}});
    auto from = queryValue(q, "from");
    const bool available = from ? validRepositoryName(*from) && storage_.repoHasBlob(*from, *d)
                                : storage_.blobExists(*d);  // OCI 1.1: mount without `from`
    if (available && storage_.linkBlob(r.name, *d)) return blobCreated(resp, r, *d);
    // Not mountable: fall through to an ordinary upload session, as the spec asks.
  } else if (auto digest = queryValue(q, "digest")) {
    auto d = parseSha256(*digest);
    if (!d) return apiError(resp, 400, "DIGEST_INVALID", "invalid digest", {{"digest", *digest}});
    BodySource body{req, std::nullopt};
    auto size = storage_.putBlob(r.name, *d, body.source());
    if (!size && body.clientFailed) return apiError(resp, 400, "BLOB_UPLOAD_INVALID", size.error().message());
    if (!size) return storageError(resp, size.error(), "BLOB_UPLOAD_UNKNOWN", {{"digest", d->str()}});
    return blobCreated(resp, r, *d);
  }
  auto id = storage_.startUpload(r.name);
  if (!id) return storageError(resp, id.error(), "BLOB_UPLOAD_UNKNOWN");
  resp.status = 202;
  Route upload = r;
  upload.reference = *id;
  uploadHeaders(resp, upload, 0);
}

void Api::uploadStatus(const Route& r, HttpResponse& resp) {
  auto size = storage_.uploadSize(r.name, r.reference);
  if (!size) return storageError(resp, size.error(), "BLOB_UPLOAD_UNKNOWN");
  resp.status = 204;
  uploadHeaders(resp, r, *size);
}

bool Api::appendBody(HttpRequest& req, const Route& r, HttpResponse& resp) {
  std::optional<uint64_t> start, expect;
  if (const std::string cr = req.header("content-range"); !cr.empty()) {
    auto range = parseContentRange(cr);
    if (!range) return apiError(resp, 416, "RANGE_INVALID", "malformed Content-Range " + cr), false;
    start = range->first;
    expect = range->second - range->first + 1;
    if (const std::string cl = req.header("content-length"); !cl.empty() && parseNumber(cl) != expect)
      return apiError(resp, 416, "RANGE_INVALID", "Content-Range does not match Content-Length"), false;
  }
  BodySource body{req, expect};
  auto size = storage_.appendUpload(r.name, r.reference, start, body.source());
  if (size) return true;
  if (size.error().code() == ERANGE) {
    if (auto now = storage_.uploadSize(r.name, r.reference)) uploadHeaders(resp, r, *now);
    apiError(resp, 416, "RANGE_INVALID", size.error().message());
  } else if (body.clientFailed) {
    apiError(resp, 400, "BLOB_UPLOAD_INVALID", size.error().message());
  } else {
    storageError(resp, size.error(), "BLOB_UPLOAD_UNKNOWN", {{"upload", r.reference}});
  }
  return false;
}

void Api::patchUpload(HttpRequest& req, const Route& r, HttpResponse& resp) {
  if (!appendBody(req, r, resp)) return;
  auto size = storage_.uploadSize(r.name, r.reference);
  if (!size) return storageError(resp, size.error(), "BLOB_UPLOAD_UNKNOWN");
  resp.status = 202;
  uploadHeaders(resp, r, *size);
}

void Api::putUpload(HttpRequest& req, const Route& r, const Query& q, HttpResponse& resp) {
  const std::string text = queryValue(q, "digest").value_or("");
  auto d = parseSha256(text);
  if (!d) return apiError(resp, 400, "DIGEST_INVALID", "missing or invalid digest", {{"digest", text}});
  if (req.hasBody() && !appendBody(req, r, resp)) return;
  auto size = storage_.commitUpload(r.name, r.reference, *d);
  if (!size) return storageError(resp, size.error(), "BLOB_UPLOAD_UNKNOWN", {{"digest", d->str()}});
  blobCreated(resp, r, *d);
}

void Api::cancelUpload(const Route& r, HttpResponse& resp) {
  if (auto st = storage_.cancelUpload(r.name, r.reference); !st)
    return storageError(resp, st.error(), "BLOB_UPLOAD_UNKNOWN");
  resp.status = 204;
}

}  // namespace strata::registry::server
