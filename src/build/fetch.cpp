#include "build/fetch.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <mutex>

#include "util/fd.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace strata::build {
namespace {

struct Sink {
  int fd;
  Sha256 hash;
  uint64_t written = 0;
  uint64_t max;
  bool tooBig = false;
  bool writeFailed = false;
};

size_t onData(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t n = size * count;
  if (sink->written + n > sink->max) {
    sink->tooBig = true;
    return 0;  // aborts the transfer
  }
  if (!writeAll(sink->fd, data, n)) {
    sink->writeFailed = true;
    return 0;
  }
  sink->hash.update(data, n);
  sink->written += n;
  return n;
}

// The last non-empty component of the URL's path (query and fragment dropped).
std::string nameFromUrl(const std::string& url) {
  std::string path = url;
  if (auto scheme = path.find("://"); scheme != std::string::npos) path = path.substr(scheme + 3);
  path = path.substr(0, path.find_first_of("?#"));
  const std::size_t slash = path.find('/');
  path = slash == std::string::npos ? "" : path.substr(slash);
  while (!path.empty() && path.back() == '/') path.pop_back();
  const std::string name = path.substr(path.rfind('/') + 1);
  return name.empty() ? "__unnamed__" : name;
}

}  // namespace

Result<Download> fetchUrl(const std::string& url, const std::string& dir, uint64_t maxBytes) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  Download out;
  out.fileName = nameFromUrl(url);
  out.path = dir + "/download";
  UniqueFd fd = TRY(openFile(out.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  Sink sink{fd.get(), Sha256(), 0, maxBytes};

  CURL* curl = curl_easy_init();
  if (!curl) return failInvalid("ADD " + url + ": cannot start an HTTP client");
  char errorText[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_FILETIME, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errorText);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "strata/" STRATA_VERSION);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onData);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_off_t filetime = -1;
  curl_easy_getinfo(curl, CURLINFO_FILETIME_T, &filetime);
  curl_easy_cleanup(curl);

  if (sink.tooBig) return failInvalid("ADD " + url + ": more than " + std::to_string(maxBytes) + " bytes");
  if (sink.writeFailed) return failErrno("ADD " + url + ": write `" + out.path + "`");
  if (rc != CURLE_OK)
    return failInvalid("ADD " + url + ": " + (errorText[0] ? errorText : curl_easy_strerror(rc)));
  if (status >= 400) return failInvalid("ADD " + url + ": bad response status " + std::to_string(status));
  TRYV(fsyncFd(fd.get(), out.path));
  out.mtime = filetime > 0 ? static_cast<int64_t>(filetime) : 0;
  out.digest = oci::Digest::sha256(sink.hash.hex());
  return out;
}

}  // namespace strata::build
