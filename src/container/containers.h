// The containers of a store: creating, finding, listing and removing their records, and
// reading/writing their state. All paths come from Paths below.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "container/id_ranges.h"
#include "container/record.h"
#include "store/store.h"
#include "util/lock.h"

namespace strata::container {

// Where one container's files live (see record.h for what each is).
struct Paths {
  std::string dir;
  std::string record() const { return dir + "/container.json"; }
  std::string state() const { return dir + "/state.json"; }
  std::string upper() const { return dir + "/upper"; }
  std::string work() const { return dir + "/work"; }
  std::string init() const { return dir + "/init"; }
  std::string rootfs() const { return dir + "/rootfs"; }
  std::string hostname() const { return dir + "/hostname"; }
  std::string hosts() const { return dir + "/hosts"; }
  std::string resolvConf() const { return dir + "/resolv.conf"; }
  std::string log() const { return dir + "/ctr.log"; }
  std::string attachSocket() const { return dir + "/attach.sock"; }
  std::string stopMarker() const { return dir + "/stopped-by-user"; }
};

class Containers {
 public:
  explicit Containers(store::Store& s) : store_(s) {}
  store::Store& store() const { return store_; }

  Paths paths(const std::string& id) const;

  // Writes a new container's record (and a Created state) after checking its name is unique
  // among containers ("Conflict. The container name \"/x\" is already in use by container
  // \"<id>\". You have to remove (or rename) that container to be able to reuse that name.").
  // The directory must have been prepared by the caller under dir of paths(r.id). With
  // generatedName, r.name came from randomName() and a taken one is replaced by another (as
  // Docker does, with a digit appended after the first retry) instead of failing. With idPool
  // (--userns=auto), r.idMapping becomes the lowest block of it no other container has, chosen
  // under the same lock, so two creates never share ids.
  Status add(Record& r, bool generatedName = false, const std::optional<IdPool>& idPool = {});
  Result<Record> load(const std::string& id) const;
  // Finds a container by full ID, unique ID prefix or name ("/name" or "name"). Error:
  // "No such container: ARG".
  Result<Record> resolve(const std::string& arg) const;
  Result<std::vector<Record>> list() const;

  // The current state. A container recorded as running whose monitor is gone (killed, or the
  // machine restarted) is reported exited with code 255 and that fact saved.
  Result<State> state(const std::string& id) const;
  Status saveState(const std::string& id, const State& s) const;
  Status rename(const std::string& id, const std::string& newName);
  // Deletes the container's directory (the caller has stopped it). Idempotent.
  Status remove(const std::string& id);

  // Held while names are checked and records written.
  Result<FileLock> lock() const;

 private:
  store::Store& store_;
};

// True while the monitor recorded in s is still the same live process.
bool monitorAlive(const State& s);
// The start time of a live process (for State::monitorStartTime), 0 when it is gone.
uint64_t startTimeOf(pid_t pid);

// Random container IDs (64 hex) and Docker-style names ("adjective_scientist").
std::string newContainerId();
// retry > 0 appends a random digit, as Docker's name generator does on a clash.
std::string randomName(int retry = 0);
// Docker's name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+
bool validName(const std::string& name);

}  // namespace strata::container
