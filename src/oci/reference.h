// Image references with Docker's normalisation rules (distribution/reference).
//
//   busybox                    -> docker.io/library/busybox:latest
//   user/app:1.0               -> docker.io/user/app:1.0
//   localhost:5000/app         -> localhost:5000/app:latest
//   reg.example.com/p/app@sha256:<hex>
//
// The first path component is a registry host when it contains '.' or ':' or is "localhost".
// Repository path components are lowercase [a-z0-9]+ joined by '.', '_', '__' or runs of '-';
// a tag is [A-Za-z0-9_][A-Za-z0-9._-]{0,127}; the whole name is at most 255 characters.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "oci/digest.h"
#include "util/error.h"

namespace strata::oci {

struct Reference {
  std::string domain;  // "docker.io", "localhost:5000", ...
  std::string path;    // "library/busybox", "user/app"
  std::string tag;     // empty when only a digest was given
  std::optional<Digest> digest;

  // Parses and normalises text. With no tag and no digest the tag is "latest".
  // Errors (one line, naming the text): empty, uppercase in the repository, bad characters,
  // name too long, bad tag, bad digest. "invalid reference format: repository name must be
  // lowercase" mirrors Docker's wording.
  static Result<Reference> parse(std::string_view text);

  // "docker.io/library/busybox"
  std::string repository() const;
  // Docker's familiar form of the repository: "busybox", "user/app", "localhost:5000/app".
  std::string familiarRepository() const;
  // Familiar repository plus ":tag" and/or "@digest": "busybox:latest".
  std::string familiar() const;
  // Fully qualified: "docker.io/library/busybox:latest".
  std::string str() const;
};

// Docker's rule for image arguments: a 64-hex string (or sha256:<64 hex>) or a prefix of at
// least one hex character that is not a valid name-with-tag is looked up as an image ID.
// Returns the hex (possibly a prefix) when text looks like an ID, nullopt otherwise.
std::optional<std::string> asImageIdPrefix(std::string_view text);

}  // namespace strata::oci
