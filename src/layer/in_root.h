// Private to src/layer: entry-name cleaning and fd-based file operations confined to a layer
// root. Nothing here follows a symlink at a final component, and every multi-component path is
// resolved with openat2(RESOLVE_IN_ROOT), so ".." and absolute symlinks stay inside the root.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.h"
#include "util/fd.h"

namespace strata::layer::detail {

// Cleans a tar entry name into a path relative to the root: leading "/" and "./" go, "//" and
// "." components collapse, "x/.." cancels lexically. Returns "" for the root itself. Fails when a
// ".." would climb above the root.
Result<std::string> cleanEntryPath(std::string_view name);

// Splits a cleaned path into its parent ("" for top-level names) and its last component.
std::pair<std::string, std::string> splitParent(const std::string& path);

// openat2(rootfd, rel, flags | O_CLOEXEC) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS; rel "" is
// the root. The error keeps errno (ENOENT, ENOTDIR, ELOOP...) for callers to inspect.
Result<UniqueFd> openInRoot(int rootfd, const std::string& rel, int flags);

// Removes name under dirfd and, if it is a directory, everything below it, never following
// symlinks. A missing name is fine. display names the path in errors.
Status removeTreeAt(int dirfd, const std::string& name, const std::string& display);

// Entry names of the directory open as dirfd (not consumed), without "." and "..", sorted
// byte-wise.
Result<std::vector<std::string>> listDir(int dirfd, const std::string& display);

// "/proc/self/fd/<dirfd>/<name>": a path for the l*xattr calls that names exactly the entry
// name inside the directory held by dirfd (which may be an O_PATH fd).
std::string procPathAt(int dirfd, const std::string& name);

// Names of the extended attributes of path (not following a final symlink), in the order the
// file system lists them; none where the file system has no xattrs. Errors name display.
Result<std::vector<std::string>> xattrNames(const std::string& path, const std::string& display);

}  // namespace strata::layer::detail
