// Tar streams of single paths, and renaming a tar's entries while it streams.
//
// writePathTar turns one path (a file, a symlink, a device or a whole directory) into a tar
// stream whose first entry is the path itself, named "."; renamingReader then gives that stream
// the names a destination asks for ("passwd", "d/...") on its way to extractLayer or to an fd.
// Together they carry `cp` between a container and the host.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "layer/compression.h"
#include "layer/tar.h"
#include "util/error.h"

namespace strata::layer {

// Writes the path open as fd (an O_PATH fd, a symlink itself when it was not followed; st is its
// fstat) to outFd as a tar stream: first a one-entry tar of the path itself, named "./" for a
// directory and "." otherwise, with its type, mode, uid/gid, mtime, xattrs (but overlayfs's own
// trusted.overlay.*) and, for a regular file, its data; then, for a directory, writeTarFromDir's
// tar of its contents (names relative to it, markers handled as it says). The two tars follow
// each other; renamingReader reads them as one. fd and outFd are not consumed. Fails on a socket
// ("cannot copy a socket"), a file that shrinks while it is read, or a write error (EPIPE when
// the reader went away); outFd may then hold part of the stream.
Status writePathTar(int fd, const struct stat& st, int outFd, OverlayMarkers markers);

// How renamingReader renames a stream's entries.
struct TarRename {
  std::string top = ".";  // what the stream's own root "." is called: "passwd", "d", "."
  std::optional<std::pair<uid_t, gid_t>> owner;  // every entry's owner (names cleared), when set
  bool dropRoot = false;       // leave out the entry for "." itself (merging into a directory)
  bool dropWhiteouts = false;  // leave out ".wh.*" names, which an extractor would act on
};

// A Reader of the tar (or concatenated tars) read from src, written again as one PAX tar with
// every entry's name, and hardlink target, cleaned and placed below how.top (directories with a
// trailing '/'), owned by how.owner when set; sparse files come out dense. It pulls one header or
// data chunk through libarchive at a time, so memory stays bounded. An empty src gives an empty
// stream. Read errors: src's own, or "tar entry \"../x\": ..." for a name that climbs above the
// root, or libarchive's ("read tar: ..."). The returned reader owns src; not thread-safe.
std::unique_ptr<Reader> renamingReader(std::unique_ptr<Reader> src, TarRename how);

}  // namespace strata::layer
