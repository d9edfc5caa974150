#include "system/prune.h"

#include <stdio.h>

#include <algorithm>
#include <set>

#include "build/cache.h"
#include "container/lifecycle.h"
#include "container/networking.h"
#include "network/endpoint.h"
#include "network/networks.h"
#include "util/fs.h"
#include "util/lock.h"

namespace strata::system {

Result<ContainerPrune> pruneContainers(container::Containers& cs) {
  ContainerPrune out;
  for (const auto& r : TRY(cs.list())) {
    auto st = cs.state(r.id);
    if (!st) {
      out.errors.push_back(st.error().what());
      continue;
    }
    if (st->status == container::RunStatus::Running || st->status == container::RunStatus::Paused ||
        st->status == container::RunStatus::Restarting)
      continue;
    uint64_t size = treeSize(cs.paths(r.id).upper()).value_or(0);
    if (auto rm = container::remove(cs, r, false, false); !rm) {
      out.errors.push_back(rm.error().what());
      continue;
    }
    out.removed.push_back(r.id);
    out.reclaimed += size;
  }
  return out;
}

Result<std::vector<std::string>> pruneNetworks(container::Containers& cs) {
  network::Networks nets(cs.store());
  std::vector<std::string> removed;
  for (const auto& n : TRY(nets.list())) {
    if (n.predefined) continue;
    auto attached = container::containersOn(cs, n);
    if (!attached || !attached->empty()) continue;
    TRYV(nets.remove(n));
    removed.push_back(n.name);
  }
  TRYV(network::sweep());
  return removed;
}

Result<VolumePrune> pruneVolumes(container::Containers& cs) {
  const std::string dir = cs.store().layout().root() + "/volumes";
  VolumePrune out;
  // A create makes its volumes while it holds the ingest guard, before its record exists.
  auto lock = TRY(FileLock::tryAcquire(cs.store().layout().gcLock(), FileLock::Mode::Exclusive));
  if (!lock) return out;
  std::set<std::string> used;
  for (const auto& r : TRY(cs.list()))
    for (const auto& b : r.host.binds)
      if (b.isVolume) used.insert(b.source);
  auto names = listDirectory(dir);
  if (!names) {
    if (names.error().code() == ENOENT) return out;
    return fail(std::move(names).error());
  }
  for (const auto& name : *names) {
    if (used.count(name)) continue;
    out.reclaimed += treeSize(dir + "/" + name).value_or(0);
    TRYV(removeAll(dir + "/" + name));
    out.removed.push_back(name);
  }
  return out;
}

Result<image::RemoveResult> pruneImages(store::Store& s, bool all) {
  const auto used = TRY(image::imagesInUse(s));
  std::vector<std::string> ids;
  for (const auto& r : TRY(s.images())) {
    if (std::find(used.begin(), used.end(), r.id) != used.end()) continue;
    if (all || r.tags.empty()) ids.push_back(r.id.str());
  }
  image::RemoveOptions opt;
  opt.force = true;
  return image::remove(s, ids, opt);
}

Result<uint64_t> pruneLeftovers(store::Store& s) {
  {
    // A create holds the ingest guard until its record is written: with the gc lock held
    // exclusively, a container directory without a record is what a killed create left.
    auto lock = TRY(FileLock::tryAcquire(s.layout().gcLock(), FileLock::Mode::Exclusive));
    if (!lock) return uint64_t(0);
    container::Containers cs(s);
    for (const auto& id : TRY(listDirectory(s.layout().containersDir()))) {
      const container::Paths p = cs.paths(id);
      if (pathExists(p.record())) continue;
      const std::string doomed = s.tmpDir() + "/gc-ctr-" + id;
      if (::rename(p.dir.c_str(), doomed.c_str()) < 0 && errno != ENOENT)
        return failErrno("remove `" + p.dir + "`");
    }
    TRYV(s.recordLeftovers(true));
  }
  return s.collectGarbage();  // removes tmp/, the directories just moved there included
}

}  // namespace strata::system
