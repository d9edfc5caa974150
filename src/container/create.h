// Creating a container: the user's flags applied to the image's config, the container's
// directory prepared, the record written; and the runtime plan (Spec) for starting it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "container/containers.h"
#include "image/images.h"
#include "runtime/spec.h"

namespace strata::container {

// What `create`/`run` flags ask for, as typed.
struct CreateOptions {
  std::string image;
  std::vector<std::string> command;       // arguments after the image
  std::optional<std::string> entrypoint;  // --entrypoint ("" resets it)
  std::vector<std::string> env;           // -e KEY=VALUE or KEY (taken from our environment)
  std::vector<std::string> envFiles;      // --env-file
  std::vector<std::string> volumes;       // -v SRC:DST[:ro|rw], -v DST
  std::vector<std::string> labels;        // -l KEY=VALUE
  std::string name, workdir, user, hostname;
  std::string network = "bridge";         // --network
  std::vector<std::string> publish;       // -p
  std::vector<std::string> expose;        // --expose
  bool publishAll = false;                // -P
  std::vector<std::string> capAdd, capDrop;  // --cap-add, --cap-drop
  std::vector<std::string> securityOpt;      // --security-opt
  bool privileged = false;                   // --privileged
  std::string userns;                        // --userns: "" or "host", or "auto"
  std::string memory, cpus, restart = "no", stopSignal;
  int64_t pidsLimit = 0;
  bool tty = false, interactive = false, readOnly = false, autoRemove = false, init = false;
};

// Applies options to the image: Docker's rules for entrypoint/cmd (run arguments replace CMD;
// --entrypoint replaces ENTRYPOINT and drops the image's CMD), env (image env, then --env-file,
// then -e; PATH defaulted; HOSTNAME set; TERM=xterm with -t), workdir, user, hostname (the short
// ID by default), limits, --userns (refused with --privileged and --network host, as Docker
// does). Errors name the flag ("invalid argument \"x\" for \"-m\" flag").
// Pure: no store access beyond reading env files.
Result<Record> compose(const CreateOptions& opt, const image::Loaded& img, const std::string& id);

// The variables of --env-file files then -e flags, as KEY=VALUE ("-e KEY" takes KEY from our
// environment and is dropped when unset). Errors name the file and line or the flag value.
Result<std::vector<std::string>> userEnv(const std::vector<std::string>& env,
                                         const std::vector<std::string>& envFiles);

// Docker's RAMInBytes: "512k", "32m", "1g" (binary units), plain bytes.
Result<int64_t> parseMemory(const std::string& text);

// What a container may do: capabilities, seccomp, no_new_privs and masked /proc paths, from
// --privileged, --cap-add/--cap-drop (Docker's rules: ALL in drop starts from nothing, ALL in add
// from everything) and --security-opt seccomp=unconfined|<profile JSON> (as a record keeps it;
// the last seccomp= wins, --privileged has none), no-new-privileges[=true|false], apparmor=...,
// label=... (no-ops: strata loads no LSM profile). Errors name the option.
struct Security {
  uint64_t capabilities = 0;
  bool seccomp = true;
  std::optional<runtime::seccomp::Profile> seccompProfile;  // instead of strata's default
  bool noNewPrivileges = true;
  bool maskPaths = true;  // Docker's masked and read-only /proc paths
};
Result<Security> securityOf(const HostConfig& h);

// Resolves the image, composes the record, prepares the container's directory (writable layer,
// init layer with mount points, hostname, hosts, resolv.conf, named volumes) and records it.
// With --userns=auto the container gets the lowest free block of strata's subordinate ids
// (id_ranges.h), and the named volumes it creates belong to its root.
Result<Record> create(Containers& cs, const CreateOptions& opt);

// The environment r's processes get: Docker's default PATH when the config has none, HOSTNAME,
// TERM=xterm with a tty, then the config's variables (which win).
std::vector<std::string> processEnv(const Record& r);

// The trees r's root file system is stacked from, top-most first: the image's layers only
// (imageLayers), or with the init layer of mount points on top (withInit).
Result<std::vector<std::string>> layerDirs(const Containers& cs, const Record& r, bool withInit);

// The runtime plan for starting r: its image's layer trees (top first) under the init layer and
// the writable layer, mounts for /etc/hostname, /etc/hosts, /etc/resolv.conf and -v binds,
// limits, user, env, command. The network part is NetworkRun::prepare's.
Result<runtime::Spec> specFor(const Containers& cs, const Record& r);

}  // namespace strata::container
