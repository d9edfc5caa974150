#include "build/fetch.h"

#include <fcntl.h>
#include <unistd.h>

#include "util/fd.h"
#include "util/fs.h"
#include "util/http.h"
#include "util/sha256.h"

namespace strata::build {
namespace {

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
  Download out;
  out.fileName = nameFromUrl(url);
  out.path = dir + "/download";
  UniqueFd fd = TRY(openFile(out.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  Sha256 hash;
  uint64_t written = 0;
  http::Request req;
  req.url = url;
  req.followRedirects = true;
  req.sink = [&](const char* data, size_t n) -> Status {
    if (written + n > maxBytes) return failInvalid("more than " + std::to_string(maxBytes) + " bytes");
    TRYV_CTX(writeAll(fd.get(), data, n), "write `" + out.path + "`");
    hash.update(data, n);
    written += n;
    return {};
  };
  auto r = http::perform(req);
  if (!r) return fail(std::move(r).error().wrap("ADD " + url));
  if (r->status >= 400) return failInvalid("ADD " + url + ": bad response status " + std::to_string(r->status));
  TRYV(fsyncFd(fd.get(), out.path));
  const std::string lastModified = r->header("last-modified");
  const int64_t mtime = lastModified.empty() ? -1 : http::parseDate(lastModified);
  out.mtime = mtime > 0 ? mtime : 0;
  out.digest = oci::Digest::sha256(hash.hex());
  return out;
}

}  // namespace strata::build
