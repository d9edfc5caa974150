// The registry server end to end: a Server on 127.0.0.1 (port 0) over a temp storage directory,
// driven with raw HTTP (libcurl through util/http.h, or a bare socket) and with strata's own
// registry client.
#include <arpa/inet.h>
#include <crypt.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>

#include "oci/digest.h"
#include "oci/media_types.h"
#include "registry/client.h"
#include "registry/server/http_server.h"
#include "registry/server/names.h"
#include "registry/server/server.h"
#include "util/base64.h"
#include "util/fs.h"
#include "util/http.h"

namespace strata::registry::server {
namespace {

using Json = nlohmann::json;

// --- helpers

http::Response send(const std::string& method, const std::string& url, const std::string& body = "",
                    std::vector<std::string> headers = {}) {
  http::Request r;
  r.method = method;
  r.url = url;
  r.body = body;
  r.headers = std::move(headers);
  r.maxBody = 64u << 20;
  auto resp = http::perform(r);
  EXPECT_TRUE(resp) << resp.error().what();
  return resp ? *resp : http::Response{};
}

std::string errorCode(const http::Response& r) {
  auto j = Json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("errors") || !j["errors"].is_array() || j["errors"].empty()) return "";
  return j["errors"][0].value("code", "");
}

// A bare TCP exchange: sends request, then reads until the server closes or `quiet` passes
// without a byte.
std::string rawExchange(uint16_t port, const std::string& request, int quietMs = 2000) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  if (!request.empty()) {
    EXPECT_TRUE(writeAll(fd.get(), request));
  }
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, quietMs) <= 0) break;
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

int countOf(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

UniqueFd memFile(const std::string& data) {
  UniqueFd fd(::memfd_create("blob", MFD_CLOEXEC));
  EXPECT_TRUE(fd.valid());
  EXPECT_TRUE(writeAll(fd.get(), data));
  return fd;
}

std::string pattern(size_t size, unsigned seed) {
  std::string s(size, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

struct TestImage {
  std::string config, layer, manifest;
  oci::Digest configDigest, layerDigest, digest;
};

// A small image (the layer is not a real tar; the registry does not care).
TestImage makeImage(const std::string& seed, std::string_view mediaType = oci::media::kOciManifest) {
  TestImage img;
  img.config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"seed":")" + seed + "\"}";
  img.layer = "layer content of " + seed;
  img.configDigest = oci::Digest::of(img.config);
  img.layerDigest = oci::Digest::of(img.layer);
  const bool docker = mediaType == oci::media::kDockerManifest;
  Json m = {{"schemaVersion", 2},
            {"mediaType", mediaType},
            {"config", {{"mediaType", docker ? oci::media::kDockerConfig : oci::media::kOciConfig},
                        {"digest", img.configDigest.str()}, {"size", img.config.size()}}},
            {"layers", Json::array({{{"mediaType", docker ? oci::media::kDockerLayerGzip : oci::media::kOciLayerGzip},
                                     {"digest", img.layerDigest.str()}, {"size", img.layer.size()}}})}};
  img.manifest = m.dump();
  img.digest = oci::Digest::of(img.manifest);
  return img;
}

std::string bcryptHash(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(::crypt_gensalt_rn("$2b$", 5, nullptr, 0, salt, sizeof salt), nullptr);
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const char* h = ::crypt_r(password.c_str(), salt, data.get());
  EXPECT_TRUE(h && h[0] == '$');
  return h ? h : "";
}

// A self-signed certificate for 127.0.0.1 and its key, written as PEM files.
void writeSelfSigned(const std::string& certPath, const std::string& keyPath) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  ASSERT_GT(X509_sign(x, key, EVP_sha256()), 0);
  FILE* c = std::fopen(certPath.c_str(), "w");
  FILE* k = std::fopen(keyPath.c_str(), "w");
  ASSERT_TRUE(c && k);
  PEM_write_X509(c, x);
  PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(c);
  std::fclose(k);
  X509_free(x);
  EVP_PKEY_free(key);
}

class RegistryServer : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::create("/tmp", "regsrv-test-");
    ASSERT_TRUE(t) << t.error().what();
    tmp_ = std::move(*t);
    storage_ = tmp_.path() + "/storage";
  }

  std::unique_ptr<Server> start(ServeOptions opt = {}) {
    opt.addr = "127.0.0.1:0";
    if (opt.storage.empty()) opt.storage = storage_;
    if (opt.log == stderr) opt.log = nullptr;
    auto s = Server::start(opt);
    EXPECT_TRUE(s) << s.error().what();
    return s ? std::move(*s) : nullptr;
  }

  static std::string host(const Server& s) { return "127.0.0.1:" + std::to_string(s.port()); }
  static std::string url(const Server& s, const std::string& path) { return "http://" + host(s) + path; }

  static std::unique_ptr<Client> client(const Server& s, std::optional<Credentials> creds = std::nullopt) {
    Options o;
    o.credentials = std::move(creds);
    auto c = Client::connect(host(s), o);
    EXPECT_TRUE(c) << c.error().what();
    return c ? std::move(*c) : nullptr;
  }

  static void pushBlob(const Server& s, const std::string& repo, const std::string& data) {
    auto r = send("POST", url(s, "/v2/" + repo + "/blobs/uploads/?digest=" + oci::Digest::of(data).str()), data,
                  {"Content-Type: application/octet-stream"});
    ASSERT_EQ(r.status, 201) << r.body;
  }

  static void pushImage(const Server& s, const std::string& repo, const std::string& tag, const TestImage& img) {
    pushBlob(s, repo, img.config);
    pushBlob(s, repo, img.layer);
    auto r = send("PUT", url(s, "/v2/" + repo + "/manifests/" + tag), img.manifest,
                  {"Content-Type: " + std::string(oci::media::kOciManifest)});
    ASSERT_EQ(r.status, 201) << r.body;
  }

  TempDir tmp_;
  std::string storage_;
};

// --- grammar

TEST(RegistryServerNames, RepositoryNamesFollowTheSpecGrammar) {
  for (const char* ok : {"a", "library/busybox", "a.b_c__d---e/f0", "x/y/z"}) EXPECT_TRUE(validRepositoryName(ok)) << ok;
  for (const char* bad : {"", "../x", "a/../b", "A", "a//b", "/a", "a/", "a_", "a___b", "_a", "a/.b", "a%2fb", "a b"})
    EXPECT_FALSE(validRepositoryName(bad)) << bad;
  EXPECT_FALSE(validRepositoryName(std::string(256, 'a')));
  EXPECT_TRUE(validTag("v1.0_rc-1"));
  EXPECT_FALSE(validTag(".hidden"));
  EXPECT_FALSE(validTag("-x"));
  EXPECT_FALSE(validTag(std::string(129, 'a')));
}

TEST(RegistryServerNames, RoutesDecodeComponentsOneByOne) {
  Route r = parseRoute("/v2/library/busybox/manifests/latest");
  EXPECT_EQ(r.kind, Route::Manifest);
  EXPECT_EQ(r.name, "library/busybox");
  EXPECT_EQ(r.reference, "latest");
  EXPECT_EQ(parseRoute("/v2/a/blobs/uploads/").kind, Route::UploadStart);
  EXPECT_EQ(parseRoute("/v2/a/blobs/uploads/abc").kind, Route::Upload);
  EXPECT_EQ(parseRoute("/v2/a/blobs/sha256:00").kind, Route::Blob);
  EXPECT_EQ(parseRoute("/v2/a%2Fb/tags/list").kind, Route::BadName);  // %2F is not a separator
  EXPECT_EQ(parseRoute("/v2/%2e%2e/tags/list").kind, Route::BadName);
  EXPECT_EQ(parseRoute("/v2/_catalog").kind, Route::Catalog);
  EXPECT_EQ(parseRoute("/elsewhere").kind, Route::Unknown);
  EXPECT_EQ(parseRoute("/v2/a/sha256%3Aab/manifests/x%3").kind, Route::Unknown);  // malformed escape
}

// --- the API

TEST_F(RegistryServer, PingAnswersWithTheApiVersionAndLogsOneLine) {
  char* logText = nullptr;
  size_t logSize = 0;
  FILE* log = ::open_memstream(&logText, &logSize);
  ServeOptions o;
  o.log = log;
  auto s = start(o);
  ASSERT_TRUE(s);
  auto r = send("GET", url(*s, "/v2/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{}");
  EXPECT_EQ(r.header("docker-distribution-api-version"), "registry/2.0");
  auto missing = send("GET", url(*s, "/v2/nothing/here"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.header("docker-distribution-api-version"), "registry/2.0");
  s->stop();
  std::fclose(log);
  const std::string text(logText, logSize);
  std::free(logText);
  // `127.0.0.1 - - "GET /v2/ HTTP/1.1" 200 2 0.001s`
  const std::string prefix = "127.0.0.1 - - \"GET /v2/ HTTP/1.1\" 200 2 ";
  ASSERT_EQ(text.rfind(prefix, 0), 0u) << text;
  const std::string secs = text.substr(prefix.size(), text.find('\n') - prefix.size());
  ASSERT_GE(secs.size(), 6u) << secs;
  EXPECT_EQ(secs.back(), 's');
  EXPECT_EQ(secs[secs.size() - 5], '.');
  EXPECT_EQ(secs.find_first_not_of("0123456789."), secs.size() - 1) << secs;
  EXPECT_EQ(countOf(text, "\n"), 2) << text;  // one line per request
}

TEST_F(RegistryServer, MonolithicUploadThenHeadAndGet) {
  auto s = start();
  const std::string data = "hello blob";
  const auto d = oci::Digest::of(data);
  auto r = send("POST", url(*s, "/v2/test/blobs/uploads/?digest=" + d.str()), data);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("location"), "/v2/test/blobs/" + d.str());
  EXPECT_EQ(r.header("docker-content-digest"), d.str());
  auto head = send("HEAD", url(*s, "/v2/test/blobs/" + d.str()));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), std::to_string(data.size()));
  EXPECT_EQ(head.header("docker-content-digest"), d.str());
  auto get = send("GET", url(*s, "/v2/test/blobs/" + d.str()));
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, data);
  EXPECT_TRUE(pathExists(storage_ + "/blobs/sha256/" + d.hex));
  // Another repository does not have it until it is mounted or pushed there.
  auto other = send("GET", url(*s, "/v2/other/blobs/" + d.str()));
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(errorCode(other), "BLOB_UNKNOWN");
}

TEST_F(RegistryServer, ChunkedUploadWithStatusAndOutOfOrderChunk) {
  auto s = start();
  const std::string data = "0123456789abcdef";
  auto post = send("POST", url(*s, "/v2/chunky/blobs/uploads/"));
  ASSERT_EQ(post.status, 202);
  const std::string loc = post.header("location");
  ASSERT_EQ(loc.rfind("/v2/chunky/blobs/uploads/", 0), 0u) << loc;
  EXPECT_FALSE(post.header("docker-upload-uuid").empty());

  auto early = send("PATCH", url(*s, loc), data.substr(5, 5), {"Content-Range: 5-9"});
  EXPECT_EQ(early.status, 416);
  EXPECT_EQ(errorCode(early), "RANGE_INVALID");

  auto p1 = send("PATCH", url(*s, loc), data.substr(0, 10), {"Content-Range: 0-9", "Content-Type: application/octet-stream"});
  ASSERT_EQ(p1.status, 202) << p1.body;
  EXPECT_EQ(p1.header("range"), "0-9");
  auto again = send("PATCH", url(*s, loc), data.substr(0, 10), {"Content-Range: 0-9"});
  EXPECT_EQ(again.status, 416);  // already received: not where the upload stands
  auto status = send("GET", url(*s, loc));
  EXPECT_EQ(status.status, 204);
  EXPECT_EQ(status.header("range"), "0-9");
  auto p2 = send("PATCH", url(*s, loc), data.substr(10), {"Content-Range: 10-15"});
  ASSERT_EQ(p2.status, 202);
  auto put = send("PUT", url(*s, loc + "?digest=" + oci::Digest::of(data).str()));
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(send("GET", url(*s, "/v2/chunky/blobs/" + oci::Digest::of(data).str())).body, data);
  // The session is gone once committed.
  EXPECT_EQ(errorCode(send("GET", url(*s, loc))), "BLOB_UPLOAD_UNKNOWN");
  EXPECT_TRUE(listDirectory(storage_ + "/uploads")->empty());
}

TEST_F(RegistryServer, WrongDigestIsRefusedAndNothingIsStored) {
  auto s = start();
  const auto claimed = oci::Digest::of("something else");
  auto r = send("POST", url(*s, "/v2/test/blobs/uploads/?digest=" + claimed.str()), "actual bytes");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(errorCode(r), "DIGEST_INVALID");
  auto post = send("POST", url(*s, "/v2/test/blobs/uploads/"));
  auto put = send("PUT", url(*s, post.header("location") + "?digest=" + claimed.str()), "actual bytes");
  EXPECT_EQ(put.status, 400);
  EXPECT_EQ(errorCode(put), "DIGEST_INVALID");
  EXPECT_FALSE(pathExists(storage_ + "/blobs/sha256/" + claimed.hex));
  EXPECT_FALSE(pathExists(storage_ + "/blobs/sha256/" + oci::Digest::of("actual bytes").hex));
  EXPECT_EQ(send("HEAD", url(*s, "/v2/test/blobs/" + claimed.str())).status, 404);
  EXPECT_EQ(errorCode(send("PUT", url(*s, post.header("location") + "?digest=" + claimed.str()))), "BLOB_UPLOAD_UNKNOWN");
  auto noDigest = send("POST", url(*s, "/v2/test/blobs/uploads/?digest=sha256:xyz"), "x");
  EXPECT_EQ(errorCode(noDigest), "DIGEST_INVALID");
}

TEST_F(RegistryServer, BlobRangesAndUnsatisfiableRange) {
  auto s = start();
  const std::string data = "abcdefghijklmnopqrstuvwxyz";
  pushBlob(*s, "r", data);
  const std::string blob = url(*s, "/v2/r/blobs/" + oci::Digest::of(data).str());
  auto part = send("GET", blob, "", {"Range: bytes=2-5"});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, "cdef");
  EXPECT_EQ(part.header("content-range"), "bytes 2-5/26");
  auto tail = send("GET", blob, "", {"Range: bytes=-3"});
  EXPECT_EQ(tail.body, "xyz");
  auto open = send("GET", blob, "", {"Range: bytes=20-"});
  EXPECT_EQ(open.body, "uvwxyz");
  auto beyond = send("GET", blob, "", {"Range: bytes=26-"});
  EXPECT_EQ(beyond.status, 416);
  EXPECT_EQ(beyond.header("content-range"), "bytes */26");
}

TEST_F(RegistryServer, ManifestPutGetHeadByTagAndDigest) {
  auto s = start();
  const TestImage img = makeImage("one");
  pushImage(*s, "app", "v1", img);
  for (const std::string& ref : {std::string("v1"), img.digest.str()}) {
    auto get = send("GET", url(*s, "/v2/app/manifests/" + ref), "", {std::string("Accept: ") + kManifestAccept});
    EXPECT_EQ(get.status, 200);
    EXPECT_EQ(get.body, img.manifest);
    EXPECT_EQ(get.header("content-type"), oci::media::kOciManifest);
    EXPECT_EQ(get.header("docker-content-digest"), img.digest.str());
    auto head = send("HEAD", url(*s, "/v2/app/manifests/" + ref));
    EXPECT_EQ(head.status, 200);
    EXPECT_TRUE(head.body.empty());
    EXPECT_EQ(head.header("content-length"), std::to_string(img.manifest.size()));
    EXPECT_EQ(head.header("docker-content-digest"), img.digest.str());
  }
  // The config and layer are now pullable through the repository.
  EXPECT_EQ(send("GET", url(*s, "/v2/app/blobs/" + img.configDigest.str())).body, img.config);
  auto unknown = send("GET", url(*s, "/v2/app/manifests/nope"));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(errorCode(unknown), "MANIFEST_UNKNOWN");
  auto badTag = send("PUT", url(*s, "/v2/app/manifests/-bad"), img.manifest);
  EXPECT_EQ(errorCode(badTag), "TAG_INVALID");

  // PUT by digest is checked against the content.
  auto put = send("PUT", url(*s, "/v2/app/manifests/" + img.digest.str()), img.manifest,
                  {"Content-Type: " + std::string(oci::media::kOciManifest)});
  EXPECT_EQ(put.status, 201);
  EXPECT_EQ(put.header("location"), "/v2/app/manifests/" + img.digest.str());
  auto wrong = send("PUT", url(*s, "/v2/app/manifests/" + img.configDigest.str()), img.manifest,
                    {"Content-Type: " + std::string(oci::media::kOciManifest)});
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(errorCode(wrong), "DIGEST_INVALID");
}

TEST_F(RegistryServer, ManifestsMustReferenceStoredContent) {
  auto s = start();
  const TestImage img = makeImage("two", oci::media::kDockerManifest);
  pushBlob(*s, "app", img.config);  // the layer is missing
  const std::string ct = "Content-Type: " + std::string(oci::media::kDockerManifest);
  auto r = send("PUT", url(*s, "/v2/app/manifests/latest"), img.manifest, {ct});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(errorCode(r), "MANIFEST_BLOB_UNKNOWN");
  EXPECT_NE(r.body.find(img.layerDigest.str()), std::string::npos);

  Json index = {{"schemaVersion", 2},
                {"mediaType", oci::media::kOciIndex},
                {"manifests", Json::array({{{"mediaType", oci::media::kDockerManifest},
                                            {"digest", img.digest.str()},
                                            {"size", img.manifest.size()},
                                            {"platform", {{"architecture", "amd64"}, {"os", "linux"}}}}})}};
  const std::string ict = "Content-Type: " + std::string(oci::media::kOciIndex);
  EXPECT_EQ(errorCode(send("PUT", url(*s, "/v2/app/manifests/multi"), index.dump(), {ict})), "MANIFEST_BLOB_UNKNOWN");
  pushBlob(*s, "app", img.layer);
  EXPECT_EQ(send("PUT", url(*s, "/v2/app/manifests/" + img.digest.str()), img.manifest, {ct}).status, 201);
  auto ok = send("PUT", url(*s, "/v2/app/manifests/multi"), index.dump(), {ict});
  EXPECT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(send("GET", url(*s, "/v2/app/manifests/multi")).header("content-type"), oci::media::kOciIndex);

  EXPECT_EQ(errorCode(send("PUT", url(*s, "/v2/app/manifests/x"), "not json", {ct})), "MANIFEST_INVALID");
  auto huge = send("PUT", url(*s, "/v2/app/manifests/big"), std::string((4u << 20) + 1, ' '), {ct});
  EXPECT_EQ(huge.status, 413);
}

TEST_F(RegistryServer, TagsAndCatalogPaginateWithLinkHeaders) {
  auto s = start();
  const TestImage img = makeImage("tags");
  for (const char* tag : {"e", "b", "a", "d", "c"}) pushImage(*s, "many", tag, img);
  pushImage(*s, "alpha/one", "x", img);

  auto page1 = send("GET", url(*s, "/v2/many/tags/list?n=2"));
  EXPECT_EQ(Json::parse(page1.body)["tags"], Json::array({"a", "b"}));
  EXPECT_EQ(page1.header("link"), "</v2/many/tags/list?n=2&last=b>; rel=\"next\"");
  auto page2 = send("GET", url(*s, "/v2/many/tags/list?n=2&last=b"));
  EXPECT_EQ(Json::parse(page2.body)["tags"], Json::array({"c", "d"}));
  auto page3 = send("GET", url(*s, "/v2/many/tags/list?n=2&last=d"));
  EXPECT_EQ(Json::parse(page3.body)["tags"], Json::array({"e"}));
  EXPECT_EQ(page3.header("link"), "");
  EXPECT_EQ(Json::parse(send("GET", url(*s, "/v2/many/tags/list")).body)["name"], "many");
  EXPECT_EQ(errorCode(send("GET", url(*s, "/v2/none/tags/list"))), "NAME_UNKNOWN");
  EXPECT_EQ(errorCode(send("GET", url(*s, "/v2/many/tags/list?n=x"))), "PAGINATION_NUMBER_INVALID");

  auto c = client(*s);
  ASSERT_TRUE(c);
  auto all = c->listTags("many");
  ASSERT_TRUE(all) << all.error().what();
  EXPECT_EQ(*all, (std::vector<std::string>{"a", "b", "c", "d", "e"}));

  auto cat = send("GET", url(*s, "/v2/_catalog?n=1"));
  EXPECT_EQ(Json::parse(cat.body)["repositories"], Json::array({"alpha/one"}));
  EXPECT_EQ(cat.header("link"), "</v2/_catalog?n=1&last=alpha%2Fone>; rel=\"next\"");
  auto rest = send("GET", url(*s, "/v2/_catalog?n=5&last=alpha%2Fone"));
  EXPECT_EQ(Json::parse(rest.body)["repositories"], Json::array({"many"}));
}

TEST_F(RegistryServer, CrossRepositoryMount) {
  auto s = start();
  const std::string data = "shared layer";
  const auto d = oci::Digest::of(data);
  pushBlob(*s, "src/repo", data);
  auto c = client(*s);
  ASSERT_TRUE(c);
  auto mounted = c->mountBlob("dst/repo", d, "src/repo");
  ASSERT_TRUE(mounted) << mounted.error().what();
  EXPECT_TRUE(*mounted);
  EXPECT_EQ(send("GET", url(*s, "/v2/dst/repo/blobs/" + d.str())).body, data);
  // A blob the source does not have starts an ordinary upload (202), which the client cancels.
  auto missing = c->mountBlob("dst/repo", oci::Digest::of("absent"), "src/repo");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
  EXPECT_TRUE(listDirectory(storage_ + "/uploads")->empty());
}

TEST_F(RegistryServer, DeleteNeedsToBeEnabled) {
  const TestImage img = makeImage("del");
  {
    auto s = start();
    pushImage(*s, "app", "v1", img);
    auto r = send("DELETE", url(*s, "/v2/app/manifests/" + img.digest.str()));
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(errorCode(r), "UNSUPPORTED");
    EXPECT_EQ(send("DELETE", url(*s, "/v2/app/blobs/" + img.layerDigest.str())).status, 405);
    EXPECT_EQ(send("GET", url(*s, "/v2/app/manifests/v1")).status, 200);
  }
  ServeOptions o;
  o.allowDelete = true;
  auto s = start(o);
  pushImage(*s, "app", "v2", img);
  EXPECT_EQ(send("DELETE", url(*s, "/v2/app/manifests/v2")).status, 202);  // the tag only
  EXPECT_EQ(send("GET", url(*s, "/v2/app/manifests/v2")).status, 404);
  EXPECT_EQ(send("GET", url(*s, "/v2/app/manifests/v1")).status, 200);
  EXPECT_EQ(send("DELETE", url(*s, "/v2/app/manifests/" + img.digest.str())).status, 202);
  EXPECT_EQ(send("GET", url(*s, "/v2/app/manifests/" + img.digest.str())).status, 404);
  EXPECT_EQ(send("GET", url(*s, "/v2/app/manifests/v1")).status, 404);  // its tags went with it
  EXPECT_EQ(send("DELETE", url(*s, "/v2/app/blobs/" + img.layerDigest.str())).status, 202);
  EXPECT_EQ(send("GET", url(*s, "/v2/app/blobs/" + img.layerDigest.str())).status, 404);
  EXPECT_EQ(errorCode(send("DELETE", url(*s, "/v2/app/blobs/" + img.layerDigest.str()))), "BLOB_UNKNOWN");
}

TEST_F(RegistryServer, InvalidNamesNeverReachTheFileSystem) {
  auto s = start();
  for (const std::string& path : std::vector<std::string>{"/v2/%2E%2E/x/tags/list", "/v2/Upper/tags/list",
                                                         "/v2/a%2F..%2F..%2Fetc/manifests/x", "/v2/%2e%2e/blobs/uploads/"}) {
    auto r = send(path.find("uploads") != std::string::npos ? "POST" : "GET", url(*s, path));
    EXPECT_EQ(r.status, 400) << path;
    EXPECT_EQ(errorCode(r), "NAME_INVALID") << path;
  }
  // Dot segments sent verbatim (curl would normalise them away).
  const std::string raw = rawExchange(s->port(), "GET /v2/../../etc/tags/list HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 400 ", 0), 0u) << raw;
  EXPECT_NE(raw.find("NAME_INVALID"), std::string::npos);
  EXPECT_EQ(errorCode(send("GET", url(*s, "/v2/ok/blobs/uploads/..%2F..%2Fx"))), "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(*listDirectory(storage_ + "/repositories"), std::vector<std::string>{});
}

TEST_F(RegistryServer, ReadOnlyModeRefusesWrites) {
  const TestImage img = makeImage("ro");
  {
    auto s = start();
    pushImage(*s, "app", "v1", img);
  }
  ServeOptions o;
  o.readOnly = true;
  auto s = start(o);
  auto post = send("POST", url(*s, "/v2/app/blobs/uploads/"));
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(errorCode(post), "UNSUPPORTED");
  EXPECT_EQ(send("PUT", url(*s, "/v2/app/manifests/v2"), img.manifest).status, 405);
  EXPECT_EQ(send("GET", url(*s, "/v2/app/manifests/v1")).body, img.manifest);
  auto c = client(*s);
  ASSERT_TRUE(c);
  auto fd = memFile("new layer");
  EXPECT_FALSE(c->uploadBlob("app", oci::Digest::of("new layer"), fd.get(), 9, nullptr));
}

TEST_F(RegistryServer, BasicAuthAgainstHtpasswd) {
  const std::string htpasswd = tmp_.path() + "/htpasswd";
  ASSERT_TRUE(writeFileAtomic(htpasswd, "# users\nalice:" + bcryptHash("s3cret") + "\n"));
  ServeOptions o;
  o.htpasswd = htpasswd;
  auto s = start(o);
  ASSERT_TRUE(s);
  auto anon = send("GET", url(*s, "/v2/"));
  EXPECT_EQ(anon.status, 401);
  EXPECT_EQ(anon.header("www-authenticate"), "Basic realm=\"strata-registry\"");
  EXPECT_EQ(errorCode(anon), "UNAUTHORIZED");
  auto wrong = send("GET", url(*s, "/v2/"), "", {"Authorization: Basic " + base64Encode("alice:nope")});
  EXPECT_EQ(wrong.status, 401);
  auto right = send("GET", url(*s, "/v2/"), "", {"Authorization: Basic " + base64Encode("alice:s3cret")});
  EXPECT_EQ(right.status, 200);
  EXPECT_EQ(send("GET", url(*s, "/v2/x/tags/list")).status, 401);  // every endpoint, not only /v2/

  auto c = client(*s, Credentials{"alice", "s3cret", ""});
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->checkLogin());
  auto fd = memFile("authed blob");
  EXPECT_TRUE(c->uploadBlob("private", oci::Digest::of("authed blob"), fd.get(), 11, nullptr));
  EXPECT_EQ(*c->hasBlob("private", oci::Digest::of("authed blob")), true);
  auto bad = client(*s, Credentials{"alice", "wrong", ""});
  ASSERT_TRUE(bad);
  EXPECT_FALSE(bad->checkLogin());
}

TEST_F(RegistryServer, BearerTokensFromTheTokenEndpoint) {
  const std::string htpasswd = tmp_.path() + "/htpasswd";
  ASSERT_TRUE(writeFileAtomic(htpasswd, "bob:" + bcryptHash("pw") + "\n"));
  ServeOptions o;
  o.htpasswd = htpasswd;
  o.tokenAuth = true;
  auto s = start(o);
  ASSERT_TRUE(s);
  auto anon = send("GET", url(*s, "/v2/app/tags/list"));
  EXPECT_EQ(anon.status, 401);
  EXPECT_EQ(anon.header("www-authenticate"), "Bearer realm=\"http://" + host(*s) +
                                                 "/token\",service=\"strata-registry\",scope=\"repository:app:pull\"");
  EXPECT_EQ(send("GET", url(*s, "/token?service=strata-registry")).status, 401);
  auto tok = send("GET", url(*s, "/token?service=strata-registry&scope=repository:app:pull"), "",
                  {"Authorization: Basic " + base64Encode("bob:pw")});
  ASSERT_EQ(tok.status, 200) << tok.body;
  const Json j = Json::parse(tok.body);
  const std::string token = j["token"];
  EXPECT_EQ(j["access_token"], token);
  EXPECT_GT(j["expires_in"].get<int>(), 0);
  EXPECT_FALSE(j["issued_at"].get<std::string>().empty());
  EXPECT_EQ(send("GET", url(*s, "/v2/"), "", {"Authorization: Bearer " + token}).status, 200);
  std::string forged = token;
  forged[forged.size() - 1] = forged.back() == '0' ? '1' : '0';
  EXPECT_EQ(send("GET", url(*s, "/v2/"), "", {"Authorization: Bearer " + forged}).status, 401);
  auto form = send("POST", url(*s, "/token"), "grant_type=password&username=bob&password=pw&service=strata-registry",
                   {"Content-Type: application/x-www-form-urlencoded"});
  EXPECT_EQ(form.status, 200);

  // The client follows the Bearer flow by itself.
  auto c = client(*s, Credentials{"bob", "pw", ""});
  ASSERT_TRUE(c);
  c->addScope("repository:app:pull,push");
  const TestImage img = makeImage("bearer");
  auto fd = memFile(img.config);
  ASSERT_TRUE(c->uploadBlob("app", img.configDigest, fd.get(), img.config.size(), nullptr));
  auto fd2 = memFile(img.layer);
  ASSERT_TRUE(c->uploadBlob("app", img.layerDigest, fd2.get(), img.layer.size(), nullptr));
  auto put = c->putManifest("app", "v1", img.manifest, std::string(oci::media::kOciManifest));
  ASSERT_TRUE(put) << put.error().what();
  auto got = c->getManifest("app", "v1");
  ASSERT_TRUE(got) << got.error().what();
  EXPECT_EQ(got->bytes, img.manifest);
}

TEST_F(RegistryServer, ClientPushPullLargeChunkedBlob) {
  auto s = start();
  auto c = client(*s);
  ASSERT_TRUE(c);
  const std::string data = pattern(Client::kChunkSize + (3u << 20) + 7, 1);  // two PATCHes
  const auto d = oci::Digest::of(data);
  auto fd = memFile(data);
  uint64_t reported = 0;
  auto up = c->uploadBlob("big", d, fd.get(), data.size(), [&](uint64_t n) { reported = n; });
  ASSERT_TRUE(up) << up.error().what();
  EXPECT_EQ(reported, data.size());
  std::string back;
  auto got = c->fetchBlob("big", d, 0, [](bool) -> Status { return {}; },
                          [&](const char* p, size_t n) -> Status { return back.append(p, n), Status{}; });
  ASSERT_TRUE(got) << got.error().what();
  EXPECT_EQ(back.size(), data.size());
  EXPECT_TRUE(back == data);
  // Resuming from an offset gets a 206 from there on.
  std::string tail;
  bool resumed = false;
  ASSERT_TRUE(c->fetchBlob("big", d, data.size() - 100, [&](bool r) -> Status { return resumed = r, Status{}; },
                           [&](const char* p, size_t n) -> Status { return tail.append(p, n), Status{}; }));
  EXPECT_TRUE(resumed);
  EXPECT_EQ(tail, data.substr(data.size() - 100));
}

TEST_F(RegistryServer, ConcurrentIdenticalUploadsAreHarmless) {
  auto s = start();
  const std::string data = pattern(300000, 2);
  const auto d = oci::Digest::of(data);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      Options o;
      auto c = Client::connect(host(*s), o);
      if (!c) return;
      auto fd = memFile(data);
      if ((*c)->uploadBlob(i % 2 ? "same/a" : "same/b", d, fd.get(), data.size(), nullptr)) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(*readFile(storage_ + "/blobs/sha256/" + d.hex), data);
  EXPECT_EQ(listDirectory(storage_ + "/blobs/sha256")->size(), 1u);
  EXPECT_TRUE(listDirectory(storage_ + "/uploads")->empty());
}

TEST_F(RegistryServer, ManyClientsAtOnceWhileIdleConnectionsWait) {
  auto s = start();
  const std::string data = pattern(1u << 20, 5);
  pushBlob(*s, "load", data);
  // Idle connections hold no worker: open more of them than there are threads.
  std::vector<UniqueFd> idle;
  for (int i = 0; i < 200; ++i) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(s->port());
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    idle.push_back(std::move(fd));
  }
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        http::Request r;
        r.url = url(*s, "/v2/load/blobs/" + oci::Digest::of(data).str());
        r.maxBody = 2u << 20;
        auto resp = http::perform(r);
        if (resp && resp->status == 200 && resp->body == data) ++good;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 160);
}

TEST_F(RegistryServer, ReferrersListManifestsWithASubject) {
  auto s = start();
  const TestImage img = makeImage("subject");
  pushImage(*s, "app", "v1", img);
  const std::string empty = "{}";
  pushBlob(*s, "app", empty);
  Json sig = {{"schemaVersion", 2},
              {"mediaType", oci::media::kOciManifest},
              {"artifactType", "application/vnd.example.sig"},
              {"config", {{"mediaType", oci::media::kOciEmpty}, {"digest", oci::Digest::of(empty).str()}, {"size", 2}}},
              {"layers", Json::array({{{"mediaType", oci::media::kOciEmpty}, {"digest", oci::Digest::of(empty).str()}, {"size", 2}}})},
              {"subject", {{"mediaType", oci::media::kOciManifest}, {"digest", img.digest.str()}, {"size", img.manifest.size()}}},
              {"annotations", {{"org.example", "yes"}}}};
  const std::string sigBytes = sig.dump();
  auto put = send("PUT", url(*s, "/v2/app/manifests/" + oci::Digest::of(sigBytes).str()), sigBytes,
                  {"Content-Type: " + std::string(oci::media::kOciManifest)});
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(put.header("oci-subject"), img.digest.str());

  auto r = send("GET", url(*s, "/v2/app/referrers/" + img.digest.str()));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), oci::media::kOciIndex);
  const Json idx = Json::parse(r.body);
  ASSERT_EQ(idx["manifests"].size(), 1u);
  EXPECT_EQ(idx["manifests"][0]["digest"], oci::Digest::of(sigBytes).str());
  EXPECT_EQ(idx["manifests"][0]["artifactType"], "application/vnd.example.sig");
  EXPECT_EQ(idx["manifests"][0]["annotations"]["org.example"], "yes");
  auto filtered = send("GET", url(*s, "/v2/app/referrers/" + img.digest.str() + "?artifactType=application/other"));
  EXPECT_EQ(filtered.header("oci-filters-applied"), "artifactType");
  EXPECT_TRUE(Json::parse(filtered.body)["manifests"].empty());
  auto none = send("GET", url(*s, "/v2/app/referrers/" + img.configDigest.str()));
  EXPECT_EQ(none.status, 200);
  EXPECT_TRUE(Json::parse(none.body)["manifests"].empty());
}

TEST_F(RegistryServer, GarbageCollectionRemovesOnlyUnreferencedBlobs) {
  const TestImage img = makeImage("gc");
  const std::string orphan = "nobody references me";
  {
    auto s = start();
    pushImage(*s, "app", "v1", img);
    pushBlob(*s, "app", orphan);
  }
  auto gc = collectGarbage(storage_);
  ASSERT_TRUE(gc) << gc.error().what();
  EXPECT_EQ(gc->blobsRemoved, 1u);
  EXPECT_EQ(gc->bytesFreed, orphan.size());
  EXPECT_FALSE(pathExists(storage_ + "/blobs/sha256/" + oci::Digest::of(orphan).hex));
  for (const auto& d : {img.digest, img.configDigest, img.layerDigest})
    EXPECT_TRUE(pathExists(storage_ + "/blobs/sha256/" + d.hex));
  EXPECT_FALSE(pathExists(storage_ + "/repositories/app/_layers/" + oci::Digest::of(orphan).hex));
  auto again = collectGarbage(storage_);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->blobsRemoved, 0u);
  auto s = start();
  EXPECT_EQ(send("GET", url(*s, "/v2/app/manifests/v1")).body, img.manifest);
  EXPECT_EQ(send("GET", url(*s, "/v2/app/blobs/" + img.layerDigest.str())).body, img.layer);
  EXPECT_EQ(send("GET", url(*s, "/v2/app/blobs/" + oci::Digest::of(orphan).str())).status, 404);
  EXPECT_FALSE(collectGarbage(tmp_.path() + "/nothing"));
}

TEST_F(RegistryServer, TwoServersShareOneStorage) {
  auto a = start();
  auto b = start();
  ASSERT_TRUE(a && b);
  ASSERT_NE(a->port(), b->port());
  const TestImage img = makeImage("shared");
  pushImage(*a, "app", "v1", img);
  EXPECT_EQ(send("GET", url(*b, "/v2/app/manifests/v1")).body, img.manifest);
  EXPECT_EQ(Json::parse(send("GET", url(*b, "/v2/app/tags/list")).body)["tags"], Json::array({"v1"}));
  // An upload that moves between the servers chunk by chunk.
  const std::string data = "first half|second half";
  auto post = send("POST", url(*a, "/v2/app/blobs/uploads/"));
  const std::string loc = post.header("location");
  ASSERT_EQ(send("PATCH", url(*a, loc), data.substr(0, 11), {"Content-Range: 0-10"}).status, 202);
  ASSERT_EQ(send("PATCH", url(*b, loc), data.substr(11), {"Content-Range: 11-21"}).status, 202);
  auto put = send("PUT", url(*a, loc + "?digest=" + oci::Digest::of(data).str()));
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(send("GET", url(*b, "/v2/app/blobs/" + oci::Digest::of(data).str())).body, data);
}

TEST_F(RegistryServer, TokensFromOneServerWorkOnAnotherSharingTheStorage) {
  const std::string htpasswd = tmp_.path() + "/htpasswd";
  ASSERT_TRUE(writeFileAtomic(htpasswd, "bob:" + bcryptHash("pw") + "\n"));
  ServeOptions o;
  o.htpasswd = htpasswd;
  o.tokenAuth = true;
  auto a = start(o);
  auto b = start(o);
  ASSERT_TRUE(a && b);
  auto tok = send("GET", url(*a, "/token"), "", {"Authorization: Basic " + base64Encode("bob:pw")});
  ASSERT_EQ(tok.status, 200);
  const std::string token = Json::parse(tok.body)["token"];
  EXPECT_EQ(send("GET", url(*b, "/v2/"), "", {"Authorization: Bearer " + token}).status, 200);
  EXPECT_TRUE(pathExists(storage_ + "/auth/token.key"));
}

TEST_F(RegistryServer, StreamedPatchWithoutContentRange) {
  // Docker and containers/image send one PATCH with a chunked body and no Content-Range.
  auto s = start();
  const std::string data = pattern(700000, 4);
  auto post = send("POST", url(*s, "/v2/stream/blobs/uploads/"));
  const std::string loc = post.header("location");
  http::Request patch;
  patch.method = "PATCH";
  patch.url = url(*s, loc);
  patch.headers = {"Content-Type: application/octet-stream"};
  size_t at = 0;
  patch.source = [&](char* buf, size_t n) -> Result<size_t> {
    n = std::min<size_t>({n, 10000, data.size() - at});
    std::memcpy(buf, data.data() + at, n);
    at += n;
    return n;
  };
  patch.bodyLength = -1;  // unknown length: Transfer-Encoding: chunked
  auto r = http::perform(patch);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->header("range"), "0-" + std::to_string(data.size() - 1));
  auto put = send("PUT", url(*s, loc + "?digest=" + oci::Digest::of(data).str()));
  EXPECT_EQ(put.status, 201) << put.body;
  EXPECT_TRUE(send("GET", url(*s, "/v2/stream/blobs/" + oci::Digest::of(data).str())).body == data);
}

TEST_F(RegistryServer, ServesOverTls) {
  const std::string cert = tmp_.path() + "/cert.pem", key = tmp_.path() + "/key.pem";
  writeSelfSigned(cert, key);
  ServeOptions o;
  o.tlsCert = cert;
  o.tlsKey = key;
  auto s = start(o);
  ASSERT_TRUE(s);
  auto c = client(*s);  // loopback: HTTPS without verification, as for any insecure registry
  ASSERT_TRUE(c);
  EXPECT_EQ(c->base(), "https://" + host(*s));
  const std::string data = pattern(200000, 3);
  auto fd = memFile(data);
  ASSERT_TRUE(c->uploadBlob("tls", oci::Digest::of(data), fd.get(), data.size(), nullptr));
  auto small = c->fetchSmallBlob("tls", oci::Digest::of(data), 1 << 20);
  ASSERT_TRUE(small) << small.error().what();
  EXPECT_TRUE(*small == data);
  // Plain HTTP to the TLS port fails instead of being served.
  http::Request plain;
  plain.url = url(*s, "/v2/");
  auto r = http::perform(plain);
  EXPECT_TRUE(!r || r->status != 200);
}

TEST_F(RegistryServer, StartReportsBadOptions) {
  ServeOptions o;
  o.storage = storage_;
  o.log = nullptr;
  o.addr = "nonsense";
  auto bad = Server::start(o);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("nonsense"), std::string::npos);
  o.addr = "127.0.0.1:0";
  o.htpasswd = tmp_.path() + "/missing-htpasswd";
  auto noFile = Server::start(o);
  ASSERT_FALSE(noFile);
  EXPECT_NE(noFile.error().what().find("missing-htpasswd"), std::string::npos);
  o.htpasswd.clear();
  o.tlsCert = tmp_.path() + "/missing-cert.pem";
  o.tlsKey = tmp_.path() + "/missing-key.pem";
  auto noCert = Server::start(o);
  ASSERT_FALSE(noCert);
  EXPECT_NE(noCert.error().what().find("missing-cert.pem"), std::string::npos);
  o.tlsCert.clear();
  o.tlsKey.clear();
  o.readOnly = true;
  o.storage = tmp_.path() + "/absent";
  EXPECT_FALSE(Server::start(o));
}

TEST_F(RegistryServer, ServeRunsUntilSigterm) {
  sigset_t stop, old;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &stop, &old);  // the serving thread starts with them blocked
  char* text = nullptr;
  size_t size = 0;
  FILE* log = ::open_memstream(&text, &size);
  ServeOptions o;
  o.addr = "127.0.0.1:0";
  o.storage = storage_;
  o.log = log;
  Status result = failInvalid("serve() did not return");
  std::thread t([&] { result = serve(o); });
  ::pthread_kill(t.native_handle(), SIGTERM);  // pending until serve() waits for it
  t.join();
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  std::fclose(log);
  const std::string out(text, size);
  std::free(text);
  EXPECT_TRUE(result) << result.error().what();
  EXPECT_NE(out.find("strata registry: serving"), std::string::npos) << out;
  EXPECT_NE(out.find("stopped (SIGTERM)"), std::string::npos) << out;
  EXPECT_TRUE(isDirectory(storage_ + "/blobs/sha256"));
}

// --- the HTTP layer

TEST_F(RegistryServer, KeepAlivePipeliningChunkedBodiesAndExpectContinue) {
  auto s = start();
  const std::string two = "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\nGET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const std::string out = rawExchange(s->port(), two);
  EXPECT_EQ(countOf(out, "HTTP/1.1 200 OK"), 2) << out;
  EXPECT_EQ(countOf(out, "Connection: close"), 1);

  const std::string data = "chunked body!";
  const std::string chunked = "POST /v2/c/blobs/uploads/?digest=" + oci::Digest::of(data).str() +
                              " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                              "7\r\nchunked\r\n6;ext=1\r\n body!\r\n0\r\n\r\n";
  EXPECT_EQ(rawExchange(s->port(), chunked).rfind("HTTP/1.1 201 Created", 0), 0u);

  const std::string expect = "PATCH /v2/c/blobs/uploads/x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
  // The upload does not exist, so the server answers without asking for the body and closes.
  const std::string refused = rawExchange(s->port(), expect);
  EXPECT_EQ(refused.find("100 Continue"), std::string::npos);
  EXPECT_NE(refused.find("404"), std::string::npos);
  EXPECT_NE(refused.find("Connection: close"), std::string::npos);

  // An upload the server accepts: it asks for the body with 100 Continue first.
  {
    const std::string body = "expected body";
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(s->port());
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_TRUE(writeAll(fd.get(), "POST /v2/c/blobs/uploads/?digest=" + oci::Digest::of(body).str() +
                                       " HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
                                       std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n"));
    char buf[4096];
    pollfd p{fd.get(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 2000), 1);
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    ASSERT_GT(n, 0);
    EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "HTTP/1.1 100 Continue\r\n\r\n");
    ASSERT_TRUE(writeAll(fd.get(), body));
    std::string rest;
    for (ssize_t m; ::poll(&p, 1, 2000) == 1 && (m = ::read(fd.get(), buf, sizeof buf)) > 0;)
      rest.append(buf, static_cast<size_t>(m));
    EXPECT_EQ(rest.rfind("HTTP/1.1 201 Created", 0), 0u) << rest;
  }

  EXPECT_EQ(rawExchange(s->port(), "BROKEN\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(rawExchange(s->port(), std::string("\x16\x03\x01\x02\x00\x01", 6)).rfind("HTTP/1.1 400", 0), 0u);
}

TEST(RegistryServerHttp, StalledClientsDoNotPinTheOnlyWorker) {
  HttpOptions o;
  o.addr = "127.0.0.1:0";
  o.threads = 1;
  o.headerTimeoutSeconds = 1;
  o.ioTimeoutSeconds = 1;
  o.idleTimeoutSeconds = 1;
  auto srv = HttpServer::start(o, [](HttpRequest&, HttpResponse& r) { r.body = "ok"; });
  ASSERT_TRUE(srv) << srv.error().what();
  const uint16_t port = (*srv)->port();
  // A client that connects and says nothing, and one that stops halfway through its head.
  std::thread silent([&] { rawExchange(port, "", 3000); });
  std::string partial;
  const auto t0 = std::chrono::steady_clock::now();
  std::thread stalled([&] { partial = rawExchange(port, "GET / HTTP/1.1\r\nHost: x\r\n", 5000); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const std::string served = rawExchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5000);
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_NE(served.find("\r\n\r\nok"), std::string::npos) << served;
  EXPECT_LT(t1 - t0, std::chrono::seconds(4));
  stalled.join();
  silent.join();
  EXPECT_EQ(partial.rfind("HTTP/1.1 408", 0), 0u) << partial;  // cut off, not waited for
  (*srv)->stop();
}

}  // namespace
}  // namespace strata::registry::server
