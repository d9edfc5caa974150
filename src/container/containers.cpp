#include "container/containers.h"

#include <signal.h>

#include <algorithm>
#include <random>

#include "runtime/cgroups.h"
#include "util/format.h"
#include "util/fs.h"
#include "util/process.h"
#include "util/random.h"

namespace strata::container {

bool monitorAlive(const State& s) {
  return processAlive(s.monitorPid, s.monitorStartTime);
}

uint64_t startTimeOf(pid_t pid) { return processStartTime(pid); }

Paths Containers::paths(const std::string& id) const {
  return Paths{store_.layout().containersDir() + "/" + id};
}

Result<FileLock> Containers::lock() const {
  return FileLock::acquire(store_.layout().containersLock(), FileLock::Mode::Exclusive);
}

Status Containers::add(Record& r, bool generatedName, const std::optional<IdPool>& idPool) {
  FileLock guard = TRY(lock());
  const std::vector<Record> others = TRY(list());
  auto taken = [&](const std::string& name) {
    return std::any_of(others.begin(), others.end(), [&](const Record& o) { return o.name == name; });
  };
  for (int retry = 1; generatedName && taken(r.name) && retry <= 100; ++retry) r.name = randomName(retry);
  for (const auto& other : others) {
    if (other.name == r.name)
      return failInvalid("Conflict. The container name \"/" + r.name +
                         "\" is already in use by container \"" + other.id +
                         "\". You have to remove (or rename) that container to be able to reuse "
                         "that name.");
  }
  // rmi decides under this lock which images are in use: the image must still be there.
  if (!TRY(store_.image(r.image)))
    return failInvalid("No such image: " + r.image.str() + " (removed while the container was created)");
  if (idPool) {
    std::vector<runtime::IdMapping> used;
    for (const auto& other : others)
      if (other.idMapping) used.push_back(*other.idMapping);
    r.idMapping = lowestFreeBlock(*idPool, used);
    if (!r.idMapping)
      return failInvalid("--userns=auto: every block of " + std::to_string(kUsernsSize) +
                         " subordinate ids of user \"" + std::string(kSubIdUser) +
                         "\" in /etc/subuid and /etc/subgid is taken by a container");
  }
  Paths p = paths(r.id);
  TRYV(writeFileReplace(p.state(), stateToJson(State{}).dump()));
  return writeFileAtomic(p.record(), recordToJson(r).dump(1));
}

Result<Record> Containers::load(const std::string& id) const {
  std::string text = TRY_CTX(readFile(paths(id).record()), "container " + id);
  return recordFromJson(text);
}

Result<std::vector<Record>> Containers::list() const {
  std::vector<Record> out;
  for (const auto& id : TRY(listDirectory(store_.layout().containersDir()))) {
    auto text = readFile(paths(id).record());
    if (!text) continue;  // being created or removed
    auto r = recordFromJson(*text);
    if (r) out.push_back(std::move(*r));
  }
  return out;
}

Result<Record> Containers::resolve(const std::string& arg) const {
  std::string name = !arg.empty() && arg[0] == '/' ? arg.substr(1) : arg;
  std::vector<Record> all = TRY(list());
  for (auto& r : all)
    if (r.id == arg || r.name == name) return r;
  const Record* found = nullptr;
  for (const auto& r : all) {
    if (arg.empty() || r.id.compare(0, arg.size(), arg) != 0) continue;
    if (found) return failInvalid("Multiple IDs found with provided prefix: " + arg);
    found = &r;
  }
  if (found) return *found;
  return failInvalid("No such container: " + arg);
}

Result<State> Containers::state(const std::string& id) const {
  std::string text = TRY_CTX(readFile(paths(id).state()), "container " + id);
  State s = TRY(stateFromJson(text));
  if ((s.status == RunStatus::Running || s.status == RunStatus::Paused ||
       s.status == RunStatus::Restarting) && !monitorAlive(s)) {
    // The monitor that held this container is gone (killed, or the machine restarted): the
    // container cannot be running any more.
    if (s.pid > 0) ::kill(s.pid, SIGKILL);
    (void)runtime::cgroups::remove(id);  // the monitor would have released it
    s.status = RunStatus::Exited;
    s.exitCode = 255;
    s.pid = 0;
    s.monitorPid = 0;
    s.finishedAt = nowRfc3339Nano();
    s.error = "container monitor is gone";
    (void)saveState(id, s);
  }
  return s;
}

Status Containers::saveState(const std::string& id, const State& s) const {
  return writeFileReplace(paths(id).state(), stateToJson(s).dump());
}

Status Containers::rename(const std::string& id, const std::string& newName) {
  if (!validName(newName))
    return failInvalid("Invalid container name (" + newName +
                       "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  FileLock guard = TRY(lock());
  for (const auto& other : TRY(list()))
    if (other.name == newName && other.id != id)
      return failInvalid("Conflict. The container name \"/" + newName +
                         "\" is already in use by container \"" + other.id + "\"");
  Record r = TRY(load(id));
  r.name = newName;
  return writeFileAtomic(paths(id).record(), recordToJson(r).dump(1));
}

Status Containers::remove(const std::string& id) {
  Paths p = paths(id);
  // Rename first so no reader sees a half-removed container under its real name. The ingest
  // guard keeps garbage collection from removing the same directory under us.
  FileLock tmpGuard = TRY(store_.ingestGuard());
  std::string doomed = store_.tmpDir() + "/rm-" + id;
  if (::rename(p.dir.c_str(), doomed.c_str()) < 0) {
    if (errno == ENOENT) return {};
    return failErrno("remove container `" + p.dir + "`");
  }
  return removeAll(doomed);
}

std::string newContainerId() {
  std::string id = randomHex(64);
  // Docker never makes an ID that is all digits (it could read as a number); neither do we.
  if (id.find_first_not_of("0123456789") == std::string::npos) id[0] = 'a';
  return id;
}

std::string randomName(int retry) {
  static const char* adjectives[] = {"admiring", "brave",   "clever",  "dazzling", "eager",
                                     "focused",  "gallant", "happy",   "jolly",    "keen",
                                     "lucid",    "modest",  "nifty",   "optimistic", "peaceful",
                                     "quirky",   "relaxed", "serene",  "tender",   "upbeat",
                                     "vibrant",  "wizardly", "xenial", "youthful", "zealous"};
  static const char* names[] = {"babbage", "curie",  "darwin",   "euclid",  "feynman",
                                "galileo", "hopper", "hypatia",  "kepler",  "lamarr",
                                "lovelace", "meitner", "newton", "noether", "pascal",
                                "ritchie", "shannon", "thompson", "turing", "wozniak"};
  std::random_device rd;
  std::string name = std::string(adjectives[rd() % std::size(adjectives)]) + "_" + names[rd() % std::size(names)];
  if (retry > 0) name += std::to_string(rd() % 10);
  return name;
}

bool validName(const std::string& name) {
  if (name.size() < 2) return false;
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (!alnum(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [&](char c) { return alnum(c) || c == '_' || c == '.' || c == '-'; });
}

}  // namespace strata::container
