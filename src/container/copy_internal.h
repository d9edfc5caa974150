// Private to the copy*.cpp files of src/container: the pieces `cp` is built from. Paths as the
// user typed them and their resolution inside a root (copy_paths.cpp); the helper processes and
// how they reach a container's files (copy_session.cpp).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <functional>
#include <string>

#include "container/copy.h"
#include "layer/tar_stream.h"
#include "util/error.h"
#include "util/child.h"
#include "util/fd.h"
#include "util/fs.h"

namespace strata::container::detail {

// ---------------------------------------------------------------------------------------------
// Paths (copy_paths.cpp)

// A SRC or DEST path as the user typed it, taken apart.
struct PathParts {
  std::string rel;             // relative to the root it is resolved in ("" is the root itself)
  std::string shown;           // absolute, for messages
  std::string base;            // its last component, trailing '/' and "/." ignored
  bool endsWithSlash = false;  // ends in '/' or "/.": asserts a directory, follows a symlink
  bool contentsOnly = false;   // ends in "/.", or names the root: a directory's contents
};

// A path in the container: relative ones start at its root.
PathParts containerPath(const std::string& path);
// A path on the host: relative ones start at the working directory. Fails only on getcwd.
Result<PathParts> hostPath(const std::string& path);

struct Source {
  UniqueFd fd;  // O_PATH: the source itself (a symlink when not followed)
  struct stat st {};
};

// Opens rel inside rootfd, confined to it; the final symlink is followed only when asked. The
// error keeps openat2's errno.
Result<Source> openSource(int rootfd, const std::string& rel, bool follow);

struct Dest {
  UniqueFd parent;    // the directory DEST is (or is to be) in
  std::string name;   // DEST's name there, after its symlinks ("" for the root)
  std::string shown;  // the path it resolved to, for messages
  UniqueFd self;      // DEST itself when it is an existing directory
  bool exists = false, isDir = false;
  mode_t type = 0;  // S_IFMT bits of an existing DEST
};

// Resolves DEST (rel, inside rootfd) as Docker's CopyInfoDestinationPath: symlinks on the way
// and at the end are followed (at most 10 at the end), all inside rootfd. A missing DEST is fine
// when its parent directory exists; otherwise the error has ENOENT (or ENOTDIR) and names the
// parent as its message ("/nodir").
Result<Dest> resolveDest(int rootfd, std::string rel);

// Extracts the stream read from fd, renamed as how says, into the directory open as dirfd
// (whiteouts applied, though `cp` drops them in how). fd is not consumed.
Status extractInto(int fd, layer::TarRename how, int dirfd);

// Copies the stream read from fd, renamed as how says, to outFd. Neither fd is consumed.
Status streamTo(int fd, layer::TarRename how, int outFd);

// ---------------------------------------------------------------------------------------------
// Helper processes and the container's files (copy_session.cpp)

// A forked child running one function; its failure comes back as an Error over a pipe
// (int32 errno, uint32 length, message). Killed and reaped if dropped before wait().
// Helper processes are ChildProcess (util/child.h).
using Helper = ChildProcess;

struct Pipe {
  UniqueFd read, write;
};

// A close-on-exec pipe.
Result<Pipe> makePipe();

// Of a writer's and a reader's results, the one that explains the failure: a writer that only
// saw its reader go away (EPIPE) defers to the reader.
Status firstCause(Status writer, Status reader);

// What the parent prepares for a helper that reaches the container: the mount point of a
// stopped container's layers (the mount itself lives and dies with the helper's namespace).
struct View {
  TempDir tmp;
  std::string mountPoint;
};

// Nothing for a running container; else a fresh mount point under c.tmpDir, removed with the
// View.
Result<View> prepareView(const ContainerFs& c);

// In a helper child only (it changes the process's mount namespace, and for a running container
// its root): the container's root directory as an O_PATH fd, joined (a running container) or
// mounted on v.mountPoint (a stopped one; writable to copy in).
Result<UniqueFd> openContainerRoot(const ContainerFs& c, const View& v, bool writable);

}  // namespace strata::container::detail
