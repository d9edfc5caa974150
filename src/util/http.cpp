#include "util/http.h"

#include <curl/curl.h>
#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace strata::http {
namespace {

// libcurl is opened on the first request instead of being linked: its dependency tree (TLS,
// HTTP/2, IDN, Kerberos, LDAP: some thirty libraries) would cost every strata command several
// milliseconds of dynamic linking at start, and most commands never speak HTTP.
struct Curl {
  decltype(&curl_global_init) globalInit;
  decltype(&curl_easy_init) easyInit;
  decltype(&curl_easy_cleanup) easyCleanup;
  decltype(&curl_easy_reset) easyReset;
  decltype(&curl_easy_setopt) easySetopt;
  decltype(&curl_easy_getinfo) easyGetinfo;
  decltype(&curl_easy_perform) easyPerform;
  decltype(&curl_easy_strerror) easyStrerror;
  decltype(&curl_slist_append) slistAppend;
  decltype(&curl_slist_free_all) slistFreeAll;
  decltype(&curl_getdate) getdate;
};

template <typename F>
void bind(void* lib, const char* name, F& fn, std::string& missing) {
  fn = reinterpret_cast<F>(::dlsym(lib, name));
  if (!fn) missing += missing.empty() ? name : std::string(", ") + name;
}

// The loaded library, or the reason it could not be loaded (the same for every later call).
Result<const Curl*> curl() {
  static Curl api;
  static std::string problem;
  static std::once_flag once;
  std::call_once(once, [] {
    void* lib = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* why = ::dlerror();
      problem = "cannot load libcurl (Debian package libcurl4): " + std::string(why ? why : "not found");
      return;
    }
    std::string missing;
    bind(lib, "curl_global_init", api.globalInit, missing);
    bind(lib, "curl_easy_init", api.easyInit, missing);
    bind(lib, "curl_easy_cleanup", api.easyCleanup, missing);
    bind(lib, "curl_easy_reset", api.easyReset, missing);
    bind(lib, "curl_easy_setopt", api.easySetopt, missing);
    bind(lib, "curl_easy_getinfo", api.easyGetinfo, missing);
    bind(lib, "curl_easy_perform", api.easyPerform, missing);
    bind(lib, "curl_easy_strerror", api.easyStrerror, missing);
    bind(lib, "curl_slist_append", api.slistAppend, missing);
    bind(lib, "curl_slist_free_all", api.slistFreeAll, missing);
    bind(lib, "curl_getdate", api.getdate, missing);
    if (!missing.empty()) {
      problem = "libcurl.so.4 lacks " + missing + " (libcurl 7.85 or later is needed)";
      return;
    }
    api.globalInit(CURL_GLOBAL_DEFAULT);
  });
  if (!problem.empty()) return failInvalid(problem);
  return &api;
}

// One easy handle per thread: reset between requests, it keeps its connection and DNS caches.
class Handle {
 public:
  explicit Handle(const Curl& api) : api_(api), curl_(api.easyInit()) {}
  ~Handle() {
    if (curl_) api_.easyCleanup(curl_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  CURL* get() { return curl_; }

 private:
  const Curl& api_;
  CURL* curl_ = nullptr;
};

struct Transfer {
  const Request* req;
  const Curl* api;
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
  t->api->easyGetinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
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
  const std::string what = verb(req.method) + " \"" + req.url + "\"";
  const Curl& api = *TRY_CTX(curl(), what);
  thread_local Handle handle(api);
  CURL* curl = handle.get();
  if (!curl) return failInvalid(what + ": cannot start an HTTP client");
  api.easyReset(curl);

  Response resp;
  Transfer t{&req, &api, curl, &resp, {}};
  char errorText[CURL_ERROR_SIZE] = {};
  curl_slist* headers = nullptr;
  for (const auto& h : req.headers) headers = api.slistAppend(headers, h.c_str());
  headers = api.slistAppend(headers, "Expect:");  // no 100-continue round trip on uploads

  api.easySetopt(curl, CURLOPT_URL, req.url.c_str());
  api.easySetopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  api.easySetopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  api.easySetopt(curl, CURLOPT_FOLLOWLOCATION, req.followRedirects ? 1L : 0L);
  api.easySetopt(curl, CURLOPT_MAXREDIRS, 10L);
  api.easySetopt(curl, CURLOPT_NOSIGNAL, 1L);
  api.easySetopt(curl, CURLOPT_CONNECTTIMEOUT, req.connectTimeoutSeconds);
  // A stalled transfer (under 1 byte/s for a minute) is an error, not a hang.
  api.easySetopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  api.easySetopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
  api.easySetopt(curl, CURLOPT_ERRORBUFFER, errorText);
  api.easySetopt(curl, CURLOPT_USERAGENT, "strata/" STRATA_VERSION);
  api.easySetopt(curl, CURLOPT_HTTPHEADER, headers);
  api.easySetopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
  api.easySetopt(curl, CURLOPT_HEADERDATA, &t);
  api.easySetopt(curl, CURLOPT_WRITEFUNCTION, onBody);
  api.easySetopt(curl, CURLOPT_WRITEDATA, &t);
  if (!req.verifyTls) {
    api.easySetopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    api.easySetopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }

  std::string_view rest = req.body;
  const bool hasBody = req.source || req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
  if (req.method == "HEAD") {
    api.easySetopt(curl, CURLOPT_NOBODY, 1L);
  } else if (hasBody) {
    api.easySetopt(curl, CURLOPT_UPLOAD, 1L);
    api.easySetopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (req.source) {
      api.easySetopt(curl, CURLOPT_READFUNCTION, onRead);
      api.easySetopt(curl, CURLOPT_READDATA, &t);
      api.easySetopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.bodyLength));
    } else {
      api.easySetopt(curl, CURLOPT_READFUNCTION, onReadString);
      api.easySetopt(curl, CURLOPT_READDATA, &rest);
      api.easySetopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
  } else if (req.method != "GET") {
    api.easySetopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }

  const CURLcode rc = api.easyPerform(curl);
  api.easyGetinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
  if (char* eff = nullptr; api.easyGetinfo(curl, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff)
    resp.effectiveUrl = eff;
  api.slistFreeAll(headers);

  if (t.sinkFailed || t.sourceFailed) return fail(std::move(t.sinkError));
  if (t.tooBig)
    return failInvalid(what + ": response body larger than " + std::to_string(req.maxBody) + " bytes");
  if (rc != CURLE_OK)
    return failInvalid(what + ": " + (errorText[0] ? errorText : api.easyStrerror(rc)));
  return resp;
}

int64_t parseDate(const std::string& text) {
  auto api = curl();
  return api ? static_cast<int64_t>((*api)->getdate(text.c_str(), nullptr)) : -1;
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
