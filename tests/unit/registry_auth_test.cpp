// Registry authentication inputs: base64, WWW-Authenticate challenges, config.json credentials.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "registry/auth.h"
#include "util/base64.h"
#include "util/fs.h"

namespace strata::registry {
namespace {

using Json = nlohmann::ordered_json;

// ---------------------------------------------------------------- base64

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64Encode(plain), encoded) << plain;
    auto d = base64Decode(encoded);
    ASSERT_TRUE(d) << encoded << ": " << d.error().what();
    EXPECT_EQ(*d, plain) << encoded;
  }
}

TEST(Base64, DecodesUnpadded) {
  EXPECT_EQ(base64Decode("Zg").value(), "f");
  EXPECT_EQ(base64Decode("Zm8").value(), "fo");
  EXPECT_EQ(base64Decode("Zm9vYmE").value(), "fooba");
}

TEST(Base64, RoundTripsEveryByteAndLength) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); n += 7) {
    std::string s = all.substr(0, n);
    std::string e = base64Encode(s);
    EXPECT_EQ(e.size() % 4, 0u);
    auto d = base64Decode(e);
    ASSERT_TRUE(d) << e;
    EXPECT_EQ(*d, s);
  }
  // Characters 62 and 63 of the standard alphabet, not the URL-safe one.
  EXPECT_EQ(base64Encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(base64Decode("+/8=").value(), "\xfb\xff");
}

TEST(Base64, DockerAuthField) {
  EXPECT_EQ(base64Encode("user:p@ss:word"), "dXNlcjpwQHNzOndvcmQ=");
  EXPECT_EQ(base64Decode("dXNlcjpwQHNzOndvcmQ=").value(), "user:p@ss:word");
}

TEST(Base64, RejectsInvalidInput) {
  struct Case {
    const char* input;
    const char* mentions;
  };
  const Case cases[] = {
      {"Zm9v!", "'!' at offset 4"},
      {"Zm 9v", "0x20 at offset 2"},
      {"Zm9v\n", "0x0a at offset 4"},
      {"Zm-_", "'-' at offset 2"},  // URL-safe alphabet is not accepted
      {"Z", "lone character"},
      {"Zm9vY", "lone character"},
      {"Zg=", "does not end a group of 4"},
      {"Z===", "too much padding"},
      {"Zg==Zg==", "inside the data"},
      {"Zm=v", "inside the data"},
  };
  for (const auto& c : cases) {
    auto d = base64Decode(c.input);
    ASSERT_FALSE(d) << c.input;
    EXPECT_NE(d.error().message().find(c.mentions), std::string::npos)
        << c.input << ": " << d.error().message();
    EXPECT_EQ(d.error().message().find('\n'), std::string::npos);
  }
}

// ---------------------------------------------------------------- challenges

TEST(Challenges, DockerHubBearer) {
  auto cs =
      parseChallenges(R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",)"
                      R"(scope="repository:library/busybox:pull")");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].scheme, "bearer");
  EXPECT_EQ(cs[0].params, (std::map<std::string, std::string>{
                              {"realm", "https://auth.docker.io/token"},
                              {"service", "registry.docker.io"},
                              {"scope", "repository:library/busybox:pull"},
                          }));
}

TEST(Challenges, Basic) {
  auto cs = parseChallenges(R"(Basic realm="Registry Realm")");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].scheme, "basic");
  EXPECT_EQ(cs[0].params.at("realm"), "Registry Realm");
  EXPECT_EQ(cs[0].params.size(), 1u);
}

TEST(Challenges, LowercasesSchemeAndNamesButNotValues) {
  auto cs = parseChallenges(R"(BEARER Realm="HTTPS://X/Token", SERVICE=Reg)");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].scheme, "bearer");
  EXPECT_EQ(cs[0].params.at("realm"), "HTTPS://X/Token");
  EXPECT_EQ(cs[0].params.at("service"), "Reg");
}

TEST(Challenges, QuotedStringEscapes) {
  auto cs = parseChallenges(R"(Basic realm="say \"hi\", a\\b \x", charset="UTF-8")");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].params.at("realm"), R"(say "hi", a\b x)");
  EXPECT_EQ(cs[0].params.at("charset"), "UTF-8");
}

TEST(Challenges, TokenAndUnquotedValues) {
  auto cs = parseChallenges("Bearer realm=https://auth.example.com/token,service=reg.example.com");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].params.at("realm"), "https://auth.example.com/token");
  EXPECT_EQ(cs[0].params.at("service"), "reg.example.com");
}

TEST(Challenges, SpacesAndEmptyListElements) {
  auto cs = parseChallenges(R"( ,  Bearer   realm = "r" ,, , service= "s"  ,  )");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].scheme, "bearer");
  EXPECT_EQ(cs[0].params.at("realm"), "r");
  EXPECT_EQ(cs[0].params.at("service"), "s");
}

TEST(Challenges, SeveralInOneValue) {
  auto cs = parseChallenges(
      R"(Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple")");
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].scheme, "newauth");
  EXPECT_EQ(cs[0].params, (std::map<std::string, std::string>{
                              {"realm", "apps"}, {"type", "1"}, {"title", R"(Login to "apps")"}}));
  EXPECT_EQ(cs[1].scheme, "basic");
  EXPECT_EQ(cs[1].params, (std::map<std::string, std::string>{{"realm", "simple"}}));
}

TEST(Challenges, SchemeWithoutParamsFollowedByAnother) {
  auto cs = parseChallenges(R"(Negotiate, Bearer realm="r",Basic)");
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_EQ(cs[0].scheme, "negotiate");
  EXPECT_TRUE(cs[0].params.empty());
  EXPECT_EQ(cs[1].scheme, "bearer");
  EXPECT_EQ(cs[1].params.at("realm"), "r");
  EXPECT_EQ(cs[2].scheme, "basic");
  EXPECT_TRUE(cs[2].params.empty());
}

TEST(Challenges, RepeatedParameterKeepsFirst) {
  auto cs = parseChallenges(R"(Bearer realm="first", realm="second")");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].params.at("realm"), "first");
}

TEST(Challenges, EmptyAndGarbage) {
  EXPECT_TRUE(parseChallenges("").empty());
  EXPECT_TRUE(parseChallenges("  , ,, ").empty());
  EXPECT_TRUE(parseChallenges("\"\"\"\"").empty());  // only quotes: no token anywhere
  EXPECT_TRUE(parseChallenges("=,=;@()").empty());

  // An unterminated quoted-string keeps what was read.
  auto cs = parseChallenges(R"(Bearer realm="https://auth)");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].params.at("realm"), "https://auth");

  // A trailing backslash inside quotes does not read past the end.
  cs = parseChallenges("Basic realm=\"x\\");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].params.at("realm"), "x");

  // A parameter with no value.
  cs = parseChallenges("Bearer realm=");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].params.at("realm"), "");
}

TEST(Challenges, ArbitraryBytesNeverCrash) {
  // Every prefix of a hostile header, plus bytes outside ASCII: the parser must terminate and
  // only ever return non-empty lowercase schemes.
  std::string hostile = "Bearer realm=\"a\\\"b\",\x01\xff=\"\\,scope=x y=\"z Basic ,=,\"";
  for (size_t n = 0; n <= hostile.size(); ++n) {
    for (const auto& c : parseChallenges(hostile.substr(0, n))) {
      ASSERT_FALSE(c.scheme.empty());
      for (char ch : c.scheme) EXPECT_FALSE(ch >= 'A' && ch <= 'Z');
    }
  }
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  auto cs = parseChallenges(bytes);
  for (const auto& c : cs) EXPECT_FALSE(c.scheme.empty());
}

// ---------------------------------------------------------------- credential keys and paths

TEST(CredentialKey, DockerHubAndOthers) {
  EXPECT_EQ(credentialKey("docker.io"), "https://index.docker.io/v1/");
  EXPECT_EQ(credentialKey("index.docker.io"), "https://index.docker.io/v1/");
  EXPECT_EQ(credentialKey("registry-1.docker.io"), "https://index.docker.io/v1/");
  EXPECT_EQ(credentialKey("localhost:5000"), "localhost:5000");
  EXPECT_EQ(credentialKey("ghcr.io"), "ghcr.io");
  EXPECT_EQ(credentialKey("https://localhost:5000/v2/"), "localhost:5000");
}

// Sets an environment variable for one scope and restores the old value after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(ConfigPaths, EnvironmentOverridesAndHome) {
  {
    ScopedEnv s("STRATA_CONFIG", "/etc/strata-test");
    ScopedEnv d("DOCKER_CONFIG", "/etc/docker-test");
    EXPECT_EQ(strataConfigPath(), "/etc/strata-test/config.json");
    EXPECT_EQ(dockerConfigPath(), "/etc/docker-test/config.json");
  }
  ScopedEnv s("STRATA_CONFIG", nullptr);
  ScopedEnv d("DOCKER_CONFIG", nullptr);
  {
    ScopedEnv h("HOME", "/home/someone");
    EXPECT_EQ(strataConfigPath(), "/home/someone/.strata/config.json");
    EXPECT_EQ(dockerConfigPath(), "/home/someone/.docker/config.json");
  }
  // Without HOME the password database supplies the home directory.
  ScopedEnv h("HOME", nullptr);
  const struct passwd* pw = ::getpwuid(::getuid());
  std::string home = pw && pw->pw_dir ? pw->pw_dir : "";
  EXPECT_EQ(strataConfigPath(), home.empty() ? "" : home + "/.strata/config.json");
  EXPECT_EQ(dockerConfigPath(), home.empty() ? "" : home + "/.docker/config.json");
}

// ---------------------------------------------------------------- credential store

class CredentialStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::create("/tmp", "strata-auth-test-");
    ASSERT_TRUE(t) << t.error().what();
    dir_ = std::move(*t);
    strataPath_ = dir_.path() + "/strata/sub/config.json";
    dockerPath_ = dir_.path() + "/docker/config.json";
  }

  void writeJson(const std::string& path, const std::string& text) {
    ASSERT_TRUE(mkdirAll(dirName(path)));
    ASSERT_TRUE(writeFileAtomic(path, text));
  }

  CredentialStore load() {
    auto s = CredentialStore::load(strataPath_, dockerPath_);
    EXPECT_TRUE(s) << s.error().what();
    return s ? std::move(*s) : CredentialStore();
  }

  Json readJson(const std::string& path) {
    auto text = readFile(path);
    EXPECT_TRUE(text) << text.error().what();
    return text ? Json::parse(*text) : Json();
  }

  static std::string authEntry(const std::string& user, const std::string& pw) {
    return R"({"auth":")" + base64Encode(user + ":" + pw) + R"("})";
  }

  TempDir dir_;
  std::string strataPath_;
  std::string dockerPath_;
};

TEST_F(CredentialStoreTest, MissingFilesHoldNothing) {
  CredentialStore s = load();
  EXPECT_FALSE(s.find("docker.io"));
  EXPECT_FALSE(s.find("localhost:5000"));
  EXPECT_TRUE(s.insecureRegistries().empty());
  EXPECT_FALSE(pathExists(strataPath_));
}

TEST_F(CredentialStoreTest, SaveThenFind) {
  CredentialStore s = load();
  ASSERT_TRUE(s.save("localhost:5000", {"alice", "s3cret:with:colons", ""}));
  auto c = s.find("localhost:5000");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "alice");
  EXPECT_EQ(c->password, "s3cret:with:colons");
  EXPECT_TRUE(c->identityToken.empty());

  // The file is Docker's format and a fresh load sees the same credentials.
  Json j = readJson(strataPath_);
  EXPECT_EQ(j["auths"]["localhost:5000"]["auth"], base64Encode("alice:s3cret:with:colons"));
  auto again = load().find("localhost:5000");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->password, "s3cret:with:colons");
  EXPECT_FALSE(again->empty());
}

TEST_F(CredentialStoreTest, DockerHubUsesIndexKey) {
  CredentialStore s = load();
  ASSERT_TRUE(s.save("docker.io", {"bob", "pw", ""}));
  Json j = readJson(strataPath_);
  EXPECT_TRUE(j["auths"].contains("https://index.docker.io/v1/"));
  EXPECT_EQ(j["auths"].size(), 1u);
  for (const char* alias : {"docker.io", "index.docker.io", "registry-1.docker.io"}) {
    auto c = s.find(alias);
    ASSERT_TRUE(c) << alias;
    EXPECT_EQ(c->username, "bob");
  }
  EXPECT_FALSE(s.find("ghcr.io"));
}

TEST_F(CredentialStoreTest, SaveIdentityToken) {
  CredentialStore s = load();
  ASSERT_TRUE(s.save("reg.example.com", {"<token>", "", "refresh-123"}));
  auto c = load().find("reg.example.com");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->identityToken, "refresh-123");
  EXPECT_EQ(c->username, "<token>");
}

TEST_F(CredentialStoreTest, SaveRejectsUnusableCredentials) {
  CredentialStore s = load();
  EXPECT_FALSE(s.save("localhost:5000", {"", "pw", ""}));
  auto r = s.save("localhost:5000", {"a:b", "pw", ""});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("':'"), std::string::npos) << r.error().message();
  EXPECT_FALSE(pathExists(strataPath_));
}

TEST_F(CredentialStoreTest, SavePreservesUnrelatedKeys) {
  writeJson(strataPath_, R"({
    "auths": {"ghcr.io": )" + authEntry("gh", "tok") +
                             R"(},
    "insecure-registries": ["localhost:5000"],
    "detachKeys": "ctrl-p,ctrl-q",
    "proxies": {"default": {"httpProxy": "http://proxy:3128"}}
  })");
  CredentialStore s = load();
  ASSERT_TRUE(s.save("localhost:5000", {"alice", "pw", ""}));

  Json j = readJson(strataPath_);
  EXPECT_EQ(j["detachKeys"], "ctrl-p,ctrl-q");
  EXPECT_EQ(j["proxies"]["default"]["httpProxy"], "http://proxy:3128");
  EXPECT_EQ(j["insecure-registries"], Json::array({"localhost:5000"}));
  EXPECT_EQ(j["auths"]["ghcr.io"]["auth"], base64Encode("gh:tok"));
  EXPECT_EQ(s.find("ghcr.io")->username, "gh");
  EXPECT_EQ(s.find("localhost:5000")->username, "alice");
}

TEST_F(CredentialStoreTest, SaveKeepsChangesMadeAfterLoad) {
  CredentialStore s = load();
  writeJson(strataPath_, R"({"auths": {"ghcr.io": )" + authEntry("gh", "tok") + "}}");
  ASSERT_TRUE(s.save("quay.io", {"q", "pw", ""}));
  Json j = readJson(strataPath_);
  EXPECT_TRUE(j["auths"].contains("ghcr.io"));
  EXPECT_TRUE(j["auths"].contains("quay.io"));
  EXPECT_TRUE(s.find("ghcr.io"));
}

TEST_F(CredentialStoreTest, FileMode0600AndDirectory0700) {
  CredentialStore s = load();
  ASSERT_TRUE(s.save("localhost:5000", {"alice", "pw", ""}));
  struct stat st;
  ASSERT_EQ(::stat(strataPath_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(dirName(strataPath_).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u) << std::oct << (st.st_mode & 07777);

  // Rewriting an existing, more open file narrows it to 0600 as well.
  ASSERT_EQ(::chmod(strataPath_.c_str(), 0644), 0);
  ASSERT_TRUE(s.save("ghcr.io", {"gh", "tok", ""}));
  ASSERT_EQ(::stat(strataPath_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  // No temp files are left beside it.
  auto names = listDirectory(dirName(strataPath_));
  ASSERT_TRUE(names);
  EXPECT_EQ(*names, std::vector<std::string>{"config.json"});
}

TEST_F(CredentialStoreTest, FallsBackToDockerFile) {
  writeJson(dockerPath_, R"({"auths": {"https://index.docker.io/v1/": )" +
                             authEntry("dockeruser", "dockerpw") + "}}");
  CredentialStore s = load();
  auto c = s.find("docker.io");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "dockeruser");
  EXPECT_EQ(c->password, "dockerpw");
  EXPECT_FALSE(s.find("localhost:5000"));
}

TEST_F(CredentialStoreTest, StrataFileWinsOverDockerFile) {
  writeJson(dockerPath_, R"({"auths": {"localhost:5000": )" + authEntry("d", "dpw") + "}}");
  writeJson(strataPath_, R"({"auths": {"localhost:5000": )" + authEntry("s", "spw") + "}}");
  auto c = load().find("localhost:5000");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "s");
  EXPECT_EQ(c->password, "spw");
}

TEST_F(CredentialStoreTest, UsernamePasswordAndIdentityTokenFields) {
  writeJson(dockerPath_, R"({"auths": {
    "a.example.com": {"username": "u", "password": "p"},
    "b.example.com": {"auth": ")" +
                             base64Encode("x:y") + R"(", "username": "ignored"},
    "c.example.com": {"identitytoken": "tok"}
  }})");
  CredentialStore s = load();
  auto a = s.find("a.example.com");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->username, "u");
  EXPECT_EQ(a->password, "p");
  auto b = s.find("b.example.com");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->username, "x");  // "auth" wins
  EXPECT_EQ(b->password, "y");
  auto c = s.find("c.example.com");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->identityToken, "tok");
  EXPECT_TRUE(c->username.empty());
}

TEST_F(CredentialStoreTest, KeyNormalisationVariants) {
  writeJson(dockerPath_, R"({"auths": {
    "https://localhost:5000/v2/": )" +
                             authEntry("v2", "pw") + R"(,
    "http://reg.example.com": )" +
                             authEntry("http", "pw") + R"(,
    "quay.io/v1/": )" + authEntry("path", "pw") +
                             R"(,
    "index.docker.io": )" + authEntry("hub", "pw") +
                             R"(
  }})");
  CredentialStore s = load();
  EXPECT_EQ(s.find("localhost:5000")->username, "v2");
  EXPECT_EQ(s.find("reg.example.com")->username, "http");
  EXPECT_EQ(s.find("quay.io")->username, "path");
  EXPECT_EQ(s.find("docker.io")->username, "hub");
  EXPECT_EQ(s.find("registry-1.docker.io")->username, "hub");
  // A different port or a host that merely shares a prefix is another registry.
  EXPECT_FALSE(s.find("localhost:5001"));
  EXPECT_FALSE(s.find("localhost"));
  EXPECT_FALSE(s.find("example.com"));
}

TEST_F(CredentialStoreTest, ExactKeyWinsOverNormalisedMatch) {
  writeJson(dockerPath_, R"({"auths": {
    "https://localhost:5000/v2/": )" +
                             authEntry("normalised", "pw") + R"(,
    "localhost:5000": )" + authEntry("exact", "pw") +
                             R"(
  }})");
  EXPECT_EQ(load().find("localhost:5000")->username, "exact");
}

TEST_F(CredentialStoreTest, CredentialHelperEntriesYieldNothing) {
  writeJson(dockerPath_, R"({
    "auths": {"gcr.io": {}, "https://index.docker.io/v1/": {}},
    "credsStore": "desktop",
    "credHelpers": {"gcr.io": "gcloud"}
  })");
  auto s = CredentialStore::load(strataPath_, dockerPath_);
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_FALSE(s->find("gcr.io"));
  EXPECT_FALSE(s->find("docker.io"));

  // An empty strata entry does not hide real credentials in Docker's file.
  writeJson(strataPath_, R"({"auths": {"quay.io": {}}})");
  writeJson(dockerPath_, R"({"auths": {"quay.io": )" + authEntry("q", "pw") + "}}");
  EXPECT_EQ(load().find("quay.io")->username, "q");
}

TEST_F(CredentialStoreTest, Erase) {
  writeJson(strataPath_, R"({"auths": {
    "https://localhost:5000/v2/": )" +
                             authEntry("old", "pw") + R"(,
    "ghcr.io": )" + authEntry("gh", "tok") +
                             R"(
  }, "detachKeys": "ctrl-x"})");
  CredentialStore s = load();
  ASSERT_TRUE(s.save("localhost:5000", {"new", "pw", ""}));

  auto r = s.erase("localhost:5000");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(*r);
  // Both the saved key and the older alias are gone; nothing else is.
  EXPECT_FALSE(s.find("localhost:5000"));
  EXPECT_FALSE(load().find("localhost:5000"));
  Json j = readJson(strataPath_);
  EXPECT_EQ(j["auths"].size(), 1u);
  EXPECT_TRUE(j["auths"].contains("ghcr.io"));
  EXPECT_EQ(j["detachKeys"], "ctrl-x");

  r = s.erase("localhost:5000");
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
}

TEST_F(CredentialStoreTest, EraseLeavesDockerFileAlone) {
  std::string docker = R"({"auths": {"localhost:5000": )" + authEntry("d", "pw") + "}}";
  writeJson(dockerPath_, docker);
  CredentialStore s = load();
  auto r = s.erase("localhost:5000");
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  EXPECT_EQ(readFile(dockerPath_).value(), docker);
  EXPECT_FALSE(pathExists(strataPath_));
  EXPECT_EQ(s.find("localhost:5000")->username, "d");
}

TEST_F(CredentialStoreTest, MalformedFilesAreErrorsNamingTheFile) {
  const std::string cases[] = {
      "{not json",
      "[1, 2]",
      R"({"auths": []})",
      R"({"auths": {"localhost:5000": "string"}})",
      R"({"auths": {"localhost:5000": {"auth": "!!!"}}})",
      R"({"auths": {"localhost:5000": {"auth": ")" + base64Encode("nocolon") + R"("}}})",
      R"({"insecure-registries": "localhost:5000"})",
      R"({"insecure-registries": [5000]})",
  };
  for (const auto& text : cases) {
    writeJson(dockerPath_, text);
    auto s = CredentialStore::load(strataPath_, dockerPath_);
    ASSERT_FALSE(s) << text;
    EXPECT_NE(s.error().message().find(dockerPath_), std::string::npos) << s.error().message();
    EXPECT_EQ(s.error().message().find('\n'), std::string::npos);
  }
  ASSERT_TRUE(removeAll(dockerPath_));

  // save() refuses to overwrite a malformed strata file.
  CredentialStore s = load();
  writeJson(strataPath_, "{broken");
  auto r = s.save("localhost:5000", {"a", "b", ""});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find(strataPath_), std::string::npos) << r.error().message();
  EXPECT_EQ(readFile(strataPath_).value(), "{broken");
}

TEST_F(CredentialStoreTest, UnreadableConfigIsAnError) {
  // A directory where the file should be: reading fails with an errno other than ENOENT.
  ASSERT_TRUE(mkdirAll(strataPath_));
  auto s = CredentialStore::load(strataPath_, dockerPath_);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().what().find(strataPath_), std::string::npos) << s.error().what();
}

TEST_F(CredentialStoreTest, InsecureRegistries) {
  writeJson(strataPath_, R"({"insecure-registries": ["localhost:5000", "10.0.0.1:443"]})");
  // Docker's file is not consulted for strata's registry settings.
  writeJson(dockerPath_, R"({"insecure-registries": ["docker-only:5000"]})");
  CredentialStore s = load();
  EXPECT_EQ(s.insecureRegistries(), (std::vector<std::string>{"localhost:5000", "10.0.0.1:443"}));
  // And save() keeps the setting.
  ASSERT_TRUE(s.save("localhost:5000", {"a", "b", ""}));
  EXPECT_EQ(load().insecureRegistries(),
            (std::vector<std::string>{"localhost:5000", "10.0.0.1:443"}));
}

TEST_F(CredentialStoreTest, LoadUsesEnvironmentPaths) {
  writeJson(dockerPath_, R"({"auths": {"localhost:5000": )" + authEntry("env", "pw") + "}}");
  ScopedEnv sc("STRATA_CONFIG", dirName(strataPath_).c_str());
  ScopedEnv dc("DOCKER_CONFIG", dirName(dockerPath_).c_str());
  auto s = CredentialStore::load();
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(s->find("localhost:5000")->username, "env");
  ASSERT_TRUE(s->save("ghcr.io", {"gh", "tok", ""}));
  EXPECT_TRUE(pathExists(strataPath_));
}

}  // namespace
}  // namespace strata::registry
