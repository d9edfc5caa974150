// Typed structs of the OCI image spec (and Docker's schema 2 equivalents), with JSON conversion.
//
// Parsing is tolerant the way Docker's is: missing and null fields take their defaults; unknown
// fields are ignored. Serialisation writes the fields Docker and BuildKit write, omitting empty
// optional ones. Blobs received from elsewhere are kept byte for byte; these structs are for
// reading them and for writing new ones.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "oci/digest.h"
#include "util/error.h"

namespace strata::oci {

using Json = nlohmann::ordered_json;

struct Platform {
  std::string architecture;
  std::string os;
  std::string variant;
  std::string osVersion;
};

struct Descriptor {
  std::string mediaType;
  Digest digest;
  int64_t size = 0;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
  std::string artifactType;
};

struct Manifest {
  int schemaVersion = 2;
  std::string mediaType;  // kOciManifest or kDockerManifest
  std::string artifactType;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::optional<Descriptor> subject;
  std::map<std::string, std::string> annotations;
};

struct Index {
  int schemaVersion = 2;
  std::string mediaType;  // kOciIndex or kDockerManifestList (may be empty in an OCI layout)
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

struct HealthConfig {
  std::vector<std::string> test;
  int64_t interval = 0;  // nanoseconds, as Docker stores them
  int64_t timeout = 0;
  int64_t startPeriod = 0;
  int64_t startInterval = 0;
  int retries = 0;
};

// The runtime defaults an image carries ("config" in the image config).
struct ContainerConfig {
  std::string user;
  std::vector<std::string> exposedPorts;  // "80/tcp", kept sorted
  std::vector<std::string> env;
  std::optional<std::vector<std::string>> entrypoint;  // nullopt: unset (JSON null)
  std::optional<std::vector<std::string>> cmd;
  std::vector<std::string> volumes;  // kept sorted
  std::string workingDir;
  std::map<std::string, std::string> labels;
  std::string stopSignal;
  bool argsEscaped = false;
  std::optional<HealthConfig> healthcheck;
  std::vector<std::string> onBuild;
  std::vector<std::string> shell;
};

struct HistoryEntry {
  std::string created;  // RFC 3339, may be empty
  std::string createdBy;
  std::string author;
  std::string comment;
  bool emptyLayer = false;
};

struct ImageConfig {
  std::string created;  // RFC 3339 with nanoseconds
  std::string author;
  std::string architecture = "amd64";
  std::string os = "linux";
  std::string variant;
  ContainerConfig config;
  std::vector<Digest> diffIds;  // rootfs.diff_ids; rootfs.type is always "layers"
  std::vector<HistoryEntry> history;
  // Docker's own fields, read for `image inspect` when present.
  std::string comment;
  std::string dockerVersion;
};

Result<Manifest> parseManifest(std::string_view json);
Result<Index> parseIndex(std::string_view json);
Result<ImageConfig> parseImageConfig(std::string_view json);
// As parseImageConfig, for a config already parsed (one embedded in another document).
Result<ImageConfig> imageConfigFromJson(const Json& j);
Result<Descriptor> descriptorFromJson(const Json& j);
// The "config" object of an image config (Docker's container config field names).
ContainerConfig containerConfigFromJson(const Json& j);

Json toJson(const Descriptor& d);
Json toJson(const Manifest& m);
Json toJson(const Index& i);
Json toJson(const ContainerConfig& c);
Json toJson(const ImageConfig& c);
// The exact bytes strata writes for new blobs (compact JSON, as Docker and BuildKit write).
std::string serialize(const Json& j);

// Reads the media type of a manifest-or-index document: its "mediaType" field, or, when absent
// (allowed in OCI), "manifests" means an index and "config" a manifest.
Result<std::string> sniffMediaType(std::string_view json);

}  // namespace strata::oci
