// Manifests (GET/HEAD/PUT/DELETE by tag or digest) and the referrers API.
#include "oci/image.h"
#include "oci/media_types.h"
#include "registry/server/api.h"

namespace strata::registry::server {
namespace {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;

std::string stripParams(std::string_view contentType) {
  contentType = contentType.substr(0, contentType.find(';'));
  while (!contentType.empty() && contentType.back() == ' ') contentType.remove_suffix(1);
  return std::string(contentType);
}

// A descriptor entry that need not exist in the registry: a foreign layer fetched from its URLs.
bool isForeign(const Json& entry) {
  return entry.is_object() && ((entry.contains("urls") && entry["urls"].is_array() && !entry["urls"].empty()) ||
                               entry.value("mediaType", "") == oci::media::kDockerForeignLayerGzip);
}

// The digest of a tag or digest reference in the repository; answers the error when it has none.
std::optional<oci::Digest> resolve(Storage& storage, const Route& r, HttpResponse& resp) {
  if (r.reference.find(':') != std::string::npos) {
    auto d = oci::Digest::parse(r.reference);
    if (!d || d->algorithm != "sha256")
      return apiError(resp, 400, "DIGEST_INVALID", "invalid digest", {{"digest", r.reference}}), std::nullopt;
    return *d;
  }
  if (!validTag(r.reference))
    return apiError(resp, 400, "TAG_INVALID", "invalid tag", {{"tag", r.reference}}), std::nullopt;
  auto d = storage.resolveTag(r.name, r.reference);
  if (!d) return storageError(resp, d.error(), "MANIFEST_UNKNOWN", {{"tag", r.reference}}), std::nullopt;
  return *d;
}

// The media type a manifest is stored under, from its own mediaType field or Content-Type;
// empty (after answering 400) when they disagree or name no manifest type.
std::string manifestType(const Json& doc, const std::string& contentType, HttpResponse& resp) {
  const std::string own = doc.contains("mediaType") && doc["mediaType"].is_string() ? doc["mediaType"].get<std::string>() : "";
  std::string type = own;
  const bool typed = oci::media::isManifest(contentType) || oci::media::isIndex(contentType);
  if (!own.empty() && typed && contentType != own)
    return apiError(resp, 400, "MANIFEST_INVALID", "Content-Type " + contentType + " differs from mediaType " + own), "";
  if (type.empty() && typed) type = contentType;
  if (type.empty()) type = doc.contains("manifests") ? oci::media::kOciIndex : doc.contains("config") ? oci::media::kOciManifest : "";
  if (!oci::media::isManifest(type) && !oci::media::isIndex(type))
    return apiError(resp, 400, "MANIFEST_INVALID", "unsupported manifest media type `" + type + "`"), "";
  return type;
}

}  // namespace

void Api::getManifest(const Route& r, HttpResponse& resp) {
  auto d = resolve(storage_, r, resp);
  if (!d) return;
  auto m = storage_.getManifest(r.name, *d, kMaxManifestBytes * 2);
  if (!m) return storageError(resp, m.error(), "MANIFEST_UNKNOWN", {{"digest", d->str()}});
  resp.status = 200;
  resp.set("Content-Type", m->mediaType);
  resp.set("Docker-Content-Digest", d->str());
  resp.set("ETag", "\"" + d->str() + "\"");
  resp.body = std::move(m->bytes);
}

void Api::putManifest(HttpRequest& req, const Route& r, const Query& q, HttpResponse& resp) {
  std::optional<oci::Digest> byDigest;
  std::vector<std::string> tags;
  if (r.reference.find(':') != std::string::npos) {
    byDigest = oci::Digest::parse(r.reference).value_or(oci::Digest{});
    if (byDigest->algorithm != "sha256") return apiError(resp, 400, "DIGEST_INVALID", "invalid digest", {{"digest", r.reference}});
  } else if (validTag(r.reference)) {
    tags.push_back(r.reference);
  } else {
    return apiError(resp, 400, "TAG_INVALID", "invalid tag", {{"tag", r.reference}});
  }
  for (auto& t : queryValues(q, "tag")) {  // distribution-spec 1.1.1: PUT <digest>?tag=a&tag=b
    if (!validTag(t)) return apiError(resp, 400, "TAG_INVALID", "invalid tag", {{"tag", t}});
    tags.push_back(std::move(t));
  }
  auto body = req.readBodyAll(kMaxManifestBytes);
  if (!body && body.error().code() == EFBIG)
    return apiError(resp, 413, "SIZE_INVALID", "manifest larger than " + std::to_string(kMaxManifestBytes) + " bytes");
  if (!body) return apiError(resp, 400, "MANIFEST_INVALID", body.error().message());
  const oci::Digest digest = oci::Digest::of(*body);
  if (byDigest && *byDigest != digest)
    return apiError(resp, 400, "DIGEST_INVALID", "", {{"digest", byDigest->str()}, {"actual", digest.str()}});

  const Json doc = Json::parse(*body, nullptr, false);
  if (!doc.is_object()) return apiError(resp, 400, "MANIFEST_INVALID", "not a JSON object");
  const std::string type = manifestType(doc, stripParams(req.header("content-type")), resp);
  if (type.empty()) return;

  // Everything the manifest points at must be here already.
  std::vector<oci::Digest> blobs;
  std::optional<oci::Descriptor> subject;
  std::string artifactType;
  std::map<std::string, std::string> annotations;
  if (oci::media::isManifest(type)) {
    auto m = oci::parseManifest(*body);
    if (!m) return apiError(resp, 400, "MANIFEST_INVALID", m.error().message());
    blobs.push_back(m->config.digest);
    const Json& layers = doc.contains("layers") ? doc["layers"] : Json::array();
    for (size_t i = 0; i < m->layers.size(); ++i)
      if (!(i < layers.size() && isForeign(layers[i]))) blobs.push_back(m->layers[i].digest);
    for (const auto& b : blobs)
      if (!storage_.blobExists(b))
        return apiError(resp, 400, "MANIFEST_BLOB_UNKNOWN", "", {{"digest", b.str()}});
    subject = m->subject;
    artifactType = m->artifactType.empty() ? m->config.mediaType : m->artifactType;
    annotations = m->annotations;
  } else {
    auto idx = oci::parseIndex(*body);
    if (!idx) return apiError(resp, 400, "MANIFEST_INVALID", idx.error().message());
    for (const auto& child : idx->manifests) {
      const bool isDoc = oci::media::isManifest(child.mediaType) || oci::media::isIndex(child.mediaType);
      if (isDoc ? !storage_.hasManifest(r.name, child.digest) : !storage_.blobExists(child.digest))
        return apiError(resp, 400, "MANIFEST_BLOB_UNKNOWN", "", {{"digest", child.digest.str()}});
    }
    if (doc.contains("subject")) {
      auto s = oci::descriptorFromJson(doc["subject"]);
      if (!s) return apiError(resp, 400, "MANIFEST_INVALID", s.error().message());
      subject = *s;
    }
    artifactType = doc.value("artifactType", "");
    annotations = idx->annotations;
  }

  std::optional<std::pair<oci::Digest, std::string>> referrer;
  if (subject) {
    if (subject->digest.algorithm != "sha256" || !oci::isSha256Hex(subject->digest.hex))
      return apiError(resp, 400, "MANIFEST_INVALID", "unsupported subject digest");
    OJson desc = {{"mediaType", type}, {"digest", digest.str()}, {"size", body->size()}};
    if (!artifactType.empty()) desc["artifactType"] = artifactType;
    if (!annotations.empty()) desc["annotations"] = annotations;
    referrer.emplace(subject->digest, desc.dump());
  }
  StoredManifest stored{std::move(*body), type, digest};
  if (auto st = storage_.putManifest(r.name, stored, tags, referrer); !st)
    return storageError(resp, st.error(), "MANIFEST_UNKNOWN");
  for (const auto& b : blobs) (void)storage_.linkBlob(r.name, b);  // pullable through this repository
  resp.status = 201;
  resp.set("Location", "/v2/" + r.name + "/manifests/" + digest.str());
  resp.set("Docker-Content-Digest", digest.str());
  if (subject) resp.set("OCI-Subject", subject->digest.str());
}

void Api::deleteManifest(const Route& r, HttpResponse& resp) {
  if (r.reference.find(':') == std::string::npos) {
    if (!validTag(r.reference)) return apiError(resp, 400, "TAG_INVALID", "invalid tag", {{"tag", r.reference}});
    if (auto st = storage_.deleteTag(r.name, r.reference); !st)
      return storageError(resp, st.error(), "MANIFEST_UNKNOWN", {{"tag", r.reference}});
    resp.status = 202;
    return;
  }
  auto d = resolve(storage_, r, resp);
  if (!d) return;
  if (auto st = storage_.deleteManifest(r.name, *d); !st)
    return storageError(resp, st.error(), "MANIFEST_UNKNOWN", {{"digest", d->str()}});
  resp.status = 202;
}

void Api::referrers(const Route& r, const Query& q, HttpResponse& resp) {
  auto d = oci::Digest::parse(r.reference);
  if (!d || d->algorithm != "sha256")
    return apiError(resp, 400, "DIGEST_INVALID", "invalid digest", {{"digest", r.reference}});
  auto entries = storage_.referrers(r.name, *d);
  if (!entries) return storageError(resp, entries.error(), "MANIFEST_UNKNOWN");
  const auto filter = queryValue(q, "artifactType");
  OJson manifests = OJson::array();
  for (const auto& text : *entries) {
    OJson desc = OJson::parse(text, nullptr, false);
    if (!desc.is_object()) continue;
    if (filter && desc.value("artifactType", "") != *filter) continue;
    manifests.push_back(std::move(desc));
  }
  if (filter) resp.set("OCI-Filters-Applied", "artifactType");
  sendJson(resp, 200, OJson{{"schemaVersion", 2}, {"mediaType", oci::media::kOciIndex}, {"manifests", manifests}},
           std::string(oci::media::kOciIndex));
}

}  // namespace strata::registry::server
