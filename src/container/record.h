// Container records: what a container is (its config, fixed at create) and what state it is in
// (changed by its monitor), stored under <root>/containers/<id>/.
//
//   container.json   the record: Id, Name, Created, Image (config digest), ImageName, Config,
//                    HostConfig, Path/Args (Docker's inspect names), IdMapping (--userns=auto:
//                    HostUid, HostGid, Size); written at create, rewritten
//                    only by rename
//   state.json       State: Status, Pid, MonitorPid, ExitCode, OOMKilled, StartedAt, FinishedAt,
//                    Error; written by the monitor (and by `start`), atomically
//   upper/ work/     the overlay writable layer and its work dir
//   hostname hosts resolv.conf   bind-mounted into the container
//   ctr.log          Docker's json-file log: {"log":"...","stream":"stdout","time":"..."} lines
//   attach.sock      the monitor's attach socket while it runs
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "oci/image.h"
#include "runtime/spec.h"
#include "store/store.h"
#include "util/error.h"

namespace strata::container {

struct BindMount {
  std::string source;       // host path, or a volume name
  std::string destination;  // path in the container
  bool readOnly = false;
  bool isVolume = false;    // named volume under <root>/volumes/<name>/_data
};

// -p HOSTIP:HOSTPORT:CONTAINERPORT/PROTO as recorded (Docker's HostConfig.PortBindings).
struct PortBinding {
  uint16_t containerPort = 0;
  std::string proto = "tcp";
  std::string hostIp;      // "" = every address
  uint16_t hostPort = 0;   // 0 = a free port picked at start
  uint16_t hostPortEnd = 0;  // > hostPort: a free port of [hostPort, hostPortEnd] picked at start
};

struct HostConfig {
  std::vector<BindMount> binds;
  // bridge | host | none | container:<id> | a user network's name
  std::string networkMode = "bridge";
  std::vector<PortBinding> portBindings;  // -p
  bool publishAllPorts = false;           // -P
  std::vector<std::string> capAdd, capDrop;  // as given ("NET_ADMIN", "ALL")
  bool privileged = false;
  std::string usernsMode;  // --userns as given: "" or "host" (the host's user namespace), "auto"
  // Docker's forms as given: "seccomp=unconfined", "no-new-privileges[=true|false]", ...
  std::vector<std::string> securityOpt;
  int64_t memory = 0;                // bytes, 0 = unlimited
  int64_t nanoCpus = 0;              // --cpus * 1e9
  int64_t pidsLimit = 0;             // 0 = unlimited
  bool readonlyRootfs = false;
  bool autoRemove = false;           // --rm
  bool init = false;
  std::string restartPolicy = "no";  // no | on-failure | always | unless-stopped
  int restartMaxRetries = 0;
};

struct Record {
  std::string id;        // 64 hex
  std::string name;      // without the leading '/'
  std::string created;   // RFC 3339
  oci::Digest image;     // image ID
  std::string imageName; // what the user typed ("busybox")
  oci::ContainerConfig config;  // the image's config with the user's flags applied
  std::string hostname;
  bool tty = false;
  bool openStdin = false;  // -i
  std::vector<std::string> path;  // entrypoint+cmd as composed (path[0] is Docker's "Path")
  HostConfig host;
  // With usernsMode "auto": the host ids of the container's user namespace, chosen at create
  // (Containers::add) and kept for every start, exec and cp.
  std::optional<runtime::IdMapping> idMapping;
};

// A published port while the container runs: container port -> host address and port.
struct PublishedPort {
  uint16_t containerPort = 0;
  std::string proto = "tcp";
  std::string hostIp;      // "0.0.0.0", "::", "127.0.0.1", ...
  uint16_t hostPort = 0;
};

// Where a running container is on the network (Docker's NetworkSettings).
struct NetworkState {
  std::string network;     // network name ("" when not running or not on a bridge)
  std::string networkId;
  std::string ipAddress;
  int prefixLen = 0;
  std::string gateway;
  std::string macAddress;
  std::vector<PublishedPort> ports;
};

enum class RunStatus { Created, Running, Paused, Restarting, Exited, Dead };
std::string statusName(RunStatus s);  // "created", "running", ... (Docker's State.Status)

struct State {
  RunStatus status = RunStatus::Created;
  pid_t pid = 0;          // container pid 1 on the host while running
  pid_t monitorPid = 0;
  uint64_t monitorStartTime = 0;  // /proc/<pid>/stat start time, so a reused pid is not ours
  int exitCode = 0;
  bool oomKilled = false;
  std::string startedAt = "0001-01-01T00:00:00Z";
  std::string finishedAt = "0001-01-01T00:00:00Z";
  std::string error;
  int restartCount = 0;
  NetworkState network;   // while running
};

}  // namespace strata::container

namespace strata::container {

// container.json and state.json. The record uses Docker's inspect field names where it has them
// (Id, Name, Created, Image, Path, Args, Config, HostConfig) so that files, inspect and the
// store's image-in-use check ("Image") agree.
oci::Json recordToJson(const Record& r);
Result<Record> recordFromJson(std::string_view text);
oci::Json stateToJson(const State& s);
Result<State> stateFromJson(std::string_view text);

}  // namespace strata::container
