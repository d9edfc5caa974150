// `cp`: copying files and directories between a container and the host, by Docker's rules.
//
// Everything inside the container is resolved by a short-lived child process with
// openat2(RESOLVE_IN_ROOT) against the container's root, so no symlink or ".." in the container
// can make a copy read or write a host path. The child and the host side exchange one tar
// stream through a pipe: the source is written as a tar whose first entry is the source itself,
// renamed on the way to what the destination rules ask for, and extracted with the layer
// extractor (which never follows a symlink at or above an entry it creates).
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "container/containers.h"
#include "runtime/spec.h"
#include "util/error.h"

namespace strata::container {

// Where a copy goes relative to the destination, by Docker's rules (archive.PrepareArchiveCopy).
enum class CopyAction {
  Into,          // DEST is a directory: the source lands in DEST/basename(SRC)
  ContentsInto,  // DEST is a directory and SRC ends in "/." (or is "/"): its contents merge
                 // into DEST
  As,            // the source becomes DEST (created in DEST's parent, or replacing a file)
};

// The pure rule. destExists/destIsDir describe DEST after following its symlinks. Errors are
// Docker's: "cannot copy directory" (a directory onto an existing non-directory), "no such
// directory" (a file to a missing DEST that ends in '/').
Result<CopyAction> planCopy(bool srcIsDir, bool srcContentsOnly, bool destExists, bool destIsDir,
                            bool destEndsWithSlash);

// How a copy reaches one container's files.
struct ContainerFs {
  std::string name;  // as the user named the container, for messages ("in container c1")
  // A running (or paused) container: its pid 1 on the host. The copy joins a private copy of
  // its mount namespace, so it sees and writes what the container does (volumes included),
  // without the container's /proc, /sys and /dev.
  pid_t pid = 0;
  // Otherwise (pid 0): its layers, mounted in a private mount namespace under a temporary
  // directory in tmpDir: read-only (upperDir stacked as the top lower layer) to copy out,
  // writable (upperDir/workDir) to copy in. mounts (binds: volumes, /etc/hosts...) are mounted
  // on top, those whose mount point the read-only view lacks left out.
  runtime::Overlay layers;
  std::vector<runtime::Mount> mounts;
  std::string tmpDir;
  FileLock tmpGuard;  // the store's ingest guard: garbage collection leaves tmpDir alone
  // --userns=auto: the copy runs as the root of the container's user namespace (joined, or made
  // anew for a stopped one, whose layers are then idmapped), so ids are the container's.
  std::optional<runtime::IdMapping> userns;
};

// The ContainerFs of r: its pid while it runs, else its layers (specFor) and the store's tmp.
// shownName names it in messages.
Result<ContainerFs> containerFs(const Containers& cs, const Record& r,
                                const std::string& shownName);

struct CopyOptions {
  // -a: keep the source's uid/gid. Otherwise what is copied out belongs to the invoking user
  // and what is copied in to root (0:0).
  bool archive = false;
  // -L: follow a symlink named by SRC (a SRC ending in '/' or "/." is always followed).
  bool followLink = false;
};

// `cp CONTAINER:SRC DEST`. SRC is a path in the container (relative ones from "/"); DEST a host
// path, or "-" to write a tar of SRC (its first entry named basename(SRC), "." for "dir/.") to
// outFd. Modes, times and xattrs are kept. Errors: "Could not find the file /x in container c1",
// "invalid output path: directory \"/d\" does not exist", and planCopy's. Needs root; forks.
Status copyFromContainer(const ContainerFs& c, const std::string& src, const std::string& dest,
                         const CopyOptions& opt, int outFd = STDOUT_FILENO);

// `cp SRC CONTAINER:DEST`. SRC is a host path, or "-" to read a tar from inFd and extract it
// into DEST, which must then be an existing directory ("destination \"c1:/x\" must be a
// directory"). DEST's symlinks are followed inside the container. A file or directory does not
// replace an existing entry of the other kind ("cannot overwrite directory ... with
// non-directory ..."). Errors for SRC: "lstat /x: No such file or directory". Needs root; forks.
Status copyToContainer(const ContainerFs& c, const std::string& src, const std::string& dest,
                       const CopyOptions& opt, int inFd = STDIN_FILENO);

}  // namespace strata::container
