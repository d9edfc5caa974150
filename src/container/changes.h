// A container's changes against its image, read from the overlay upper directory.
#pragma once

#include <string>
#include <vector>

#include "layer/tar.h"
#include "util/error.h"

namespace strata::container {

enum class ChangeKind { Added, Changed, Deleted };

struct Change {
  ChangeKind kind;
  std::string path;  // absolute, "/etc/hosts"
};

// Docker's `diff`: every path in upperDir is Added when no lower layer has it, Changed when one
// does, Deleted for an overlay whiteout (0:0 character device); the lower entries an opaque
// directory (trusted.overlay.opaque=y) hides are Deleted. A directory the image has is listed
// (Changed) when its type, mode or owner differ from the image's or when something below it is
// listed, so the parents of changes show as Changed but a directory merely copied up (something
// inside was changed, then undone) does not, as in Docker's diff on overlay2. lowerDirs are the image's layer trees,
// top-most first. Sorted by path component by component, as Docker walks the tree (a directory,
// then its contents: "/a", "/a/b", "/a-b"). `A`/`C`/`D` letters: changeLetter().
Result<std::vector<Change>> diff(const std::string& upperDir,
                                 const std::vector<std::string>& lowerDirs);
char changeLetter(ChangeKind k);

// Writes the container's whole file system (layers and upper merged, as the container sees it,
// without its bind mounts) as one tar to fd: `export`. Mounts the overlay read-only in a private
// mount namespace of a child process, so nothing is left mounted on the host; its mount point
// is a temporary directory under scratchDir (the store's tmp/), removed afterwards. Needs root.
Status exportRootfs(const std::vector<std::string>& lowerDirs, const std::string& upperDir,
                    int fd, const std::string& scratchDir);

}  // namespace strata::container
