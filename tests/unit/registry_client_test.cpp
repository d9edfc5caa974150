// The registry client's pure parts: endpoint rules, error texts, URLs, platforms, progress lines.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "registry/client.h"
#include "registry/progress.h"
#include "registry/pull.h"
#include "util/http.h"

namespace strata::registry {
namespace {

TEST(RegistryEndpoint, DockerHubUsesItsApiHost) {
  EXPECT_EQ(apiHost("docker.io"), "registry-1.docker.io");
  EXPECT_EQ(apiHost("index.docker.io"), "registry-1.docker.io");
  EXPECT_EQ(apiHost("localhost:5000"), "localhost:5000");
  EXPECT_EQ(apiHost("quay.io"), "quay.io");
}

TEST(RegistryEndpoint, PlainHttpOnlyForLoopbackAndListed) {
  EXPECT_TRUE(allowsPlainHttp("localhost", {}));
  EXPECT_TRUE(allowsPlainHttp("localhost:5000", {}));
  EXPECT_TRUE(allowsPlainHttp("127.0.0.1:5000", {}));
  EXPECT_TRUE(allowsPlainHttp("127.9.8.7", {}));
  EXPECT_TRUE(allowsPlainHttp("[::1]:5000", {}));
  EXPECT_FALSE(allowsPlainHttp("127.example.com:5000", {}));
  EXPECT_FALSE(allowsPlainHttp("128.0.0.1:5000", {}));
  EXPECT_FALSE(allowsPlainHttp("reg.example.com:5000", {}));
  EXPECT_TRUE(allowsPlainHttp("reg.example.com:5000", {"reg.example.com:5000"}));
  EXPECT_TRUE(allowsPlainHttp("reg.example.com:5000", {"reg.example.com"}));
  EXPECT_FALSE(allowsPlainHttp("reg.example.com:5000", {"other.example.com:5000"}));
}

http::Response response(long status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TEST(RegistryErrors, DistributionErrorBodiesReadAsDockerPrintsThem) {
  EXPECT_EQ(errorText(response(404, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]})")),
            "manifest unknown: manifest unknown");
  EXPECT_EQ(errorText(response(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})")),
            "unauthorized: authentication required");
  EXPECT_EQ(errorText(response(404, R"({"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]})")),
            "name unknown: repository name not known to registry");
  EXPECT_EQ(errorText(response(401, R"({"details":"incorrect username or password"})")),
            "unauthorized: incorrect username or password");
}

TEST(RegistryErrors, BodilessResponsesFallBackToTheStatus) {
  EXPECT_EQ(errorText(response(401, "")), "unauthorized: authentication required");
  EXPECT_EQ(errorText(response(403, "")), "denied: requested access to the resource is denied");
  EXPECT_EQ(errorText(response(500, "oops")), "received unexpected HTTP status: 500 Internal Server Error");
  EXPECT_EQ(errorText(response(599, "")), "received unexpected HTTP status: 599");
}

TEST(HttpUrls, LocationsResolveAgainstTheUrlTheyAnswered) {
  const std::string base = "http://127.0.0.1:5000/v2/app/blobs/uploads/";
  EXPECT_EQ(http::resolveUrl(base, "/v2/app/blobs/uploads/abc?_state=x"),
            "http://127.0.0.1:5000/v2/app/blobs/uploads/abc?_state=x");
  EXPECT_EQ(http::resolveUrl(base, "https://other.example/upload/1"), "https://other.example/upload/1");
  EXPECT_EQ(http::resolveUrl(base, "abc"), "http://127.0.0.1:5000/v2/app/blobs/uploads/abc");
  EXPECT_EQ(http::resolveUrl("http://h:1/v2/x?y=1/2", "z"), "http://h:1/v2/z");
}

TEST(HttpUrls, QueryValuesArePercentEncoded) {
  EXPECT_EQ(http::queryEscape("repository:library/busybox:pull"), "repository%3Alibrary%2Fbusybox%3Apull");
  EXPECT_EQ(http::queryEscape("sha256:ab"), "sha256%3Aab");
  EXPECT_EQ(http::queryEscape("a b&c=d~-._"), "a%20b%26c%3Dd~-._");
}

TEST(HttpTransport, UnreachableHostIsAnErrorNamingTheUrl) {
  http::Request req;
  req.url = "http://127.0.0.1:1/v2/";
  req.connectTimeoutSeconds = 5;
  auto r = http::perform(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("Get \"http://127.0.0.1:1/v2/\": "), std::string::npos) << r.error().message();
}

TEST(Platforms, ParseAndPrint) {
  auto p = parsePlatform("linux/arm64/v8");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->os, "linux");
  EXPECT_EQ(p->architecture, "arm64");
  EXPECT_EQ(p->variant, "v8");
  EXPECT_EQ(platformString(*p), "linux/arm64/v8");
  auto host = parsePlatform("");
  ASSERT_TRUE(host.has_value());
  EXPECT_EQ(host->os, "linux");
  EXPECT_FALSE(host->architecture.empty());
  for (const char* bad : {"linux", "/amd64", "linux/", "a/b/c/d"}) {
    auto r = parsePlatform(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.error().message().find(bad), std::string::npos);
  }
}

TEST(Progress, BarsFollowDockersShape) {
  const std::string half = progressBar(50, 100);
  EXPECT_EQ(half.substr(0, 52), "[" + std::string(25, '=') + ">" + std::string(24, ' ') + "]");
  EXPECT_NE(half.find("50B/100B"), std::string::npos) << half;
  EXPECT_EQ(progressBar(100, 100).substr(0, 53), "[" + std::string(50, '=') + "] ");
  EXPECT_NE(progressBar(1234567, 40000000).find("1.235MB/40MB"), std::string::npos);
}

TEST(Progress, PlainOutputPrintsEachStatusChangeOnce) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* out = open_memstream(&buf, &len);
  ASSERT_NE(out, nullptr);
  {
    Progress p(out, /*tty=*/false);
    p.message("latest: Pulling from library/busybox");
    p.status("abc", "Pulling fs layer");
    p.bytes("abc", "Downloading", 10, 100);  // not shown without a terminal
    p.status("abc", "Pulling fs layer");     // unchanged: not repeated
    p.status("abc", "Pull complete");
  }
  std::fclose(out);
  EXPECT_EQ(std::string(buf, len),
            "latest: Pulling from library/busybox\nabc: Pulling fs layer\nabc: Pull complete\n");
  std::free(buf);
}

}  // namespace
}  // namespace strata::registry
