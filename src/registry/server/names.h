// The registry server's grammar: repository names, tags, upload ids, URL paths and queries.
//
// Everything that names a file in the storage directory passes one of the validators here first;
// a name that passes cannot contain "..", an empty component, a '/' outside the name grammar or
// any character that is special to the file system.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::registry::server {

// The distribution spec's name grammar, components separated by '/':
//   [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
// and at most 255 characters in all.
bool validRepositoryName(std::string_view name);
// [A-Za-z0-9_][A-Za-z0-9._-]{0,127}
bool validTag(std::string_view tag);
// An upload id as startUpload() makes them: a lowercase UUID (8-4-4-4-12 hex digits).
bool validUploadId(std::string_view id);

// Decodes %XX escapes (and '+' as a space when plusAsSpace, as in query strings). nullopt for a
// malformed escape or a decoded NUL.
std::optional<std::string> percentDecode(std::string_view text, bool plusAsSpace);

// Query parameters in order, names and values decoded; malformed pairs are skipped.
using Query = std::vector<std::pair<std::string, std::string>>;
Query parseQuery(std::string_view query);
// The first value of name, or nullopt.
std::optional<std::string> queryValue(const Query& q, std::string_view name);
std::vector<std::string> queryValues(const Query& q, std::string_view name);

// What a request path asks for. Name components and the reference are percent-decoded one by
// one, so "%2F" never becomes a separator; kind BadName means the path had the shape of a
// repository route but the name failed validRepositoryName().
struct Route {
  enum Kind {
    Unknown,      // not an API path
    Base,         // /v2/
    Catalog,      // /v2/_catalog
    Token,        // /token
    BadName,      // /v2/<invalid name>/...
    Tags,         // /v2/<name>/tags/list
    Manifest,     // /v2/<name>/manifests/<reference>
    Blob,         // /v2/<name>/blobs/<digest>
    UploadStart,  // /v2/<name>/blobs/uploads/
    Upload,       // /v2/<name>/blobs/uploads/<id>
    Referrers,    // /v2/<name>/referrers/<digest>
  };
  Kind kind = Unknown;
  std::string name;       // repository (Tags .. Referrers, and the rejected text for BadName)
  std::string reference;  // tag or digest, digest, or upload id
};

Route parseRoute(std::string_view path);

}  // namespace strata::registry::server
