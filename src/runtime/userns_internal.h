// Private to src/runtime (and cp's helpers in src/container): the parts of --userns=auto that
// run in a container's processes (userns.cpp). The user namespace itself is made by
// newUserNamespace (runtime.h).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/spec.h"
#include "util/error.h"

namespace strata::runtime::detail {

// The directories to replace by idmapped mounts of themselves before the overlay of layers is
// mounted: the upper dir's parent (overlayfs wants the upper and work dirs on one mount; the
// container's bind-mounted files live there too), then each lower dir not under it. A plan:
// pure.
std::vector<std::string> idmapTargets(const Overlay& layers);

// While alive, the calling process's file system ids are the root of a user namespace's
// mapping, with the file capabilities raised again (changing fsuid from 0 drops them from the
// effective set). Host root's own id 0 has no id in idmapped layers, so whatever it creates
// there fails with EOVERFLOW: overlayfs' work files (made with its mounter's credentials; the
// kernel then quietly mounts the overlay read-only), mount points, the working directory. As
// the container's root they belong to the container's root. Single-threaded callers only.
class ContainerRootFsIds {
 public:
  static Result<ContainerRootFsIds> become(const IdMapping& ids);
  ContainerRootFsIds(ContainerRootFsIds&& o) noexcept : active_(std::exchange(o.active_, false)) {}
  ContainerRootFsIds& operator=(ContainerRootFsIds&&) = delete;
  ~ContainerRootFsIds();

 private:
  ContainerRootFsIds() = default;
  bool active_ = false;
};

// In a private mount namespace, as host root holding ContainerRootFsIds: replaces each of
// idmapDirs by an idmapped mount of itself (through usernsFd), then mounts o on target. Fails
// when the kernel has no idmapped mounts (naming the step) or left the overlay read-only.
Status mountIdmappedOverlay(const Overlay& o, const std::string& target,
                            const std::vector<std::string>& idmapDirs, int usernsFd);

// setns(usernsFd, CLONE_NEWUSER): the caller must be single-threaded and not share its
// fs_struct (a fresh fork or clone). Its ids keep their numbers, which the namespace does not
// map until the caller sets them.
Status joinUserNamespace(int usernsFd);

// The host id of a container id: what host root chowns to before the process enters the
// namespace.
inline uid_t hostUid(const std::optional<IdMapping>& m, uid_t id) { return m ? m->hostUid + id : id; }
inline gid_t hostGid(const std::optional<IdMapping>& m, gid_t id) { return m ? m->hostGid + id : id; }

}  // namespace strata::runtime::detail
