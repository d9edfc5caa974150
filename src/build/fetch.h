// ADD's remote sources: a file fetched over HTTP(S) with libcurl.
#pragma once

#include <cstdint>
#include <string>

#include "oci/digest.h"
#include "util/error.h"

namespace strata::build {

struct Download {
  std::string path;      // the file written under the caller's directory
  std::string fileName;  // the name ADD gives it: the last component of the URL's path
  int64_t mtime = 0;     // Last-Modified, seconds since the epoch (0 when the server gave none)
  oci::Digest digest;    // SHA-256 of the content, computed while it was written
};

// Fetches url (http:// or https://, redirects followed) into a new file in dir. Fails, naming
// the URL, on a transfer error, an HTTP status of 400 or more, or more than maxBytes of content.
Result<Download> fetchUrl(const std::string& url, const std::string& dir, uint64_t maxBytes);

}  // namespace strata::build
