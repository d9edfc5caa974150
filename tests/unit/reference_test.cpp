// Reference parsing and normalisation, checked against distribution/reference's rules and the
// examples Docker documents.
#include "oci/reference.h"

#include <gtest/gtest.h>

namespace strata::oci {
namespace {

const std::string kHex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct Valid {
  std::string input;
  std::string str;       // fully qualified
  std::string familiar;  // Docker's familiar form
};

class ValidReference : public ::testing::TestWithParam<Valid> {};

TEST_P(ValidReference, Normalises) {
  const Valid& c = GetParam();
  auto r = Reference::parse(c.input);
  ASSERT_TRUE(r.has_value()) << c.input << ": " << r.error().message();
  EXPECT_EQ(r->str(), c.str) << c.input;
  EXPECT_EQ(r->familiar(), c.familiar) << c.input;
  // The normalised forms parse back to themselves.
  auto again = Reference::parse(r->str());
  ASSERT_TRUE(again.has_value()) << r->str();
  EXPECT_EQ(again->str(), c.str);
  auto fam = Reference::parse(r->familiar());
  ASSERT_TRUE(fam.has_value()) << r->familiar();
  EXPECT_EQ(fam->str(), c.str);
}

INSTANTIATE_TEST_SUITE_P(
    Docker, ValidReference,
    ::testing::Values(
        Valid{"busybox", "docker.io/library/busybox:latest", "busybox:latest"},
        Valid{"library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
        Valid{"docker.io/library/busybox:latest", "docker.io/library/busybox:latest",
              "busybox:latest"},
        Valid{"docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
        Valid{"index.docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
        Valid{"index.docker.io/user/app:2", "docker.io/user/app:2", "user/app:2"},
        Valid{"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"},
        Valid{"user/app:1.0", "docker.io/user/app:1.0", "user/app:1.0"},
        Valid{"library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"},
        Valid{"a/b/c/d", "docker.io/a/b/c/d:latest", "a/b/c/d:latest"},
        Valid{"localhost/foo", "localhost/foo:latest", "localhost/foo:latest"},
        Valid{"localhost:5000/foo/bar:v1", "localhost:5000/foo/bar:v1",
              "localhost:5000/foo/bar:v1"},
        Valid{"localhost:5000", "docker.io/library/localhost:5000", "localhost:5000"},
        Valid{"127.0.0.1:5000/x", "127.0.0.1:5000/x:latest", "127.0.0.1:5000/x:latest"},
        Valid{"[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest"},
        Valid{"[fe80::1]/x:t", "[fe80::1]/x:t", "[fe80::1]/x:t"},
        Valid{"reg.example.com/p/app:tag", "reg.example.com/p/app:tag",
              "reg.example.com/p/app:tag"},
        Valid{"my-reg.example.com:443/a", "my-reg.example.com:443/a:latest",
              "my-reg.example.com:443/a:latest"},
        Valid{"Example.COM/app", "Example.COM/app:latest", "Example.COM/app:latest"},
        Valid{"Foo/bar", "Foo/bar:latest", "Foo/bar:latest"},  // uppercase first part: a registry
        Valid{"a.b", "docker.io/library/a.b:latest", "a.b:latest"},
        Valid{"a_b", "docker.io/library/a_b:latest", "a_b:latest"},
        Valid{"a__b", "docker.io/library/a__b:latest", "a__b:latest"},
        Valid{"a-----b", "docker.io/library/a-----b:latest", "a-----b:latest"},
        Valid{"a.b-c_d__e", "docker.io/library/a.b-c_d__e:latest", "a.b-c_d__e:latest"},
        Valid{"0", "docker.io/library/0:latest", "0:latest"},
        Valid{"foo:LATEST_1.0-rc", "docker.io/library/foo:LATEST_1.0-rc", "foo:LATEST_1.0-rc"},
        Valid{"foo:_x", "docker.io/library/foo:_x", "foo:_x"},
        Valid{"foo@sha256:" + kHex, "docker.io/library/foo@sha256:" + kHex, "foo@sha256:" + kHex},
        Valid{"foo:tag@sha256:" + kHex, "docker.io/library/foo:tag@sha256:" + kHex,
              "foo:tag@sha256:" + kHex},
        Valid{"localhost:5000/foo@sha256:" + kHex, "localhost:5000/foo@sha256:" + kHex,
              "localhost:5000/foo@sha256:" + kHex},
        // Docker would print "example.com/app", which reads back as another registry.
        Valid{"docker.io/example.com/app", "docker.io/example.com/app:latest",
              "docker.io/example.com/app:latest"},
        Valid{"docker.io/localhost/app", "docker.io/localhost/app:latest",
              "docker.io/localhost/app:latest"},
        Valid{"docker.io/library/example.com", "docker.io/library/example.com:latest",
              "example.com:latest"},
        Valid{"sha256:" + kHex, "docker.io/library/sha256:" + kHex, "sha256:" + kHex}));

TEST(Reference, Fields) {
  auto r = Reference::parse("localhost:5000/foo/bar:v1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->domain, "localhost:5000");
  EXPECT_EQ(r->path, "foo/bar");
  EXPECT_EQ(r->tag, "v1");
  EXPECT_FALSE(r->digest);
  EXPECT_EQ(r->repository(), "localhost:5000/foo/bar");
  EXPECT_EQ(r->familiarRepository(), "localhost:5000/foo/bar");

  r = Reference::parse("busybox");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->domain, "docker.io");
  EXPECT_EQ(r->path, "library/busybox");
  EXPECT_EQ(r->tag, "latest");
  EXPECT_EQ(r->repository(), "docker.io/library/busybox");
  EXPECT_EQ(r->familiarRepository(), "busybox");

  r = Reference::parse("foo@sha256:" + kHex);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tag, "");  // a digest alone does not imply :latest
  ASSERT_TRUE(r->digest);
  EXPECT_EQ(r->digest->hex, kHex);

  r = Reference::parse("foo:tag@sha256:" + kHex);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tag, "tag");
  ASSERT_TRUE(r->digest);
}

TEST(Reference, MaxTagLength) {
  std::string tag(128, 't');
  EXPECT_TRUE(Reference::parse("foo:" + tag));
  EXPECT_FALSE(Reference::parse("foo:" + tag + "t"));
}

TEST(Reference, MaxNameLength) {
  // The limit applies to the normalised name "docker.io/library/<name>".
  std::string prefix = "docker.io/library/";
  std::string ok(255 - prefix.size(), 'a');
  EXPECT_TRUE(Reference::parse(ok));
  EXPECT_TRUE(Reference::parse(ok + ":tag"));
  auto r = Reference::parse(ok + "a");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("repository name must not be more than 255 characters"),
            std::string::npos);

  std::string domain = "example.com/";
  EXPECT_TRUE(Reference::parse(domain + std::string(255 - domain.size(), 'b')));
  EXPECT_FALSE(Reference::parse(domain + std::string(256 - domain.size(), 'b')));

  r = Reference::parse(std::string(256, 'a'));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("must not be more than 255 characters"), std::string::npos);
}

TEST(Reference, UppercaseIsDockersLowercaseError) {
  auto r = Reference::parse("Busybox");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "\"Busybox\": invalid reference format: repository name must be lowercase");
  for (const char* text : {"Foo", "foo/Bar", "Foo/Bar", "localhost:5000/Foo", "busyBox:latest",
                           "docker.io/library/Busybox"}) {
    auto e = Reference::parse(text);
    ASSERT_FALSE(e) << text;
    EXPECT_NE(
        e.error().message().find("invalid reference format: repository name must be lowercase"),
        std::string::npos)
        << text << ": " << e.error().message();
    EXPECT_EQ(e.error().code(), 0);
  }
}

TEST(Reference, HexadecimalNameIsRefused) {
  auto r = Reference::parse(kHex);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "invalid repository name (" + kHex + "), cannot specify 64-byte hexadecimal strings");
  // A shorter hex string is an ordinary name.
  EXPECT_TRUE(Reference::parse(kHex.substr(0, 12)));
}

class InvalidReference : public ::testing::TestWithParam<std::string> {};

TEST_P(InvalidReference, IsRefusedNamingTheText) {
  const std::string& text = GetParam();
  auto r = Reference::parse(text);
  ASSERT_FALSE(r.has_value()) << text << " parsed as " << r->str();
  EXPECT_NE(r.error().message().find("\"" + text + "\""), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("invalid reference format"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(r.error().message().find('\n'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Docker, InvalidReference,
    ::testing::Values("", "foo:", "foo@", "foo@sha256:short", "foo@sha256:" + kHex.substr(1),
                      "foo@sha256:" + kHex + "0", "foo@md5:d41d8cd98f00b204e9800998ecf8427e",
                      "foo@SHA256:" + kHex, "foo@sha256:" + std::string(64, 'A'), "a___b", "-a",
                      "a-", "_a", "a_", ".a", "a.", "a..b", "a._b", "foo//bar", "foo/", "/foo",
                      "foo bar", "foo:bar:baz", "foo:-tag", "foo:.tag", "foo:ta g", "foo:tag!",
                      "foo$", "localhost:/foo", "localhost:port/foo", "-host.com/foo",
                      "host-.com/foo", "host_1.com/foo", "host..com/foo", "[::1/x", "[]/x",
                      "[::1]x/y", "[::1]:/y", "[::g]/y", "example.com/", "example.com//x", ":tag",
                      "@sha256:" + kHex, "a/b:tag/c", "f\xc3\xa9"));

TEST(Reference, ErrorEscapesControlCharacters) {
  auto r = Reference::parse("foo\n\x01\"");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "\"foo\\n\\x01\\\"\": invalid reference format");
  r = Reference::parse("foo@sha256:a\nb");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message().find('\n'), std::string::npos) << r.error().message();
}

TEST(ImageIdPrefix, Classifies) {
  EXPECT_EQ(asImageIdPrefix("abc"), "abc");
  EXPECT_EQ(asImageIdPrefix("0"), "0");
  EXPECT_EQ(asImageIdPrefix("deadbeef"), "deadbeef");
  EXPECT_EQ(asImageIdPrefix(kHex), kHex);
  EXPECT_EQ(asImageIdPrefix("sha256:" + kHex), kHex);
  EXPECT_EQ(asImageIdPrefix("sha256:e3b0"), "e3b0");
  EXPECT_EQ(asImageIdPrefix("sha256:e"), "e");

  EXPECT_EQ(asImageIdPrefix(""), std::nullopt);
  EXPECT_EQ(asImageIdPrefix("sha256:"), std::nullopt);
  EXPECT_EQ(asImageIdPrefix(kHex + "0"), std::nullopt);
  EXPECT_EQ(asImageIdPrefix("sha256:" + kHex + "0"), std::nullopt);
  EXPECT_EQ(asImageIdPrefix("ABC"), std::nullopt);
  EXPECT_EQ(asImageIdPrefix("busybox"), std::nullopt);
  EXPECT_EQ(asImageIdPrefix("abc:latest"), std::nullopt);
  EXPECT_EQ(asImageIdPrefix("sha512:abc"), std::nullopt);
  EXPECT_EQ(asImageIdPrefix("sha256:xyz"), std::nullopt);
}

}  // namespace
}  // namespace strata::oci
