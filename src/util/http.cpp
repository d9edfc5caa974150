#include "util/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace strata::http {
namespace {

// One easy handle per thread: reset between requests, it keeps its connection and DNS caches.
class Handle {
 public:
  Handle() {
    static std::once_flag init;
    std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    curl_ = curl_easy_init();
  }
  ~Handle() {
    if (curl_) curl_easy_cleanup(curl_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  CURL* get() { return curl_; }

 private:
  CURL* curl_ = nullptr;
};

struct Transfer {
  const Request* req;
  CURL* curl;
  Response* resp;
  Error sinkError;
  bool sinkFailed = false;
  bool tooBig = false;
  bool sourceFailed = false;
  bool started = false;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n')) --e;
  return std::string(s.substr(b, e - b));
}

size_t onHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    t->resp->headers.clear();  // a new response (after a redirect or a 100 Continue)
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    t->resp->headers.emplace_back(lower(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
  }
  return size * count;
}

size_t onBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300 && t->req->sink) {
    Status st;
    if (!t->started && t->req->onStart) st = t->req->onStart(status);
    t->started = true;
    if (st) st = t->req->sink(data, n);
    if (!st) {
      t->sinkError = std::move(st).error();
      t->sinkFailed = true;
      return 0;
    }
    return n;
  }
  if (t->resp->body.size() + n > t->req->maxBody) {
    t->tooBig = true;
    return 0;
  }
  t->resp->body.append(data, n);
  return n;
}

size_t onRead(char* buf, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  auto n = t->req->source(buf, size * count);
  if (!n) {
    t->sinkError = std::move(n).error();
    t->sourceFailed = true;
    return CURL_READFUNC_ABORT;
  }
  return *n;
}

size_t onReadString(char* buf, size_t size, size_t count, void* user) {
  auto* rest = static_cast<std::string_view*>(user);
  const size_t n = std::min(size * count, rest->size());
  std::copy_n(rest->data(), n, buf);
  rest->remove_prefix(n);
  return n;
}

// Go's spelling of the method in error messages: `Get "https://..."`.
std::string verb(const std::string& method) {
  std::string v = lower(method);
  if (!v.empty()) v[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(v[0])));
  return v;
}

}  // namespace

std::string Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return "";
}

Result<Response> perform(const Request& req) {
  thread_local Handle handle;
  CURL* curl = handle.get();
  const std::string what = verb(req.method) + " \"" + req.url + "\"";
  if (!curl) return failInvalid(what + ": cannot start an HTTP client");
  curl_easy_reset(curl);

  Response resp;
  Transfer t{&req, curl, &resp, {}};
  char errorText[CURL_ERROR_SIZE] = {};
  curl_slist* headers = nullptr;
  for (const auto& h : req.headers) headers = curl_slist_append(headers, h.c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip on uploads

  curl_easy_setopt(curl, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, req.followRedirects ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, req.connectTimeoutSeconds);
  // A stalled transfer (under 1 byte/s for a minute) is an error, not a hang.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errorText);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "strata/" STRATA_VERSION);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  if (!req.verifyTls) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }

  std::string_view rest = req.body;
  const bool hasBody = req.source || req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
  if (req.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (hasBody) {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (req.source) {
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, onRead);
      curl_easy_setopt(curl, CURLOPT_READDATA, &t);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.bodyLength));
    } else {
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, onReadString);
      curl_easy_setopt(curl, CURLOPT_READDATA, &rest);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
  } else if (req.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }

  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
  if (char* eff = nullptr; curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff)
    resp.effectiveUrl = eff;
  curl_slist_free_all(headers);

  if (t.sinkFailed || t.sourceFailed) return fail(std::move(t.sinkError));
  if (t.tooBig)
    return failInvalid(what + ": response body larger than " + std::to_string(req.maxBody) + " bytes");
  if (rc != CURLE_OK)
    return failInvalid(what + ": " + (errorText[0] ? errorText : curl_easy_strerror(rc)));
  return resp;
}

std::string queryEscape(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string resolveUrl(std::string_view base, std::string_view location) {
  if (location.find("://") != std::string_view::npos) return std::string(location);
  const size_t scheme = base.find("://");
  const size_t hostEnd = base.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  const std::string_view origin = base.substr(0, hostEnd);
  if (!location.empty() && location[0] == '/') return std::string(origin) + std::string(location);
  std::string_view path = hostEnd == std::string_view::npos ? "/" : base.substr(hostEnd);
  path = path.substr(0, path.find_first_of("?#"));
  path = path.substr(0, path.rfind('/') + 1);
  return std::string(origin) + std::string(path) + std::string(location);
}

}  // namespace strata::http
