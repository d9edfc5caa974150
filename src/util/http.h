// HTTP(S) requests through libcurl (opened on first use): one call per request, streaming bodies both ways.
//
// Thread safety: perform() may be called from any number of threads at once; each thread keeps
// its own connection cache, so consecutive requests to one host reuse a connection.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.h"

namespace strata::http {

struct Request {
  std::string method = "GET";  // GET, HEAD, POST, PUT, PATCH, DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"

  // The request body: body, or when source is set, bytes pulled from it until it returns 0.
  // bodyLength is the Content-Length of a source (-1: unknown, sent chunked).
  std::string body;
  std::function<Result<size_t>(char* buf, size_t size)> source;
  int64_t bodyLength = -1;

  // Receives the body of a 2xx response as it arrives (the body of any other response is kept
  // in Response::body instead, up to maxBody). An error from sink aborts the transfer and is
  // what perform() returns.
  std::function<Status(const char* data, size_t size)> sink;
  // Called once, before the first byte given to sink, with the response status (200, 206...).
  std::function<Status(long status)> onStart;
  uint64_t maxBody = 8u << 20;  // bytes of a collected body; more is an error naming the URL

  bool followRedirects = false;
  bool verifyTls = true;
  long connectTimeoutSeconds = 30;
};

struct Response {
  long status = 0;
  // Headers of the final response, names lowercased, in order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;          // collected body (see Request::sink)
  std::string effectiveUrl;  // the URL answered last (after redirects)

  // The first header called name (lowercase), or "".
  std::string header(std::string_view name) const;
};

// Sends req and returns the final response, whatever its status. Transport failures (name
// resolution, connection, TLS, a body over maxBody) are errors naming the method and URL, in
// the form `Get "https://host/v2/": <reason>`.
Result<Response> perform(const Request& req);

// The time an HTTP date (Last-Modified, RFC 7231's three forms) names, or -1 when the text is
// not a date or libcurl cannot be loaded.
int64_t parseDate(const std::string& text);

// Percent-encodes text for a URL query value (RFC 3986 unreserved characters stay).
std::string queryEscape(std::string_view text);
// Resolves a Location header against the URL it answered: absolute URLs are kept, "/path"
// takes base's scheme and host, other relative forms are resolved against base's directory.
std::string resolveUrl(std::string_view base, std::string_view location);

}  // namespace strata::http
