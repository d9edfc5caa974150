// Typed OCI/Docker image documents: parsing real-world JSON, round trips, tolerance and errors.
#include <gtest/gtest.h>

#include "oci/image.h"
#include "oci/media_types.h"

namespace strata::oci {
namespace {

const std::string kLayerDiff =
    "sha256:42d3a7e8bbc1a5a5fc9d4e6f7d1c3f0b4b5c1f6f1b0a9c8d7e6f5a4b3c2d1e0f";
const std::string kCfgDigest =
    "sha256:8135583d97feb82398909c9c97607159e6db2c4ca2c885c0b8f590ee0f9fe90d";
const std::string kLayerDigest =
    "sha256:325d69979d33f72bfd1d30d420b8ec7f130919916fd02238ba23e4a22d753ed8";

// The shape `docker image inspect`'s config blob has for a classic-builder image (busybox),
// including the legacy container_config and Docker's nulls.
const char* kDockerConfig = R"({
  "architecture": "amd64",
  "config": {
    "Hostname": "", "Domainname": "", "User": "", "AttachStdin": false, "AttachStdout": false,
    "AttachStderr": false, "Tty": false, "OpenStdin": false, "StdinOnce": false,
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    "Cmd": ["sh"],
    "Image": "sha256:3b7dd8e0e2e1a9d8b1d0f7a7b5e0ad6f8b5c0e0e9a9f4d2c5b3a1e0f9d8c7b6a",
    "Volumes": null, "WorkingDir": "", "Entrypoint": null, "OnBuild": null, "Labels": null
  },
  "container": "0b5a5ac4a0d7b3ba3b2a6d3c0c9d1c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d",
  "container_config": {
    "Hostname": "0b5a5ac4a0d7", "Cmd": ["/bin/sh", "-c", "#(nop) ", "CMD [\"sh\"]"]
  },
  "created": "2023-07-18T23:19:33.655005962Z",
  "docker_version": "20.10.23",
  "history": [
    {"created": "2023-07-18T23:19:33.538571854Z",
     "created_by": "/bin/sh -c #(nop) ADD file:7e9002edaafd4e4579b65c8f0aaabde1aeb7fd3f8d95579f7fd3443cef785fd1 in / "},
    {"created": "2023-07-18T23:19:33.655005962Z",
     "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]", "empty_layer": true}
  ],
  "os": "linux",
  "rootfs": {"type": "layers", "diff_ids": ["sha256:42d3a7e8bbc1a5a5fc9d4e6f7d1c3f0b4b5c1f6f1b0a9c8d7e6f5a4b3c2d1e0f"]}
})";

// A BuildKit-style OCI config with the fields strata round-trips.
const char* kBuildkitConfig =
    R"({"architecture":"arm64","variant":"v8","author":"me <me@example.com>",
  "config":{"User":"app","ExposedPorts":{"8080/tcp":{},"443/tcp":{}},"Env":["A=1","B=2"],
  "Entrypoint":["/entry.sh"],"Cmd":["serve","--port","8080"],"Volumes":{"/data":{},"/cache":{}},
  "WorkingDir":"/srv","Labels":{"org.opencontainers.image.title":"demo","z":"last"},
  "StopSignal":"SIGINT","ArgsEscaped":true,
  "Healthcheck":{"Test":["CMD-SHELL","curl -f localhost"],"Interval":30000000000,"Timeout":5000000000,
    "StartPeriod":1000000000,"StartInterval":2000000000,"Retries":3},
  "OnBuild":["RUN echo child"],"Shell":["/bin/bash","-c"]},
  "created":"2024-01-02T03:04:05.123456789Z",
  "history":[{"created":"2024-01-02T03:04:05Z","created_by":"RUN /bin/sh -c make # buildkit","comment":"buildkit.dockerfile.v0"},
    {"created":"2024-01-02T03:04:05Z","created_by":"ENV A=1","comment":"buildkit.dockerfile.v0","empty_layer":true}],
  "os":"linux",
  "rootfs":{"type":"layers","diff_ids":["sha256:42d3a7e8bbc1a5a5fc9d4e6f7d1c3f0b4b5c1f6f1b0a9c8d7e6f5a4b3c2d1e0f",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]}})";

TEST(ImageConfig, ParsesDockerConfig) {
  auto c = parseImageConfig(kDockerConfig);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->architecture, "amd64");
  EXPECT_EQ(c->os, "linux");
  EXPECT_EQ(c->created, "2023-07-18T23:19:33.655005962Z");
  EXPECT_EQ(c->dockerVersion, "20.10.23");
  EXPECT_EQ(c->config.env,
            std::vector<std::string>{
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"});
  ASSERT_TRUE(c->config.cmd);
  EXPECT_EQ(*c->config.cmd, std::vector<std::string>{"sh"});
  EXPECT_FALSE(c->config.entrypoint);  // null stays "unset"
  EXPECT_TRUE(c->config.volumes.empty());
  EXPECT_TRUE(c->config.labels.empty());
  EXPECT_TRUE(c->config.onBuild.empty());
  ASSERT_EQ(c->diffIds.size(), 1u);
  EXPECT_EQ(c->diffIds[0].str(), kLayerDiff);
  ASSERT_EQ(c->history.size(), 2u);
  EXPECT_FALSE(c->history[0].emptyLayer);
  EXPECT_TRUE(c->history[1].emptyLayer);
  EXPECT_EQ(c->history[1].createdBy, "/bin/sh -c #(nop)  CMD [\"sh\"]");
}

TEST(ImageConfig, ParsesEveryField) {
  auto c = parseImageConfig(kBuildkitConfig);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->architecture, "arm64");
  EXPECT_EQ(c->variant, "v8");
  EXPECT_EQ(c->author, "me <me@example.com>");
  const ContainerConfig& k = c->config;
  EXPECT_EQ(k.user, "app");
  EXPECT_EQ(k.exposedPorts, (std::vector<std::string>{"443/tcp", "8080/tcp"}));  // sorted
  EXPECT_EQ(k.volumes, (std::vector<std::string>{"/cache", "/data"}));
  EXPECT_EQ(k.env, (std::vector<std::string>{"A=1", "B=2"}));
  EXPECT_EQ(*k.entrypoint, std::vector<std::string>{"/entry.sh"});
  EXPECT_EQ(*k.cmd, (std::vector<std::string>{"serve", "--port", "8080"}));
  EXPECT_EQ(k.workingDir, "/srv");
  EXPECT_EQ(k.labels.at("org.opencontainers.image.title"), "demo");
  EXPECT_EQ(k.stopSignal, "SIGINT");
  EXPECT_TRUE(k.argsEscaped);
  ASSERT_TRUE(k.healthcheck);
  EXPECT_EQ(k.healthcheck->test, (std::vector<std::string>{"CMD-SHELL", "curl -f localhost"}));
  EXPECT_EQ(k.healthcheck->interval, 30000000000);
  EXPECT_EQ(k.healthcheck->timeout, 5000000000);
  EXPECT_EQ(k.healthcheck->startPeriod, 1000000000);
  EXPECT_EQ(k.healthcheck->startInterval, 2000000000);
  EXPECT_EQ(k.healthcheck->retries, 3);
  EXPECT_EQ(k.onBuild, std::vector<std::string>{"RUN echo child"});
  EXPECT_EQ(k.shell, (std::vector<std::string>{"/bin/bash", "-c"}));
  ASSERT_EQ(c->diffIds.size(), 2u);
  ASSERT_EQ(c->history.size(), 2u);
  EXPECT_EQ(c->history[0].comment, "buildkit.dockerfile.v0");
}

TEST(ImageConfig, RoundTrips) {
  for (const char* text : {kDockerConfig, kBuildkitConfig}) {
    auto a = parseImageConfig(text);
    ASSERT_TRUE(a) << a.error().message();
    std::string once = serialize(toJson(*a));
    auto b = parseImageConfig(once);
    ASSERT_TRUE(b) << b.error().message();
    EXPECT_EQ(serialize(toJson(*b)), once);
    EXPECT_EQ(b->config.cmd, a->config.cmd);
    EXPECT_EQ(b->config.entrypoint, a->config.entrypoint);
    EXPECT_EQ(b->config.exposedPorts, a->config.exposedPorts);
    EXPECT_EQ(b->diffIds, a->diffIds);
    EXPECT_EQ(b->history.size(), a->history.size());
  }
}

TEST(ImageConfig, SerialisesCompactlyWithRootfsLayers) {
  ImageConfig c;
  c.created = "2024-01-01T00:00:00Z";
  c.diffIds.push_back(Digest::of(""));
  Json j = toJson(c);
  EXPECT_EQ(j["rootfs"]["type"], "layers");
  EXPECT_EQ(j["rootfs"]["diff_ids"][0], Digest::of("").str());
  EXPECT_EQ(j["architecture"], "amd64");
  EXPECT_EQ(j["os"], "linux");
  std::string s = serialize(j);
  EXPECT_EQ(s.find('\n'), std::string::npos);
  EXPECT_EQ(s.find(": "), std::string::npos);
  // An empty Cmd is written as an empty list, an unset one not at all.
  c.config.cmd = std::vector<std::string>{};
  EXPECT_TRUE(toJson(c)["config"]["Cmd"].is_array());
  c.config.cmd.reset();
  EXPECT_FALSE(toJson(c)["config"].contains("Cmd"));
}

TEST(ImageConfig, ToleratesNulls) {
  auto c = parseImageConfig(R"({"architecture":null,"os":"linux","config":null,"history":null,
    "author":null,"created":null,"rootfs":{"type":"layers","diff_ids":null}})");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->diffIds.empty());
  EXPECT_TRUE(c->history.empty());
  EXPECT_FALSE(c->config.cmd);

  c = parseImageConfig(R"({"os":"linux","config":{"Env":null,"Cmd":null,"Labels":null,
    "ExposedPorts":null,"Healthcheck":null,"Shell":null},"rootfs":{"type":"layers","diff_ids":[]},
    "history":[null,{"created_by":null,"empty_layer":null}],"unknown":{"x":1}})");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->config.env.empty());
  EXPECT_FALSE(c->config.healthcheck);
}

TEST(ImageConfig, Errors) {
  struct Case {
    const char* json;
    const char* want;  // part of the message
  };
  for (const Case& c : std::initializer_list<Case>{
           {R"({"os":"linux"})", "rootfs"},
           {R"({"os":"linux","rootfs":null})", "rootfs"},
           {R"({"os":"linux","rootfs":{"type":"snapshot","diff_ids":[]}})", "rootfs"},
           {R"({"rootfs":{"type":"layers","diff_ids":["sha256:abc"]}})", "sha256:abc"},
           {R"({"rootfs":{"type":"layers","diff_ids":["nonsense"]}})", "nonsense"},
           {R"([1,2])", "JSON object"},
           {R"({"os":)", "JSON"},
           {"", "JSON"},
       }) {
    auto r = parseImageConfig(c.json);
    ASSERT_FALSE(r) << c.json;
    EXPECT_NE(r.error().message().find(c.want), std::string::npos)
        << c.json << " -> " << r.error().message();
  }
}

const char* kDockerManifest = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
  "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1457,
             "digest": "sha256:8135583d97feb82398909c9c97607159e6db2c4ca2c885c0b8f590ee0f9fe90d"},
  "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2220094,
              "digest": "sha256:325d69979d33f72bfd1d30d420b8ec7f130919916fd02238ba23e4a22d753ed8"}]
})";

TEST(Manifest, ParsesDockerSchema2) {
  auto m = parseManifest(kDockerManifest);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->schemaVersion, 2);
  EXPECT_EQ(m->mediaType, media::kDockerManifest);
  EXPECT_EQ(m->config.mediaType, media::kDockerConfig);
  EXPECT_EQ(m->config.digest.str(), kCfgDigest);
  EXPECT_EQ(m->config.size, 1457);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].mediaType, media::kDockerLayerGzip);
  EXPECT_EQ(m->layers[0].digest.str(), kLayerDigest);
  EXPECT_EQ(m->layers[0].size, 2220094);
  EXPECT_FALSE(m->subject);
}

TEST(Manifest, ParsesOciWithSubjectAndAnnotations) {
  auto m = parseManifest(std::string(R"({"schemaVersion":2,
    "artifactType":"application/vnd.example+type",
    "config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,
      "digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
    "layers":[],
    "subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":7,
      "digest":")") + kLayerDigest +
                         R"("},
    "annotations":{"org.opencontainers.image.created":"2024-01-01T00:00:00Z"}})");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->mediaType, media::kOciManifest);  // absent: OCI
  EXPECT_EQ(m->artifactType, "application/vnd.example+type");
  ASSERT_TRUE(m->subject);
  EXPECT_EQ(m->subject->digest.str(), kLayerDigest);
  EXPECT_EQ(m->annotations.at("org.opencontainers.image.created"), "2024-01-01T00:00:00Z");
  EXPECT_TRUE(m->layers.empty());
}

TEST(Manifest, RoundTrips) {
  auto m = parseManifest(kDockerManifest);
  ASSERT_TRUE(m);
  std::string once = serialize(toJson(*m));
  auto again = parseManifest(once);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(serialize(toJson(*again)), once);
  Json j = Json::parse(once);
  EXPECT_EQ(j["schemaVersion"], 2);
  EXPECT_EQ(j["mediaType"], media::kDockerManifest);
  EXPECT_EQ(j["layers"][0]["size"], 2220094);
  // Key order follows the spec's examples.
  EXPECT_EQ(once.rfind(R"({"schemaVersion":2,"mediaType":)", 0), 0u);
}

TEST(Manifest, Errors) {
  struct Case {
    std::string json;
    const char* want;
  };
  std::string cfg = R"("config":{"mediaType":"x","size":1,"digest":")" + kCfgDigest + R"("})";
  for (const Case& c : std::initializer_list<Case>{
           {R"({"schemaVersion":2})", "config"},
           {R"({"schemaVersion":1,)" + cfg + "}", "schemaVersion"},
           {"{" + cfg + "}", "schemaVersion"},
           {R"({"schemaVersion":2,"mediaType":"text/plain",)" + cfg + "}", "text/plain"},
           {R"({"schemaVersion":2,"config":{"digest":"sha256:nope","size":1}})", "sha256:nope"},
           {R"({"schemaVersion":2,"config":{"size":1}})", "digest"},
           {R"({"schemaVersion":2,"config":{"digest":")" + kCfgDigest + R"(","size":-1}})",
            "negative"},
           // Sizes that are not int64 integers (the first once cast a huge double to int64).
           {R"({"schemaVersion":2,"config":{"digest":")" + kCfgDigest + R"(","size":1e21}})",
            "size is not an integer"},
           {R"({"schemaVersion":2,"config":{"digest":")" + kCfgDigest +
                R"(","size":999999999999999999995}})",
            "size is not an integer"},
           {R"({"schemaVersion":2,"config":{"digest":")" + kCfgDigest +
                R"(","size":9223372036854775808}})",
            "size is not an integer"},
           {R"({"schemaVersion":2,"config":{"digest":")" + kCfgDigest + R"(","size":1.5}})",
            "size is not an integer"},
           {R"({"schemaVersion":2,"config":{"digest":")" + kCfgDigest + R"(","size":"1"}})",
            "size is not an integer"},
           {R"({"schemaVersion":2,)" + cfg + R"(,"layers":[{"digest":"bad"}]})", "bad"},
           {R"({"schemaVersion":2,)" + cfg + R"(,"layers":[7]})", "layer"},
           {"not json", "JSON"},
           {"null", "JSON object"},
       }) {
    auto r = parseManifest(c.json);
    ASSERT_FALSE(r) << c.json;
    EXPECT_NE(r.error().message().find(c.want), std::string::npos)
        << c.json << " -> " << r.error().message();
  }
}

const char* kIndex = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 528,
     "digest": "sha256:8135583d97feb82398909c9c97607159e6db2c4ca2c885c0b8f590ee0f9fe90d",
     "platform": {"architecture": "amd64", "os": "linux"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 528,
     "digest": "sha256:325d69979d33f72bfd1d30d420b8ec7f130919916fd02238ba23e4a22d753ed8",
     "platform": {"architecture": "arm", "os": "linux", "variant": "v7", "os.version": "x"},
     "annotations": {"org.opencontainers.image.ref.name": "latest"}}
  ],
  "annotations": {"a": "b"}
})";

TEST(Index, ParsesPlatformsAndAnnotations) {
  auto i = parseIndex(kIndex);
  ASSERT_TRUE(i) << i.error().message();
  EXPECT_EQ(i->mediaType, media::kOciIndex);
  ASSERT_EQ(i->manifests.size(), 2u);
  ASSERT_TRUE(i->manifests[0].platform);
  EXPECT_EQ(i->manifests[0].platform->architecture, "amd64");
  EXPECT_EQ(i->manifests[0].platform->os, "linux");
  ASSERT_TRUE(i->manifests[1].platform);
  EXPECT_EQ(i->manifests[1].platform->variant, "v7");
  EXPECT_EQ(i->manifests[1].platform->osVersion, "x");
  EXPECT_EQ(i->manifests[1].annotations.at("org.opencontainers.image.ref.name"), "latest");
  EXPECT_EQ(i->annotations.at("a"), "b");
}

TEST(Index, RoundTripsAndAllowsMissingMediaType) {
  auto i = parseIndex(kIndex);
  ASSERT_TRUE(i);
  std::string once = serialize(toJson(*i));
  auto again = parseIndex(once);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(serialize(toJson(*again)), once);

  // An OCI layout's index.json may omit mediaType.
  auto bare = parseIndex(R"({"schemaVersion":2,"manifests":[]})");
  ASSERT_TRUE(bare) << bare.error().message();
  EXPECT_TRUE(bare->mediaType.empty());
  EXPECT_FALSE(serialize(toJson(*bare)).contains("mediaType"));
}

TEST(Index, Errors) {
  for (const char* text : {R"({"schemaVersion":2})", R"({"schemaVersion":2,"manifests":null})",
                           R"({"schemaVersion":2,"manifests":{}})",
                           R"({"schemaVersion":2,"manifests":[{"digest":"x"}]})",
                           R"({"schemaVersion":3,"manifests":[]})", "[]", "{"}) {
    EXPECT_FALSE(parseIndex(text)) << text;
  }
}

TEST(SniffMediaType, UsesFieldOrShape) {
  EXPECT_EQ(*sniffMediaType(kDockerManifest), media::kDockerManifest);
  EXPECT_EQ(*sniffMediaType(kIndex), media::kOciIndex);
  EXPECT_EQ(*sniffMediaType(R"({"schemaVersion":2,"manifests":[]})"), media::kOciIndex);
  EXPECT_EQ(*sniffMediaType(R"({"schemaVersion":2,"config":{}})"), media::kOciManifest);
  EXPECT_FALSE(sniffMediaType(R"({"schemaVersion":2})"));
  EXPECT_FALSE(sniffMediaType("nope"));
}

TEST(Descriptor, FromJson) {
  Json j = Json::parse(R"({"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","size":10,
    "digest":")" + kLayerDigest +
                       R"(","artifactType":"x/y","annotations":{"k":"v","n":1}})");
  auto d = descriptorFromJson(j);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->mediaType, media::kOciLayerZstd);
  EXPECT_EQ(d->size, 10);
  EXPECT_EQ(d->artifactType, "x/y");
  EXPECT_EQ(d->annotations.size(), 1u);  // non-string annotation values are dropped
  EXPECT_TRUE(media::isLayer(d->mediaType));
  EXPECT_FALSE(descriptorFromJson(Json::array()));
  Json back = toJson(*d);
  EXPECT_EQ(back["digest"], kLayerDigest);
  EXPECT_EQ(back["annotations"]["k"], "v");
}

}  // namespace
}  // namespace strata::oci
